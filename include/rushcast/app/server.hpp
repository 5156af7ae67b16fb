// Owns the daemon's lifetime: shards (one io_context + thread each), every module, the start-up
// order, signals, systemd notify, the sys:stats feed and the drain. Used by app/main only.
#pragma once

#include <memory>
#include <string>

#include "rushcast/config/config.hpp"

namespace rushcast::app {

class server {
public:
  // port_file: where to write the bound port once listening (tests); empty = nowhere.
  server(config::config cfg, std::string port_file);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Starts everything, serves until SIGTERM/SIGINT, drains, returns the exit code (0).
  // Throws config::config_error (exit 2) or std::exception (exit 1) when start-up fails.
  int run();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace rushcast::app
