// Owns the plain request/response structs that cross from net/ into api/ (no Beast here).
// Used by net::http_session (fills request, writes response) and every api handler.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio { class io_context; }

namespace rushcast::api {

struct request {
  std::string method;   // "GET", "POST", "OPTIONS", ...
  std::string target;   // raw target with query string
  std::string path;     // decoded path without query
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote_ip;
  unsigned version = 11;
  // The io_context of the shard that holds the connection (nullptr in tests): an engine that
  // answers later sends the answer there, grouped with the other answers for that shard.
  boost::asio::io_context* home = nullptr;

  std::optional<std::string> header(std::string_view lower_name) const;
  std::optional<std::string> param(std::string_view name) const;
};

struct response {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type etc.
  std::string body;
  bool close = false;  // close the connection after writing
  // Set for HEAD: the Content-Length a GET would carry; body is empty and none is sent.
  std::optional<std::uint64_t> head_length;

  static response json(unsigned status, std::string body);
  static response text(unsigned status, std::string body, std::string content_type);
};

// A handler may answer later and from any thread (engine strands, store thread): the
// session posts the response back to its own shard. Called exactly once.
using responder = std::function<void(response)>;

// Parses "a=b&c=%20d" into a map (percent and '+' decoding). Pure.
std::map<std::string, std::string> parse_query(std::string_view qs);
std::string percent_decode(std::string_view s);

}  // namespace rushcast::api
