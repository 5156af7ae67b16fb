// Owns "answer on the shard that asked, one post per shard": the executor of the shard thread
// running now (set once per thread by app/server), and a batch of replies grouped by the
// shard each is owed to. Used by engine runners when a group commit completes on the store
// thread.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

namespace rushcast::engine {

// Set by app/server on each shard thread before it runs its io_context; empty elsewhere
// (the store thread, tests that do not set it).
void set_this_thread_shard(boost::asio::any_io_executor ex);
const boost::asio::any_io_executor& this_thread_shard();

// Replies gathered on one thread (the store thread, as a commit completes) and delivered with
// one post per shard; a reply with no shard runs at once, on the gathering thread.
class shard_replies {
public:
  void add(const boost::asio::any_io_executor& shard, std::function<void()> reply);
  // Posts each shard's replies as one handler, in the order they were added; runs the
  // shard-less ones now. Leaves this empty.
  void deliver();
  std::size_t posts_last_delivered() const { return posts_; }

private:
  std::vector<std::pair<boost::asio::any_io_executor, std::vector<std::function<void()>>>> by_shard_;
  std::vector<std::function<void()>> now_;
  std::size_t posts_ = 0;
};

}  // namespace rushcast::engine
