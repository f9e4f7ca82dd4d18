// Positions in the database (sql/014_positions.sql, store/position_writer): for a randomized
// run of the real matching engine with fees, 50 clients on two instruments, written in chunks
// as the journal applier writes them, every client's position equals a model written apart
// folded over that client's trades as the trades table lists them; per instrument the base
// sums to zero and the cash to minus the fees; and a database whose trades predate positions
// gets the same rows from complete_positions.

#include <gtest/gtest.h>
#include <matchd/engine/decimal.h>
#include <matchd/engine/instrument.h>
#include <matchd/store/migrations.h>
#include <matchd/store/positions.h>

#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "pg_server.h"
#include "random_orders.h"
#include "reference_position.h"
#include "table_writer.h"

namespace matchd::pgtest {
namespace {

using key = std::pair<std::string, std::string>;  // client, instrument

// The model, folded over the trades table in trade_id order.
std::map<key, clearing::test_support::reference_position> reference(
    pqxx::transaction_base& tx, const std::vector<engine::instrument>& ins) {
  std::map<key, clearing::test_support::reference_position> out;
  for (const pqxx::row& r :
       tx.exec("SELECT instrument, price_ticks, quantity_lots, aggressor_side, buy_client_id,"
               " sell_client_id, maker_fee, taker_fee FROM trades ORDER BY trade_id")) {
    const std::string symbol = r[0].c_str();
    const engine::instrument& i = ins[*engine::find_instrument(ins, symbol)];
    const std::int64_t price = r[1].as<std::int64_t>() * i.tick_units;
    const std::int64_t lots = r[2].as<std::int64_t>();
    const bool buyer_took = std::string_view(r[3].c_str()) == "buy";
    const std::int64_t maker_fee = r[6].as<std::int64_t>();
    const std::int64_t taker_fee = r[7].as<std::int64_t>();
    const std::int64_t to_quote = engine::pow10(i.quantity_scale);
    out[{r[4].c_str(), symbol}].fill(true, price, lots, buyer_took ? taker_fee : maker_fee,
                                     i.lot_units, to_quote);
    out[{r[5].c_str(), symbol}].fill(false, price, lots, buyer_took ? maker_fee : taker_fee,
                                     i.lot_units, to_quote);
  }
  return out;
}

void expect_positions_match_the_model(pqxx::connection& c,
                                      const std::vector<engine::instrument>& ins) {
  pqxx::work tx(c);
  const auto model = reference(tx, ins);
  ASSERT_GT(model.size(), 60u) << "the run should trade among many clients";
  const pqxx::result rows = tx.exec(
      "SELECT client_id, instrument, base_lots, quote_units, cost_units,"
      " realized_units, fee_units, bought_lots, sold_lots, trades FROM positions");
  ASSERT_EQ(rows.size(), model.size());
  // Every row against the model, and the trades per client and instrument counted by SQL.
  std::map<key, long long> trade_counts;
  for (const pqxx::row& r :
       tx.exec("SELECT client_id, instrument, count(*) FROM (SELECT buy_client_id AS client_id,"
               " instrument FROM trades UNION ALL SELECT sell_client_id, instrument FROM trades) s"
               " GROUP BY client_id, instrument")) {
    trade_counts[{r[0].c_str(), r[1].c_str()}] = r[2].as<long long>();
  }
  for (const pqxx::row& r : rows) {
    const key k{r[0].c_str(), r[1].c_str()};
    const auto it = model.find(k);
    ASSERT_NE(it, model.end()) << k.first << " " << k.second;
    const auto& m = it->second;
    EXPECT_EQ(r[2].as<std::int64_t>(), m.quantity) << k.first << " " << k.second;
    EXPECT_EQ(std::string(r[3].c_str()), integer_text(m.cash)) << k.first << " " << k.second;
    EXPECT_EQ(std::string(r[4].c_str()), integer_text(m.cost)) << k.first << " " << k.second;
    EXPECT_EQ(std::string(r[5].c_str()), integer_text(m.realized)) << k.first << " " << k.second;
    EXPECT_EQ(std::string(r[6].c_str()), integer_text(m.fees)) << k.first << " " << k.second;
    EXPECT_EQ(r[9].as<long long>(), trade_counts[k]) << k.first << " " << k.second;
  }
  // The venue's invariants, in SQL: per instrument the clients' base sums to zero and their
  // cash to minus the fees (fee units are 10^quantity_scale quote units).
  for (const engine::instrument& i : ins) {
    const pqxx::row sums =
        tx.exec1("SELECT sum(base_lots), sum(quote_units), sum(fee_units) * " +
                 std::to_string(engine::pow10(i.quantity_scale)) +
                 ", sum(fee_units) FROM positions WHERE instrument = '" + i.symbol + "'");
    EXPECT_EQ(sums[0].as<long long>(), 0) << i.symbol;
    EXPECT_EQ(std::string(sums[1].c_str()), "-" + std::string(sums[2].c_str())) << i.symbol;
    EXPECT_NE(std::string(sums[3].c_str()), "0") << i.symbol << ": the run charges fees";
    // And what the trades say was charged.
    EXPECT_EQ(std::string(sums[3].c_str()),
              std::string(tx.exec1("SELECT sum(maker_fee + taker_fee) FROM trades WHERE "
                                   "instrument = '" +
                                   i.symbol + "'")[0]
                              .c_str()))
        << i.symbol;
  }
}

struct traded_database {
  explicit traded_database(int orders) {
    pg.start();
    store::apply_migrations(pg.connection_string());
    c = std::make_unique<pqxx::connection>(pg.connection_string());
    store::prepare_table_session(*c);
    random_run run{.orders = orders};
    run.engine.fees = engine::fee_schedule{2, 7};
    run_random_orders(*c, two_instruments(), run);
  }
  pg_server pg;
  std::unique_ptr<pqxx::connection> c;
};

// 100,000 orders, 50 clients, fees 2 and 7 bps: every position is the model's, the invariants
// hold, and read_positions gives back what the table holds.
TEST(positions, every_position_equals_a_model_folded_over_the_clients_trades) {
  traded_database db(100'000);
  expect_positions_match_the_model(*db.c, two_instruments());
  pqxx::work tx(*db.c);
  std::size_t read = 0;
  std::int64_t base = 0;
  store::read_positions(tx, two_instruments(),
                        [&](std::string_view, engine::instrument_id, const clearing::position& p) {
                          ++read;
                          base += p.base;
                        });
  EXPECT_EQ(read, static_cast<std::size_t>(
                      tx.exec1("SELECT count(*) FROM positions")[0].as<long long>()));
  EXPECT_EQ(base, 0);
}

// A database that held trades before positions existed starts incomplete (the migration says
// so) and complete_positions folds every trade once: the same rows the applier writes.
TEST(positions, a_database_whose_trades_predate_positions_gets_them_at_the_next_start) {
  traded_database db(20'000);
  {
    pqxx::work tx(*db.c);
    tx.exec0("CREATE TABLE written AS SELECT * FROM positions");
    tx.exec0("DELETE FROM positions");
    tx.exec0("UPDATE positions_progress SET complete = false");
    tx.commit();
  }
  EXPECT_GT(store::complete_positions(db.pg.connection_string(), two_instruments()), 1'000u);
  pqxx::work tx(*db.c);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM ((SELECT * FROM positions) EXCEPT"
                     " (SELECT * FROM written)) d")[0]
                .as<long long>(),
            0);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM ((SELECT * FROM written) EXCEPT"
                     " (SELECT * FROM positions)) d")[0]
                .as<long long>(),
            0);
  EXPECT_TRUE(tx.exec1("SELECT complete FROM positions_progress")[0].as<bool>());
  tx.commit();
  // Once complete, never again.
  EXPECT_EQ(store::complete_positions(db.pg.connection_string(), two_instruments()), 0u);
}

// A fresh database is complete from the start: nothing to fold.
TEST(positions, a_fresh_database_starts_complete) {
  pg_server pg;
  pg.start();
  store::apply_migrations(pg.connection_string());
  EXPECT_EQ(store::complete_positions(pg.connection_string(), two_instruments()), 0u);
}

}  // namespace
}  // namespace matchd::pgtest
