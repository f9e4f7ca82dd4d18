#include "candle_cache.h"

#include <matchd/codec/analytics_json.h>
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
  const auto newest = newest_trade_time(tx);
  if (!newest) return as_read();
  const std::int64_t span = kChunkBuckets * analytics::length_us(q.bucket);
  const engine::timestamp_us final_end = analytics::bucket_start(q.bucket, *newest);

  // The buckets that can still change (the open one), read as they are.
  std::vector<analytics::candle> live;
  if (hi > final_end) {
    analytics::candle_query part = q;
    part.start = std::max(lo, final_end);
    live = read_candles(tx, ins.symbol, part);
  }
  // Older buckets from the chunks, newest first, until `limit` are found or the range (or the
  // instrument's history) ends.
  std::size_t wanted = q.limit - std::min(q.limit, live.size());
  std::vector<std::string_view> older;
  if (wanted > 0 && lo < final_end) {
    if (const auto first = oldest(tx, ins, q.instrument, q.bucket)) {
      const engine::timestamp_us bottom = std::max(lo, *first);
      const engine::timestamp_us top = std::min(hi, final_end);
      for (engine::timestamp_us c = floor_to(top - 1, span); wanted > 0 && c + span > bottom;
           c -= span) {
        const chunk& k =
            chunk_until(tx, ins, q.instrument, q.bucket, c, std::min(c + span, final_end));
        for (auto it = k.candles.rbegin(); it != k.candles.rend() && wanted > 0; ++it) {
          if (it->open_time >= top) continue;
          if (it->open_time < lo) break;
          older.push_back(it->text);
          --wanted;
        }
      }
    }
  }

  std::reverse(older.begin(), older.end());  // oldest first
  std::string out = codec::candles_body(ins, q.bucket, older, live, now);
  trim();  // only now: `older` points into the chunks
  return out;
}

analytics::trade_summary candle_cache::summary(pqxx::transaction_base& tx,
                                               const engine::instrument& ins,
                                               engine::instrument_id id, engine::timestamp_us start,
                                               engine::timestamp_us end) {
  using analytics::interval;
  analytics::trade_summary total;
  std::vector<analytics::range_piece> rest;
  std::optional<engine::timestamp_us> newest;
  bool asked = false;
  for (const analytics::range_piece& p : analytics::cover_range(start, end)) {
    if (!p.level || *p.level == interval::s1) {
      rest.push_back(p);
      continue;
    }
    if (!asked) {
      newest = newest_trade_time(tx);
      asked = true;
    }
    const engine::timestamp_us final_end =
        newest ? analytics::bucket_start(*p.level, *newest) : kNever;
    if (!newest || p.to > final_end) {
      rest.push_back(p);
      continue;
    }
    const std::int64_t span = kChunkBuckets * analytics::length_us(*p.level);
    for (engine::timestamp_us c = floor_to(p.from, span); c < p.to; c += span) {
      for (const bucket& b :
           chunk_until(tx, ins, id, *p.level, c, std::min(c + span, final_end)).candles) {
        if (b.open_time >= p.from && b.open_time < p.to) total.merge(b.summary);
      }
    }
  }
  total.merge(read_pieces_summary(tx, ins.symbol, rest));
  trim();
  return total;
}

std::optional<engine::timestamp_us> candle_cache::newest_trade_time(pqxx::transaction_base& tx) {
  const pqxx::result newest =
      tx.exec("SELECT executed_at_us FROM trades ORDER BY trade_id DESC LIMIT 1");
  if (newest.empty()) return std::nullopt;
  return newest[0][0].as<std::int64_t>();
}

void candle_cache::trim() {
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    const auto it = chunks_.find(lru_.back());
    bytes_ -= it->second.bytes;
    chunks_.erase(it);
    lru_.pop_back();
  }
}

const candle_cache::chunk& candle_cache::chunk_until(
    pqxx::transaction_base& tx, const engine::instrument& ins, engine::instrument_id id,
    analytics::interval iv, engine::timestamp_us start, engine::timestamp_us until) {
  const key k{id, iv, start};
  auto it = chunks_.find(k);
  if (it == chunks_.end()) {
    lru_.push_front(k);
    chunk fresh;
    fresh.complete_until = start;
    fresh.used = lru_.begin();
    it = chunks_.emplace(k, std::move(fresh)).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.used);
  }
  chunk& c = it->second;
  if (c.complete_until < until) {
    analytics::candle_query more;
    more.instrument = id;
    more.bucket = iv;
    more.start = c.complete_until;
    more.end = until;
    more.limit = static_cast<std::size_t>(kChunkBuckets);
    for (const analytics::candle& candle : read_candles(tx, ins.symbol, more)) {
      bucket b{candle.open_time, candle.summary, {}};
      codec::append_candle(b.text, ins, iv, candle, kNever);  // final: closed
      c.bytes += b.text.size() + sizeof(bucket);
      bytes_ += b.text.size() + sizeof(bucket);
      c.candles.push_back(std::move(b));
    }
    c.complete_until = until;
  }
  return c;
}

std::optional<engine::timestamp_us> candle_cache::oldest(pqxx::transaction_base& tx,
                                                         const engine::instrument& ins,
                                                         engine::instrument_id id,
                                                         analytics::interval iv) {
  if (const auto it = oldest_.find({id, iv}); it != oldest_.end()) return it->second;
  const pqxx::row row = tx.exec_params1(
      "SELECT min(open_time_us) FROM candles WHERE instrument = $1 AND interval_s = $2", ins.symbol,
      analytics::length_seconds(iv));
  if (row[0].is_null()) return std::nullopt;
  const engine::timestamp_us first = row[0].as<std::int64_t>();
  oldest_.emplace(std::pair{id, iv}, first);
  return first;
}

}  // namespace matchd::store
