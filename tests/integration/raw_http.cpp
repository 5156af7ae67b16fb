#include "raw_http.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace rushcast::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(bytes));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buf[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    timeval tv{static_cast<time_t>(left.count() / 1000),
               static_cast<suseconds_t>((left.count() % 1000) * 1000)};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
    // A socket with SO_RCVTIMEO fails with EINTR when the process is stopped and resumed.
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // closed, reset or timed out
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::optional<std::string> raw_response::header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return std::nullopt;
}

raw_response parse_raw_response(const std::string& raw) {
  raw_response r;
  auto head_end = raw.find("\r\n\r\n");
  std::string head = raw.substr(0, head_end);
  if (head.size() >= 12 && head.starts_with("HTTP/1."))
    r.status = static_cast<unsigned>(std::stoi(head.substr(9, 3)));
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos < head.size()) {
    std::size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos
                                                                      : next - pos - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace_back(std::move(name), std::move(value));
    }
    pos = next;
  }
  if (head_end == std::string::npos) return r;
  r.body = raw.substr(head_end + 4);
  if (auto cl = r.header("content-length")) r.body = r.body.substr(0, std::stoul(*cl));
  return r;
}

std::size_t count_responses(const std::string& raw) {
  std::size_t n = 0;
  for (std::size_t pos = raw.find("HTTP/1."); pos != std::string::npos;
       pos = raw.find("HTTP/1.", pos + 1))
    if (pos == 0 || raw.compare(pos - 2, 2, "\r\n") == 0 || raw[pos - 1] == '\n') ++n;
  return n;
}

}  // namespace rushcast::test
