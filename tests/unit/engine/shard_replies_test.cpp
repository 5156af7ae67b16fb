// Replies gathered on one thread reach each shard with one post, in the order they were added.
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "rushcast/engine/shard_replies.hpp"

using namespace rushcast::engine;

TEST(ShardReplies, OnePostPerShardInOrderAndShardlessRepliesAtOnce) {
  boost::asio::io_context a{1}, b{1};
  std::vector<std::string> ran;
  shard_replies r;
  r.add(a.get_executor(), [&] { ran.push_back("a1"); });
  r.add(b.get_executor(), [&] { ran.push_back("b1"); });
  r.add(a.get_executor(), [&] { ran.push_back("a2"); });
  r.add({}, [&] { ran.push_back("now"); });
  r.deliver();
  EXPECT_EQ(r.posts_last_delivered(), 2u);
  EXPECT_EQ(ran, std::vector<std::string>{"now"});
  EXPECT_EQ(a.poll(), 1u) << "one handler for both of a's replies";
  EXPECT_EQ(ran, (std::vector<std::string>{"now", "a1", "a2"}));
  EXPECT_EQ(b.poll(), 1u);
  EXPECT_EQ(ran.back(), "b1");
}

TEST(ShardReplies, ThisThreadShardIsPerThread) {
  boost::asio::io_context a{1};
  EXPECT_FALSE(this_thread_shard());
  set_this_thread_shard(a.get_executor());
  EXPECT_TRUE(this_thread_shard() == boost::asio::any_io_executor(a.get_executor()));
  set_this_thread_shard({});
  EXPECT_FALSE(this_thread_shard());
}
