// Owns the Idempotency-Key check (see the header).
#include "rushcast/api/idempotency_key.hpp"

#include "rushcast/core/errc.hpp"

namespace rushcast::api {

boost::system::result<std::string> read_idempotency_key(const std::optional<std::string>& header) {
  if (!header) return std::string{};
  const std::string& v = *header;
  if (v.empty() || v.size() > max_idempotency_key_bytes) return make_error_code(errc::bad_request);
  for (unsigned char c : v)
    if (c < 0x21 || c > 0x7e) return make_error_code(errc::bad_request);
  return v;
}

}  // namespace rushcast::api
