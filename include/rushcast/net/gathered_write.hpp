// Owns one batch of shared frames on its way to a socket: taken from a write_queue, written by
// one non-blocking sendmsg; what a short write leaves is handed to an async write by the
// session. The write half both stream sessions (net::sse_session, net::ws_session) share.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <sys/uio.h>

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include "rushcast/hub/frame.hpp"
#include "rushcast/net/write_queue.hpp"

namespace rushcast::obs {
class metrics;
}

namespace rushcast::net {

enum class wire { sse, websocket };

class gathered_write {
public:
  // The shard thread's batch for writes that finish at once (nearly all of them): sessions
  // keep no batch storage of their own, and move it out only for a short write.
  static gathered_write& scratch();

  // Forgets the previous batch and takes the next one from q (write_queue::take_batch).
  void take(write_queue& q, wire w);
  // Writes what is left of the batch now, without blocking. True when all of it is written;
  // otherwise ec is would_block (the socket is full: the rest stays) or the error.
  bool send(int fd, boost::system::error_code& ec);
  // What is left of the batch, for an async write; valid until the next take().
  const std::vector<boost::asio::const_buffer>& rest();
  // The batch is on the wire: counts its events as delivered, samples publish-to-write latency
  // (its oldest published frame), and forgets it.
  void done(obs::metrics& m);
  // The batch will not be written (the connection failed): forgets it.
  void reset();

private:
  wire wire_ = wire::sse;
  std::vector<hub::frame_ptr> frames_;
  std::vector<iovec> iov_;
  std::size_t first_ = 0;  // iov_[first_] is the first buffer not fully written
  std::vector<boost::asio::const_buffer> rest_;
};

enum class write_outcome {
  drained,  // everything queued is written
  pending,  // a short write: the rest is in `rest`; the caller starts its async write
  failed,   // ec holds why; the connection is done for
};

// The write path of a stream session: takes batches from q and writes each with one
// non-blocking sendmsg on fd while the socket takes them whole (bounded: q holds at most its
// byte cap). Counts what was written (gathered_write::done). Must not be called while a
// previous `rest` is still being written.
write_outcome write_queued(int fd, write_queue& q, wire w, obs::metrics& m,
                           std::unique_ptr<gathered_write>& rest, boost::system::error_code& ec);

}  // namespace rushcast::net
