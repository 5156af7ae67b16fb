// Owns the integration tests' byte-level WebSocket client: an upgrade written by hand and
// frames masked and parsed by hand, so a test can send what no WebSocket library would (RSV
// bits, reserved opcodes, bad lengths, unmasked frames, bytes glued to the upgrade).
// Used by the conformance battery and the WebSocket hardening tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "harness.hpp"

namespace rushcast::test {

// The first byte of a frame: FIN and the opcode (RSV bits may be or-ed in).
inline constexpr std::uint8_t fin = 0x80;
enum opcode : std::uint8_t {
  op_cont = 0x0, op_text = 0x1, op_binary = 0x2, op_close = 0x8, op_ping = 0x9, op_pong = 0xA
};

enum class length_form { shortest, sixteen, sixtyfour };

// A client-to-server frame with first byte b0, masked with a fixed non-zero key (unless
// masked is false). form forces the 16- or 64-bit length encoding.
std::string client_frame(std::uint8_t b0, std::string_view payload, bool masked = true,
                         length_form form = length_form::shortest);
// A close frame's payload: the code (big-endian) and the reason.
std::string close_payload(std::uint16_t code, std::string_view reason = "");

// The request a browser would send ("GET path HTTP/1.1", Host, Upgrade, Connection, a valid
// key, version 13) with extra headers added; a header given with an empty value is left out.
std::string upgrade_request(const std::string& path, const headers_t& extra = {});

struct server_frame {
  std::uint8_t b0 = 0;  // FIN, RSV, opcode as sent
  std::string payload;
  std::uint8_t opcode() const { return b0 & 0x0F; }
  // A close frame's code; 0 when it has none.
  std::uint16_t close_code() const;
};

class raw_ws {
public:
  // Connects (no upgrade yet). rcvbuf > 0 shrinks the socket's receive buffer first, so that
  // a test that does not read fills the server's send queue quickly.
  explicit raw_ws(std::uint16_t port, int rcvbuf = 0);

  // Writes request (and tail, in the same write) and reads the response head; its status.
  unsigned handshake(const std::string& request, const std::string& tail = "");
  // handshake(upgrade_request(path)), expecting 101.
  static raw_ws open(std::uint16_t port, const std::string& path = "/ws");

  void write(std::string_view bytes);
  // The next frame; nullopt on timeout or end of stream.
  std::optional<server_frame> read_frame(std::chrono::milliseconds timeout = 3s);
  // Skips other frames up to a close frame; its code (0 = none), nullopt if none came.
  std::optional<std::uint16_t> close_code(std::chrono::milliseconds timeout = 3s);
  // Skips control frames up to the next text message, parsed; nullopt if none came.
  std::optional<nlohmann::json> next_json(std::chrono::milliseconds timeout = 3s);
  // The response head of the handshake (lower-case header names), and its body if any.
  const headers_t& headers() const { return headers_; }
  boost::asio::ip::tcp::socket& socket() { return socket_; }

private:
  // Reads until in_ holds n bytes; false on timeout or end of stream.
  bool fill(std::size_t n, std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<boost::asio::io_context> io_;
  boost::asio::ip::tcp::socket socket_;
  std::string in_;
  headers_t headers_;
};

}  // namespace rushcast::test
