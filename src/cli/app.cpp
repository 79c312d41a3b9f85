// The command line as a function, so the binary and the CLI fuzz target share it. Wires the
// subcommands and turns errors into one line on stderr: exit 2 for bad input, 1 for internal errors.
#include <CLI/CLI.hpp>
#include <iostream>

#include "common.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::cli {

bool& dry_run() {
  static bool flag = false;
  return flag;
}

int run(int argc, char** argv) {
  CLI::App app{"llmgps: predict how LLM workloads run on GPUs and GPU clusters", "llmgps"};
  app.set_version_flag("--version", "llmgps 0.1.0");
  app.require_subcommand(1);
  register_hw(app);
  register_model(app);
  register_cost(app);
  register_estimate(app);
  register_calibrate(app);
  register_moe(app);
  register_dropout(app);
  // Name an unknown command instead of CLI11's generic "a subcommand is required".
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const auto* sub : app.get_subcommands({})) known = known || sub->get_name() == argv[1];
    if (!known) {
      std::cerr << "llmgps: error: unknown command '" << argv[1]
                << "' (expected hw, model, cost, estimate, calibrate, moe, philox or dropout; see llmgps --help)\n";
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
    for (auto& ch : msg) if (ch == '\n') ch = ' ';
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
