// Fuzz target: client-to-server WebSocket bytes -> net::ws_frame_reader, fed whole and again in
// pieces. Byte 0 picks the message size limit, byte 1 the piece size; the rest is the stream.
// Invariants: the events do not depend on how the bytes were split (TCP may split anywhere);
// nothing follows an error; a text message and a close reason are valid UTF-8; no message is
// larger than the limit; control payloads are at most 125 bytes; an error carries 1002, 1007
// or 1009; a close code is one a peer may send.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "rushcast/net/ws_frame_reader.hpp"

using rushcast::net::ws_event;
using rushcast::net::ws_frame_reader;

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  __builtin_trap();
}

// Independent of the reader's own check: well-formed UTF-8 per RFC 3629.
bool utf8_ok(std::string_view s) {
  std::size_t i = 0;
  auto cont = [&](std::size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) { ++i; continue; }
    unsigned n;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else return false;
    for (unsigned k = 1; k <= n; ++k) {
      if (!cont(k)) return false;
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

bool same(const std::vector<ws_event>& a, const std::vector<ws_event>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].type != b[i].type || a[i].code != b[i].code || a[i].payload != b[i].payload)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static const std::size_t limits[] = {0, 1, 125, 126, 1024, 65535, 65536, 1 << 20};
  const std::size_t max_message = limits[data[0] % 8];
  const std::size_t piece = 1 + data[1] % 17;
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  ws_frame_reader whole(max_message);
  std::vector<ws_event> a;
  whole.feed(stream, a);

  ws_frame_reader split(max_message);
  std::vector<ws_event> b;
  for (std::size_t i = 0; i < stream.size(); i += piece) split.feed(stream.substr(i, piece), b);
  if (!same(a, b)) violated("events depend on how the bytes were split");
  if (whole.failed() != split.failed()) violated("failure depends on the split");

  for (std::size_t i = 0; i < a.size(); ++i) {
    const ws_event& e = a[i];
    switch (e.type) {
      case ws_event::kind::error:
        if (i + 1 != a.size()) violated("an event after an error");
        if (e.code != 1002 && e.code != 1007 && e.code != 1009) violated("unexpected error code");
        if (!whole.failed()) violated("error event but reader not failed");
        break;
      case ws_event::kind::text:
        if (!utf8_ok(e.payload)) violated("text message is not UTF-8");
        [[fallthrough]];
      case ws_event::kind::binary:
        if (e.payload.size() > max_message) violated("message larger than the limit");
        break;
      case ws_event::kind::close:
        if (!utf8_ok(e.payload)) violated("close reason is not UTF-8");
        if (e.code != 0 && !((e.code >= 1000 && e.code <= 1003) ||
                             (e.code >= 1007 && e.code <= 1014) ||
                             (e.code >= 3000 && e.code <= 4999)))
          violated("close code not allowed on the wire (RFC 6455 7.4)");
        [[fallthrough]];
      case ws_event::kind::ping:
      case ws_event::kind::pong:
        if (e.payload.size() > 125) violated("control payload over 125 bytes");
        break;
    }
  }
  if (whole.failed() && (a.empty() || a.back().type != ws_event::kind::error))
    violated("failed without an error event");
  return 0;
}
