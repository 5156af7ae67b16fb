// Encodes one event into its SSE bytes and its WebSocket payload and frame, once per publish.
// Pure string work: the data object is spliced, never re-parsed, so encoding stays O(bytes).
#include "rushcast/hub/frame.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace rushcast::hub {
namespace {

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Appends s as the inside of a JSON string literal (RFC 8259 escaping).
void append_json_escaped(std::string& out, std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
}

// An SSE field value ends at CR or LF; a name or id carrying one would inject fields.
void append_sse_field_value(std::string& out, std::string_view s) {
  for (char c : s) out += (c == '\n' || c == '\r') ? ' ' : c;
}

// Splits data at CR, LF or CRLF into "data:" lines, so the client rejoins it with '\n'.
void append_sse_data(std::string& out, std::string_view data) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] != '\n' && data[i] != '\r') continue;
    out += "data: ";
    out.append(data.substr(start, i - start));
    out += '\n';
    if (data[i] == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
    start = i + 1;
  }
  out += "data: ";
  out.append(data.substr(start));
  out += '\n';
}

std::int64_t realtime_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The length of the RFC 6455 server header at the front of a frame (no mask: 2, 4 or 10).
std::size_t ws_header_size(std::string_view frame) {
  if (frame.size() < 2) return frame.size();
  auto len7 = static_cast<unsigned char>(frame[1]) & 0x7F;
  std::size_t h = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
  return std::min(h, frame.size());
}

}  // namespace

std::string_view frame::ws_payload() const {
  return std::string_view(ws_frame).substr(ws_header_size(ws_frame));
}

std::string ws_text_header(std::size_t payload_len) {
  std::string h;
  h += static_cast<char>(0x81);  // FIN | opcode text
  if (payload_len <= 125) {
    h += static_cast<char>(payload_len);
  } else if (payload_len <= 0xFFFF) {
    h += static_cast<char>(126);
    h += static_cast<char>((payload_len >> 8) & 0xFF);
    h += static_cast<char>(payload_len & 0xFF);
  } else {
    h += static_cast<char>(127);
    auto len = static_cast<std::uint64_t>(payload_len);
    for (int shift = 56; shift >= 0; shift -= 8) h += static_cast<char>((len >> shift) & 0xFF);
  }
  return h;
}

frame_ptr make_frame(std::string_view id, std::uint64_t seq, std::string_view topic,
                     std::string_view name, std::string_view data_json, bool state) {
  auto f = std::make_shared<frame>();
  f->seq = seq;
  f->id = std::string(id);
  f->topic = std::string(topic);
  f->name = std::string(name);
  f->state = state;
  f->published_ns = realtime_ns();

  // SSE
  f->sse.reserve(data_json.size() + id.size() + name.size() + 24);
  if (!id.empty()) {
    f->sse += "id: ";
    append_sse_field_value(f->sse, id);
    f->sse += '\n';
  }
  f->sse += "event: ";
  append_sse_field_value(f->sse, name);
  f->sse += '\n';
  if (data_json.find_first_of("\r\n") == std::string_view::npos) {
    f->data_pos = static_cast<std::uint32_t>(f->sse.size() + 6);  // after "data: "
    f->data_len = static_cast<std::uint32_t>(data_json.size());
  }
  append_sse_data(f->sse, data_json);
  f->sse += '\n';

  // WebSocket: {"type":..,"topic":..,"id":.. spliced in front of the data object's own keys,
  // written behind room for the longest header, which is filled in once the length is known.
  constexpr std::size_t room = 10;
  std::string& p = f->ws_frame;
  p.reserve(room + data_json.size() + id.size() + name.size() + topic.size() + 32);
  p.assign(room, '\0');
  p += "{\"type\":\"";
  append_json_escaped(p, name);
  p += '"';
  if (!topic.empty()) {
    p += ",\"topic\":\"";
    append_json_escaped(p, topic);
    p += '"';
  }
  if (!id.empty()) {
    p += ",\"id\":\"";
    append_json_escaped(p, id);
    p += '"';
  }
  std::size_t b = 0;
  while (b < data_json.size() && is_json_space(data_json[b])) ++b;
  if (b < data_json.size() && data_json[b] == '{') {
    std::size_t k = b + 1;
    while (k < data_json.size() && is_json_space(data_json[k])) ++k;
    if (k < data_json.size() && data_json[k] == '}') {
      p += '}';
    } else {
      p += ',';
      p.append(data_json.substr(k));
    }
  } else {
    // Not an object (a caller bug): keep the payload valid JSON by nesting the value.
    p += ",\"data\":";
    if (b == data_json.size()) p += "null";
    else p.append(data_json.substr(b));
    p += '}';
  }
  const std::string header = ws_text_header(p.size() - room);
  p.replace(0, room, header);
  return f;
}

frame_ptr make_ws_reply(std::string_view json_text) {
  auto f = std::make_shared<frame>();
  f->ws_frame.reserve(10 + json_text.size());
  f->ws_frame += ws_text_header(json_text.size());
  f->ws_frame += json_text;
  f->published_ns = realtime_ns();
  return f;
}

}  // namespace rushcast::hub
