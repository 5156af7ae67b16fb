// Owns the Redis Functions library of rushcast (src/redis/rushcast.lua, embedded at build
// time): its text and its name. Used by the start-up step (FUNCTION LOAD REPLACE) and tests.
#pragma once

#include <string_view>

namespace rushcast::redis {

// The library as FUNCTION LOAD takes it ("#!lua name=rushcast" first).
std::string_view functions_library() noexcept;
inline constexpr std::string_view functions_library_name = "rushcast";

}  // namespace rushcast::redis
