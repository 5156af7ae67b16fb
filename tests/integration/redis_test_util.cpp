// Blocking helpers over redis::client for the Redis integration tests.
#include "redis_test_util.hpp"

#include <stdexcept>

#include <boost/system/errc.hpp>

#include "rushcast/config/redis_url.hpp"

namespace rushcast::test {

redis::client_options redis_fixture_client::options_for(const std::string& url) {
  redis::client_options o;
  auto u = config::parse_redis_url(url);
  if (!u) throw std::runtime_error("bad url " + url);
  o.endpoint = *u;
  o.reconnect_max = std::chrono::milliseconds(200);
  return o;
}

redis_fixture_client::redis_fixture_client(const std::string& url)
    : redis_fixture_client(options_for(url)) {}

redis_fixture_client::redis_fixture_client(redis::client_options opts)
    : client_(redis::client::create(ioc_.get_executor(), std::move(opts))) {
  client_->run([this](bool up) { (up ? ups_ : downs_)++; });
}

redis_fixture_client::~redis_fixture_client() {
  client_->close();
  ioc_.run_for(std::chrono::seconds(2));  // lets every aborted handler run and the client die
}

bool redis_fixture_client::run_until(std::chrono::milliseconds timeout,
                                     const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    ioc_.restart();
    ioc_.run_one_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool redis_fixture_client::wait_connected(std::chrono::milliseconds timeout) {
  return run_until(timeout, [&] { return client_->connected(); });
}

bool redis_fixture_client::wait_answering(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!call({"PING"}, std::chrono::seconds(2)).ec) return true;
    run_until(std::chrono::milliseconds(20), [] { return false; });
  }
  return false;
}

redis_result redis_fixture_client::call(const std::vector<std::string>& args,
                                        std::chrono::milliseconds timeout) {
  auto out = std::make_shared<std::optional<redis_result>>();
  client_->execute(args, [out](boost::system::error_code ec, redis::reply r) {
    *out = redis_result{ec, std::move(r)};
  });
  if (!run_until(timeout, [&] { return out->has_value(); }))
    return redis_result{make_error_code(boost::system::errc::timed_out), {}};
  return std::move(**out);
}

}  // namespace rushcast::test
