// The mass cancel (matching_engine::cancel_all, docs/api.md "DELETE /orders"): one command
// cancels every open order of one client, in one instrument or in all, and nothing else.

#include <gtest/gtest.h>
#include <matchd/engine/matching_engine.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "builders.h"

namespace matchd::engine {
namespace {

using namespace test_support;

constexpr instrument_id kBtc = 0;
constexpr instrument_id kEth = 1;

instrument eth_usd() {
  instrument i = instrument::btc_usd();
  i.symbol = "ETH-USD";
  return i;
}

engine_options small_options() {
  engine_options options;
  options.expected_orders_per_book = 64;
  return options;
}

place_order of_client(place_order cmd, std::string_view client, instrument_id ins = kBtc) {
  cmd.client = client_id::from(client);
  cmd.instrument = ins;
  return cmd;
}

cancel_all_orders cancel_all_of(std::string_view client,
                                std::optional<instrument_id> ins = std::nullopt) {
  cancel_all_orders cmd;
  cmd.client = client_id::from(client);
  cmd.instrument = ins;
  return cmd;
}

class mass_cancel : public ::testing::Test {
 protected:
  void given(place_order cmd) {
    cmd.received_at = now += 1000;
    out.clear();
    ASSERT_TRUE(engine.place(cmd, out).ok()) << "setup order " << cmd.id.view();
  }
  command_result cancel_all(cancel_all_orders cmd) {
    cmd.received_at = now += 1000;
    out.clear();
    return engine.cancel_all(cmd, out);
  }
  std::vector<std::string> ids_of(const std::vector<order>& orders) const {
    std::vector<std::string> ids;
    for (const order& o : orders) ids.emplace_back(o.id.view());
    return ids;
  }

  void TearDown() override { EXPECT_EQ(engine.check_invariants(), ""); }

  matching_engine engine{{instrument::btc_usd(), eth_usd()}, small_options()};
  event_buffer out;
  timestamp_us now = 1'700'000'000'000'000;
};

TEST_F(mass_cancel, cancels_every_open_order_of_the_client_oldest_first_and_nothing_else) {
  given(of_client(buy_limit("a1", px("99.00"), qty("1")), "alice"));
  given(of_client(sell_limit("b1", px("101.00"), qty("1")), "bob"));
  given(of_client(sell_limit("a2", px("102.00"), qty("2")), "alice"));
  given(of_client(buy_limit("a3", px("99.00"), qty("3")), "alice"));
  given(of_client(buy_limit("b2", px("99.00"), qty("1")), "bob"));
  const sequence_number before = engine.last_sequence();

  const command_result r = cancel_all(cancel_all_of("alice"));

  ASSERT_TRUE(r.ok());
  const split_events e = split(out);
  EXPECT_EQ(ids_of(e.orders), (std::vector<std::string>{"a1", "a2", "a3"}));
  for (const order& o : e.orders) {
    EXPECT_EQ(o.status, order_status::cancelled);
    EXPECT_EQ(o.updated_at, now);
  }
  EXPECT_TRUE(e.trades.empty());
  // Then one delta per touched level, in the order first touched: 99.00 once for a1 and a3.
  ASSERT_EQ(e.deltas.size(), 2u);
  EXPECT_EQ(e.deltas[0].level_side, side::buy);
  EXPECT_EQ(e.deltas[0].price, px("99.00"));
  EXPECT_EQ(e.deltas[0].quantity, qty("1"));  // bob's b2 is left
  EXPECT_EQ(e.deltas[0].orders, 1u);
  EXPECT_EQ(e.deltas[1].level_side, side::sell);
  EXPECT_EQ(e.deltas[1].price, px("102.00"));
  EXPECT_EQ(e.deltas[1].quantity.value, 0);
  // Consecutive numbers, the result the last of them.
  sequence_number expected = before;
  for (const event& ev : out) {
    EXPECT_EQ(std::visit([](const auto& v) { return v.sequence; }, ev), ++expected);
  }
  EXPECT_EQ(r.sequence, expected);
  EXPECT_EQ(engine.last_sequence(), expected);

  EXPECT_EQ(queue_of(engine.book(kBtc), side::buy), (std::vector<std::string>{"b2"}));
  EXPECT_EQ(queue_of(engine.book(kBtc), side::sell), (std::vector<std::string>{"b1"}));
  EXPECT_EQ(engine.presence("a1"), order_presence::finished);
  out.clear();
  EXPECT_EQ(engine.cancel(cancel_of("a2"), out).error, errc::order_not_open);
  EXPECT_EQ(engine.place(of_client(buy_limit("a3", px("98.00"), qty("1")), "alice"), out).error,
            errc::duplicate_order_id);
}

TEST_F(mass_cancel, in_one_instrument_leaves_the_clients_orders_in_others) {
  given(of_client(buy_limit("btc-1", px("99.00"), qty("1")), "alice", kBtc));
  given(of_client(buy_limit("eth-1", px("99.00"), qty("1")), "alice", kEth));

  ASSERT_TRUE(cancel_all(cancel_all_of("alice", kEth)).ok());
  EXPECT_EQ(ids_of(split(out).orders), (std::vector<std::string>{"eth-1"}));
  EXPECT_EQ(engine.book(kBtc).order_count(), 1u);
  EXPECT_EQ(engine.book(kEth).order_count(), 0u);
}

TEST_F(mass_cancel, without_an_instrument_covers_every_book_in_instrument_order) {
  given(of_client(buy_limit("eth-1", px("99.00"), qty("1")), "alice", kEth));
  given(of_client(buy_limit("btc-1", px("99.00"), qty("1")), "alice", kBtc));

  ASSERT_TRUE(cancel_all(cancel_all_of("alice")).ok());
  // Each book's states then its deltas, BTC-USD (instrument 0) first.
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(std::get<order>(out[0]).id.view(), "btc-1");
  EXPECT_EQ(std::get<level_delta>(out[1]).instrument, kBtc);
  EXPECT_EQ(std::get<order>(out[2]).id.view(), "eth-1");
  EXPECT_EQ(std::get<level_delta>(out[3]).instrument, kEth);
}

TEST_F(mass_cancel, of_a_client_with_nothing_open_changes_nothing) {
  given(of_client(buy_limit("b1", px("99.00"), qty("1")), "bob"));
  const sequence_number before = engine.last_sequence();

  const command_result r = cancel_all(cancel_all_of("alice"));

  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.sequence, 0u);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine.last_sequence(), before);
  // And a second one after everything was cancelled: the same.
  ASSERT_TRUE(cancel_all(cancel_all_of("bob")).ok());
  EXPECT_EQ(cancel_all(cancel_all_of("bob")).sequence, 0u);
  EXPECT_TRUE(out.empty());
}

TEST_F(mass_cancel, of_an_unknown_instrument_is_refused) {
  EXPECT_EQ(cancel_all(cancel_all_of("alice", 7)).error, errc::unknown_instrument);
  EXPECT_TRUE(out.empty());
}

TEST_F(mass_cancel, cancels_what_remains_after_fills_and_skips_filled_orders) {
  given(of_client(sell_limit("a1", px("100.00"), qty("1")), "alice"));
  given(of_client(sell_limit("a2", px("100.00"), qty("2")), "alice"));
  given(of_client(sell_limit("a3", px("101.00"), qty("1")), "alice"));
  // Fills a1 whole and half of a2.
  given(of_client(market("t1", side::buy, qty("2")), "taker"));

  ASSERT_TRUE(cancel_all(cancel_all_of("alice")).ok());
  const std::vector<order> orders = split(out).orders;
  EXPECT_EQ(ids_of(orders), (std::vector<std::string>{"a2", "a3"}));
  EXPECT_EQ(orders[0].filled, qty("1"));
  EXPECT_EQ(orders[0].status, order_status::cancelled);
  EXPECT_EQ(engine.book(kBtc).order_count(), 0u);
}

TEST_F(mass_cancel, an_order_placed_after_it_rests_again) {
  given(of_client(buy_limit("a1", px("99.00"), qty("1")), "alice"));
  ASSERT_TRUE(cancel_all(cancel_all_of("alice")).ok());
  given(of_client(buy_limit("a2", px("99.00"), qty("1")), "alice"));

  ASSERT_TRUE(cancel_all(cancel_all_of("alice")).ok());
  EXPECT_EQ(ids_of(split(out).orders), (std::vector<std::string>{"a2"}));
}

TEST_F(mass_cancel, finds_orders_restored_by_recovery) {
  given(of_client(buy_limit("a1", px("99.00"), qty("1")), "alice"));
  given(of_client(buy_limit("a2", px("98.00"), qty("1")), "alice"));
  matching_engine restored{{instrument::btc_usd(), eth_usd()}, small_options()};
  std::vector<order> resting;
  engine.book(kBtc).for_each_order(side::buy, [&](const order& o) { resting.push_back(o); });
  std::sort(resting.begin(), resting.end(),
            [](const order& a, const order& b) { return a.created_sequence < b.created_sequence; });
  for (const order& o : resting) ASSERT_EQ(restored.restore_resting(o), errc::ok);
  restored.restore_counters(engine.last_sequence(), engine.last_trade_id());

  event_buffer events;
  ASSERT_TRUE(restored.cancel_all(cancel_all_of("alice"), events).ok());
  EXPECT_EQ(ids_of(split(events).orders), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(restored.book(kBtc).order_count(), 0u);
  EXPECT_EQ(restored.check_invariants(), "");
}

TEST_F(mass_cancel, runs_in_a_batch_as_on_its_own) {
  given(of_client(buy_limit("a1", px("99.00"), qty("1")), "alice"));
  const place_order p = of_client(buy_limit("a2", px("98.00"), qty("1")), "alice");
  const cancel_all_orders all = cancel_all_of("alice");
  const cancel_order c = cancel_of("a1");
  const command_ref refs[] = {command_ref{&p}, command_ref{nullptr, nullptr, nullptr, &all},
                              command_ref{nullptr, &c}};
  batch_result results[3];
  out.clear();
  engine.execute(refs, results, out);

  EXPECT_TRUE(results[0].result.ok());
  EXPECT_TRUE(results[1].result.ok());
  EXPECT_EQ(results[2].result.error, errc::order_not_open);
  const std::vector<order> orders = split(out).orders;
  ASSERT_EQ(orders.size(), 3u);  // a2 placed, then a1 and a2 cancelled
  EXPECT_EQ(orders[1].id.view(), "a1");
  EXPECT_EQ(orders[2].id.view(), "a2");
  EXPECT_EQ(results[1].events_end, out.size());
}

// Emptied lists are reclaimed: a stream of one-order clients does not grow the book's
// per-client lists (nor its node pool) without bound.
TEST_F(mass_cancel, lists_of_clients_gone_are_reclaimed) {
  for (int i = 0; i < 20'000; ++i) {
    const std::string id = "o" + std::to_string(i);
    given(of_client(buy_limit(id, px("99.00"), qty("1")), "c" + std::to_string(i)));
    out.clear();
    ASSERT_TRUE(engine.cancel(cancel_of(id), out).ok());
  }
  EXPECT_LE(engine.book(kBtc).client_list_count(), 8192u);
}

// A client's orders are listed when they rest and never unlisted when they leave: the
// entries of orders gone are dropped as the lists grow, so one client's stream of orders
// does not grow them without bound.
TEST_F(mass_cancel, a_clients_list_drops_orders_gone_as_it_grows) {
  given(of_client(buy_limit("keep", px("90.00"), qty("1")), "alice"));
  for (int i = 0; i < 10'000; ++i) {
    const std::string id = "o" + std::to_string(i);
    given(of_client(buy_limit(id, px("99.00"), qty("1")), "alice"));
    out.clear();
    ASSERT_TRUE(engine.cancel(cancel_of(id), out).ok());
  }
  EXPECT_LE(engine.book(kBtc).client_list_entries(), client_orders::kMinSort + 32);
  EXPECT_EQ(engine.book(kBtc).check_invariants(), "");
  ASSERT_TRUE(cancel_all(cancel_all_of("alice")).ok());
  EXPECT_EQ(ids_of(split(out).orders), std::vector<std::string>{"keep"});
}

// An amend that loses priority rests the order again under a new created_sequence: the
// mass cancel cancels it once, in its new place among the client's orders by time.
TEST_F(mass_cancel, cancels_an_amended_order_once_in_its_new_time_order) {
  given(of_client(buy_limit("a1", px("99.00"), qty("1")), "alice"));
  given(of_client(buy_limit("a2", px("98.00"), qty("1")), "alice"));
  amend_order amend;
  amend.id = order_id::from("a1");
  amend.instrument = kBtc;
  amend.price = px("97.00");
  amend.received_at = now += 1000;
  out.clear();
  ASSERT_TRUE(engine.amend(amend, out).ok());
  // A lower quantity keeps the order's place and its entry.
  amend.id = order_id::from("a2");
  amend.price = price_ticks{};
  amend.quantity = qty("0.5");
  out.clear();
  ASSERT_TRUE(engine.amend(amend, out).ok());
  EXPECT_EQ(engine.book(kBtc).check_invariants(), "");

  ASSERT_TRUE(cancel_all(cancel_all_of("alice")).ok());
  EXPECT_EQ(ids_of(split(out).orders), (std::vector<std::string>{"a2", "a1"}));
  EXPECT_EQ(engine.book(kBtc).order_count(), 0u);
}

}  // namespace
}  // namespace matchd::engine
