#include "candle_cache.h"

#include <matchd/codec/analytics_json.h>
#include <matchd/codec/json_writer.h>
#include <matchd/store/market_history.h>

#include <algorithm>
#include <limits>
#include <pqxx/pqxx>
#include <string_view>

namespace matchd::store {

namespace {

constexpr std::int64_t kChunkBuckets = 1440;
constexpr auto kNever = std::numeric_limits<engine::timestamp_us>::max();

engine::timestamp_us floor_to(engine::timestamp_us t, std::int64_t span) {
  std::int64_t q = t / span;
  if (t % span < 0) --q;
  return q * span;
}

}  // namespace

std::string candle_cache::body(pqxx::transaction_base& tx, const engine::instrument& ins,
                               const analytics::candle_query& q, engine::timestamp_us now) {
  const engine::timestamp_us lo = q.start.value_or(std::numeric_limits<std::int64_t>::min());
  const engine::timestamp_us hi = q.end.value_or(kNever);
  const auto as_read = [&] {
    return codec::candles_body(ins, q.bucket, read_candles(tx, ins.symbol, q), now);
  };
  if (q.bucket == analytics::interval::s1 || lo >= hi || q.limit == 0) return as_read();
  // Every bucket that closed by the newest applied trade's time is complete: the trades
  // after it in the journal are at that time or later.
  const pqxx::result newest =
      tx.exec("SELECT executed_at_us FROM trades ORDER BY trade_id DESC LIMIT 1");
  if (newest.empty()) return as_read();
  const std::int64_t span = kChunkBuckets * analytics::length_us(q.bucket);
  const engine::timestamp_us live_from = floor_to(newest[0][0].as<std::int64_t>(), span);

  // The chunk still filling, read as it is: the newest `limit` of its part of the range.
  std::vector<analytics::candle> live;
  if (hi > live_from) {
    analytics::candle_query part = q;
    part.start = std::max(lo, live_from);
    live = read_candles(tx, ins.symbol, part);
  }
  // Older buckets from final chunks, newest first, until `limit` are found or the range (or
  // the instrument's history) ends.
  std::size_t wanted = q.limit - std::min(q.limit, live.size());
  std::vector<std::string_view> older;
  if (wanted > 0 && lo < live_from) {
    if (const auto first = oldest(tx, ins, q.instrument, q.bucket)) {
      const engine::timestamp_us bottom = std::max(lo, *first);
      for (engine::timestamp_us c = floor_to(std::min(hi, live_from) - 1, span);
           wanted > 0 && c + span > bottom; c -= span) {
        const chunk& k = final_chunk(tx, ins, q.instrument, q.bucket, c);
        for (auto it = k.candles.rbegin(); it != k.candles.rend() && wanted > 0; ++it) {
          if (it->first >= hi) continue;
          if (it->first < lo) break;
          older.push_back(it->second);
          --wanted;
        }
      }
    }
  }

  std::string out;
  out.reserve(96 + (older.size() + live.size()) * 280);
  codec::json_writer w(out);
  w.begin_object();
  w.key("instrument");
  w.string_value(ins.symbol);
  w.key("interval");
  w.plain_string_value(analytics::to_string(q.bucket));
  w.key("candles");
  w.begin_array();
  for (auto it = older.rbegin(); it != older.rend(); ++it) w.raw_value(*it);
  for (const analytics::candle& c : live) codec::append_candle(w, ins, q.bucket, c, now);
  w.end_array();
  w.end_object();

  // Only now: `older` points into the chunks.
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    const auto it = chunks_.find(lru_.back());
    bytes_ -= it->second.bytes;
    chunks_.erase(it);
    lru_.pop_back();
  }
  return out;
}

const candle_cache::chunk& candle_cache::final_chunk(pqxx::transaction_base& tx,
                                                     const engine::instrument& ins,
                                                     engine::instrument_id id,
                                                     analytics::interval iv,
                                                     engine::timestamp_us start) {
  const key k{id, iv, start};
  if (const auto it = chunks_.find(k); it != chunks_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.used);
    return it->second;
  }
  analytics::candle_query whole;
  whole.instrument = id;
  whole.bucket = iv;
  whole.start = start;
  whole.end = start + kChunkBuckets * analytics::length_us(iv);
  whole.limit = static_cast<std::size_t>(kChunkBuckets);
  chunk c;
  for (const analytics::candle& candle : read_candles(tx, ins.symbol, whole)) {
    std::string text;
    codec::append_candle(text, ins, iv, candle, kNever);  // final: closed
    c.bytes += text.size();
    c.candles.emplace_back(candle.open_time, std::move(text));
  }
  lru_.push_front(k);
  c.used = lru_.begin();
  bytes_ += c.bytes;
  return chunks_.emplace(k, std::move(c)).first->second;
}

std::optional<engine::timestamp_us> candle_cache::oldest(pqxx::transaction_base& tx,
                                                         const engine::instrument& ins,
                                                         engine::instrument_id id,
                                                         analytics::interval iv) {
  if (const auto it = oldest_.find({id, iv}); it != oldest_.end()) return it->second;
  const pqxx::row row = tx.exec_params1(
      "SELECT min(open_time_us) FROM candles WHERE instrument = $1 AND interval_s = $2", ins.symbol,
      analytics::length_us(iv) / 1'000'000);
  if (row[0].is_null()) return std::nullopt;
  const engine::timestamp_us first = row[0].as<std::int64_t>();
  oldest_.emplace(std::pair{id, iv}, first);
  return first;
}

}  // namespace matchd::store
