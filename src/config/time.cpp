// Owns the config's times (see time.hpp): relative "+Nu" or ISO-8601 UTC to epoch ms.
// Used at start-up only: a bad time is a config_error naming the key (exit 2).
#include "rushcast/config/time.hpp"

#include <charconv>

#include "rushcast/config/section.hpp"

namespace rushcast::config {

using detail::fail;

bool is_relative_time(const std::string& value) { return value.starts_with("+"); }

std::int64_t resolve_time(const std::string& value, std::int64_t now_ms, const std::string& key) {
  const std::string form =
      " (expected \"+30s\", \"+5m\", \"+2h\", \"+1d\" or ISO-8601 UTC like "
      "\"2026-11-25T20:00:00Z\")";
  if (is_relative_time(value)) {
    if (value.size() < 3) fail(key, "bad time \"" + value + "\"" + form);
    std::int64_t n = 0;
    const char* first = value.data() + 1;
    const char* last = value.data() + value.size() - 1;
    auto [p, ec] = std::from_chars(first, last, n);
    if (ec != std::errc{} || p != last || n < 0) fail(key, "bad time \"" + value + "\"" + form);
    std::int64_t unit = 0;
    switch (value.back()) {
      case 's': unit = 1000; break;
      case 'm': unit = 60'000; break;
      case 'h': unit = 3'600'000; break;
      case 'd': unit = 86'400'000; break;
      default: fail(key, "bad time unit in \"" + value + "\"" + form);
    }
    // Ten years is far beyond any sale; it also keeps the arithmetic far from overflow.
    if (n > 10LL * 366 * 86'400'000 / unit) fail(key, "relative time is too far: \"" + value + "\"");
    return now_ms + n * unit;
  }
  // YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z
  auto digits = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > value.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (value[i] < '0' || value[i] > '9') return false;
      out = out * 10 + (value[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, s;
  bool ok = value.size() >= 20 && digits(0, 4, y) && value[4] == '-' && digits(5, 2, mo) &&
            value[7] == '-' && digits(8, 2, d) && value[10] == 'T' && digits(11, 2, h) &&
            value[13] == ':' && digits(14, 2, mi) && value[16] == ':' && digits(17, 2, s);
  std::int64_t ms = 0;
  std::size_t pos = 19;
  if (ok && pos < value.size() && value[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    int scale = 100;
    while (pos < value.size() && value[pos] >= '0' && value[pos] <= '9') {
      if (scale > 0) ms += (value[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start || pos - start > 9) ok = false;
  }
  ok = ok && pos + 1 == value.size() && value[pos] == 'Z';
  if (!ok) fail(key, "bad time \"" + value + "\"" + form);
  auto leap = [](int yr) { return (yr % 4 == 0 && yr % 100 != 0) || yr % 400 == 0; };
  static constexpr int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
      d > mdays[mo - 1] + (mo == 2 && leap(y) ? 1 : 0) || h > 23 || mi > 59 || s > 59)
    fail(key, "bad date or time in \"" + value + "\"" + form);
  // days_from_civil (H. Hinnant): days since 1970-01-01 of a proleptic Gregorian date.
  int yy = y - (mo <= 2 ? 1 : 0);
  int era = yy / 400;
  unsigned yoe = static_cast<unsigned>(yy - era * 400);
  unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60'000 + s * 1000LL + ms;
}

}  // namespace rushcast::config
