// The command line as a function, so the binary and the CLI fuzz target share it. Wires the
// subcommands and turns errors into one line on stderr: exit 2 for bad input, 1 for internal
// errors.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <vector>

#include "common.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/util/suggest.hpp"

namespace llmgps::cli {

bool& dry_run() {
  static bool flag = false;
  return flag;
}

namespace {

// CLI11 converts integers with strtoll and keeps a saturated LLONG_MAX on overflow, and takes
// "nan", "inf" and overflowing reals like 1e400 as numbers. Every numeric option of every command
// gets this check on its text first, so such values are an error naming the option, whatever the
// command does with the number.
std::string check_integer(const std::string& text, bool is_unsigned) {
  std::size_t i = (text.size() > 0 && (text[0] == '+' || text[0] == '-')) ? 1 : 0;
  if (i == text.size()) return "'" + text + "' is not an integer";
  for (std::size_t j = i; j < text.size(); ++j)
    if (text[j] < '0' || text[j] > '9') return "'" + text + "' is not an integer";
  if (is_unsigned && text[0] == '-') return "'" + text + "' is negative";
  errno = 0;
  if (is_unsigned)
    (void)std::strtoull(text.c_str(), nullptr, 10);
  else
    (void)std::strtoll(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return "'" + text + "' does not fit a 64-bit integer";
  return "";
}

std::string check_real(const std::string& text) {
  if (text.empty()) return "empty value";
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return "'" + text + "' is not a number";
  if (!std::isfinite(v)) return "'" + text + "' is not a finite number";
  if (errno == ERANGE && std::fabs(v) > 1.0) return "'" + text + "' overflows a double";
  return "";
}

void strict_numbers(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    const std::string type = opt->get_type_name();
    if (type.rfind("UINT", 0) == 0)
      opt->check(CLI::Validator([](std::string& s) { return check_integer(s, true); }, "", ""));
    else if (type.rfind("INT", 0) == 0)
      opt->check(CLI::Validator([](std::string& s) { return check_integer(s, false); }, "", ""));
    else if (type.rfind("FLOAT", 0) == 0)
      opt->check(CLI::Validator([](std::string& s) { return check_real(s); }, "", ""));
  }
  for (CLI::App* sub : app.get_subcommands({})) strict_numbers(*sub);
}

// Library errors name the request or spec field they checked ("step.tp", "attention.seq_q",
// "gpu"); a command answers for the fields of the requests it builds from its options. The one
// table: the field scopes each command fills from its options. Within an owned scope, field
// "scope.name" is the command's option --name (underscores as dashes, the few renamings below),
// if the command has it; anything else (a field of a request the library built on its own, such
// as a GEMM inside the advisor) is reported under its field name.
const std::map<std::string, std::vector<std::string>>& owned_scopes() {
  static const std::map<std::string, std::vector<std::string>> t = {
      {"hw show", {"gpu", "link", "system"}},
      {"model show", {"model"}},
      {"cost gemm", {"gemm", "gpu"}},
      {"cost attention", {"attention", "gpu"}},
      {"cost elementwise", {"elementwise", "gpu"}},
      {"cost allreduce", {"allreduce", "system"}},
      {"cost allgather", {"allgather", "system"}},
      {"cost reducescatter", {"reducescatter", "system"}},
      {"cost alltoall", {"alltoall", "system"}},
      {"cost deepep", {"ep_alltoall", "system"}},
      {"cost p2p", {"p2p", "system"}},
      {"estimate", {"step", "model", "system", "serve", "sweep", "attention"}},
      {"validate", {"validate", "loso"}},
      {"moe stats", {"stats", "trace"}},
      {"moe synth", {"synth"}},
      {"moe predict", {"predict", "trace", "predictor"}},
      {"moe plan", {"trace", "plan", "ep", "model", "system"}},
      {"moe advise",
       {"trace", "ep", "advice", "plan", "predictor", "step", "model", "system", "sweep"}},
      {"moe map", {"map", "ep", "advice", "plan", "step", "model", "system"}},
      {"philox", {"philox"}},
      {"dropout mask", {"dropout", "mask"}},
      {"dropout block", {"dropout", "block", "model", "gpu", "attention"}},
      {"dropout sweep", {"sweep", "dropout", "block", "model", "gpu", "attention"}},
  };
  return t;
}

std::string option_for_field(const CLI::App& app, const std::string& field) {
  const CLI::App* leaf = &app;
  std::string command;
  for (;;) {
    const auto subs = leaf->get_subcommands();
    if (subs.empty()) break;
    leaf = subs.front();
    command += (command.empty() ? "" : " ") + leaf->get_name();
  }
  const auto it = owned_scopes().find(command);
  if (it == owned_scopes().end()) return field;
  const std::size_t dot = field.find('.');
  const std::string scope = field.substr(0, dot);
  if (std::find(it->second.begin(), it->second.end(), scope) == it->second.end()) return field;
  static const std::map<std::string, std::string> renamed = {
      {"gpu", "--hw"},
      {"attention.seq_q", "--seq"},
      {"mask.seq_q", "--seq"},
      {"loso.fit", "--loso"},
      // Fields that stand for a choice between options.
      {"advice.routing", "--skew/--shares/--routing-trace"},
      {"predict.traces", "--train/--test"},
      {"ep.link_gbps", "--link-gb-per-s"},
      {"plan.input", "--routing-trace/--loads"},
      {"stats.trace",
       "--routing-trace"}};  // Fields a command takes as a list under a plural option.
  static const std::map<std::string, std::string> plural = {
      {"moe map|advice.skew", "--skews"}, {"moe map|map.links", "--links-gb-per-s"}};
  std::string option;
  if (auto p = plural.find(command + "|" + field); p != plural.end()) {
    option = p->second;
  } else if (auto r = renamed.find(field); r != renamed.end()) {
    option = r->second;
  } else {
    option = "--" + (dot == std::string::npos ? field : field.substr(dot + 1));
    std::replace(option.begin(), option.end(), '_', '-');
  }
  // Every option the field names ("--a/--b" names two) must be the command's.
  for (std::size_t start = 0; start < option.size();) {
    const std::size_t slash = std::min(option.find('/', start), option.size());
    if (!leaf->get_option_no_throw(option.substr(start, slash - start))) return field;
    start = slash + 1;
  }
  return option;
}

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
    strict_numbers(*a);
    return a;
  }();
  return *app;
}
}  // namespace

namespace {

// The command path of a (sub)command: "llmgps moe plan".
std::string command_path(const CLI::App* c) {
  std::string path;
  for (; c != nullptr; c = c->get_parent()) path = c->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

std::vector<std::string> subcommand_names(const CLI::App* c) {
  std::vector<std::string> names;
  for (const auto* sub : c->get_subcommands({})) names.push_back(sub->get_name());
  return names;
}

// Walks argv the way the parser will, before it runs: the subcommand chain, then every --option
// of the command reached. Unknown names are reported with the nearest known one ("did you mean"),
// before CLI11 would report a missing required option instead ("--sytem" read as no --system).
// Returns the command reached (for its --help) and fills `error` when something is unknown.
const CLI::App* precheck(const CLI::App& app, int argc, char** argv, std::string& error) {
  const CLI::App* cmd = &app;
  int i = 1;
  for (; i < argc && argv[i][0] != '-'; ++i) {
    const auto names = subcommand_names(cmd);
    if (names.empty()) break;  // a positional argument of a leaf command
    const CLI::App* sub = nullptr;
    for (const auto* c : cmd->get_subcommands({}))
      if (c->get_name() == argv[i]) sub = c;
    if (sub == nullptr) {
      error = fmt::format("unknown {} '{}'{}{} (expected {}; see {} --help)",
                          cmd == &app ? "command" : "subcommand", argv[i],
                          cmd == &app ? "" : " of '" + command_path(cmd) + "'",
                          util::did_you_mean(argv[i], names), fmt::join(names, ", "),
                          command_path(cmd));
      return cmd;
    }
    cmd = sub;
  }
  if (i == argc && !subcommand_names(cmd).empty()) {
    error = fmt::format("'{}' needs a subcommand: {} (see {} --help)", command_path(cmd),
                        fmt::join(subcommand_names(cmd), ", "), command_path(cmd));
    return cmd;
  }
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;  // what follows are positional arguments
    if (arg.rfind("--", 0) != 0) continue;
    const std::string name = arg.substr(0, arg.find('='));
    bool known = false;
    std::vector<std::string> names;
    for (const CLI::App* c = cmd; c != nullptr && !known; c = c->get_parent())
      for (const CLI::Option* o : c->get_options()) {
        for (const std::string& l : o->get_lnames()) {
          known = known || "--" + l == name;
          if (!o->get_group().empty()) names.push_back("--" + l);  // hidden spellings not offered
        }
      }
    if (!known) {
      error = fmt::format("unknown option '{}'{} (see {} --help)", name,
                          util::did_you_mean(name, names), command_path(cmd));
      return cmd;
    }
  }
  return cmd;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App& app = application();
  app.clear();
  std::string unknown;
  const CLI::App* cmd = precheck(app, argc, argv, unknown);
  if (!unknown.empty()) {
    std::cerr << "llmgps: error: " << unknown << "\n";
    return 2;
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
    std::cerr << "llmgps: error: " << msg << " (see " << command_path(cmd) << " --help)\n";
    return 2;
  } catch (const llmgps::InputError& e) {
    std::cerr << "llmgps: error: " << option_for_field(app, e.where()) << ": " << e.reason()
              << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "llmgps: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace llmgps::cli
