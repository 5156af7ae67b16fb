// Owns the check of limits.max_connections against the process's file descriptor limit
// (RLIMIT_NOFILE): one descriptor per connection plus the daemon's own. Used by app/server at
// start-up; the arithmetic and the message are pure, for the unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rushcast::app {

// Descriptors the daemon needs: one per connection, and its own (store files, logs, the
// listener, each shard's event loop, signals) with some room for accept bursts.
std::uint64_t fds_needed(std::size_t max_connections, unsigned threads);

// The warning to log when limit (descriptors the process may open) is below needed, naming
// both numbers and how to raise it; empty when limit suffices.
std::string fd_limit_warning(std::size_t max_connections, std::uint64_t needed,
                             std::uint64_t limit);

// Raises the soft RLIMIT_NOFILE to needed when the hard limit allows (else to the hard
// limit), as servers usually do; returns the soft limit in force afterwards.
std::uint64_t raise_fd_limit(std::uint64_t needed);

}  // namespace rushcast::app
