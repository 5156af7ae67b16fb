// operator new/delete, exactly sized, for the handlers of operations an idle connection keeps
// pending for its whole life (waits for readability, the SSE heartbeat). Used by
// net::sse_session and net::ws_session with asio::bind_allocator.
#pragma once

#include <cstddef>
#include <memory>

namespace rushcast::net {

// Asio maps std::allocator to its per-thread recycling cache, which hands out whatever bigger
// block a finished operation (an HTTP read, a handshake response) left there: a long-lived
// wait would keep that block for the connection's life. A distinct type opts out of the cache.
template <class T>
struct plain_allocator {
  using value_type = T;
  plain_allocator() = default;
  template <class U>
  plain_allocator(const plain_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>{}.deallocate(p, n); }
  template <class U>
  bool operator==(const plain_allocator<U>&) const noexcept { return true; }
};

}  // namespace rushcast::net
