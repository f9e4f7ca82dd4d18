// Candles in the database (sql/012_candles.sql, store/candle_writer): for a randomized run
// of the real matching engine, written in chunks as the journal applier writes them, every
// candle of every interval equals a plain SQL aggregation of the trades table; and the
// migration's backfill of a database that already held trades gives the same.

#include <gtest/gtest.h>
#include <matchd/codec/analytics_json.h>
#include <matchd/engine/decimal.h>
#include <matchd/engine/event.h>
#include <matchd/engine/instrument.h>
#include <matchd/engine/matching_engine.h>
#include <matchd/store/market_history.h>
#include <matchd/store/migrations.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "candle_cache.h"
#include "pg_server.h"
#include "random_orders.h"
#include "table_writer.h"

namespace matchd::pgtest {
namespace {

// Independent of the writer and of the migration: the first and last price by window
// functions, the bucket by integer division of non-negative times.
const char* const kReference = R"(
WITH b AS (
  SELECT t.*, i.s, t.executed_at_us / (i.s * 1000000::bigint) * (i.s * 1000000::bigint) AS open_time_us
  FROM trades t CROSS JOIN unnest(ARRAY[1, 60, 300, 900, 3600, 14400, 86400]) AS i(s)
), w AS (
  SELECT b.*,
         first_value(price_ticks) OVER (PARTITION BY instrument, s, open_time_us ORDER BY trade_id) AS o,
         first_value(price_ticks) OVER (PARTITION BY instrument, s, open_time_us ORDER BY trade_id DESC) AS c
  FROM b
)
SELECT instrument, s, open_time_us, min(o), max(price_ticks), min(price_ticks), min(c),
       sum(quantity_lots), sum(price_ticks::numeric * quantity_lots), sum(price_ticks),
       count(*), min(trade_id), max(trade_id)
FROM w GROUP BY instrument, s, open_time_us)";

const char* const kCandles = R"(
SELECT instrument, interval_s, open_time_us, open_ticks, high_ticks, low_ticks, close_ticks,
       volume_lots, quote_volume, price_sum_ticks, trades, first_trade_id, last_trade_id
FROM candles)";

long long count_of(pqxx::transaction_base& tx, const std::string& sql) {
  return tx.exec1("SELECT count(*) FROM (" + sql + ") x")[0].as<long long>();
}

void expect_candles_match_trades(pqxx::connection& c) {
  pqxx::work tx(c);
  const long long trades = tx.exec1("SELECT count(*) FROM trades")[0].as<long long>();
  ASSERT_GT(trades, 10'000) << "the run should trade";
  const long long rows = count_of(tx, kCandles);
  EXPECT_EQ(rows, count_of(tx, kReference));
  EXPECT_EQ(count_of(tx, "(" + std::string(kCandles) + ") EXCEPT (" + kReference + ")"), 0)
      << "candles that the trades do not add up to";
  EXPECT_EQ(count_of(tx, "(" + std::string(kReference) + ") EXCEPT (" + kCandles + ")"), 0)
      << "buckets of trades missing from the candles";
  // Every interval holds every trade once.
  const pqxx::result per_interval =
      tx.exec("SELECT interval_s, sum(trades) FROM candles GROUP BY interval_s");
  EXPECT_EQ(per_interval.size(), 7u);
  for (const pqxx::row& r : per_interval) {
    EXPECT_EQ(r[1].as<long long>(), trades) << "interval " << r[0].as<int>() << " s";
  }
}

// A database with `orders` random orders applied (run_random_orders).
struct traded_database {
  explicit traded_database(int orders) {
    pg.start();
    store::apply_migrations(pg.connection_string());
    c = std::make_unique<pqxx::connection>(pg.connection_string());
    store::prepare_table_session(*c);
    run_random_orders(*c, two_instruments(), {.orders = orders});
  }
  pg_server pg;
  std::unique_ptr<pqxx::connection> c;
};

// 100,000 orders: every candle of every interval equals the trades table's aggregation; and
// GET /analytics/stats's read, for random ranges of the run (from a millisecond to more than
// a day, on and off bucket edges), from candles and edge trades, equals one aggregation of
// the trades table over the same range.
TEST(candles, candles_and_range_summaries_equal_plain_aggregations_of_the_trades) {
  traded_database db(100'000);
  expect_candles_match_trades(*db.c);
  std::mt19937_64 rng(29);
  const std::int64_t run_us = 28 * 3'600 * kSecondUs;
  const std::int64_t spans[] = {1'000, 999'999, 61 * kSecondUs, 3'700 * kSecondUs,
                                30 * 3'600 * kSecondUs};
  pqxx::work tx(*db.c);
  for (int round = 0; round < 200; ++round) {
    const std::string symbol = round % 2 == 0 ? "BTC-USD" : "ETH-USD";
    std::int64_t start = kStartUs - 60 * kSecondUs +
                         static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(run_us));
    if (round % 5 == 0) start = start / (60 * kSecondUs) * (60 * kSecondUs);
    const std::int64_t end =
        start + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(spans[round % 5]));
    const analytics::trade_summary got = store::read_range_summary(tx, symbol, start, end);
    const pqxx::row want = tx.exec_params1(
        "SELECT count(*), coalesce(sum(quantity_lots), 0), "
        "coalesce(sum(price_ticks::numeric * quantity_lots), 0), coalesce(sum(price_ticks), 0), "
        "(array_agg(price_ticks ORDER BY trade_id))[1], max(price_ticks), min(price_ticks), "
        "(array_agg(price_ticks ORDER BY trade_id DESC))[1], min(trade_id), max(trade_id) "
        "FROM trades WHERE instrument = $1 AND executed_at_us >= $2 AND executed_at_us < $3",
        symbol, start, end);
    const std::string where =
        symbol + " [" + std::to_string(start) + ", " + std::to_string(end) + ")";
    ASSERT_EQ(got.trades, want[0].as<std::int64_t>()) << where;
    EXPECT_EQ(integer_text(got.volume), want[1].c_str()) << where;
    EXPECT_EQ(integer_text(got.quote_volume), want[2].c_str()) << where;
    EXPECT_EQ(integer_text(got.price_sum), want[3].c_str()) << where;
    if (got.trades == 0) continue;
    EXPECT_EQ(got.open.value, want[4].as<std::int64_t>()) << where;
    EXPECT_EQ(got.high.value, want[5].as<std::int64_t>()) << where;
    EXPECT_EQ(got.low.value, want[6].as<std::int64_t>()) << where;
    EXPECT_EQ(got.close.value, want[7].as<std::int64_t>()) << where;
    EXPECT_EQ(got.first_trade, want[8].as<engine::trade_id>()) << where;
    EXPECT_EQ(got.last_trade, want[9].as<engine::trade_id>()) << where;
  }
}

// GET /candles's read: the newest `limit` buckets of a range, oldest first.
TEST(candles, a_candle_read_gives_the_newest_buckets_of_its_range_oldest_first) {
  traded_database db(40'000);
  pqxx::work tx(*db.c);
  analytics::candle_query q;
  q.bucket = analytics::interval::h1;
  q.start = kStartUs + 3 * 3'600 * kSecondUs;
  q.end = kStartUs + 10 * 3'600 * kSecondUs;
  q.limit = 5;
  const std::vector<analytics::candle> got = store::read_candles(tx, "BTC-USD", q);
  ASSERT_EQ(got.size(), 5u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].open_time, kStartUs + static_cast<std::int64_t>(5 + i) * 3'600 * kSecondUs);
    const analytics::trade_summary whole = store::read_range_summary(
        tx, "BTC-USD", got[i].open_time, got[i].open_time + 3'600 * kSecondUs);
    EXPECT_EQ(got[i].summary, whole) << "bucket " << i;
  }
}

// GET /candles and /analytics/stats through the cache of final chunks (store/candle_cache)
// equal the plain reads of the table, for random queries asked while the trades are still being
// written (the final part moving on), with a budget small enough that chunks are forgotten and read
// again. (Its trades are 90 s apart: over 40 days, chunks of 1 m, 5 m and 15 m become final.)
TEST(candles, the_candle_cache_answers_as_the_table_does_while_trades_come_in) {
  pg_server pg;
  pg.start();
  store::apply_migrations(pg.connection_string());
  pqxx::connection writer(pg.connection_string());
  store::prepare_table_session(writer);
  pqxx::connection reader(pg.connection_string());
  const std::vector<engine::instrument> ins = two_instruments();
  store::candle_cache cache(2'000'000);
  std::mt19937_64 rng(29);
  int asked = 0;
  int with_candles = 0;
  int flushes = 0;
  const auto ask = [&] {
    if (++flushes % 3 != 0) return;
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(reader);
    const pqxx::result newest =
        tx.exec("SELECT executed_at_us FROM trades ORDER BY trade_id DESC LIMIT 1");
    if (newest.empty()) return;
    // The wall clock is never behind the newest trade.
    const std::int64_t now = newest[0][0].as<std::int64_t>() + 1;
    for (int i = 0; i < 4; ++i) {
      analytics::candle_query q;
      q.instrument = static_cast<engine::instrument_id>(rng() % ins.size());
      q.bucket = analytics::kIntervals[1 + rng() % (analytics::kIntervals.size() - 1)];
      const std::int64_t len = analytics::length_us(q.bucket);
      const auto some_time = [&] {
        return kStartUs - 7'200 * kSecondUs +
               static_cast<std::int64_t>(
                   rng() % static_cast<std::uint64_t>(now - kStartUs + 14'400 * kSecondUs));
      };
      if (rng() % 3 != 0) q.start = rng() % 2 == 0 ? some_time() / len * len : some_time();
      if (rng() % 3 != 0) q.end = rng() % 2 == 0 ? some_time() / len * len : some_time();
      q.limit = rng() % 4 == 0 ? 1500 : 1 + rng() % 300;
      const std::string want = codec::candles_body(
          ins[q.instrument], q.bucket, store::read_candles(tx, ins[q.instrument].symbol, q), now);
      ASSERT_EQ(cache.body(tx, ins[q.instrument], q, now), want)
          << analytics::to_string(q.bucket) << " start " << q.start.value_or(-1) << " end "
          << q.end.value_or(-1) << " limit " << q.limit;
      ++asked;
      if (want.find("open_time") != std::string::npos) ++with_candles;
      // A range's statistics, on and off bucket edges.
      std::int64_t from = some_time();
      std::int64_t to = some_time();
      if (from > to) std::swap(from, to);
      if (rng() % 2 == 0) from = from / len * len;
      ASSERT_EQ(cache.summary(tx, ins[q.instrument], q.instrument, from, to),
                store::read_range_summary(tx, ins[q.instrument].symbol, from, to))
          << "range " << from << " to " << to;
    }
    tx.commit();
  };
  // 90 s apart: 40 days, so that days of 1 m and weeks of 5 m and 15 m become final.
  run_random_orders(writer, ins, {.orders = 40'000, .step_us = 90 * kSecondUs, .after_flush = ask});
  EXPECT_GT(asked, 100);
  EXPECT_GT(with_candles, asked / 3);
  EXPECT_GT(cache.chunks(), 0u);
  EXPECT_LE(cache.bytes(), 2'000'000u);
}

// GET /trades by time: pages of a random range, each after the last one's smallest trade_id,
// give exactly the range's trades newest first (the engine's times follow the sequence, so
// the page query bounds its walk by the range's first and last trade_id).
TEST(candles, trade_pages_of_a_time_range_give_each_of_its_trades_once_newest_first) {
  traded_database db(40'000);
  pqxx::work tx(*db.c);
  std::mt19937_64 rng(31);
  for (int round = 0; round < 20; ++round) {
    const std::string symbol = round % 2 == 0 ? "BTC-USD" : "ETH-USD";
    const std::int64_t start =
        kStartUs +
        static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(10 * 3'600 * kSecondUs));
    const std::int64_t end = start + static_cast<std::int64_t>(rng() % (600 * kSecondUs));
    std::vector<engine::trade_id> want;
    for (const pqxx::row& r : tx.exec_params(
             "SELECT trade_id FROM trades WHERE instrument = $1 AND executed_at_us >= $2 AND "
             "executed_at_us < $3 ORDER BY trade_id DESC",
             symbol, start, end)) {
      want.push_back(r[0].as<engine::trade_id>());
    }
    std::vector<engine::trade_id> got;
    analytics::trade_query q;
    q.start = start;
    q.end = end;
    q.limit = 37;
    for (int page = 0; page < 1000; ++page) {
      const std::vector<engine::trade> trades = store::read_trades(tx, symbol, q);
      if (trades.empty()) break;
      for (const engine::trade& t : trades) got.push_back(t.id);
      q.before = trades.back().id;
    }
    EXPECT_EQ(got, want) << symbol << " [" << start << ", " << end << ")";
  }
}

TEST(candles, the_migration_fills_them_from_the_trades_a_database_already_held) {
  traded_database db(40'000);
  pqxx::connection& c = *db.c;
  const auto& all = store::migrations();
  const auto v12 = std::find_if(all.begin(), all.end(),
                                [](const store::migration& m) { return m.version == 12; });
  ASSERT_NE(v12, all.end());
  {
    pqxx::work tx(c);
    tx.exec0("DELETE FROM candles");
    tx.exec0(std::string(v12->sql));  // its CREATEs are IF NOT EXISTS; its INSERT fills
    tx.commit();
  }
  expect_candles_match_trades(c);
}

}  // namespace
}  // namespace matchd::pgtest
