// Owns "answer on the shard that asked, one post per shard" (see the header).
#include "rushcast/engine/shard_replies.hpp"

#include <boost/asio/post.hpp>

namespace rushcast::engine {
namespace {

boost::asio::any_io_executor& this_thread_shard_slot() {
  thread_local boost::asio::any_io_executor ex;
  return ex;
}

}  // namespace

void set_this_thread_shard(boost::asio::any_io_executor ex) {
  this_thread_shard_slot() = std::move(ex);
}

const boost::asio::any_io_executor& this_thread_shard() { return this_thread_shard_slot(); }

void shard_replies::add(const boost::asio::any_io_executor& shard, std::function<void()> reply) {
  if (!shard) {
    now_.push_back(std::move(reply));
    return;
  }
  for (auto& [ex, replies] : by_shard_)
    if (ex == shard) {
      replies.push_back(std::move(reply));
      return;
    }
  by_shard_.emplace_back(shard, std::vector<std::function<void()>>{});
  by_shard_.back().second.push_back(std::move(reply));
}

void shard_replies::deliver() {
  posts_ = by_shard_.size();
  for (auto& [ex, replies] : by_shard_)
    boost::asio::post(ex, [replies = std::move(replies)] {
      for (const auto& r : replies) r();
    });
  by_shard_.clear();
  auto now = std::move(now_);
  now_.clear();
  for (const auto& r : now) r();
}

}  // namespace rushcast::engine
