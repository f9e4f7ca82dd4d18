// The publish stage's order view answers like an ordinary map from id to order's latest
// state, through many table switches, with updates and erases while entries move between
// tables.

#include <gtest/gtest.h>
#include <matchd/publish/order_view.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>

namespace matchd::publish {
namespace {

engine::order order_of(std::uint64_t i, std::int64_t filled) {
  engine::order o;
  o.id = engine::order_id::from("view-" + std::to_string(i));
  o.client = engine::client_id::from("client-" + std::to_string(i % 97));
  o.quantity = engine::quantity_lots{1000};
  o.filled = engine::quantity_lots{filled};
  o.sequence = i;
  return o;
}

TEST(OrderView, AnswersLikeAMapThroughGrowthUpdatesAndErases) {
  order_view view;
  std::map<std::string, std::int64_t> model;  // id -> filled of its latest state
  std::mt19937_64 rng(7);
  constexpr std::uint64_t kIds = 60'000;
  for (int step = 0; step < 200'000; ++step) {
    const std::uint64_t i = rng() % kIds;
    const std::string id = "view-" + std::to_string(i);
    if (rng() % 5 == 0) {
      view.erase(engine::order_id::from(id));
      model.erase(id);
    } else {
      const auto filled = static_cast<std::int64_t>(rng() % 1000);
      view.put(order_of(i, filled));
      model[id] = filled;
    }
  }
  ASSERT_EQ(view.size(), model.size());
  for (std::uint64_t i = 0; i < kIds; ++i) {
    const std::string id = "view-" + std::to_string(i);
    const engine::order* found = view.find(engine::order_id::from(id));
    const auto expected = model.find(id);
    if (expected == model.end()) {
      EXPECT_EQ(found, nullptr) << id;
      continue;
    }
    ASSERT_NE(found, nullptr) << id;
    EXPECT_EQ(found->id.view(), id);
    EXPECT_EQ(found->filled.value, expected->second) << id;
  }
}

TEST(OrderView, AnOrderFoundKeepsItsAddressAcrossUpdates) {
  order_view view;
  view.put(order_of(1, 0));
  const engine::order* first = view.find(engine::order_id::from("view-1"));
  ASSERT_NE(first, nullptr);
  for (std::uint64_t i = 2; i < 10'000; ++i) view.put(order_of(i, 0));  // several switches
  view.put(order_of(1, 400));
  EXPECT_EQ(view.find(engine::order_id::from("view-1")), first);
  EXPECT_EQ(first->filled.value, 400);
}

}  // namespace
}  // namespace matchd::publish
