// Owns the mapping from a request path to a file inside static_dir (see the header's contract).
#include "rushcast/api/static_files.hpp"

#include <algorithm>

namespace rushcast::api {

namespace fs = std::filesystem;

bool safe_static_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    std::string_view seg = path.substr(0, slash);
    if (seg.empty() || seg.front() == '.') return false;
    for (char c : seg) {
      auto u = static_cast<unsigned char>(c);
      if (c == '\\' || u < 0x20 || u == 0x7f) return false;
    }
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);  // "a/" leaves "" here: the trailing slash of a directory
  }
  return true;
}

std::optional<fs::path> resolve_static(const fs::path& root, std::string_view path) {
  if (!safe_static_path(path)) return std::nullopt;
  std::error_code ec;
  const fs::path base = fs::canonical(root, ec);
  if (ec) return std::nullopt;
  // safe_static_path leaves a relative path: it cannot replace base when appended.
  fs::path file = base / fs::path(path.substr(1));
  if (path.back() == '/' || fs::is_directory(file, ec)) file /= "index.html";
  const fs::path real = fs::canonical(file, ec);
  if (ec) return std::nullopt;
  auto [b, r] = std::mismatch(base.begin(), base.end(), real.begin(), real.end());
  if (b != base.end()) return std::nullopt;  // a symlink led out of static_dir
  for (; r != real.end(); ++r) {
    const std::string name = r->string();
    if (name.empty() || name.front() == '.') return std::nullopt;  // a symlink to a dotfile
  }
  if (!fs::is_regular_file(real, ec)) return std::nullopt;  // devices, fifos, sockets
  return real;
}

}  // namespace rushcast::api
