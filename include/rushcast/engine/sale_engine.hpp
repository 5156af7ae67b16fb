// Owns what the API asks of a running sale, whoever decides it: engine::sale_runner (one node,
// SQLite) and engine::cluster_sale_runner (storage.backend redis) implement it. Used by the
// registry and api/sale_routes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "rushcast/core/errc.hpp"
#include "rushcast/engine/sale.hpp"

namespace boost::asio { class io_context; }

namespace rushcast::engine {

// The public figures of a sale; a copy is kept under a mutex so that any thread (snapshots,
// GET /api/sales/ID) reads it without visiting the strand.
struct sale_view {
  std::string id;
  std::string name;
  std::int64_t stock = 0;
  std::int64_t total = 0;
  std::int64_t queued = 0;
  std::int64_t head = 0;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  bool all_reserved = false;
  // The phase at now_ms (time decides upcoming/ended; reservations decide sold_out).
  sale_phase phase_at(std::int64_t now_ms) const;
};

// The answer to one purchase request.
struct admit_reply {
  errc code = errc::ok;     // ok, not_started, ended, duplicate, internal, unavailable
  bool sold_out = false;    // with ok: sold out, not queued
  std::int64_t position = 0;  // with ok and !sold_out
  user_answer earlier;      // with duplicate
  std::int64_t start_ms = 0;  // with not_started
};

class sale_engine {
public:
  using admit_done = std::function<void(admit_reply)>;
  virtual ~sale_engine() = default;

  // Thread-safe. done runs once the answer is known ("queued" only once it is durable).
  // home: the io_context of the caller's shard, or nullptr (see each implementation for where
  // done runs). request_id: the client's Idempotency-Key (already validated), or empty; an
  // implementation that stores request ids answers a repeated one with its first answer.
  virtual void admit(std::string user_id, admit_done done,
                     boost::asio::io_context* home = nullptr, std::string request_id = {}) = 0;
  // Thread-safe. done runs once with the user's latest answer (unavailable: it could not be
  // read now).
  virtual void result_for(std::string user_id, std::function<void(user_answer)> done) = 0;
  virtual sale_view view() const = 0;  // thread-safe
  virtual const std::string& id() const noexcept = 0;
  // Drain: timers stop, admissions are refused (unavailable); thread-safe.
  virtual void stop() = 0;
};

}  // namespace rushcast::engine
