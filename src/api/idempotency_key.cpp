// Owns the Idempotency-Key check (see the header).
#include "rushcast/api/idempotency_key.hpp"

#include "rushcast/core/errc.hpp"
#include "rushcast/core/ids.hpp"

namespace rushcast::api {

boost::system::result<std::string> read_idempotency_key(const std::optional<std::string>& header) {
  if (!header) return std::string{};
  if (!core::valid_idempotency_key(*header)) return make_error_code(errc::bad_request);
  return *header;
}

}  // namespace rushcast::api
