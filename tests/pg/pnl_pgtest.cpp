// PnL over time (GET /positions/{client_id}/pnl's body, store/pnl_history.h) from the tables
// the applier writes (position_history, candles): for a randomized run of the real matching
// engine with fees over 25 hours (across UTC midnight), 50 clients on two instruments, written
// in chunks as the applier writes them, every bucket of every interval equals a model written
// apart: each instrument's position folded over the client's trades before the bucket's end,
// valued at the instrument's last trade before it. Trades exactly on a minute's edge belong to
// the bucket they open. And a database whose trades predate the history gets the same rows
// from complete_positions.

#include <gtest/gtest.h>
#include <matchd/codec/timestamp.h>
#include <matchd/engine/decimal.h>
#include <matchd/store/migrations.h>
#include <matchd/store/positions.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "pg_server.h"
#include "pnl_history.h"
#include "random_orders.h"
#include "reference_position.h"
#include "table_writer.h"

namespace matchd::pgtest {
namespace {

using nlohmann::json;
using reference_position = clearing::test_support::reference_position;

struct trade_row {
  std::string instrument;
  std::int64_t price = 0;  // price units
  std::int64_t lots = 0;
  std::string buyer;
  std::string seller;
  std::int64_t buyer_fee = 0;
  std::int64_t seller_fee = 0;
  std::int64_t at = 0;
};

std::vector<trade_row> all_trades(pqxx::transaction_base& tx,
                                  const std::vector<engine::instrument>& ins) {
  std::vector<trade_row> out;
  for (const pqxx::row& r :
       tx.exec("SELECT instrument, price_ticks, quantity_lots, aggressor_side, buy_client_id,"
               " sell_client_id, maker_fee, taker_fee, executed_at_us FROM trades"
               " ORDER BY trade_id")) {
    const engine::instrument& i = ins[*engine::find_instrument(ins, r[0].c_str())];
    const bool buyer_took = std::string_view(r[3].c_str()) == "buy";
    const std::int64_t maker_fee = r[6].as<std::int64_t>();
    const std::int64_t taker_fee = r[7].as<std::int64_t>();
    out.push_back({i.symbol, r[1].as<std::int64_t>() * i.tick_units, r[2].as<std::int64_t>(),
                   r[4].c_str(), r[5].c_str(), buyer_took ? taker_fee : maker_fee,
                   buyer_took ? maker_fee : taker_fee, r[8].as<std::int64_t>()});
  }
  return out;
}

std::string text(engine::int128 v, int scale) {
  char buf[engine::kMaxFormattedDecimal];
  return std::string(buf, engine::format_decimal_wide(v, scale, buf));
}

std::int64_t floor_to(std::int64_t t, std::int64_t length) {
  return t - ((t % length) + length) % length;
}

// The body the model expects: both instruments have 2 price and 8 quantity decimals, so the
// totals are at 10 like each instrument's amounts.
json expected_body(const std::vector<trade_row>& trades, const std::vector<engine::instrument>& ins,
                   const std::string& client, const char* interval, std::int64_t length,
                   std::int64_t limit, std::int64_t now) {
  const std::int64_t first = floor_to(now, length) - (limit - 1) * length;
  std::map<std::string, reference_position> held;  // by instrument, once traded
  std::map<std::string, std::int64_t> last_price;
  std::size_t next = 0;
  json buckets = json::array();
  for (std::int64_t k = 0; k < limit; ++k) {
    const std::int64_t open = first + k * length;
    for (; next < trades.size() && trades[next].at < open + length; ++next) {
      const trade_row& t = trades[next];
      const engine::instrument& i = ins[*engine::find_instrument(ins, t.instrument)];
      const std::int64_t to_quote = engine::pow10(i.quantity_scale);
      if (t.buyer == client) {
        held[t.instrument].fill(true, t.price, t.lots, t.buyer_fee, i.lot_units, to_quote);
      }
      if (t.seller == client) {
        held[t.instrument].fill(false, t.price, t.lots, t.seller_fee, i.lot_units, to_quote);
      }
      last_price[t.instrument] = t.price;
    }
    if (held.empty()) continue;  // before the client's first trade
    engine::int128 realized = 0;
    engine::int128 unrealized = 0;
    engine::int128 fees = 0;
    json parts = json::array();
    for (const auto& [symbol, p] : held) {
      const engine::instrument& i = ins[*engine::find_instrument(ins, symbol)];
      const engine::int128 u = p.unrealized(last_price.at(symbol), i.lot_units);
      const engine::int128 fee_quote = p.fees * engine::pow10(i.quantity_scale);
      parts.push_back({{"instrument", symbol},
                       {"base_position", text(static_cast<engine::int128>(p.quantity) * i.lot_units,
                                              i.quantity_scale)},
                       {"mark_price", text(last_price.at(symbol), i.price_scale)},
                       {"realized_pnl", text(p.realized, 10)},
                       {"unrealized_pnl", text(u, 10)},
                       {"fees", text(p.fees, i.price_scale)},
                       {"net_pnl", text(p.realized + u - fee_quote, 10)}});
      realized += p.realized;
      unrealized += u;
      fees += fee_quote;
    }
    buckets.push_back({{"open_time", codec::format_timestamp(open)},
                       {"close_time", codec::format_timestamp(open + length)},
                       {"realized_pnl", text(realized, 10)},
                       {"unrealized_pnl", text(unrealized, 10)},
                       {"fees", text(fees, 10)},
                       {"net_pnl", text(realized + unrealized - fees, 10)},
                       {"instruments", parts}});
  }
  return {{"client_id", client}, {"interval", interval}, {"buckets", buckets}};
}

struct traded_database {
  traded_database() {
    pg.start();
    store::apply_migrations(pg.connection_string());
    c = std::make_unique<pqxx::connection>(pg.connection_string());
    store::prepare_table_session(*c);
    random_run run{.orders = 30'000, .step_us = 3 * kSecondUs};
    run.engine.fees = engine::fee_schedule{2, 7};
    run_random_orders(*c, two_instruments(), run);
  }
  pg_server pg;
  std::unique_ptr<pqxx::connection> c;
};

struct interval_case {
  analytics::interval bucket;
  const char* name;
  std::int64_t limit;
};

void expect_every_bucket_matches_the_model(pqxx::connection& c) {
  const auto ins = two_instruments();
  pqxx::work tx(c);
  const std::vector<trade_row> trades = all_trades(tx, ins);
  ASSERT_GT(trades.size(), 5'000u);
  const std::int64_t last = trades.back().at;
  const interval_case cases[] = {
      {analytics::interval::m1, "1m", 1000},  {analytics::interval::m5, "5m", 400},
      {analytics::interval::m15, "15m", 120}, {analytics::interval::h1, "1h", 30},
      {analytics::interval::h4, "4h", 8},     {analytics::interval::d1, "1d", 3}};
  // Now: in the newest trade's bucket, and three days after it (nothing new: positions and
  // marks carry over).
  for (const std::int64_t now : {last, last + 3 * 86'400 * kSecondUs}) {
    for (const interval_case& ic : cases) {
      for (const std::string client : {"c-0", "c-7", "c-23", "c-49", "nobody"}) {
        const analytics::pnl_query q{engine::client_id::from(client), ic.bucket,
                                     static_cast<std::size_t>(ic.limit)};
        const json got = json::parse(store::pnl_body(tx, ins, q, now));
        const json want = expected_body(trades, ins, client, ic.name,
                                        analytics::length_us(ic.bucket), ic.limit, now);
        ASSERT_EQ(got, want) << client << " " << ic.name << " now=" << now;
        if (client != "nobody" && now == last) {
          EXPECT_GT(got["buckets"].size(), 1u) << client << " " << ic.name;
        }
      }
    }
  }
}

TEST(pnl_history, every_bucket_of_every_interval_equals_a_model_of_the_clients_trades) {
  traded_database db;
  expect_every_bucket_matches_the_model(*db.c);
}

// A database whose trades predate the history is marked incomplete by its migration, and
// complete_positions writes the same rows the applier does.
TEST(pnl_history, a_database_whose_trades_predate_the_history_gets_it_at_the_next_start) {
  traded_database db;
  {
    pqxx::work tx(*db.c);
    tx.exec0("CREATE TABLE written AS SELECT * FROM position_history");
    tx.exec0("DELETE FROM position_history");
    tx.exec0("UPDATE positions_progress SET complete = false");
    tx.commit();
  }
  store::complete_positions(db.pg.connection_string(), two_instruments());
  {
    pqxx::work tx(*db.c);
    EXPECT_GT(tx.exec1("SELECT count(*) FROM written")[0].as<long long>(), 1'000);
    for (const char* diff : {"(SELECT * FROM position_history) EXCEPT (SELECT * FROM written)",
                             "(SELECT * FROM written) EXCEPT (SELECT * FROM position_history)"}) {
      EXPECT_EQ(tx.exec1(std::string("SELECT count(*) FROM (") + diff + ") d")[0].as<long long>(),
                0)
          << diff;
    }
  }
  expect_every_bucket_matches_the_model(*db.c);
}

}  // namespace
}  // namespace matchd::pgtest
