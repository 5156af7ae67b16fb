// Owns the hub's boundary around code it calls out to (deliver, flush, snapshot sources).
// Used by the dispatcher and the hub: a handler that throws costs one event, never a topic.
#pragma once

#include <exception>

namespace rushcast::hub {

// Logs that where threw what, at most one line a second (a client that makes every delivery
// throw must not flood the log), with the count of those not logged. Thread-safe.
void log_handler_failure(const char* where, const char* what) noexcept;

// Runs f; whatever it throws is logged through log_handler_failure and swallowed.
template <class F>
void guarded(const char* where, F&& f) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    log_handler_failure(where, e.what());
  } catch (...) {
    log_handler_failure(where, "unknown exception");
  }
}

}  // namespace rushcast::hub
