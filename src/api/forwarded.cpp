// Which client a trusted proxy forwards (see forwarded.hpp).
#include "rushcast/api/forwarded.hpp"

#include <string_view>

namespace rushcast::api {

std::string forwarded_client(const request& r) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return std::string(v);
  };
  std::string ip;
  if (auto v = r.header("x-real-ip")) {
    ip = trim(*v);
  } else if (auto f = r.header("x-forwarded-for")) {
    auto comma = f->rfind(',');
    ip = trim(comma == std::string::npos ? std::string_view(*f)
                                         : std::string_view(*f).substr(comma + 1));
  }
  if (ip.size() > 45 || ip.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos)
    return {};
  return ip;
}

}  // namespace rushcast::api
