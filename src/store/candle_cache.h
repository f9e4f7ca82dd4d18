#pragma once

#include <matchd/analytics/history_source.h>
#include <matchd/engine/instrument.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace matchd::store {

// GET /candles and /analytics/stats of 1 m and coarser without asking PostgreSQL for what
// cannot change any more. A bucket is final once no trade can still join it: the tables hold
// every trade up to the newest one applied, and later trades are at its time or after
// (matching_engine::stamp), so a bucket that closed by that time is complete. Final buckets
// are kept in chunks of 1,440 buckets (a day of 1 m, 60 days of 1 h), each bucket with its
// summary and its JSON; a chunk is read as far as it is final the first time a range touches
// it, and extended by what became final since when a later range needs it. Only the buckets
// not final yet (the open one) are read each time. The least recently used chunks are
// forgotten beyond `max_bytes`.
//
// Owned by the analytics reader's thread; not thread-safe.
class candle_cache {
 public:
  explicit candle_cache(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // The body of GET /candles, equal to codec::candles_body of store::read_candles, in `tx`'s
  // snapshot. 1 s candles (a chunk would be a day of 86,400) are read as they are.
  std::string body(pqxx::transaction_base& tx, const engine::instrument& ins,
                   const analytics::candle_query& q, engine::timestamp_us now);
  // GET /analytics/stats: equal to store::read_range_summary, with the pieces of the range's
  // cover that lie in final chunks of 1 m, 1 h and 1 d summed from memory and only the rest
  // (seconds, edge trades, what can still change) read.
  analytics::trade_summary summary(pqxx::transaction_base& tx, const engine::instrument& ins,
                                   engine::instrument_id id, engine::timestamp_us start,
                                   engine::timestamp_us end);

  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::size_t chunks() const noexcept { return chunks_.size(); }

 private:
  using key = std::tuple<engine::instrument_id, analytics::interval, engine::timestamp_us>;
  struct bucket {
    engine::timestamp_us open_time = 0;
    analytics::trade_summary summary;
    std::string text;  // its JSON
  };
  struct chunk {
    std::vector<bucket> candles;  // oldest first
    // Every bucket with trades whose open_time is below this is in `candles`.
    engine::timestamp_us complete_until = 0;
    std::size_t bytes = 0;
    std::list<key>::iterator used;  // its place in lru_
  };

  // The chunk of `iv` starting at `start`, complete at least up to `until` (final there).
  const chunk& chunk_until(pqxx::transaction_base& tx, const engine::instrument& ins,
                           engine::instrument_id id, analytics::interval iv,
                           engine::timestamp_us start, engine::timestamp_us until);
  // The open_time of the instrument's oldest bucket of `iv`, once there is one.
  std::optional<engine::timestamp_us> oldest(pqxx::transaction_base& tx,
                                             const engine::instrument& ins,
                                             engine::instrument_id id, analytics::interval iv);

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  // The newest applied trade's time (nullopt: no trades). Buckets of an interval that open
  // before its bucket_start are final.
  static std::optional<engine::timestamp_us> newest_trade_time(pqxx::transaction_base& tx);
  void trim();

  std::map<key, chunk> chunks_;
  std::list<key> lru_;  // most recently used first
  std::map<std::pair<engine::instrument_id, analytics::interval>, engine::timestamp_us> oldest_;
};

}  // namespace matchd::store
