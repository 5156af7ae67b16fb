# Precompiled headers (docs/BENCHMARKS.md, "CI time"): nlohmann/json, spdlog/fmt, the Asio
# declarations and the standard library are parsed once per target instead of once per
# translation unit; the test targets add GoogleTest. Only stable third-party and standard
# headers go in: a project header here would rebuild every file whenever it changed.
#
# The header is force-included (-include) before each source, so a project header that forgets
# one of its own includes still compiles here; the fuzz targets and boost_impl.cpp are built
# without it and catch that.
#
# OFF by default: measured (docs/BENCHMARKS.md, "CI time"), GCC 12's .gch of these headers is
# 198 MB at -O2 -g and loading it costs ~2.5 s of CPU per file, more than the parsing it saves
# (src/api/core_routes.cpp 9.2 -> 10.4 s, src/api/display_name.cpp 0.3 -> 2.9 s). Clang 14's
# PCH loads lazily and does pay (core_routes 10.0 -> 8.1 s in the sanitizer build), but no full
# sanitizer build with it has been verified yet: -DRUSHCAST_PCH=ON to try it.
option(RUSHCAST_PCH "Precompile the heavy third-party headers" OFF)

set(rushcast_pch_headers
  <algorithm> <array> <atomic> <chrono> <cstddef> <cstdint> <deque> <filesystem> <functional>
  <map> <memory> <mutex> <optional> <stdexcept> <string> <string_view> <unordered_map> <vector>
  <nlohmann/json.hpp>
  <spdlog/spdlog.h>
  <boost/system/error_code.hpp>
  <boost/asio/any_io_executor.hpp> <boost/asio/io_context.hpp> <boost/asio/post.hpp>
  <boost/asio/steady_timer.hpp> <boost/asio/ip/tcp.hpp> <boost/asio/write.hpp>)

# ccache (CMAKE_CXX_COMPILER_LAUNCHER) caches files compiled with a precompiled header only with
# these sloppiness settings (its manual, "Precompiled headers"); they are set for this build's
# compiles alone, through the launcher, so the shared ccache.conf is left as it is. GCC also
# needs -fpch-preprocess, or ccache cannot see which .gch a compile used.
# Included after CMAKE_CXX_COMPILER_LAUNCHER is set and before any target exists.
if(RUSHCAST_PCH AND CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER env CCACHE_SLOPPINESS=pch_defines,time_macros ${CCACHE_PROGRAM})
endif()

# target_precompile_headers with the list above (plus EXTRA headers) and the ccache flag.
function(rushcast_precompile target)
  if(NOT RUSHCAST_PCH)
    return()
  endif()
  cmake_parse_arguments(arg "" "" "EXTRA" ${ARGN})
  target_precompile_headers(${target} PRIVATE ${rushcast_pch_headers} ${arg_EXTRA})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -fpch-preprocess)
  endif()
endfunction()
