// What harness.cpp and harness_streams.cpp share: the Asio/Beast names and the loop that runs a
// client's io_context until a condition or a deadline.
#pragma once

#include <chrono>

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

// SO_RCVTIMEO/SO_SNDTIMEO, so a blocking test client cannot hang the suite.
void set_timeouts(tcp::socket& s, int seconds);

}  // namespace rushcast::test::detail
