// Owns one connection's bounded send queue of shared, already-encoded frames (no Asio here).
// Used by net::sse_session, net::ws_session (push in deliver, take_batch in do_write).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "rushcast/hub/frame.hpp"

namespace rushcast::net {

// Thread-confined: the hub delivers on the subscriber's shard thread and the session writes
// on the same thread, so the queue takes no lock (STYLE.md's "own short mutex" is not needed
// once fan-out is sharded per thread).
//
// Bytes are counted by the caller's measure of a frame (SSE bytes or WebSocket frame bytes),
// so one queue type serves both transports.
//
// An empty queue holds no heap memory (every idle connection has one): the storage is released
// when a take empties the queue, and allocated again by the next push. A std::deque would
// keep a 512-byte node and its map even when empty.
class write_queue {
public:
  struct push_result {
    bool was_empty = false;  // the queue was empty before: start a flush
    bool over_cap = false;   // the frame was refused: the connection must close (slow consumer)
    bool conflated = false;  // an older queued frame of the same topic+name was dropped
  };

  explicit write_queue(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // Appends f (bytes long on the wire). A state frame replaces (drops) an older queued state
  // frame of the same topic and name, and is appended at the tail so ids stay in order. A
  // frame that would raise the byte count over the cap is refused, unless the queue is empty
  // (one frame always fits).
  push_result push(hub::frame_ptr f, std::size_t bytes);

  // Moves up to max_buffers frames / about max_bytes (at least one frame) into out, in order.
  // Returns the number taken. Taken frames can no longer be conflated.
  std::size_t take_batch(std::vector<hub::frame_ptr>& out, std::size_t max_buffers = 64,
                         std::size_t max_bytes = 64 * 1024);

  // Drops everything queued (closing a slow consumer).
  void clear();

  bool empty() const { return live_ == 0; }
  // Whether the queue holds heap storage (tests: false once drained).
  bool holds_storage() const { return entries_.capacity() > 0 || state_pos_.bucket_count() > 1; }
  std::size_t size() const { return live_; }
  std::size_t bytes() const { return bytes_; }
  std::size_t max_bytes() const { return max_bytes_; }

private:
  struct entry {
    hub::frame_ptr f;  // null = dropped by conflation
    std::size_t bytes = 0;
  };
  static std::string key_of(const hub::frame& f);
  entry& at(std::uint64_t pos) { return entries_[head_ + (pos - head_pos_)]; }
  void pop_front();
  void release_if_empty();

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::size_t live_ = 0;
  std::uint64_t head_pos_ = 0;  // absolute position of entries_[head_]
  std::size_t head_ = 0;        // entries_[0, head_) are already taken
  std::vector<entry> entries_;
  // topic '\0' name -> absolute position of the queued state frame.
  std::unordered_map<std::string, std::uint64_t> state_pos_;
};

}  // namespace rushcast::net
