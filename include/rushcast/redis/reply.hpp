// Owns the RESP codec of the Redis connection, over hiredis 0.14: command formatting
// (redisFormatCommandArgv) and reply parsing (redisReader), and the owning `reply` value the
// callbacks get. Used by redis::client, and by unit tests without a socket.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>

namespace rushcast::redis {

// One RESP2 reply, copied out of hiredis so that it owns its bytes.
struct reply {
  enum class kind { nil, status, error, integer, string, array };
  kind type = kind::nil;
  std::int64_t integer = 0;    // kind::integer
  std::string str;             // kind::status, kind::error, kind::string
  std::vector<reply> elements; // kind::array

  bool is_nil() const noexcept { return type == kind::nil; }
  bool is_error() const noexcept { return type == kind::error; }
  bool is_array() const noexcept { return type == kind::array; }
  // The text of a status, error or bulk string reply, or of an integer; empty otherwise.
  std::string text() const;
  // An integer reply, or a bulk string that holds a decimal integer; nullopt otherwise.
  std::optional<std::int64_t> as_int() const;
  // Element i of an array (a nil reply when out of range or not an array).
  const reply& at(std::size_t i) const;
};

// The RESP bytes of one command (a "*N\r\n$len\r\n..." array of bulk strings).
std::string format_command(std::span<const std::string_view> args);

// Incremental reply parser: feed() bytes as they arrive, then next() until it has none.
class reply_reader {
public:
  reply_reader();
  ~reply_reader();
  reply_reader(const reply_reader&) = delete;
  reply_reader& operator=(const reply_reader&) = delete;

  void feed(const char* data, std::size_t size);
  // A complete reply; nullopt when more bytes are needed. A protocol error sets ec (error::
  // protocol_error) and the reader is then unusable (the connection must be dropped).
  std::optional<reply> next(boost::system::error_code& ec);
  // hiredis' description of the last protocol error.
  std::string error_text() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace rushcast::redis
