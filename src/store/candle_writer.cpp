#include "candle_writer.h"

#include <matchd/analytics/candle.h>
#include <matchd/engine/decimal.h>

#include <map>
#include <pqxx/pqxx>
#include <string>
#include <tuple>

#include "wide_integer.h"

namespace matchd::store {

namespace {

using bucket_key = std::tuple<engine::instrument_id, analytics::interval, engine::timestamp_us>;

// A bucket already in the table takes the new trades' extremes and sums; its open changes
// only when a new trade comes before its first (in trade_id order), its close when one
// comes after its last.
constexpr const char* kUpsertTail =
    R"( ON CONFLICT (instrument, interval_s, open_time_us) DO UPDATE SET
  open_ticks = CASE WHEN EXCLUDED.first_trade_id < c.first_trade_id
                    THEN EXCLUDED.open_ticks ELSE c.open_ticks END,
  high_ticks = GREATEST(c.high_ticks, EXCLUDED.high_ticks),
  low_ticks = LEAST(c.low_ticks, EXCLUDED.low_ticks),
  close_ticks = CASE WHEN EXCLUDED.last_trade_id > c.last_trade_id
                     THEN EXCLUDED.close_ticks ELSE c.close_ticks END,
  volume_lots = c.volume_lots + EXCLUDED.volume_lots,
  quote_volume = c.quote_volume + EXCLUDED.quote_volume,
  price_sum_ticks = c.price_sum_ticks + EXCLUDED.price_sum_ticks,
  trades = c.trades + EXCLUDED.trades,
  first_trade_id = LEAST(c.first_trade_id, EXCLUDED.first_trade_id),
  last_trade_id = GREATEST(c.last_trade_id, EXCLUDED.last_trade_id))";

}  // namespace

std::size_t write_candles(pqxx::transaction_base& tx, std::span<const engine::trade* const> trades,
                          const std::vector<engine::instrument>& instruments) {
  std::map<bucket_key, analytics::trade_summary> buckets;
  for (const engine::trade* t : trades) {
    for (analytics::interval i : analytics::kIntervals) {
      buckets[{t->instrument, i, analytics::bucket_start(i, t->executed_at)}].add(
          t->price, t->quantity, t->id);
    }
  }
  if (buckets.empty()) return 0;
  std::string sql =
      "INSERT INTO candles AS c (instrument, interval_s, open_time_us, open_ticks, high_ticks, "
      "low_ticks, close_ticks, volume_lots, quote_volume, price_sum_ticks, trades, "
      "first_trade_id, last_trade_id) VALUES ";
  bool first = true;
  // One value after a comma. (Not `',' + std::to_string(...)`: GCC 12 at -O3 warns falsely
  // about that form, GCC bug 105651.)
  const auto field = [&sql](const std::string& value) {
    sql += ',';
    sql += value;
  };
  for (const auto& [key, s] : buckets) {
    const auto& [ins, interval, open_time] = key;
    if (!first) sql += ',';
    first = false;
    sql += '(';
    // esc() and our own quotes: quote() trips GCC 12's false -Wrestrict at -O3 (bug 105651).
    sql += '\'';
    sql += tx.esc(instruments.at(ins).symbol);
    sql += '\'';
    field(std::to_string(analytics::length_seconds(interval)));
    field(std::to_string(open_time));
    field(std::to_string(s.open.value));
    field(std::to_string(s.high.value));
    field(std::to_string(s.low.value));
    field(std::to_string(s.close.value));
    sql += ',';
    append_wide(sql, s.volume);
    sql += ',';
    append_wide(sql, s.quote_volume);
    sql += ',';
    append_wide(sql, s.price_sum);
    field(std::to_string(s.trades));
    field(std::to_string(s.first_trade));
    field(std::to_string(s.last_trade));
    sql += ')';
  }
  sql += kUpsertTail;
  tx.exec0(sql);
  return buckets.size();
}

}  // namespace matchd::store
