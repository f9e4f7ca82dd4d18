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

// GET /candles of 1 m and coarser without asking PostgreSQL for what cannot change any more.
// A bucket is final once no trade can still join it: the tables hold every trade up to the
// newest one applied, and later trades are at its time or after (matching_engine::stamp), so
// a bucket that closed by that time is complete. Final buckets are kept in chunks of 1,440
// buckets (a day of 1 m, 60 days of 1 h), each already written as JSON; the part of a range
// that is not final yet (the current chunk) is read from the table each time. A chunk is
// read whole the first time a range touches it, and the least recently used are forgotten
// beyond `max_bytes`.
//
// Owned by the analytics reader's thread; not thread-safe.
class candle_cache {
 public:
  explicit candle_cache(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // The body of GET /candles, equal to codec::candles_body of store::read_candles, in `tx`'s
  // snapshot. 1 s candles (a chunk would be a day of 86,400) are read as they are.
  std::string body(pqxx::transaction_base& tx, const engine::instrument& ins,
                   const analytics::candle_query& q, engine::timestamp_us now);

  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::size_t chunks() const noexcept { return chunks_.size(); }

 private:
  using key = std::tuple<engine::instrument_id, analytics::interval, engine::timestamp_us>;
  struct chunk {
    // Oldest first: each bucket's open_time and its JSON.
    std::vector<std::pair<engine::timestamp_us, std::string>> candles;
    std::size_t bytes = 0;
    std::list<key>::iterator used;  // its place in lru_
  };

  const chunk& final_chunk(pqxx::transaction_base& tx, const engine::instrument& ins,
                           engine::instrument_id id, analytics::interval iv,
                           engine::timestamp_us start);
  // The open_time of the instrument's oldest bucket of `iv`, once there is one.
  std::optional<engine::timestamp_us> oldest(pqxx::transaction_base& tx,
                                             const engine::instrument& ins,
                                             engine::instrument_id id, analytics::interval iv);

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::map<key, chunk> chunks_;
  std::list<key> lru_;  // most recently used first
  std::map<std::pair<engine::instrument_id, analytics::interval>, engine::timestamp_us> oldest_;
};

}  // namespace matchd::store
