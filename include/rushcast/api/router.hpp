// Owns the table from (method, path) to handler, CORS preflight and the 404/405 answers.
// Used by net::http_session for every non-upgrade, non-SSE request; filled by the *_routes files.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "rushcast/api/http_types.hpp"

namespace rushcast::config { struct cors_cfg; }

namespace rushcast::api {

struct context;

using handler = std::function<void(const request&, responder)>;

class router {
public:
  explicit router(context& ctx);
  ~router();
  // Exact path match.
  void add(std::string method, std::string path, handler h);
  // Longest prefix wins among prefix routes; exact routes are tried first.
  void add_prefix(std::string method, std::string prefix, handler h);
  // Answers OPTIONS preflight from cors.allow_origins, adds CORS headers to every answer,
  // 404/405 as JSON when nothing matches. respond may be called later, from any thread.
  void dispatch(const request& req, responder respond) const;

  // The data of the step that finishes every answer (CORS, HEAD), for router.cpp.
  struct finish_args {
    const config::cors_cfg* cors;
    const std::string* allowing;
  };

private:
  struct route {
    std::string method;
    std::string path;
    bool prefix;
    handler h;
  };
  context& ctx_;
  std::vector<route> routes_;
  // What the finishing step of an answer reads: [0] for no allowed origin, [1 + i] for
  // cors.allow_origins[i]. Built once, never resized: stable addresses for later answers.
  std::vector<finish_args> finish_args_;
};

// Each module adds its own routes; app/server calls all of them at start-up.

}  // namespace rushcast::api
