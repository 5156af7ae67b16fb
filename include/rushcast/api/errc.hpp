// Owns the one table from rushcast::errc (core/errc.hpp) to the HTTP status of the contract.
// Used by api/ handlers and ws_protocol to build {"error","message"} replies.
#pragma once

#include "rushcast/core/errc.hpp"

namespace rushcast {

unsigned http_status(errc e) noexcept;

}  // namespace rushcast
