// RFC 6455 section 5 (framing), server side: masked client frames, fragmentation with control
// frames in between, 7/16/64-bit lengths, the message size cap (1009) and close codes.
#include "rushcast/net/ws_frame_reader.hpp"

#include <algorithm>

namespace rushcast::net {

namespace {

constexpr std::uint8_t op_continuation = 0x0, op_text = 0x1, op_binary = 0x2, op_close = 0x8,
                       op_ping = 0x9, op_pong = 0xA;

bool known_opcode(std::uint8_t op) {
  return op == op_continuation || op == op_text || op == op_binary || op == op_close ||
         op == op_ping || op == op_pong;
}

// Codes a peer may send (RFC 6455 7.4.1 and the IANA registry; 1005, 1006 and 1015 are never
// on the wire).
bool valid_close_code(std::uint16_t c) {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

// Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view s) {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  auto end = p + s.size();
  while (p < end) {
    unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t k = 2; k <= n; ++k)
      if ((p[k] & 0xC0) != 0x80) return false;
    p += n + 1;
  }
  return true;
}

}  // namespace

void ws_frame_reader::fail(std::uint16_t code, const char* why, std::vector<ws_event>& out) {
  failed_ = true;
  message_.clear();
  control_.clear();
  out.push_back(ws_event{ws_event::kind::error, code, why});
}

void ws_frame_reader::feed(std::string_view bytes, std::vector<ws_event>& out) {
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n && !failed_) {
    if (!in_payload_) {
      while (hdr_len_ < hdr_need_ && i < n) {
        hdr_[hdr_len_++] = static_cast<unsigned char>(bytes[i++]);
        if (hdr_len_ != 2) continue;
        // The first two bytes say how long the header is; check what they can tell now.
        const std::uint8_t op = hdr_[0] & 0x0F;
        const bool fin = hdr_[0] & 0x80;
        const std::uint8_t len7 = hdr_[1] & 0x7F;
        if (hdr_[0] & 0x70) return fail(1002, "reserved bits set", out);
        if (!known_opcode(op)) return fail(1002, "unknown opcode", out);
        if (!(hdr_[1] & 0x80)) return fail(1002, "client frame not masked", out);
        if (op & 0x8) {
          if (!fin) return fail(1002, "fragmented control frame", out);
          if (len7 > 125) return fail(1002, "control frame too long", out);
        } else if (op == op_continuation && !in_message_) {
          return fail(1002, "continuation without a message", out);
        } else if (op != op_continuation && in_message_) {
          return fail(1002, "new message inside a fragmented one", out);
        }
        hdr_need_ = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
      }
      if (hdr_len_ < hdr_need_) return;
      if (!start_frame(out)) return;
      if (remaining_ == 0) {
        end_frame(out);
        continue;
      }
    }
    const bool control = opcode_ & 0x8;
    std::string& dst = control ? control_ : message_;
    const std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n - i));
    const std::size_t old = dst.size();
    dst.append(bytes.data() + i, take);
    for (std::size_t k = old; k < dst.size(); ++k)
      dst[k] = static_cast<char>(static_cast<unsigned char>(dst[k]) ^ key_[key_pos_++ & 3]);
    i += take;
    remaining_ -= take;
    if (remaining_ == 0) end_frame(out);
  }
}

bool ws_frame_reader::start_frame(std::vector<ws_event>& out) {
  fin_ = hdr_[0] & 0x80;
  opcode_ = hdr_[0] & 0x0F;
  const std::uint8_t len7 = hdr_[1] & 0x7F;
  std::size_t pos = 2;
  std::uint64_t len = len7;
  if (len7 == 126) {
    len = (std::uint64_t{hdr_[2]} << 8) | hdr_[3];
    pos = 4;
  } else if (len7 == 127) {
    len = 0;
    for (std::size_t k = 0; k < 8; ++k) len = (len << 8) | hdr_[2 + k];
    pos = 10;
    if (len >> 63) {
      fail(1002, "frame length has its top bit set", out);
      return false;
    }
  }
  std::copy(hdr_ + pos, hdr_ + pos + 4, key_);
  hdr_len_ = 0;
  hdr_need_ = 2;
  key_pos_ = 0;
  remaining_ = len;
  if (opcode_ & 0x8) {
    control_.clear();
  } else {
    if (opcode_ != op_continuation) {
      in_message_ = true;
      message_binary_ = opcode_ == op_binary;
      message_.clear();
    }
    if (len > max_message_ || message_.size() > max_message_ - len) {
      fail(1009, "message too big", out);
      return false;
    }
    message_.reserve(message_.size() + static_cast<std::size_t>(len));
  }
  in_payload_ = true;
  return true;
}

void ws_frame_reader::end_frame(std::vector<ws_event>& out) {
  in_payload_ = false;
  switch (opcode_) {
    case op_ping:
      out.push_back(ws_event{ws_event::kind::ping, 0, std::move(control_)});
      break;
    case op_pong:
      out.push_back(ws_event{ws_event::kind::pong, 0, std::move(control_)});
      break;
    case op_close: {
      if (control_.size() == 1) return fail(1002, "close payload of one byte", out);
      std::uint16_t code = 0;
      std::string reason;
      if (control_.size() >= 2) {
        code = static_cast<std::uint16_t>((static_cast<unsigned char>(control_[0]) << 8) |
                                          static_cast<unsigned char>(control_[1]));
        if (!valid_close_code(code)) return fail(1002, "invalid close code", out);
        reason = control_.substr(2);
        if (!valid_utf8(reason)) return fail(1007, "close reason is not UTF-8", out);
      }
      out.push_back(ws_event{ws_event::kind::close, code, std::move(reason)});
      break;
    }
    default:  // a data frame
      if (!fin_) return;
      in_message_ = false;
      if (message_binary_) {
        out.push_back(ws_event{ws_event::kind::binary, 0, std::move(message_)});
      } else {
        if (!valid_utf8(message_)) return fail(1007, "text message is not UTF-8", out);
        out.push_back(ws_event{ws_event::kind::text, 0, std::move(message_)});
      }
      message_.clear();
      break;
  }
  control_.clear();
}

}  // namespace rushcast::net
