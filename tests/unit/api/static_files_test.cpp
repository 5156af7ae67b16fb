// Which request paths name a static file, and the canonical-path check behind them.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "rushcast/api/static_files.hpp"

using namespace rushcast::api;
namespace fs = std::filesystem;

TEST(StaticPath, PlainNamesAreSafe) {
  for (auto p : {"/", "/index.html", "/js/app.js", "/js/", "/a-b_c.d/e"})
    EXPECT_TRUE(safe_static_path(p)) << p;
}

TEST(StaticPath, AbsoluteEmptyAndDotSegmentsAreRefused) {
  for (auto p : {"", "index.html", "//etc/passwd", "/js//app.js", "/..", "/../x", "/js/../x",
                 "/.", "/./index.html", "/.env", "/.git/config", "/js/.hidden", "/a/..."})
    EXPECT_FALSE(safe_static_path(p)) << p;
}

TEST(StaticPath, BackslashNulAndControlBytesAreRefused) {
  for (std::string p : {std::string("/js\\app.js"), std::string("/a\0b", 4),
                        std::string("/a\nb"), std::string("/a\x7f")})
    EXPECT_FALSE(safe_static_path(p)) << p;
}

class StaticResolve : public ::testing::Test {
protected:
  fs::path top = fs::temp_directory_path() / ("rushcast-resolve-" + std::to_string(::getpid()));
  fs::path root = top / "web";
  void SetUp() override {
    fs::create_directories(root / "js");
    fs::create_directories(root / "docs");
    std::ofstream(root / "index.html") << "index";
    std::ofstream(root / "js" / "app.js") << "app";
    std::ofstream(root / "docs" / "index.html") << "docs";
    std::ofstream(root / ".env") << "secret";
    std::ofstream(top / "outside.txt") << "secret";
  }
  void TearDown() override { fs::remove_all(top); }
};

TEST_F(StaticResolve, FindsFilesAndDirectoryIndexes) {
  EXPECT_EQ(resolve_static(root, "/js/app.js"), fs::canonical(root / "js" / "app.js"));
  EXPECT_EQ(resolve_static(root, "/"), fs::canonical(root / "index.html"));
  EXPECT_EQ(resolve_static(root, "/docs"), fs::canonical(root / "docs" / "index.html"));
  EXPECT_EQ(resolve_static(root, "/docs/"), fs::canonical(root / "docs" / "index.html"));
  EXPECT_FALSE(resolve_static(root, "/missing.html"));
  EXPECT_FALSE(resolve_static(root, "/js"));  // a directory without index.html
  EXPECT_FALSE(resolve_static(root / "nowhere", "/index.html"));
}

TEST_F(StaticResolve, SymlinksLeadingOutAreRefused) {
  fs::create_symlink(top / "outside.txt", root / "out.txt");
  fs::create_directory_symlink(top, root / "up");
  fs::create_symlink("/etc/passwd", root / "passwd");
  EXPECT_FALSE(resolve_static(root, "/out.txt"));
  EXPECT_FALSE(resolve_static(root, "/up/outside.txt"));
  EXPECT_FALSE(resolve_static(root, "/passwd"));
}

TEST_F(StaticResolve, SymlinksInsideAreFollowedButNeverToADotfile) {
  fs::create_symlink(root / "js" / "app.js", root / "alias.js");
  fs::create_symlink(root / ".env", root / "env.txt");
  EXPECT_EQ(resolve_static(root, "/alias.js"), fs::canonical(root / "js" / "app.js"));
  EXPECT_FALSE(resolve_static(root, "/env.txt"));
  EXPECT_FALSE(resolve_static(root, "/.env"));
}

TEST_F(StaticResolve, OnlyRegularFiles) {
  ASSERT_EQ(::mkfifo((root / "fifo").c_str(), 0600), 0);
  EXPECT_FALSE(resolve_static(root, "/fifo"));
}

TEST_F(StaticResolve, AStaticDirThatIsItselfASymlinkStillServes) {
  fs::create_directory_symlink(root, top / "link");
  EXPECT_EQ(resolve_static(top / "link", "/js/app.js"), fs::canonical(root / "js" / "app.js"));
}
