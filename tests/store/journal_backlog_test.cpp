#include <gtest/gtest.h>
#include <matchd/store/journal.h>
#include <matchd/store/journal_backlog.h>

#include <stdexcept>
#include <string>

namespace matchd::store {
namespace {

const std::vector<engine::instrument> kInstruments = {engine::instrument::btc_usd()};

engine::order order_state(std::string_view id, engine::order_status status,
                          engine::sequence_number created, engine::sequence_number sequence,
                          std::int64_t filled = 0) {
  engine::order o;
  o.id = engine::order_id::from(id);
  o.client = engine::client_id::from("c");
  o.price = engine::price_ticks(100);
  o.quantity = engine::quantity_lots(10);
  o.filled = engine::quantity_lots(filled);
  o.status = status;
  o.created_sequence = created;
  o.sequence = sequence;
  return o;
}

engine::trade trade_numbered(engine::trade_id id) {
  engine::trade t;
  t.id = id;
  t.price = engine::price_ticks(100);
  t.quantity = engine::quantity_lots(1);
  t.buy_order_id = engine::order_id::from("b");
  t.sell_order_id = engine::order_id::from("s");
  t.sequence = id;
  return t;
}

std::string body_of(std::initializer_list<engine::order> orders,
                    std::initializer_list<engine::trade> trades = {}) {
  journal_encoder enc;
  for (const auto& o : orders) enc.add(o, "BTC-USD");
  for (const auto& t : trades) enc.add(t, "BTC-USD");
  return enc.take();
}

// A body of trades between "b" and "s" with both orders' states after them, as a command
// writes them (the engine emits the maker's state after each trade, the taker's last).
std::string traded_body(std::initializer_list<engine::trade> trades) {
  journal_encoder enc;
  for (const auto& t : trades) enc.add(t, "BTC-USD");
  engine::order buyer = order_state("b", engine::order_status::open, 1, 1);
  buyer.client = engine::client_id::from("buyer");
  engine::order seller = order_state("s", engine::order_status::open, 2, 2);
  seller.client = engine::client_id::from("seller");
  seller.order_side = engine::side::sell;
  enc.add(buyer, "BTC-USD");
  enc.add(seller, "BTC-USD");
  return enc.take();
}

TEST(journal_backlog, keeps_the_newest_state_of_each_order_across_bodies) {
  journal_backlog backlog(10, kInstruments.size(), 100);
  // "old" rests in the tables since sequence 5; the backlog fills it in two steps.
  backlog.add_body(body_of({order_state("old", engine::order_status::partially_filled, 5, 11, 4),
                            order_state("new", engine::order_status::open, 12, 12)}),
                   kInstruments);
  backlog.add_body(body_of({order_state("old", engine::order_status::filled, 5, 13, 10)}),
                   kInstruments);
  EXPECT_EQ(backlog.rows(), 2u);
  EXPECT_EQ(backlog.orders(), 2u);

  const auto old = backlog.take("old");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->status, engine::order_status::filled);
  EXPECT_EQ(old->filled.value, 10);
  EXPECT_FALSE(backlog.take("old").has_value()) << "taken once, then gone";
  EXPECT_FALSE(backlog.take("never-seen").has_value());
  backlog.expect_all_taken();  // "new" is the backlog's own: not the tables' to hold

  const auto created = backlog.take_created();
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].id.view(), "new");
  EXPECT_EQ(backlog.orders(), 0u);
}

TEST(journal_backlog, hands_out_the_orders_it_created_in_creation_order) {
  journal_backlog backlog(100, kInstruments.size(), 100);
  // Created 103, 101, 102: the later state of 101 must not move it behind the others.
  backlog.add_body(body_of({order_state("a", engine::order_status::open, 101, 101),
                            order_state("b", engine::order_status::open, 102, 102),
                            order_state("c", engine::order_status::open, 103, 103)}),
                   kInstruments);
  backlog.add_body(body_of({order_state("a", engine::order_status::partially_filled, 101, 104, 3)}),
                   kInstruments);
  const auto created = backlog.take_created();
  ASSERT_EQ(created.size(), 3u);
  EXPECT_EQ(created[0].id.view(), "a");
  EXPECT_EQ(created[0].status, engine::order_status::partially_filled);
  EXPECT_EQ(created[1].id.view(), "b");
  EXPECT_EQ(created[2].id.view(), "c");
}

TEST(journal_backlog, an_older_order_the_tables_lack_is_an_error) {
  journal_backlog backlog(50, kInstruments.size(), 100);
  backlog.add_body(body_of({order_state("lost", engine::order_status::cancelled, 7, 51)}),
                   kInstruments);
  EXPECT_TRUE(backlog.take_created().empty());
  EXPECT_THROW(backlog.expect_all_taken(), std::runtime_error);
}

TEST(journal_backlog, keeps_only_the_most_recent_trades_per_instrument) {
  journal_backlog backlog(0, kInstruments.size(), 3);
  backlog.add_body(traded_body({trade_numbered(1), trade_numbered(2)}), kInstruments);
  backlog.add_body(traded_body({trade_numbered(3), trade_numbered(4), trade_numbered(5)}),
                   kInstruments);
  const auto& trades = backlog.trades(0);
  ASSERT_EQ(trades.size(), 3u);
  EXPECT_EQ(trades[0].id, 3u);
  EXPECT_EQ(trades[2].id, 5u);
}

TEST(journal_backlog, sums_every_trade_per_second_beyond_the_recent_ones) {
  journal_backlog backlog(0, kInstruments.size(), 2);
  constexpr engine::timestamp_us kSecond = 1'796'515'200'000'000;  // 2026-12-06T00:00:00Z
  engine::trade a = trade_numbered(1);
  a.executed_at = kSecond + 10;
  engine::trade b = trade_numbered(2);
  b.executed_at = kSecond + 999'999;
  b.price = engine::price_ticks(107);
  engine::trade c = trade_numbered(3);
  c.executed_at = kSecond + 1'000'000;  // exactly at the next second
  c.quantity = engine::quantity_lots(5);
  backlog.add_body(traded_body({a, b}), kInstruments);
  backlog.add_body(traded_body({c}), kInstruments);
  const auto& seconds = backlog.seconds(0);
  ASSERT_EQ(seconds.size(), 2u);
  EXPECT_EQ(seconds[0].open_time, kSecond);
  EXPECT_EQ(seconds[0].summary.trades, 2);
  EXPECT_EQ(seconds[0].summary.open.value, 100);
  EXPECT_EQ(seconds[0].summary.close.value, 107);
  EXPECT_EQ(seconds[0].summary.quote_volume, 207);
  EXPECT_EQ(seconds[1].open_time, kSecond + 1'000'000);
  EXPECT_EQ(seconds[1].summary.volume, 5);
  EXPECT_EQ(backlog.trades(0).size(), 2u);  // the recent ones are capped; the sums are not
}

// Every side of every trade, in trade order, with its order's client and its own fee: what
// recovery lays over the positions table.
TEST(journal_backlog, gives_both_sides_of_every_trade_with_their_clients) {
  journal_backlog backlog(0, kInstruments.size(), 1);
  engine::trade first = trade_numbered(1);
  first.aggressor = engine::side::sell;
  first.maker_fee = 3;
  first.taker_fee = 8;
  engine::trade second = trade_numbered(2);
  second.aggressor = engine::side::buy;
  second.maker_fee = 4;
  second.taker_fee = 9;
  backlog.add_body(traded_body({first}), kInstruments);
  backlog.add_body(traded_body({second}), kInstruments);
  const auto& fills = backlog.fills();
  ASSERT_EQ(fills.size(), 4u);
  EXPECT_EQ(fills[0].client.view(), "buyer");
  EXPECT_EQ(fills[0].fill.fill_side, engine::side::buy);
  EXPECT_EQ(fills[0].fill.fee, 3) << "the buyer rested: the maker's fee";
  EXPECT_EQ(fills[1].client.view(), "seller");
  EXPECT_EQ(fills[1].fill.fee, 8);
  EXPECT_EQ(fills[2].fill.trade, 2u);
  EXPECT_EQ(fills[2].fill.fee, 9) << "the buyer took: the taker's fee";
  EXPECT_EQ(fills[3].fill.fee, 4);
  EXPECT_EQ(backlog.trades(0).size(), 1u) << "the recent trades stay capped; the fills do not";
  // A trade whose orders have no state in its row cannot be cleared: refused.
  journal_backlog broken(0, kInstruments.size(), 1);
  EXPECT_THROW(broken.add_body(body_of({}, {trade_numbered(3)}), kInstruments), journal_error);
}

TEST(journal_backlog, refuses_a_body_it_cannot_read) {
  journal_backlog backlog(0, kInstruments.size(), 3);
  std::string body = body_of({order_state("x", engine::order_status::open, 1, 1)});
  body.resize(body.size() - 3);
  EXPECT_THROW(backlog.add_body(body, kInstruments), journal_error);
}

}  // namespace
}  // namespace matchd::store
