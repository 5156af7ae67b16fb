// Owns the blocking helpers the Redis tests use around redis::client: one io_context run by
// the test thread, a call that waits for its callback, and a wait for the connection.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "rushcast/redis/client.hpp"

namespace rushcast::test {

struct redis_result {
  boost::system::error_code ec;
  redis::reply reply;
};

// A client on its own io_context, driven by the calling thread only while a helper waits.
class redis_fixture_client {
public:
  explicit redis_fixture_client(redis::client_options opts);
  explicit redis_fixture_client(const std::string& url);
  ~redis_fixture_client();

  redis::client& client() { return *client_; }
  boost::asio::io_context& ioc() { return ioc_; }
  // How often the state handler said true / false.
  int ups() const { return ups_; }
  int downs() const { return downs_; }

  // Runs the io_context until pred() or the timeout; pred()'s last answer.
  bool run_until(std::chrono::milliseconds timeout, const std::function<bool()>& pred);
  bool wait_connected(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Until a PING is answered: after a server restart connected() may still describe the old
  // connection until the client has read its end.
  bool wait_answering(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // One command, waiting up to timeout for its callback (ec = timed_out if none came).
  redis_result call(const std::vector<std::string>& args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

  static redis::client_options options_for(const std::string& url);

private:
  boost::asio::io_context ioc_;
  std::shared_ptr<redis::client> client_;
  int ups_ = 0;
  int downs_ = 0;
};

}  // namespace rushcast::test
