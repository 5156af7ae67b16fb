// What harness.cpp and harness_streams.cpp share: the Asio/Beast names and the loop that runs a
// client's io_context until a condition or a deadline.
#pragma once

#include <chrono>
#include <cstddef>

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace rushcast::test::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

// Runs io until pred() or the deadline; returns pred().
template <class Pred>
bool run_until(asio::io_context& io, clock_type::time_point deadline, Pred pred) {
  while (!pred()) {
    auto now = clock_type::now();
    if (now >= deadline) return pred();
    io.restart();
    io.run_one_for(deadline - now);
  }
  return true;
}

// Test clients never block in a socket call. Asio's blocking read waits in poll() without end
// once SO_RCVTIMEO runs out, and a socket with such a timeout fails with EINTR when the process
// is stopped and resumed (signal(7)), which a loaded CI machine may do: the clients run async
// operations under run_until() with a deadline instead, or poll() as below.
//
// Up to size bytes from s (a blocking socket) once it is readable; throws on EOF, an error, or
// no byte by the deadline.
std::size_t read_some_by(tcp::socket& s, void* data, std::size_t size,
                         clock_type::time_point deadline);

// In a forked child, before exec: dies with the test process, so that a test that crashes
// leaves no daemon behind holding ports (or ctest's output pipe). Only when the fork was made
// by the main thread: the signal follows the thread that forked, not the process.
void die_with_parent(bool forked_by_main_thread, pid_t parent);
bool on_main_thread();

}  // namespace rushcast::test::detail
