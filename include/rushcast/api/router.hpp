// Owns the table from (method, path) to handler, CORS preflight and the 404/405 answers.
// Used by net::http_session for every non-upgrade, non-SSE request; filled by the *_routes files.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "rushcast/api/http_types.hpp"

namespace rushcast::api {

struct context;

using handler = std::function<void(const request&, responder)>;

class router {
public:
  explicit router(context& ctx);
  // Exact path match.
  void add(std::string method, std::string path, handler h);
  // Longest prefix wins among prefix routes; exact routes are tried first.
  void add_prefix(std::string method, std::string prefix, handler h);
  // Answers OPTIONS preflight from cors.allow_origins, adds CORS headers to every answer,
  // 404/405 as JSON when nothing matches. respond may be called later, from any thread.
  void dispatch(const request& req, responder respond) const;

private:
  struct route {
    std::string method;
    std::string path;
    bool prefix;
    handler h;
  };
  context& ctx_;
  std::vector<route> routes_;
};

// Each module adds its own routes; app/server calls all of them at start-up.

}  // namespace rushcast::api
