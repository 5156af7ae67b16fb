// Owns "last value wins within coalesce_ms" for state events of one engine.
// Used by engine runners on their own strand; publishes through hub::publish.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

namespace rushcast::hub {

class hub;

class coalescer {
public:
  // strand: the owner's executor; every call below must run on it.
  coalescer(boost::asio::any_io_executor strand, hub& h, std::chrono::milliseconds window);
  ~coalescer();
  // Publishes at once when this topic+name published nothing within the window; otherwise
  // keeps only the latest data and publishes it when the window ends. window 0 = always now.
  void update(const std::string& topic, const std::string& name, std::string data_json);
  // The same, but the data is made only when it is published: a value the window replaces
  // before it goes out costs nothing. make runs on the strand, now or when the window ends,
  // and must read the state of that moment (not of this call).
  using producer = std::function<std::string()>;
  void update_lazy(const std::string& topic, const std::string& name, producer make);
  // Publishes whatever is pending now (phase changes, shutdown).
  void flush();
  // Cancels timers; pending values are published first.
  void stop();

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace rushcast::hub
