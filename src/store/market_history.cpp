#include <matchd/store/market_history.h>

#include <algorithm>
#include <limits>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string_view>

#include "wide_integer.h"

namespace matchd::store {

namespace {

constexpr auto kNoLower = std::numeric_limits<std::int64_t>::min();
constexpr auto kNoUpper = std::numeric_limits<std::int64_t>::max();

// A candle row's summary columns, in trade_summary's order after the time; a trade read as
// the summary of itself has the same columns (trades_as_summary).
constexpr std::string_view kSummaryColumns =
    "open_ticks, high_ticks, low_ticks, close_ticks, volume_lots, quote_volume, "
    "price_sum_ticks, trades, first_trade_id, last_trade_id";
constexpr std::string_view kTradesAsSummary =
    "price_ticks, price_ticks, price_ticks, price_ticks, quantity_lots::numeric, "
    "price_ticks::numeric * quantity_lots, price_ticks::numeric, 1::bigint, trade_id, trade_id";

// The summary in columns [first, first + 10) of `row`.
analytics::trade_summary summary_at(const pqxx::row& row, pqxx::row::size_type first) {
  analytics::trade_summary s;
  s.open = engine::price_ticks(row[first].as<std::int64_t>());
  s.high = engine::price_ticks(row[first + 1].as<std::int64_t>());
  s.low = engine::price_ticks(row[first + 2].as<std::int64_t>());
  s.close = engine::price_ticks(row[first + 3].as<std::int64_t>());
  s.volume = wide_integer(row[first + 4]);
  s.quote_volume = wide_integer(row[first + 5]);
  s.price_sum = wide_integer(row[first + 6]);
  s.trades = row[first + 7].as<std::int64_t>();
  s.first_trade = row[first + 8].as<engine::trade_id>();
  s.last_trade = row[first + 9].as<engine::trade_id>();
  return s;
}

}  // namespace

std::vector<analytics::candle> read_candles(pqxx::transaction_base& tx, const std::string& symbol,
                                            const analytics::candle_query& r) {
  const std::string sql = std::string("SELECT open_time_us, ").append(kSummaryColumns) +
                          " FROM candles WHERE instrument = $1 AND interval_s = $2"
                          " AND open_time_us >= $3 AND open_time_us < $4"
                          " ORDER BY open_time_us DESC LIMIT $5";
  const pqxx::result rows =
      tx.exec_params(sql, symbol, analytics::length_seconds(r.bucket), r.start.value_or(kNoLower),
                     r.end.value_or(kNoUpper), static_cast<std::int64_t>(r.limit));
  std::vector<analytics::candle> out;
  out.reserve(rows.size());
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    out.push_back({(*it)[0].as<std::int64_t>(), summary_at(*it, 1)});
  }
  return out;
}

void read_live_candles(
    pqxx::transaction_base& tx, const std::string& symbol, engine::timestamp_us now,
    const std::function<void(analytics::interval, const analytics::candle&)>& f) {
  using analytics::interval;
  const auto current = [now](interval i) { return analytics::bucket_start(i, now); };
  const std::string sql =
      std::string("SELECT interval_s, open_time_us, ").append(kSummaryColumns) +
      " FROM candles WHERE instrument = $1 AND ("
      " (interval_s = 60 AND open_time_us > $2) OR (interval_s = 1 AND open_time_us > $3)"
      " OR (interval_s = 300 AND open_time_us = $4) OR (interval_s = 900 AND open_time_us = $5)"
      " OR (interval_s = 3600 AND open_time_us = $6) OR (interval_s = 14400 AND open_time_us = $7)"
      " OR (interval_s = 86400 AND open_time_us = $8)) ORDER BY interval_s, open_time_us";
  const pqxx::result rows = tx.exec_params(
      sql, symbol, current(interval::m1) - 1440 * analytics::length_us(interval::m1),
      current(interval::s1) - 300 * analytics::length_us(interval::s1), current(interval::m5),
      current(interval::m15), current(interval::h1), current(interval::h4), current(interval::d1));
  for (const pqxx::row& row : rows) {
    const std::int64_t seconds = row[0].as<std::int64_t>();
    const auto it =
        std::find_if(analytics::kIntervals.begin(), analytics::kIntervals.end(),
                     [seconds](interval i) { return analytics::length_seconds(i) == seconds; });
    if (it == analytics::kIntervals.end()) continue;  // the table's CHECK allows no other
    f(*it, analytics::candle{row[1].as<std::int64_t>(), summary_at(row, 2)});
  }
}

analytics::trade_summary read_range_summary(pqxx::transaction_base& tx, const std::string& symbol,
                                            engine::timestamp_us start, engine::timestamp_us end) {
  return read_pieces_summary(tx, symbol, analytics::cover_range(start, end));
}

analytics::trade_summary read_pieces_summary(pqxx::transaction_base& tx, const std::string& symbol,
                                             std::span<const analytics::range_piece> pieces) {
  analytics::trade_summary total;
  if (pieces.empty()) return total;
  // One statement for every piece: one round trip.
  // esc() and our own quotes: quote() trips GCC 12's false -Wrestrict at -O3 (bug 105651).
  const std::string quoted = std::string("'").append(tx.esc(symbol)).append("'");
  std::string sql;
  for (const analytics::range_piece& p : pieces) {
    if (!sql.empty()) sql += " UNION ALL ";
    if (p.level) {
      sql += std::string("SELECT ").append(kSummaryColumns) +
             " FROM candles WHERE instrument = " + quoted +
             " AND interval_s = " + std::to_string(analytics::length_seconds(*p.level)) +
             " AND open_time_us >= " + std::to_string(p.from) + " AND open_time_us < " +
             std::to_string(p.to);
    } else {
      sql += std::string("SELECT ").append(kTradesAsSummary) +
             " FROM trades WHERE instrument = " + quoted +
             " AND executed_at_us >= " + std::to_string(p.from) + " AND executed_at_us < " +
             std::to_string(p.to);
    }
  }
  for (const pqxx::row& row : tx.exec(sql)) total.merge(summary_at(row, 0));
  return total;
}

const std::string& trade_page_sql() {
  static const std::string sql =
      // An absent start or end is no bound: the oldest and newest trades need not be the
      // first and last by time if they were written before the engine's times followed the
      // sequence.
      "WITH bounds AS (SELECT"
      " CASE WHEN $3::bigint = -9223372036854775807 - 1 THEN 0 ELSE"
      " (SELECT trade_id FROM trades WHERE instrument = $1 AND executed_at_us >= $3"
      "  ORDER BY executed_at_us, trade_id LIMIT 1) END AS lo,"
      " CASE WHEN $4::bigint = 9223372036854775807 THEN 9223372036854775807 ELSE"
      " (SELECT trade_id FROM trades WHERE instrument = $1 AND executed_at_us < $4"
      "  ORDER BY executed_at_us DESC, trade_id DESC LIMIT 1) END AS hi)"
      " SELECT trade_id, price_ticks, quantity_lots, aggressor_side, buy_order_id, sell_order_id,"
      " executed_at_us, sequence, maker_fee, taker_fee FROM trades, bounds WHERE instrument = $1"
      " AND trade_id BETWEEN bounds.lo AND bounds.hi AND trade_id < $2"
      " AND executed_at_us >= $3 AND executed_at_us < $4 ORDER BY trade_id DESC LIMIT $5";
  return sql;
}

std::vector<engine::trade> read_trades(pqxx::transaction_base& tx, const std::string& symbol,
                                       const analytics::trade_query& r) {
  // The engine's times never go back in sequence order (matching_engine::stamp), so the
  // trades of [start, end) are one range of trade_ids: its two ends come from the time index,
  // and the page walks the id index between them, newest first, instead of from the newest
  // trade of all down to the range.
  const pqxx::result rows = tx.exec_params(
      trade_page_sql(), symbol,
      r.before ? static_cast<std::int64_t>(std::min<engine::trade_id>(*r.before, kNoUpper))
               : kNoUpper,
      r.start.value_or(kNoLower), r.end.value_or(kNoUpper), static_cast<std::int64_t>(r.limit));
  std::vector<engine::trade> out;
  out.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    engine::trade t;
    t.id = row[0].as<engine::trade_id>();
    t.instrument = r.instrument;
    t.price = engine::price_ticks(row[1].as<std::int64_t>());
    t.quantity = engine::quantity_lots(row[2].as<std::int64_t>());
    t.aggressor =
        std::string_view(row[3].c_str()) == "buy" ? engine::side::buy : engine::side::sell;
    t.buy_order_id = engine::order_id::from(row[4].c_str());
    t.sell_order_id = engine::order_id::from(row[5].c_str());
    t.executed_at = row[6].as<std::int64_t>();
    t.sequence = row[7].as<engine::sequence_number>();
    t.maker_fee = row[8].as<std::int64_t>();
    t.taker_fee = row[9].as<std::int64_t>();
    out.push_back(t);
  }
  return out;
}

}  // namespace matchd::store
