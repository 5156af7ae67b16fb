// Owns the parsing of client-to-server RFC 6455 frames: bytes in, messages and control frames
// out. Pure (no socket, no Asio), so it can be fed byte by byte in tests. Used by
// net::ws_session, which keeps one only while a frame or a message is incomplete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rushcast::net {

struct ws_event {
  enum class kind : std::uint8_t {
    text,    // a whole text message (fragments reassembled), unmasked
    binary,  // a whole binary message
    ping,    // payload = the ping's application data (answer with a pong carrying it)
    pong,
    close,   // code = the peer's status code (0: none given), payload = its reason
    error,   // protocol violation: code = the close code to send (1002, 1009), payload = why
  };
  kind type = kind::text;
  std::uint16_t code = 0;
  std::string payload;
};

// Server side: every client frame must be masked. After an error the reader stops: feed()
// ignores everything that follows (the connection is being closed).
class ws_frame_reader {
public:
  explicit ws_frame_reader(std::size_t max_message_bytes) : max_message_(max_message_bytes) {}

  // Parses bytes (any split: a byte at a time works) and appends what completed to out.
  void feed(std::string_view bytes, std::vector<ws_event>& out);

  // Nothing partial is held: no frame header, payload or fragmented message in progress.
  // The session frees the reader then.
  bool idle() const { return !failed_ && hdr_len_ == 0 && !in_payload_ && !in_message_; }
  bool failed() const { return failed_; }

private:
  void fail(std::uint16_t code, const char* why, std::vector<ws_event>& out);
  // A whole header sits in hdr_; validates it and starts the payload. False on error.
  bool start_frame(std::vector<ws_event>& out);
  void end_frame(std::vector<ws_event>& out);

  std::size_t max_message_;
  // The frame being read.
  unsigned char hdr_[14];
  std::size_t hdr_len_ = 0;   // header bytes collected
  std::size_t hdr_need_ = 2;  // header bytes needed (known once the first two are in)
  bool in_payload_ = false;   // header done, payload bytes remain (or an empty payload ends)
  bool fin_ = false;
  std::uint8_t opcode_ = 0;
  unsigned char key_[4] = {0, 0, 0, 0};
  std::uint64_t remaining_ = 0;  // payload bytes of this frame still to read
  std::size_t key_pos_ = 0;      // mask index of the next payload byte
  std::string control_;          // the payload of the control frame being read
  // The data message being reassembled.
  bool in_message_ = false;
  bool message_binary_ = false;
  std::string message_;
  bool failed_ = false;
};

}  // namespace rushcast::net
