// Average-cost positions (docs/api.md, "Positions and PnL"): the worked example, the rules one
// by one, and long random histories against a model written apart, with the venue's
// invariants (base sums to zero, cash to minus the fees).

#include <gtest/gtest.h>
#include <matchd/clearing/position.h>
#include <matchd/clearing/position_book.h>
#include <matchd/engine/fees.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "reference_position.h"

namespace matchd::clearing {
namespace {

using engine::price_ticks;
using engine::quantity_lots;
using engine::side;

// Tick 0.01 and lot 1 (a whole unit): prices in cents, quote units in cents.
engine::instrument whole_units() {
  return *engine::instrument::parse_spec("X-USD:0.01:1");
}

fill at(side s, std::int64_t cents, std::int64_t lots, std::int64_t fee = 0) {
  return {s, price_ticks{cents}, quantity_lots{lots}, fee, 0, 0};
}

// The example of docs/api.md: buy 2 at 100, sell 3 at 110, buy 1 at 105.
TEST(position, the_worked_example_of_the_docs) {
  const quote_scale scale = quote_scale::of(whole_units());
  position p;
  p.apply(at(side::buy, 100'00, 2), scale);
  EXPECT_EQ(p.base, 2);
  EXPECT_EQ(p.average_entry(scale), 100'00);
  EXPECT_TRUE(p.cost == 200'00);
  EXPECT_TRUE(p.quote == -200'00);
  EXPECT_TRUE(p.realized == 0);
  EXPECT_TRUE(p.unrealized(100'00, scale) == 0);

  p.apply(at(side::sell, 110'00, 3), scale);  // closes 2 (+20), opens 1 short at 110
  EXPECT_EQ(p.base, -1);
  EXPECT_EQ(p.average_entry(scale), 110'00);
  EXPECT_TRUE(p.cost == -110'00);
  EXPECT_TRUE(p.quote == 130'00);
  EXPECT_TRUE(p.realized == 20'00);
  EXPECT_TRUE(p.unrealized(110'00, scale) == 0);
  EXPECT_TRUE(p.unrealized(105'00, scale) == 5'00);

  p.apply(at(side::buy, 105'00, 1), scale);  // closes the short: +5
  EXPECT_EQ(p.base, 0);
  EXPECT_EQ(p.average_entry(scale), 0);
  EXPECT_TRUE(p.cost == 0);
  EXPECT_TRUE(p.quote == 25'00);
  EXPECT_TRUE(p.realized == 25'00);
  EXPECT_TRUE(p.unrealized(105'00, scale) == 0);
  EXPECT_TRUE(p.bought == 3);
  EXPECT_TRUE(p.sold == 3);
  EXPECT_EQ(p.trades, 3);
}

TEST(position, the_cost_is_exact_and_the_average_entry_is_shown_rounded_half_up) {
  const quote_scale scale = quote_scale::of(whole_units());
  position p;
  p.apply(at(side::buy, 100'00, 1), scale);
  p.apply(at(side::buy, 100'01, 1), scale);
  EXPECT_TRUE(p.cost == 200'01);
  EXPECT_EQ(p.average_entry(scale), 100'01);  // 100.005 -> 100.01
  p.apply(at(side::buy, 100'00, 1), scale);
  EXPECT_TRUE(p.cost == 300'01);
  EXPECT_EQ(p.average_entry(scale), 100'00);  // 100.00333 -> 100.00
  // Reducing 2 of 3 takes 2/3 of the cost (200.00666 -> 200.01) and realizes the rest.
  p.apply(at(side::sell, 101'00, 2), scale);
  EXPECT_EQ(p.base, 1);
  EXPECT_TRUE(p.cost == 100'00);
  EXPECT_TRUE(p.realized == 202'00 - 200'01);
  // Closing the last one takes what is left: flat, realized is exactly the cash moved.
  p.apply(at(side::sell, 99'00, 1), scale);
  EXPECT_TRUE(p.cost == 0);
  EXPECT_TRUE(p.realized == p.quote) << "no fees here";
  // A short the same way, its cost negative; halves round away from zero.
  position s;
  s.apply(at(side::sell, 50'00, 1), scale);
  s.apply(at(side::sell, 50'03, 1), scale);
  EXPECT_EQ(s.average_entry(scale), 50'02);  // 50.015 -> 50.02
  s.apply(at(side::buy, 49'00, 1), scale);   // half of -100.03 is -50.015 -> -50.02
  EXPECT_TRUE(s.realized == 50'02 - 49'00);  // a short gains when the price falls
  EXPECT_TRUE(s.cost == -50'01);
  EXPECT_TRUE(s.unrealized(51'02, scale) == -1'01);  // the short 1 left, bought back at 51.02
}

TEST(position, fees_take_cash_and_leave_the_pnl_gross) {
  const quote_scale scale = quote_scale::of(whole_units());
  position p;
  p.apply(at(side::buy, 100'00, 2, 7), scale);
  p.apply(at(side::sell, 101'00, 2, 9), scale);
  EXPECT_TRUE(p.fees == 16);
  EXPECT_TRUE(p.realized == 2'00);
  EXPECT_TRUE(p.quote == 2'00 - 16);
}

TEST(position, amounts_are_exact_at_fine_increments) {
  // BTC-USD: tick 0.01, lot 0.00000001. Quote units are 10^-10.
  const quote_scale scale = quote_scale::of(engine::instrument::btc_usd());
  EXPECT_EQ(scale.fee_to_quote, 100'000'000);
  position p;
  p.apply(at(side::buy, 65'000'00, 1), scale);  // one satoshi at 65,000.00
  EXPECT_TRUE(p.quote == -6'500'000);           // 0.00065 USD in units of 10^-10
  p.apply(at(side::sell, 65'001'00, 1, 1), scale);
  EXPECT_TRUE(p.realized == 100);             // 0.00000001 USD
  EXPECT_TRUE(p.quote == 100 - 100'000'000);  // and the 0.01 fee
}

TEST(position, a_trade_charges_the_maker_and_the_taker_their_own_fee) {
  engine::trade t;
  t.id = 5;
  t.price = price_ticks{100};
  t.quantity = quantity_lots{3};
  t.maker_fee = 1;
  t.taker_fee = 4;
  t.executed_at = 77;
  t.aggressor = side::sell;
  EXPECT_EQ(buyer_fill(t).fee, 1);
  EXPECT_EQ(seller_fill(t).fee, 4);
  EXPECT_EQ(seller_fill(t).fill_side, side::sell);
  EXPECT_EQ(buyer_fill(t).trade, 5u);
  EXPECT_EQ(buyer_fill(t).at, 77);
  t.aggressor = side::buy;
  EXPECT_EQ(buyer_fill(t).fee, 4);
  EXPECT_EQ(seller_fill(t).fee, 1);
}

// Random trades among a few clients, both sides, with fees: every position equals the
// model's after every trade, base sums to zero and cash to minus the fees.
TEST(position, random_histories_match_the_model_and_keep_the_venues_invariants) {
  for (const char* spec : {"X-USD:0.01:1", "BTC-USD:0.01:0.00000001", "Y-Z:0.05:0.1"}) {
    const engine::instrument ins = *engine::instrument::parse_spec(spec);
    const quote_scale scale = quote_scale::of(ins);
    const engine::fee_calculator fees(ins, engine::fee_schedule{3, 11});
    std::mt19937_64 rng(42);
    std::map<int, position> positions;
    std::map<int, test_support::reference_position> model;
    std::int64_t last_price = 0;
    for (int i = 0; i < 20'000; ++i) {
      const int buyer = static_cast<int>(rng() % 6);
      int seller = static_cast<int>(rng() % 5);
      if (seller >= buyer) ++seller;
      engine::trade t;
      t.id = static_cast<engine::trade_id>(i + 1);
      t.price = price_ticks{static_cast<std::int64_t>(9'000 + rng() % 2'000)};
      t.quantity = quantity_lots{static_cast<std::int64_t>(1 + rng() % 1'000)};
      t.aggressor = rng() % 2 == 0 ? side::buy : side::sell;
      const engine::int128 notional = static_cast<engine::int128>(t.price.value) * t.quantity.value;
      t.maker_fee = fees.maker_fee(notional);
      t.taker_fee = fees.taker_fee(notional);
      positions[buyer].apply(buyer_fill(t), scale);
      positions[seller].apply(seller_fill(t), scale);
      const std::int64_t price = t.price.value * scale.tick_units;
      model[buyer].fill(true, price, t.quantity.value, buyer_fill(t).fee, scale.lot_units,
                        scale.fee_to_quote);
      model[seller].fill(false, price, t.quantity.value, seller_fill(t).fee, scale.lot_units,
                         scale.fee_to_quote);
      last_price = price;

      std::int64_t base = 0;
      engine::int128 cash = 0;
      engine::int128 fees_paid = 0;
      for (const auto& [client, p] : positions) {
        const auto& m = model[client];
        ASSERT_EQ(p.base, m.quantity) << spec << " trade " << i;
        ASSERT_TRUE(p.cost == m.cost) << spec << " trade " << i;
        ASSERT_EQ(p.average_entry(scale), m.average(scale.lot_units)) << spec << " trade " << i;
        ASSERT_TRUE(p.realized == m.realized) << spec << " trade " << i;
        ASSERT_TRUE(p.quote == m.cash) << spec << " trade " << i;
        ASSERT_TRUE(p.unrealized(last_price, scale) == m.unrealized(last_price, scale.lot_units));
        base += p.base;
        cash += p.quote;
        fees_paid += p.fees;
      }
      ASSERT_EQ(base, 0);
      ASSERT_TRUE(cash == -fees_paid * scale.fee_to_quote);
    }
  }
}

TEST(position_book, keeps_each_clients_positions_by_instrument) {
  const quote_scale scale = quote_scale::of(whole_units());
  position_book book;
  const auto alice = engine::client_id::from("alice");
  const auto bob = engine::client_id::from("bob");
  EXPECT_TRUE(book.of(alice).empty());
  EXPECT_EQ(book.find(alice, 0), nullptr);
  book.apply(alice, 3, at(side::buy, 100'00, 2), scale);
  book.apply(alice, 1, at(side::sell, 50'00, 1), scale);
  const position& again = book.apply(alice, 3, at(side::buy, 102'00, 2), scale);
  EXPECT_EQ(again.base, 4);
  EXPECT_EQ(again.average_entry(scale), 101'00);
  book.apply(bob, 3, at(side::sell, 100'00, 4), scale);
  ASSERT_EQ(book.of(alice).size(), 2u);
  EXPECT_EQ(book.of(alice)[0].instrument, 1u) << "in instrument order";
  EXPECT_EQ(book.of(alice)[1].instrument, 3u);
  EXPECT_EQ(book.find(bob, 3)->base, -4);
  EXPECT_EQ(book.clients(), 2u);

  position seeded;
  seeded.base = 7;
  book.seed(bob, 0, seeded);
  EXPECT_EQ(book.find(bob, 0)->base, 7);
  EXPECT_EQ(book.of(bob).front().instrument, 0u);
}

TEST(last_trade_marks, mark_at_the_last_trade_and_none_before_the_first) {
  last_trade_marks marks;
  EXPECT_FALSE(marks.mark(2).has_value());
  marks.trade(2, 101'00);
  marks.trade(2, 99'50);
  EXPECT_EQ(marks.mark(2), 99'50);
  EXPECT_FALSE(marks.mark(0).has_value());
  const mark_source& source = marks;
  EXPECT_EQ(source.mark(2), 99'50);
}

}  // namespace
}  // namespace matchd::clearing
