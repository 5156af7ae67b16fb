// Owns which request paths name a file under static_dir, and the canonical-path check that
// keeps every answer inside it. Used by the catch-all GET/HEAD route in core_routes.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace rushcast::api {

// True when path (percent-decoded, starting with '/') is a list of plain names: no empty
// segment ("//etc"), none starting with '.' ("..", ".", dotfiles, dot-directories), no '\',
// NUL or other control byte. A trailing '/' (a directory's index) is allowed.
bool safe_static_path(std::string_view path);

// The regular file that path names under root, or nullopt. path must pass safe_static_path; a
// directory (or a path ending in '/') means its index.html. Symlinks are followed, but the
// file's canonical path must lie inside root's canonical path with no dot-segment below it,
// so no link leads out and none reaches a dotfile.
std::optional<std::filesystem::path> resolve_static(const std::filesystem::path& root,
                                                    std::string_view path);

}  // namespace rushcast::api
