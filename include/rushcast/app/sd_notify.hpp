// Owns the systemd notify protocol (READY=1, WATCHDOG=1, STOPPING=1) without libsystemd.
// Used by app/server at start-up, on its watchdog timer and on drain.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace rushcast::app {

// Sends state as one datagram to $NOTIFY_SOCKET (a path, or '@' for the abstract namespace).
// Returns false when the variable is unset or the send failed; never throws.
bool sd_notify(std::string_view state);

// Half of $WATCHDOG_USEC (the interval to send WATCHDOG=1 at), when the watchdog is enabled
// for this process ($WATCHDOG_PID unset or ours).
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace rushcast::app
