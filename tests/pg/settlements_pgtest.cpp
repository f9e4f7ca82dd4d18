// Settlements in the database (store/settlements.h, sql/015_settlements.sql): for a
// randomized run of the real matching engine with fees, 50 clients on two instruments, each
// settlement's entries equal a plain SQL aggregation of the trades in [previous cutoff,
// cutoff) (a trade at the cutoff belongs to the next), the closing positions and the sum of
// all settlements equal the positions table once a final settlement is taken, the same
// cutoff again is the same settlement, an earlier one is refused, and a scope sees only its
// clients.

#include <gtest/gtest.h>
#include <matchd/store/migrations.h>
#include <matchd/store/settlements.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "pg_server.h"
#include "random_orders.h"
#include "table_writer.h"

namespace matchd::pgtest {
namespace {

using nlohmann::json;

// What the trades of [from, to) add up to per (client, instrument), in the tables' units:
// net base (lots), net quote (quote units, fees included: 10^quantity_scale per fee unit),
// fees, bought, sold, trades. Independent of clearing::position.
std::string window_reference(std::int64_t from, std::int64_t to) {
  const std::string range =
      "executed_at_us >= " + std::to_string(from) + " AND executed_at_us < " + std::to_string(to);
  return R"(
WITH sides AS (
  SELECT buy_client_id AS client_id, instrument, quantity_lots AS base,
         -(price_ticks::numeric * quantity_lots) AS notional,
         CASE WHEN aggressor_side = 'buy' THEN taker_fee ELSE maker_fee END AS fee,
         quantity_lots AS bought, 0 AS sold
  FROM trades WHERE )" +
         range + R"(
  UNION ALL
  SELECT sell_client_id, instrument, -quantity_lots, price_ticks::numeric * quantity_lots,
         CASE WHEN aggressor_side = 'sell' THEN taker_fee ELSE maker_fee END, 0, quantity_lots
  FROM trades WHERE )" +
         range + R"(
)
SELECT client_id, instrument, sum(base), sum(notional), sum(fee), sum(bought), sum(sold), count(*)
FROM sides GROUP BY client_id, instrument)";
}

// The same columns from a settlement's entries, the quote back in ticks x lots without the
// fees: quote units are ticks x lots x tick_units x lot_units, fees count 10^quantity_scale
// quote units each (two_instruments(): BTC-USD 1 x 1, ETH-USD 5 x 1000; both scale 8).
std::string entries_of(std::int64_t settlement_id) {
  return "SELECT client_id, instrument, net_base_lots,"
         " (net_quote_units + fee_units * 100000000) /"
         " CASE instrument WHEN 'BTC-USD' THEN 1 ELSE 5000 END,"
         " fee_units, bought_lots, sold_lots, trades FROM settlement_entries"
         " WHERE settlement_id = " +
         std::to_string(settlement_id);
}

long long differences(pqxx::transaction_base& tx, const std::string& a, const std::string& b) {
  return tx
      .exec1("SELECT (SELECT count(*) FROM ((" + a + ") EXCEPT (" + b +
             ")) x) + (SELECT count(*) FROM ((" + b + ") EXCEPT (" + a + ")) y)")[0]
      .as<long long>();
}

class settlements : public ::testing::Test {
 protected:
  void SetUp() override {
    pg.start();
    store::apply_migrations(pg.connection_string());
    c = std::make_unique<pqxx::connection>(pg.connection_string());
    store::prepare_table_session(*c);
    random_run run{.orders = 30'000};
    run.engine.fees = engine::fee_schedule{2, 7};
    run_random_orders(*c, two_instruments(), run);
  }

  store::settlement_outcome settle(std::int64_t cutoff) {
    pqxx::work tx(*c);
    auto out = store::settle(tx, two_instruments(), cutoff, 1);
    tx.commit();
    return out;
  }

  pg_server pg;
  std::unique_ptr<pqxx::connection> c;
};

TEST_F(settlements, each_window_nets_its_trades_and_all_of_them_add_up_to_the_positions) {
  // Cutoffs: one exactly at a trade's time (that trade belongs to the next window), one on a
  // minute, and one after every trade.
  std::int64_t at_trade = 0;
  std::int64_t last = 0;
  {
    pqxx::work tx(*c);
    at_trade =
        tx.exec1("SELECT executed_at_us FROM trades ORDER BY trade_id OFFSET 5000 LIMIT 1")[0]
            .as<std::int64_t>();
    last = tx.exec1("SELECT max(executed_at_us) FROM trades")[0].as<std::int64_t>();
  }
  const std::int64_t on_minute =
      (at_trade + 3 * 3'600 * kSecondUs) / (60 * kSecondUs) * (60 * kSecondUs);
  const std::vector<std::int64_t> cutoffs = {at_trade, on_minute, last + 1};
  std::int64_t previous = std::numeric_limits<std::int64_t>::min();
  for (std::size_t i = 0; i < cutoffs.size(); ++i) {
    const auto made = settle(cutoffs[i]);
    ASSERT_EQ(made.what, store::settlement_outcome::kind::created) << made.body;
    const json body = json::parse(made.body)["settlement"];
    EXPECT_EQ(body["settlement_id"], std::to_string(i + 1));
    EXPECT_EQ(body["previous_cutoff"].is_null(), i == 0);
    pqxx::work tx(*c);
    EXPECT_EQ(differences(tx, entries_of(static_cast<std::int64_t>(i + 1)),
                          window_reference(previous, cutoffs[i])),
              0)
        << "settlement " << i + 1;
    if (i == 0) {
      EXPECT_GT(tx.exec1("SELECT count(*) FROM trades WHERE executed_at_us = " +
                         std::to_string(at_trade))[0]
                    .as<long long>(),
                0);
    }
    // Per instrument, base nets to zero and quote to minus the fees: in the table, and in
    // the totals the API shows.
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM (SELECT instrument FROM settlement_entries"
                       " WHERE settlement_id = " +
                       std::to_string(i + 1) +
                       " GROUP BY instrument HAVING sum(net_base_lots) <> 0 OR"
                       " sum(net_quote_units) <> -sum(fee_units) * 100000000) bad")[0]
                  .as<long long>(),
              0);
    for (const auto& [symbol, t] : body["totals"].items()) {
      EXPECT_EQ(t["net_base"], "0.00000000") << symbol;
      EXPECT_EQ(t["buy_volume"], t["sell_volume"]) << symbol;
      EXPECT_EQ(t["fills"].get<long long>() % 2, 0) << symbol << ": two sides a trade";
    }
    previous = cutoffs[i];
  }
  pqxx::work tx(*c);
  // Every trade is in exactly one settlement.
  EXPECT_EQ(tx.exec1("SELECT sum(trades) FROM settlement_entries")[0].as<long long>(),
            2 * tx.exec1("SELECT count(*) FROM trades")[0].as<long long>());
  // After the final one, the closing positions are the positions, and the settlements' net
  // amounts add up to them.
  EXPECT_EQ(
      differences(tx,
                  "SELECT DISTINCT ON (client_id, instrument) client_id, instrument,"
                  " closing_base_lots, closing_quote_units, closing_cost_units,"
                  " closing_realized_units, closing_fee_units, closing_trades"
                  " FROM settlement_entries ORDER BY client_id, instrument, settlement_id DESC",
                  "SELECT client_id, instrument, base_lots, quote_units, cost_units,"
                  " realized_units, fee_units, trades FROM positions"),
      0);
  EXPECT_EQ(
      differences(tx,
                  "SELECT client_id, instrument, sum(net_base_lots), sum(net_quote_units),"
                  " sum(realized_units) FROM settlement_entries GROUP BY client_id, instrument",
                  "SELECT client_id, instrument, base_lots, quote_units, realized_units"
                  " FROM positions"),
      0);
}

TEST_F(settlements, the_same_cutoff_is_the_same_settlement_and_an_earlier_one_is_refused) {
  const std::int64_t cutoff = kStartUs + 3 * 3'600 * kSecondUs;
  const auto first = settle(cutoff);
  ASSERT_EQ(first.what, store::settlement_outcome::kind::created);
  const auto again = settle(cutoff);
  EXPECT_EQ(again.what, store::settlement_outcome::kind::existing);
  EXPECT_EQ(again.body, first.body);
  const auto earlier = settle(cutoff - 1);
  EXPECT_EQ(earlier.what, store::settlement_outcome::kind::out_of_order) << earlier.body;
  pqxx::work tx(*c);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM settlements")[0].as<long long>(), 1);
}

TEST_F(settlements, a_scope_sees_its_clients_and_csv_has_a_row_per_entry) {
  ASSERT_EQ(settle(kStartUs + 5 * 3'600 * kSecondUs).what,
            store::settlement_outcome::kind::created);
  pqxx::work tx(*c);
  const auto all = json::parse(*store::settlement_body(tx, two_instruments(), 1, false, nullptr));
  const std::size_t entries = all["settlement"]["entries"].size();
  ASSERT_GT(entries, 50u);
  const auto scope = std::make_shared<const engine::client_set>(
      std::vector<engine::client_id>{engine::client_id::from("c-7")});
  const auto mine = json::parse(*store::settlement_body(tx, two_instruments(), 1, false, scope));
  ASSERT_FALSE(mine["settlement"]["entries"].empty());
  for (const json& e : mine["settlement"]["entries"]) EXPECT_EQ(e["client_id"], "c-7");
  const std::string csv = *store::settlement_body(tx, two_instruments(), 1, true, nullptr);
  EXPECT_EQ(static_cast<std::size_t>(std::count(csv.begin(), csv.end(), '\n')), entries + 1);
  EXPECT_EQ(csv.rfind("settlement_id,cutoff,client_id,instrument,net_base,net_quote,fees,", 0), 0u);
  EXPECT_FALSE(store::settlement_body(tx, two_instruments(), 2, false, nullptr).has_value());
  const json list = json::parse(store::settlement_list_body(tx, 10));
  ASSERT_EQ(list["settlements"].size(), 1u);
  EXPECT_EQ(list["settlements"][0]["entries"], entries);
}

}  // namespace
}  // namespace matchd::pgtest
