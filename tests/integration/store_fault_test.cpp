// The store under faults, from outside (issue 17): a data dir that fills up, is freed again, or
// is read-only. Buying and bidding answer 503 unavailable while nothing can be stored, /readyz
// says why, both come back by themselves within seconds once space returns, and whatever was
// acknowledged before is there after a restart. The data dir is a small tmpfs the test mounts
// itself (root only; skipped with the reason otherwise).
#include <fcntl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace {

using namespace rushcast::test;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

// A tmpfs of a few MiB mounted on a fresh directory; unmounted and removed at the end.
class tmpfs_dir {
public:
  explicit tmpfs_dir(std::string size) : size_(std::move(size)) {
    if (::geteuid() != 0) {
      skip_reason_ = "needs root to mount a tmpfs as the data dir (running as uid " +
                     std::to_string(::geteuid()) + ")";
      return;
    }
    char tmpl[] = "/tmp/rushcast-tmpfs-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      skip_reason_ = std::string("mkdtemp: ") + std::strerror(errno);
      return;
    }
    path_ = tmpl;
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, ("size=" + size_).c_str()) != 0) {
      skip_reason_ = "cannot mount a tmpfs on " + path_ + ": " + std::strerror(errno);
      ::rmdir(path_.c_str());
      path_.clear();
      return;
    }
    mounted_ = true;
  }
  ~tmpfs_dir() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
    if (!path_.empty()) ::rmdir(path_.c_str());
  }
  tmpfs_dir(const tmpfs_dir&) = delete;
  tmpfs_dir& operator=(const tmpfs_dir&) = delete;

  const std::string& skip_reason() const { return skip_reason_; }
  const std::string& path() const { return path_; }
  std::string data_dir() const { return path_ + "/data"; }

  // Writes a filler file until the file system is full (ENOSPC); may be called again to take
  // whatever space came back meanwhile.
  void fill() {
    int fd = ::open((path_ + "/filler").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    std::vector<char> block(4096, 'x');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    // Whatever fits of a last partial block.
    while (::write(fd, block.data(), 1) > 0) {
    }
    ::close(fd);
  }
  void free_space() { ::unlink((path_ + "/filler").c_str()); }
  bool remount_read_only() {
    return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY,
                   ("size=" + size_).c_str()) == 0;
  }

private:
  std::string size_;
  std::string path_;
  std::string skip_reason_;
  bool mounted_ = false;
};

// A systemd notify socket of our own: daemons started while it lives send it READY=1, STATUS=...
class notify_socket {
public:
  notify_socket() {
    path_ = "/tmp/rushcast-notify-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ADD_FAILURE() << "cannot bind " << path_ << ": " << std::strerror(errno);
      return;
    }
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~notify_socket() {
    ::unsetenv("NOTIFY_SOCKET");
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  // The first datagram that starts with prefix, within timeout.
  std::string wait_for(const std::string& prefix, std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    while (clock_type::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[1024];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      std::string msg(buf, static_cast<std::size_t>(n));
      if (msg.rfind(prefix, 0) == 0) return msg;
    }
    return {};
  }

private:
  std::string path_;
  int fd_ = -1;
};

json loose_limits() {
  return {{"per_user_per_s", 100000}, {"per_user_burst", 100000},
          {"per_ip_per_s", 100000},   {"per_ip_burst", 100000}};
}

json fault_config(std::uint64_t min_free_bytes) {
  return json{
      {"sales", json::array({{{"id", "s"},
                              {"name", "Sale"},
                              {"stock", 100000},
                              {"start_at", iso_from_now(-60s)},
                              {"end_at", "+1h"}}})},
      {"auctions", json::array({{{"id", "a"},
                                 {"name", "Item"},
                                 {"start_price", 100},
                                 {"min_increment", 10},
                                 {"start_at", iso_from_now(-60s)},
                                 {"end_at", "+1h"}}})},
      {"rate_limit", loose_limits()},
      {"storage", {{"min_free_bytes", min_free_bytes}, {"checkpoint_ms", 200}}},
  };
}

http_reply buy(std::uint16_t port, const std::string& user) {
  return http(port, "POST", "/api/seckill", json{{"userId", user}, {"saleId", "s"}}.dump());
}

http_reply bid(std::uint16_t port, const std::string& user, std::int64_t amount) {
  return http(port, "POST", "/api/bid",
              json{{"userId", user}, {"auctionId", "a"}, {"bidAmount", amount}}.dump());
}

std::string error_of(const http_reply& r) {
  try {
    return r.json().value("error", "");
  } catch (...) {
    return "";
  }
}

bool eventually(std::chrono::milliseconds timeout, const std::function<bool()>& pred) {
  return rushcast::test::wait_until(timeout, pred, 50ms);
}

// The sale's queue is worked off and a scheduled checkpoint has emptied the WAL.
bool settled(const rushcast::test::daemon& d) {
  if (http(d.port(), "GET", "/api/sales/s").json().value("queued", -1) != 0) return false;
  std::error_code ec;
  const auto wal = std::filesystem::file_size(std::filesystem::path(d.data_dir()) / "rushcast.db-wal", ec);
  return ec || wal == 0;
}

void expect_unavailable(const http_reply& r, const char* what) {
  EXPECT_EQ(r.status, 503u) << what << ": " << r.body;
  EXPECT_EQ(error_of(r), "unavailable") << what << ": " << r.body;
  EXPECT_EQ(r.headers.count("retry-after"), 1u) << what << " without Retry-After";
}

// Every buyer told "queued" and every bid told "accepted" is in the store after a restart.
void expect_acknowledged_survive(const rushcast::test::daemon& d,
                                 const std::vector<std::string>& buyers,
                                 std::int64_t last_price, std::size_t bids) {
  for (const auto& u : buyers) {
    auto r = http(d.port(), "GET", "/api/sales/s/result?userId=" + u);
    ASSERT_EQ(r.status, 200u) << r.body;
    auto status = r.json().at("status").get<std::string>();
    EXPECT_TRUE(status == "queued" || status == "success") << u << " lost: " << r.body;
  }
  auto a = http(d.port(), "GET", "/api/auctions/a").json();
  EXPECT_EQ(a["currentPrice"], last_price);
  EXPECT_EQ(a["bids"].size(), bids);
}

// Runs the fill / refuse / free / recover / restart story; min_free_bytes decides whether the
// refusals come early (space below the headroom) or from writes that really fail.
void full_disk_story(std::uint64_t min_free_bytes) {
  tmpfs_dir fs("8m");
  if (!fs.skip_reason().empty()) GTEST_SKIP() << fs.skip_reason();
  rushcast::test::daemon d(fault_config(min_free_bytes), fs.data_dir());
  // The port file is written just before the daemon declares itself ready.
  ASSERT_TRUE(eventually(2s, [&] { return http(d.port(), "GET", "/readyz").status == 200u; }));

  std::vector<std::string> acknowledged;
  for (int i = 0; i < 10; ++i) {
    std::string u = "before" + std::to_string(i);
    auto r = buy(d.port(), u);
    ASSERT_EQ(r.status, 200u) << r.body;
    acknowledged.push_back(u);
  }
  ASSERT_EQ(bid(d.port(), "b1", 200).status, 200u);
  ASSERT_TRUE(eventually(3s, [&] { return settled(d); })) << "the WAL was not checkpointed";

  fs.fill();
  // Purchases go on until the store notices (at once with headroom, at the first write that
  // fails without); never a 500, and nothing answered "queued" is lost.
  int n = 0;
  bool refused = eventually(3s, [&] {
    std::string u = "during" + std::to_string(n++);
    auto r = buy(d.port(), u);
    if (r.status == 200u) {
      acknowledged.push_back(u);
      return false;
    }
    expect_unavailable(r, "purchase on a full disk");
    return true;
  });
  ASSERT_TRUE(refused) << "purchases were still taken on a full disk";
  fs.fill();  // whatever a checkpoint gave back
  EXPECT_TRUE(eventually(2s, [&] { return http(d.port(), "GET", "/readyz").status == 503u; }));
  auto ready = http(d.port(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 503u);
  EXPECT_NE(ready.body.find("store"), std::string::npos) << ready.body;
  expect_unavailable(buy(d.port(), "refused"), "purchase");
  auto refused_bid = bid(d.port(), "b2", 300);
  expect_unavailable(refused_bid, "bid");
  EXPECT_EQ(refused_bid.json()["currentPrice"], 200) << "the refusal must show the stored price";

  fs.free_space();
  auto freed_at = clock_type::now();
  EXPECT_TRUE(eventually(5s, [&] { return buy(d.port(), "after").status == 200u; }))
      << "buying did not come back within 5 s of freeing space";
  acknowledged.push_back("after");
  EXPECT_LT(clock_type::now() - freed_at, 5s);
  EXPECT_TRUE(eventually(2s, [&] { return bid(d.port(), "b2", 300).status == 200u; }))
      << "bidding did not come back";
  EXPECT_EQ(http(d.port(), "GET", "/readyz").status, 200u);
  EXPECT_TRUE(eventually(3s, [&] {
    return http(d.port(), "GET", "/api/sales/s").json().value("queued", -1) == 0;
  })) << "the queue's orders were not worked off";

  EXPECT_EQ(d.terminate(), 0) << d.log();
  d.restart();
  expect_acknowledged_survive(d, acknowledged, 300, 2);
}

}  // namespace

TEST(StoreFault, FullDataDirRefusesEarlyThenRecoversWithoutRestart) {
  full_disk_story(/*min_free_bytes=*/1 << 20);
}

TEST(StoreFault, WritesFailingOnAFullDiskRecoverWithoutRestart) {
  full_disk_story(/*min_free_bytes=*/0);
}

TEST(StoreFault, ReadOnlyDataDirIsNotReadyAndSaysWhy) {
  tmpfs_dir fs("8m");
  if (!fs.skip_reason().empty()) GTEST_SKIP() << fs.skip_reason();
  rushcast::test::daemon d(fault_config(0), fs.data_dir());
  ASSERT_EQ(buy(d.port(), "u1").status, 200u);
  ASSERT_EQ(d.terminate(), 0) << d.log();
  if (!fs.remount_read_only()) GTEST_SKIP() << "cannot remount the tmpfs read-only";

  notify_socket systemd;
  d.restart();
  // systemd hears why, too (systemctl status shows it).
  auto status = systemd.wait_for("STATUS=", 3s);
  EXPECT_NE(status.find("not ready"), std::string::npos) << status;
  EXPECT_NE(status.find("read-only"), std::string::npos) << status;
  http_reply ready;
  // Once started (not "starting"), it says why it is not ready.
  EXPECT_TRUE(eventually(2s, [&] {
    ready = http(d.port(), "GET", "/readyz");
    return ready.body.find("starting") == std::string::npos;
  }));
  EXPECT_EQ(ready.status, 503u) << ready.body;
  EXPECT_EQ(error_of(ready), "unavailable");
  EXPECT_NE(ready.body.find("read-only"), std::string::npos) << ready.body;
  expect_unavailable(buy(d.port(), "u2"), "purchase on a read-only data dir");
  expect_unavailable(bid(d.port(), "b1", 200), "bid on a read-only data dir");
  // What was stored is still served.
  auto r = http(d.port(), "GET", "/api/sales/s/result?userId=u1");
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.json()["status"], "none") << r.body;
}

TEST(FdLimitAtStart, WarnsWhenMaxConnectionsExceedsTheDescriptorLimit) {
  // No process may open 10^9 files: the daemon must say so, with the numbers, at start.
  rushcast::test::daemon d(json{{"limits", {{"max_connections", 1000000000}}}});
  auto log = d.log();
  EXPECT_NE(log.find("limits.max_connections is 1000000000"), std::string::npos) << log;
  EXPECT_NE(log.find("LimitNOFILE"), std::string::npos) << log;
}
