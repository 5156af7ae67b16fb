// Owns the integration tests' own redis-server: a child process on a free loopback port with
// its own temp dir and a durable config, stopped by PID. Used by the Redis client, Functions
// and (later) cluster tests; never the system's redis-server service.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rushcast::test {

// redis-server from PATH (Debian: /usr/bin/redis-server) with appendonly yes, appendfsync
// always, maxmemory-policy noeviction, no RDB snapshots, its log and AOF in dir(). The
// constructor returns once it answers PING; the destructor stops it (SIGTERM, then SIGKILL
// after 10 s) and removes the dir. kill9() + start() is a crash and a restart from the AOF on
// the same port and dir.
class redis_server {
public:
  struct options {
    std::string password;             // requirepass; empty = none
    std::vector<std::string> extra;   // more redis.conf lines, e.g. "appendfsync everysec"
  };
  redis_server();
  explicit redis_server(options o);
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // redis://[:password@]127.0.0.1:port/db
  std::string url(unsigned db = 0) const;
  std::string log() const;

  void start();  // after kill9()/stop(): same port, dir and AOF; waits until it answers PING
  void kill9();  // SIGKILL and reap: nothing flushed beyond what appendfsync always wrote
  void stop();   // SIGTERM and reap
  void pause();  // SIGSTOP: the process holds its sockets but answers nothing
  void resume(); // SIGCONT

  // One command over a fresh blocking connection (AUTH first when a password is set); the
  // raw RESP reply. For set-up and checks from tests, not for the code under test; blocks, so
  // never while pause()d.
  std::string command(const std::vector<std::string>& args) const;

private:
  void write_config();
  bool try_start();  // false when the port was taken meanwhile

  options opts_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace rushcast::test
