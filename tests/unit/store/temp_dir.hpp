// A fresh directory under the system temp dir, removed with everything in it when the test ends.
// Shared by the store tests, which each need a real SQLite file of their own.
#pragma once

#include <filesystem>
#include <random>
#include <string>

namespace rushcast::test {

struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& prefix) {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

}  // namespace rushcast::test
