// The command line as a function, so the binary and the CLI fuzz target share it. Wires the
// subcommands and turns errors into one line on stderr: exit 2 for bad input, 1 for internal
// errors.
#include <CLI/CLI.hpp>
#include <iostream>

#include "common.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::cli {

bool& dry_run() {
  static bool flag = false;
  return flag;
}

namespace {
// Built once: the options bind to static variables, so one App serves every run() in a process
// (the fuzz target calls run() millions of times; clear() resets what the last parse saw).
CLI::App& application() {
  static CLI::App* app = [] {
    auto* a =
        new CLI::App{"llmgps: predict how LLM workloads run on GPUs and GPU clusters", "llmgps"};
    a->set_version_flag("--version", "llmgps 0.1.0");
    a->require_subcommand(1);
    register_hw(*a);
    register_model(*a);
    register_cost(*a);
    register_estimate(*a);
    register_calibrate(*a);
    register_moe(*a);
    register_dropout(*a);
    return a;
  }();
  return *app;
}
}  // namespace

int run(int argc, char** argv) {
  CLI::App& app = application();
  app.clear();
  // Name an unknown command instead of CLI11's generic "a subcommand is required".
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const auto* sub : app.get_subcommands({})) known = known || sub->get_name() == argv[1];
    if (!known) {
      std::cerr << "llmgps: error: unknown command '" << argv[1]
                << "' (expected hw, model, cost, estimate, validate, calibrate, moe, philox or "
                   "dropout; see llmgps --help)\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    if (msg.empty()) msg = e.get_name();
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (auto& ch : msg)
      if (ch == '\n') ch = ' ';
    std::cerr << "llmgps: error: " << msg << " (see llmgps --help)\n";
    return 2;
  } catch (const llmgps::InputError& e) {
    std::cerr << "llmgps: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "llmgps: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace llmgps::cli
