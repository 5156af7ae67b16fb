# Sanitizer and fuzzing builds (docs/SECURITY.md). Included by the top CMakeLists.txt before any
# target exists, so the flags reach every target of the project (not the prebuilt system
# libraries: Boost headers are compiled here, gtest/spdlog/fmt/sqlite are not instrumented).
#
#   RUSHCAST_SANITIZE  AddressSanitizer + UndefinedBehaviorSanitizer on every target; UB aborts.
#   RUSHCAST_FUZZ      also libFuzzer coverage on every target and the fuzz targets of
#                      tests/fuzz (clang only). One build dir then serves `make sanitize` and
#                      `make fuzz`: each file is compiled once; only the fuzz executables link
#                      libFuzzer's main, tests and the daemon link the sanitizer runtimes only.
#   RUSHCAST_TSAN      ThreadSanitizer instead (make tsan); not combinable with the above.
option(RUSHCAST_SANITIZE "Build everything with ASan + UBSan" OFF)
option(RUSHCAST_FUZZ "Build the libFuzzer targets (clang; implies RUSHCAST_SANITIZE)" OFF)
option(RUSHCAST_TSAN "Build everything with ThreadSanitizer" OFF)

if(RUSHCAST_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "RUSHCAST_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++-14")
  endif()
  set(RUSHCAST_SANITIZE ON)
endif()
if(RUSHCAST_TSAN AND RUSHCAST_SANITIZE)
  message(FATAL_ERROR "RUSHCAST_TSAN cannot be combined with RUSHCAST_SANITIZE/RUSHCAST_FUZZ")
endif()

# What makes an instrumented build cheap: light optimisation (ASan at -O0 is slower to run and
# not faster to compile), line tables instead of full debug info (stack traces keep file:line),
# frame pointers for fast unwinding. NDEBUG stays undefined: asserts are on.
set(rushcast_instrumented_flags -O1 -fno-omit-frame-pointer)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(APPEND rushcast_instrumented_flags -gline-tables-only)
else()
  list(APPEND rushcast_instrumented_flags -g1)
endif()

if(RUSHCAST_SANITIZE)
  set(rushcast_san -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  add_compile_options(${rushcast_instrumented_flags} ${rushcast_san})
  add_link_options(${rushcast_san})
  if(RUSHCAST_FUZZ)
    # Coverage counters and comparison hooks for libFuzzer; without libFuzzer linked the
    # sanitizer runtime's weak no-op hooks answer them.
    add_compile_options(-fsanitize=fuzzer-no-link)
  endif()
endif()

if(RUSHCAST_TSAN)
  add_compile_options(${rushcast_instrumented_flags} -fsanitize=thread)
  add_link_options(-fsanitize=thread)
endif()
