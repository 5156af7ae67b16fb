// Owns the integration tests' raw HTTP: exact bytes on a fresh socket (a request Beast's own
// client would refuse to send: no Host, odd Transfer-Encoding, paths as typed) and the bytes back.
// Used by the HTTP edge tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rushcast::test {

// Sends bytes on a new connection, then reads until the server closes or timeout passes.
std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

// One response as read from raw bytes (the first one unless offset names another).
struct raw_response {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, in order
  std::string body;  // the bytes after the head, up to Content-Length (or all that came)
  std::optional<std::string> header(const std::string& lower_name) const;
};
raw_response parse_raw_response(const std::string& raw);

// How many HTTP status lines ("HTTP/1.x NNN") the bytes hold: the answers given.
std::size_t count_responses(const std::string& raw);

}  // namespace rushcast::test
