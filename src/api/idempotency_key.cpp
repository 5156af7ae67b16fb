// Owns the Idempotency-Key check (see the header).
#include "rushcast/api/idempotency_key.hpp"

#include "rushcast/core/errc.hpp"

namespace rushcast::api {

boost::system::result<std::string> read_idempotency_key(const std::optional<std::string>& header) {
  if (!header) return std::string{};
  const std::string& v = *header;
  if (v.empty() || v.size() > max_idempotency_key_bytes) return make_error_code(errc::bad_request);
  for (char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return make_error_code(errc::bad_request);
  }
  return v;
}

}  // namespace rushcast::api
