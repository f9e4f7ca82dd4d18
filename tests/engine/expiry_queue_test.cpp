// The retention horizon's queue (engine/expiry_queue.h): oldest first, bounded pops, blocks
// reused once it has reached its length.
#include <gtest/gtest.h>
#include <matchd/engine/expiry_queue.h>

#include <vector>

namespace matchd::engine {
namespace {

TEST(expiry_queue, pops_what_is_due_oldest_first_within_the_budget) {
  expiry_queue<int> q;
  for (int i = 0; i < 10; ++i) q.push(i, i);
  std::vector<int> out;
  const auto take = [&](int v) { out.push_back(v); };
  EXPECT_EQ(q.expire_due(5, 3, take), 3U);
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(q.expire_due(5, 100, take), 3U);  // 3, 4, 5; 6 is not due
  EXPECT_EQ(out.back(), 5);
  EXPECT_EQ(q.size(), 4U);
  EXPECT_EQ(q.front().at, 6);
}

TEST(expiry_queue, an_entry_out_of_order_only_delays_those_behind_it) {
  expiry_queue<int> q;
  q.push(10, 1);
  q.push(5, 2);  // the clock stepped back
  std::vector<int> out;
  q.expire_due(7, 10, [&](int v) { out.push_back(v); });
  EXPECT_TRUE(out.empty());
  q.expire_due(10, 10, [&](int v) { out.push_back(v); });
  EXPECT_EQ(out, (std::vector<int>{1, 2}));
}

TEST(expiry_queue, keeps_order_across_many_blocks_at_a_steady_length) {
  expiry_queue<std::size_t> q;
  constexpr std::size_t kLength = 3 * expiry_queue<std::size_t>::kBlockEntries + 17;
  std::size_t next_pushed = 0;
  std::size_t next_popped = 0;
  for (; next_pushed < kLength; ++next_pushed) {
    q.push(static_cast<timestamp_us>(next_pushed), next_pushed);
  }
  // Push one, pop one, for many times the length: what comes out is what went in, in order.
  for (int round = 0; round < 20 * static_cast<int>(kLength); ++round) {
    q.push(static_cast<timestamp_us>(next_pushed), next_pushed);
    ++next_pushed;
    ASSERT_EQ(q.expire_due(static_cast<timestamp_us>(next_popped), 1,
                           [&](std::size_t v) { ASSERT_EQ(v, next_popped); }),
              1U);
    ++next_popped;
  }
  EXPECT_EQ(q.size(), kLength);
  while (!q.empty()) q.pop();
  q.push(1, 7);
  EXPECT_EQ(q.front().value, 7U);
}

}  // namespace
}  // namespace matchd::engine
