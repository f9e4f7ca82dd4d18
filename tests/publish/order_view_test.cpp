// The publish stage's order view answers like an ordinary map from id to order's latest
// state, through many table switches, with updates and erases while entries move between
// tables.

#include <gtest/gtest.h>
#include <matchd/publish/order_view.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

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

// --- the per-client index behind GET /orders ------------------------------------------

engine::order client_order(std::string_view id, std::string_view client,
                           engine::sequence_number created, engine::instrument_id ins = 0,
                           engine::order_status status = engine::order_status::open) {
  engine::order o;
  o.id = engine::order_id::from(id);
  o.client = engine::client_id::from(client);
  o.instrument = ins;
  o.status = status;
  o.quantity = engine::quantity_lots{10};
  o.created_sequence = created;
  o.sequence = created;
  return o;
}

std::vector<std::string> ids_of(const std::vector<const order_view::entry*>& page) {
  std::vector<std::string> ids;
  for (const order_view::entry* e : page) ids.emplace_back(e->order.id.view());
  return ids;
}
std::vector<std::string> ids_of(const std::vector<const engine::order*>& orders) {
  std::vector<std::string> ids;
  for (const engine::order* o : orders) ids.emplace_back(o->id.view());
  return ids;
}

order_view::page_query page_of(std::string_view client, bool open_only, std::size_t limit,
                               engine::sequence_number before = 0) {
  order_view::page_query q;
  q.client = engine::client_id::from(client);
  q.open_only = open_only;
  q.limit = limit;
  q.before = before;
  return q;
}

TEST(OrderViewIndex, ListsAClientsOpenOrdersNewestFirst) {
  order_view view;
  view.put(client_order("a1", "alice", 1));
  view.put(client_order("b1", "bob", 2));
  view.put(client_order("a2", "alice", 3));
  view.put(client_order("a3", "alice", 5));

  EXPECT_EQ(ids_of(view.page(page_of("alice", true, 10))),
            (std::vector<std::string>{"a3", "a2", "a1"}));
  EXPECT_EQ(ids_of(view.page(page_of("bob", true, 10))), (std::vector<std::string>{"b1"}));
  EXPECT_TRUE(view.page(page_of("carol", true, 10)).empty());
  EXPECT_EQ(view.open_count(engine::client_id::from("alice")), 3u);
}

TEST(OrderViewIndex, AFinishedOrderLeavesTheOpenListButStaysInAll) {
  order_view view;
  view.put(client_order("a1", "alice", 1));
  view.put(client_order("a2", "alice", 2));
  engine::order filled = client_order("a1", "alice", 1);
  filled.status = engine::order_status::filled;
  view.put(filled);
  view.put(client_order("a3", "alice", 4, 0, engine::order_status::cancelled));  // IOC, say

  EXPECT_EQ(ids_of(view.page(page_of("alice", true, 10))), (std::vector<std::string>{"a2"}));
  EXPECT_EQ(ids_of(view.page(page_of("alice", false, 10))),
            (std::vector<std::string>{"a3", "a2", "a1"}));
  EXPECT_EQ(view.page(page_of("alice", false, 10))[2]->order.status, engine::order_status::filled);
}

TEST(OrderViewIndex, PagesEndOnePastTheLimitAndResumeBeforeACursor) {
  order_view view;
  for (int i = 1; i <= 7; ++i) view.put(client_order("a" + std::to_string(i), "alice", 10 * i));
  // limit + 1 at most: the extra one says another page follows.
  EXPECT_EQ(ids_of(view.page(page_of("alice", true, 3))),
            (std::vector<std::string>{"a7", "a6", "a5", "a4"}));
  // Resumed before the page's last created_sequence (a5's, 50).
  EXPECT_EQ(ids_of(view.page(page_of("alice", true, 3, 50))),
            (std::vector<std::string>{"a4", "a3", "a2", "a1"}));
  EXPECT_EQ(ids_of(view.page(page_of("alice", true, 3, 20))), (std::vector<std::string>{"a1"}));
}

TEST(OrderViewIndex, FiltersByInstrument) {
  order_view view;
  view.put(client_order("btc-1", "alice", 1, 0));
  view.put(client_order("eth-1", "alice", 2, 1));
  view.put(client_order("btc-2", "alice", 3, 0));
  order_view::page_query q = page_of("alice", true, 10);
  q.instrument = 0;
  EXPECT_EQ(ids_of(view.page(q)), (std::vector<std::string>{"btc-2", "btc-1"}));
  q.instrument = 1;
  EXPECT_EQ(ids_of(view.page(q)), (std::vector<std::string>{"eth-1"}));
}

TEST(OrderViewIndex, SeedsOutOfOrderAndErasesKeepTheListsSorted) {
  order_view view;
  view.put(client_order("a3", "alice", 30));
  view.put(client_order("a1", "alice", 10));
  view.put(client_order("a2", "alice", 20));
  EXPECT_EQ(ids_of(view.page(page_of("alice", false, 10))),
            (std::vector<std::string>{"a3", "a2", "a1"}));
  view.erase(engine::order_id::from("a2"));
  EXPECT_EQ(ids_of(view.page(page_of("alice", true, 10))), (std::vector<std::string>{"a3", "a1"}));
  view.erase(engine::order_id::from("a1"));
  view.erase(engine::order_id::from("a3"));
  EXPECT_EQ(view.held_count(engine::client_id::from("alice")), 0u);
  // The id used again by a new order (after the retention horizon): a new place.
  view.put(client_order("a1", "alice", 40));
  EXPECT_EQ(ids_of(view.page(page_of("alice", false, 10))), (std::vector<std::string>{"a1"}));
}

// Recovery seeds in the books' order: appended unsorted, then sorted once, so a page after
// finish_seeding() is newest first, and an order put later goes in its place as ever.
TEST(OrderViewIndex, ABulkSeedIsSortedWhenItFinishes) {
  order_view view;
  view.begin_seeding();
  for (const int created : {50, 10, 40, 20, 30}) {
    const engine::order_status status =
        created == 40 ? engine::order_status::filled : engine::order_status::open;
    view.put(client_order("s" + std::to_string(created), "alice", created, 0, status));
  }
  view.finish_seeding();
  EXPECT_EQ(ids_of(view.page(page_of("alice", false, 10))),
            (std::vector<std::string>{"s50", "s40", "s30", "s20", "s10"}));
  EXPECT_EQ(ids_of(view.page(page_of("alice", true, 10))),
            (std::vector<std::string>{"s50", "s30", "s20", "s10"}));
  view.put(client_order("s25", "alice", 25));
  EXPECT_EQ(ids_of(view.page(page_of("alice", true, 10))),
            (std::vector<std::string>{"s50", "s30", "s25", "s20", "s10"}));
}

// Random puts (new orders, fills, finishes), erases and pages, against a naive scan.
TEST(OrderViewIndex, PagesAgreeWithAScanOfEveryOrder) {
  order_view view;
  std::map<std::string, engine::order> model;
  std::mt19937_64 rng(11);
  engine::sequence_number created = 0;
  for (int step = 0; step < 30'000; ++step) {
    const std::uint64_t roll = rng() % 100;
    if (roll < 40 || model.empty()) {
      const std::string id = "o" + std::to_string(rng() % 5'000);
      if (model.contains(id)) continue;  // an id is reused only after an erase
      const engine::order o = client_order(id, "c" + std::to_string(rng() % 6), ++created,
                                           static_cast<engine::instrument_id>(rng() % 2));
      view.put(o);
      model[id] = o;
    } else if (roll < 80) {
      auto it = std::next(model.begin(), static_cast<long>(rng() % model.size()));
      if (engine::is_final(it->second.status)) continue;
      it->second.status =
          rng() % 2 == 0 ? engine::order_status::partially_filled : engine::order_status::cancelled;
      it->second.sequence = ++created;
      view.put(it->second);
    } else if (roll < 85) {
      auto it = std::next(model.begin(), static_cast<long>(rng() % model.size()));
      view.erase(it->second.id);
      model.erase(it);
    } else {
      order_view::page_query q = page_of("c" + std::to_string(rng() % 6), rng() % 2 == 0,
                                         1 + rng() % 20, rng() % 3 == 0 ? 0 : rng() % created);
      if (rng() % 2 == 0) q.instrument = static_cast<engine::instrument_id>(rng() % 2);
      std::vector<const engine::order*> expected;
      for (const auto& [id, o] : model) {
        if (o.client != q.client) continue;
        if (q.open_only && engine::is_final(o.status)) continue;
        if (q.before != 0 && o.created_sequence >= q.before) continue;
        if (q.instrument && o.instrument != *q.instrument) continue;
        expected.push_back(&o);
      }
      std::sort(expected.begin(), expected.end(), [](const auto* a, const auto* b) {
        return a->created_sequence > b->created_sequence;
      });
      if (expected.size() > q.limit + 1) expected.resize(q.limit + 1);
      ASSERT_EQ(ids_of(view.page(q)), ids_of(expected)) << "step " << step;
    }
  }
}

}  // namespace
}  // namespace matchd::publish
