// Owns the command line: flags, their values, and the overrides they apply (see cli.hpp).
// Used by app/main at start-up only: every error names the flag (exit 2).
#include "rushcast/config/cli.hpp"

#include <charconv>
#include <optional>
#include <set>

#include "rushcast/config/read_server.hpp"
#include "rushcast/config/section.hpp"

namespace rushcast::config {

using detail::fail;

cli_options parse_cli(int argc, char** argv) {
  cli_options o;
  static const std::set<std::string, std::less<>> value_flags{
      "--config", "--port-file", "--listen", "--log-level", "--data-dir", "--threads",
      "--static-dir"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string name = arg;
    std::optional<std::string> value;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name == "--check-config" || name == "--version" || name == "--help" || name == "-h") {
      if (value) fail(name, "takes no value");
      if (name == "--check-config") o.check_config = true;
      else if (name == "--version") o.show_version = true;
      else o.show_help = true;
      continue;
    }
    if (!value_flags.count(name)) fail(name, "unknown flag (see --help)");
    if (!value) {
      if (i + 1 >= argc) fail(name, "needs a value");
      value = argv[++i];
    }
    if (name == "--config") {
      if (value->empty()) fail(name, "needs a file name");
      o.config_path = *value;
    } else if (name == "--port-file") {
      if (value->empty()) fail(name, "needs a file name");
      o.port_file = *value;
    } else {
      o.overrides.emplace_back(name, *value);
    }
  }
  // Validate override values now, so a bad flag is reported before the file is read.
  config probe;
  apply_overrides(probe, o);
  return o;
}

void apply_overrides(config& c, const cli_options& o) {
  for (const auto& [flag, value] : o.overrides) {
    if (flag == "--listen") {
      detail::parse_listen(value, flag, c.listen);
    } else if (flag == "--log-level") {
      static const std::set<std::string, std::less<>> levels{
          "trace", "debug", "info", "warn", "error", "critical", "off"};
      if (!levels.count(value))
        fail(flag, "must be one of trace|debug|info|warn|error|critical|off");
      c.log.level = value;
    } else if (flag == "--data-dir") {
      if (value.empty()) fail(flag, "must not be empty");
      c.data_dir = value;
    } else if (flag == "--static-dir") {
      c.static_dir = value;
    } else if (flag == "--threads") {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec != std::errc{} || p != value.data() + value.size() || v > 256)
        fail(flag, "must be an integer between 0 (= cores) and 256");
      c.threads = v;
    } else {
      fail(flag, "unknown flag (see --help)");
    }
  }
}

std::string help_text() {
  return "Usage: rushcast [options]\n"
         "\n"
         "Real-time push server: SSE, WebSocket and long-poll on one port.\n"
         "\n"
         "Options:\n"
         "  --config FILE        JSON configuration (default: the built-in demo)\n"
         "  --check-config       validate the configuration and exit (0 good, 2 bad)\n"
         "  --version            print the version and exit\n"
         "  --help, -h           print this help and exit\n"
         "  --listen HOST:PORT   override listen (port 0 = any free port)\n"
         "  --log-level LEVEL    trace|debug|info|warn|error|critical|off\n"
         "  --data-dir DIR       where the store lives\n"
         "  --threads N          worker threads (0 = one per core)\n"
         "  --static-dir DIR     demo pages served for unrouted GET paths\n"
         "  --port-file FILE     write the bound port to FILE once listening\n"
         "\n"
         "Flags also take the --flag=value form. Exit codes: 0 clean stop, 2 bad config or\n"
         "flags, 1 any other fatal error. See docs/CONFIG.md.\n";
}
}  // namespace rushcast::config
