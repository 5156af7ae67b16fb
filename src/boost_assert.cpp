// Boost's assertion handler for builds that keep assertions (the sanitizer and fuzz builds;
// release builds define NDEBUG and compile BOOST_ASSERT out): BOOST_ENABLE_ASSERT_DEBUG_HANDLER
// is set for every translation unit (CMakeLists.txt, rushcast_boost).
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  // boostorg/beast#2861, fixed after Debian's Boost 1.81: parse_chunk_header asserts n >= 5
  // when it parses a last chunk again, but without a pending CRLF 3 or 4 bytes are valid there
  // ("0\r\n" and the start of the CRLF that ends the body, as a peer may split its writes);
  // the code after it searches for the end and asks for more. That one assertion is wrong, not
  // the state: every other one stops the process as assert() would.
  if (std::strcmp(expr, "n >= 5") == 0 && std::strstr(file, "beast/http/impl/basic_parser.ipp"))
    return;
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function,
                          char const* file, long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr,
               msg);
  std::abort();
}

}  // namespace boost
