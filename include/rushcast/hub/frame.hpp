// Owns the encoded form of one event: SSE bytes and a WebSocket frame, made once per publish.
// Used by hub (to encode) and by every session's write_queue (to share, never copy).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace rushcast::hub {

struct frame {
  std::uint64_t seq = 0;   // hub-wide order; 0 = not in history (replies, snapshots, resync)
  std::string id;          // "<epoch>-<seq>", the SSE id / WS "id"; empty when seq == 0
  std::string topic;
  std::string name;        // SSE "event:", WS "type"
  bool state = false;      // conflatable: a newer frame of the same topic+name replaces it
  std::string sse;         // "id: ...\nevent: ...\ndata: {...}\n\n"
  std::string ws_frame;    // RFC 6455 unmasked FIN frame: header + payload
  std::int64_t published_ns = 0;  // CLOCK_REALTIME at publish, for publish-to-write latency
  // Where the event's data object lies inside sse (its one "data:" line). Zero length when
  // the frame has no SSE form or the data had raw line breaks (then split over "data:" lines).
  std::uint32_t data_pos = 0;
  std::uint32_t data_len = 0;

  // Each byte is stored once: the views below point into sse and ws_frame, so a frame is
  // shared (frame_ptr), never copied apart from its strings.
  // The data object exactly as published, for long-poll's JSON answer; empty: see data_pos.
  std::string_view data_json() const { return std::string_view(sse).substr(data_pos, data_len); }
  // {"type":..,"topic":..,"id":.., ...data keys}: the WebSocket frame without its header.
  std::string_view ws_payload() const;
};

using frame_ptr = std::shared_ptr<const frame>;

// data_json must be one serialized JSON object ("{...}"). id may be empty (then no "id:" line
// and no "id" key). Pure: no I/O.
frame_ptr make_frame(std::string_view id, std::uint64_t seq, std::string_view topic,
                     std::string_view name, std::string_view data_json, bool state);

// A frame carrying a direct reply to one WebSocket client (no SSE form, no topic).
frame_ptr make_ws_reply(std::string_view json_text);

// RFC 6455 server-to-client header for a FIN text frame of payload_len bytes.
std::string ws_text_header(std::size_t payload_len);

}  // namespace rushcast::hub
