// Entry point: parses flags, loads config, runs the server; maps failures to exit codes
// (0 clean stop, 2 bad config or flags, 1 any other fatal error).
#include <cstdio>
#include <exception>
#include <iostream>

#include <spdlog/spdlog.h>

#include "rushcast/app/server.hpp"
#include "rushcast/config/load.hpp"
#include "rushcast/obs/log.hpp"

int main(int argc, char** argv) {
  using namespace rushcast;
  config::cli_options opts;
  config::config cfg;
  try {
    opts = config::parse_cli(argc, argv);
    if (opts.show_help) {
      std::cout << config::help_text();
      return 0;
    }
    if (opts.show_version) {
      std::cout << "rushcast " RUSHCAST_VERSION "\n";
      return 0;
    }
    cfg = opts.config_path.empty() ? config::embedded_default()
                                   : config::load_file(opts.config_path);
    config::apply_overrides(cfg, opts);
    if (opts.check_config) {
      std::cout << "rushcast: configuration OK\n";
      return 0;
    }
    obs::setup_logging(cfg.log);
  } catch (const config::config_error& e) {
    std::cerr << "rushcast: config error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "rushcast: " << e.what() << "\n";
    return 1;
  }

  try {
    app::server s(std::move(cfg), opts.port_file);
    return s.run();
  } catch (const config::config_error& e) {
    spdlog::critical("config error: {}", e.what());
    std::cerr << "rushcast: config error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    std::cerr << "rushcast: fatal: " << e.what() << "\n";
    return 1;
  }
}
