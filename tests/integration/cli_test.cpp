// The process contract (CONTRACT.md section 1): flags, exit codes, config errors naming the key.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace {

struct run_result {
  int status;
  std::string output;
};

run_result run(const std::string& args) {
  std::string cmd = std::string(RUSHCAST_BIN) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string write_config(const std::string& name, const std::string& text) {
  std::string path = "/tmp/rushcast-cli-" + std::to_string(::getpid()) + "-" + name + ".json";
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(Cli, VersionPrintsAndExitsZero) {
  auto r = run("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("rushcast"), std::string::npos);
}

TEST(Cli, HelpListsFlags) {
  auto r = run("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("--config"), std::string::npos);
  EXPECT_NE(r.output.find("--check-config"), std::string::npos);
}

TEST(Cli, ShippedDemoConfigIsValid) {
  auto r = run(std::string("--check-config --config ") + RUSHCAST_SOURCE_DIR +
               "/config/rushcast.json");
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(Cli, UnknownKeyExitsTwoNamingTheKey) {
  auto path = write_config("unknown", R"({"listen":{"port":8080},"heartbeat_msx":5})");
  auto r = run("--check-config --config " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("heartbeat_msx"), std::string::npos) << r.output;
}

TEST(Cli, NestedBadValueExitsTwoNamingThePath) {
  auto path = write_config("badtype", R"({"limits":{"max_body_bytes":"lots"}})");
  auto r = run("--check-config --config " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("max_body_bytes"), std::string::npos) << r.output;
}

TEST(Cli, MalformedJsonExitsTwo) {
  auto path = write_config("malformed", R"({"listen": )");
  auto r = run("--check-config --config " + path);
  EXPECT_EQ(r.status, 2) << r.output;
}

TEST(Cli, MissingConfigFileExitsTwo) {
  auto r = run("--check-config --config /nonexistent/rushcast.json");
  EXPECT_EQ(r.status, 2) << r.output;
}

TEST(Cli, UnknownFlagExitsTwo) {
  auto r = run("--no-such-flag");
  EXPECT_EQ(r.status, 2) << r.output;
}

TEST(Cli, SigtermStopsCleanlyWithExitZero) {
  rushcast::test::daemon d;
  auto r = rushcast::test::http(d.port(), "GET", "/healthz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(d.terminate(), 0);
}

TEST(Cli, TimeEndpointGivesServerTime) {
  rushcast::test::daemon d;
  auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  auto r = rushcast::test::http(d.port(), "GET", "/time");
  ASSERT_EQ(r.status, 200u);
  auto t = r.json().at("serverTime").get<long long>();
  EXPECT_GE(t, before - 1000);
  EXPECT_LE(t, before + 5000);
}
