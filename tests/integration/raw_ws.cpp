// A WebSocket client at the byte level: hand-made upgrade, masked frames, frame parsing.
#include "raw_ws.hpp"

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

namespace rushcast::test {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

std::string client_frame(std::uint8_t b0, std::string_view payload, bool masked,
                         length_form form) {
  static constexpr unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  std::string f;
  f.push_back(static_cast<char>(b0));
  const std::uint8_t mask_bit = masked ? 0x80 : 0;
  const std::uint64_t n = payload.size();
  if (form == length_form::shortest && n <= 125) {
    f.push_back(static_cast<char>(mask_bit | n));
  } else if (form != length_form::sixtyfour && n <= 0xFFFF) {
    f.push_back(static_cast<char>(mask_bit | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  if (!masked) return f.append(payload);
  f.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    f.push_back(static_cast<char>(payload[i] ^ static_cast<char>(key[i % 4])));
  return f;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xFF));
  return p.append(reason);
}

std::string upgrade_request(const std::string& path, const headers_t& extra) {
  headers_t h{{"Host", "127.0.0.1"},
              {"Upgrade", "websocket"},
              {"Connection", "Upgrade"},
              {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
              {"Sec-WebSocket-Version", "13"}};
  for (const auto& [k, v] : extra) h[k] = v;
  std::string r = "GET " + path + " HTTP/1.1\r\n";
  for (const auto& [k, v] : h)
    if (!v.empty()) r += k + ": " + v + "\r\n";
  return r + "\r\n";
}

std::uint16_t server_frame::close_code() const {
  if (payload.size() < 2) return 0;
  return static_cast<std::uint16_t>(static_cast<unsigned char>(payload[0]) << 8 |
                                    static_cast<unsigned char>(payload[1]));
}

raw_ws::raw_ws(std::uint16_t port, int rcvbuf)
    : io_(std::make_unique<asio::io_context>()), socket_(*io_) {
  socket_.open(asio::ip::tcp::v4());
  if (rcvbuf > 0) socket_.set_option(asio::socket_base::receive_buffer_size(rcvbuf));
  socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  socket_.set_option(asio::ip::tcp::no_delay(true));
  socket_.non_blocking(true);
}

raw_ws raw_ws::open(std::uint16_t port, const std::string& path) {
  raw_ws c(port);
  auto status = c.handshake(upgrade_request(path));
  EXPECT_EQ(status, 101u) << path;
  return c;
}

void raw_ws::write(std::string_view bytes) {
  socket_.non_blocking(false);
  boost::system::error_code ec;
  asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
  socket_.non_blocking(true);
}

bool raw_ws::fill(std::size_t n, clock_type::time_point deadline) {
  char buf[65536];
  while (in_.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) return false;
    pollfd p{socket_.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    boost::system::error_code ec;
    auto got = socket_.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block) continue;
    if (ec || got == 0) return false;
    in_.append(buf, got);
  }
  return true;
}

unsigned raw_ws::handshake(const std::string& request, const std::string& tail) {
  write(request + tail);
  auto deadline = clock_type::now() + 3s;
  std::size_t end;
  while ((end = in_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(in_.size() + 1, deadline)) return 0;
  std::string head = in_.substr(0, end);
  in_.erase(0, end + 4);
  unsigned status = head.size() >= 12 ? static_cast<unsigned>(std::stoi(head.substr(9, 3))) : 0;
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    auto next = head.find("\r\n", pos + 2);
    auto line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    if (auto colon = line.find(':'); colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers_[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    pos = next;
  }
  if (status != 101) {
    // An error answer's body (Content-Length): kept for the test to read as "body".
    if (auto it = headers_.find("content-length"); it != headers_.end()) {
      std::size_t len = std::stoul(it->second);
      fill(len, deadline);
      headers_["body"] = in_.substr(0, len);
      in_.erase(0, std::min(len, in_.size()));
    }
  }
  return status;
}

std::optional<server_frame> raw_ws::read_frame(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  if (!fill(2, deadline)) return std::nullopt;
  server_frame f;
  f.b0 = static_cast<std::uint8_t>(in_[0]);
  const auto b1 = static_cast<std::uint8_t>(in_[1]);
  EXPECT_EQ(b1 & 0x80, 0) << "a server frame must not be masked";
  std::size_t header = 2;
  std::uint64_t len = b1 & 0x7F;
  if (len == 126) {
    header = 4;
    if (!fill(header, deadline)) return std::nullopt;
    len = static_cast<std::uint8_t>(in_[2]) << 8 | static_cast<std::uint8_t>(in_[3]);
  } else if (len == 127) {
    header = 10;
    if (!fill(header, deadline)) return std::nullopt;
    len = 0;
    for (int i = 2; i < 10; ++i) len = len << 8 | static_cast<std::uint8_t>(in_[i]);
  }
  if (!fill(header + len, deadline)) return std::nullopt;
  f.payload = in_.substr(header, len);
  in_.erase(0, header + len);
  return f;
}

std::optional<std::uint16_t> raw_ws::close_code(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    auto f = read_frame(left);
    if (!f) return std::nullopt;
    if (f->opcode() == op_close) return f->close_code();
  }
}

std::optional<nlohmann::json> raw_ws::next_json(std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    auto f = read_frame(left);
    if (!f) return std::nullopt;
    if (f->opcode() == op_close) return std::nullopt;
    if (f->opcode() == op_text) return nlohmann::json::parse(f->payload);
  }
}

}  // namespace rushcast::test
