// The display-name rule: what a client may call itself in a chat room.
#include "rushcast/api/display_name.hpp"

#include <cstdint>

namespace rushcast::api {

bool valid_display_name(std::string_view name) {
  if (name.empty() || name.size() > max_display_name_bytes) return false;
  std::size_t i = 0;
  while (i < name.size()) {
    auto b = static_cast<unsigned char>(name[i]);
    std::uint32_t cp = 0;
    std::size_t len = 0;
    if (b < 0x80) {
      cp = b;
      len = 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
      cp = b & 0x1F;
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      cp = b & 0x0F;
      len = 3;
    } else if (b >= 0xF0 && b <= 0xF4) {
      cp = b & 0x07;
      len = 4;
    } else {
      return false;  // a continuation byte first, C0/C1 (overlong) or F5..FF
    }
    if (i + len > name.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(name[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;
    i += len;
  }
  return true;
}

}  // namespace rushcast::api
