#include <gtest/gtest.h>
#include <matchd/publish/price_ladder.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace matchd::publish {
namespace {

using engine::price_ticks;
using engine::quantity_lots;
using engine::side;

struct seen_level {
  std::int64_t price;
  std::int64_t quantity;
  std::uint32_t orders;
  bool operator==(const seen_level&) const = default;
};

std::vector<seen_level> best_first(const price_ladder& ladder, std::size_t max = SIZE_MAX) {
  std::vector<seen_level> out;
  ladder.for_each_best_first(max, [&out](const price_ladder::level& l) {
    out.push_back({l.price.value, l.quantity.value, l.orders});
  });
  return out;
}

void set(price_ladder& ladder, std::int64_t price, std::int64_t quantity, std::uint32_t orders) {
  ladder.set(price_ticks{price}, quantity_lots{quantity}, orders);
}

TEST(price_ladder, bids_are_best_first_from_the_highest_price) {
  price_ladder bids(side::buy);
  set(bids, 100, 5, 1);
  set(bids, 102, 7, 2);
  set(bids, 101, 3, 1);
  EXPECT_EQ(best_first(bids), (std::vector<seen_level>{{102, 7, 2}, {101, 3, 1}, {100, 5, 1}}));
  EXPECT_EQ(best_first(bids, 2), (std::vector<seen_level>{{102, 7, 2}, {101, 3, 1}}));
  EXPECT_EQ(bids.level_count(), 3U);
  EXPECT_EQ(bids.order_count(), 4U);
}

TEST(price_ladder, asks_are_best_first_from_the_lowest_price) {
  price_ladder asks(side::sell);
  set(asks, 102, 7, 2);
  set(asks, 100, 5, 1);
  set(asks, 101, 3, 1);
  EXPECT_EQ(best_first(asks), (std::vector<seen_level>{{100, 5, 1}, {101, 3, 1}, {102, 7, 2}}));
}

TEST(price_ladder, an_update_replaces_the_level_and_zero_quantity_removes_it) {
  price_ladder asks(side::sell);
  set(asks, 100, 5, 1);
  set(asks, 101, 3, 1);
  set(asks, 100, 9, 3);
  EXPECT_EQ(best_first(asks), (std::vector<seen_level>{{100, 9, 3}, {101, 3, 1}}));
  EXPECT_EQ(asks.order_count(), 4U);
  set(asks, 100, 0, 0);
  EXPECT_EQ(best_first(asks), (std::vector<seen_level>{{101, 3, 1}}));
  EXPECT_EQ(asks.order_count(), 1U);
  // Removing a price that has no level changes nothing.
  set(asks, 250, 0, 0);
  EXPECT_EQ(best_first(asks), (std::vector<seen_level>{{101, 3, 1}}));
  EXPECT_EQ(asks.order_count(), 1U);
}

TEST(price_ladder, assign_best_first_replaces_everything) {
  price_ladder bids(side::buy);
  set(bids, 1, 1, 1);
  const std::vector<price_ladder::level> levels{{price_ticks{30}, quantity_lots{4}, 2},
                                                {price_ticks{20}, quantity_lots{5}, 1},
                                                {price_ticks{10}, quantity_lots{6}, 3}};
  bids.assign_best_first(levels);
  EXPECT_EQ(best_first(bids), (std::vector<seen_level>{{30, 4, 2}, {20, 5, 1}, {10, 6, 3}}));
  EXPECT_EQ(bids.order_count(), 6U);
  // Later deltas land in the right places, including deep in the book.
  set(bids, 15, 2, 1);
  set(bids, 30, 0, 0);
  EXPECT_EQ(best_first(bids), (std::vector<seen_level>{{20, 5, 1}, {15, 2, 1}, {10, 6, 3}}));
}

// Deltas near the touch and deep in a book of a few hundred levels, both sides, against a
// std::map that keeps the same totals: the near-touch scan and the binary search must
// agree with an ordered map everywhere.
TEST(price_ladder, random_deltas_match_an_ordered_map) {
  for (const side s : {side::buy, side::sell}) {
    price_ladder ladder(s);
    std::map<std::int64_t, std::pair<std::int64_t, std::uint32_t>> reference;
    std::mt19937_64 random(s == side::buy ? 1 : 2);
    std::uniform_int_distribution<std::int64_t> price(1000, 1400);
    std::uniform_int_distribution<std::int64_t> quantity(0, 4);  // 0: remove, 1 in 5
    std::uniform_int_distribution<std::uint32_t> orders(1, 9);
    for (int i = 0; i < 20000; ++i) {
      const std::int64_t p = price(random);
      const std::int64_t q = quantity(random);
      const std::uint32_t n = q == 0 ? 0 : orders(random);
      set(ladder, p, q, n);
      if (q == 0) {
        reference.erase(p);
      } else {
        reference[p] = {q, n};
      }
    }
    std::vector<seen_level> expected;
    std::uint64_t resting = 0;
    for (const auto& [p, level] : reference) {
      expected.push_back({p, level.first, level.second});
      resting += level.second;
    }
    if (s == side::buy) std::reverse(expected.begin(), expected.end());
    EXPECT_EQ(best_first(ladder), expected);
    EXPECT_EQ(ladder.order_count(), resting);
    EXPECT_EQ(ladder.level_count(), reference.size());
  }
}

}  // namespace
}  // namespace matchd::publish
