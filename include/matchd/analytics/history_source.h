#pragma once

#include <matchd/analytics/candle.h>
#include <matchd/engine/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace matchd::analytics {

// GET /candles: the buckets whose open_time is in [start, end) (no bound where absent),
// the newest `limit` of them that had trades, answered oldest first.
struct candle_query {
  engine::instrument_id instrument = 0;
  interval bucket = interval::m1;
  std::optional<engine::timestamp_us> start;
  std::optional<engine::timestamp_us> end;
  std::size_t limit = 500;
};

// GET /analytics/stats: every trade in [start, end).
struct stats_query {
  engine::instrument_id instrument = 0;
  engine::timestamp_us start = 0;
  engine::timestamp_us end = 0;
};

// GET /trades with a time range or a cursor: newest first, only trades older than
// `before` (a trade_id) when set.
struct trade_query {
  engine::instrument_id instrument = 0;
  std::optional<engine::timestamp_us> start;
  std::optional<engine::timestamp_us> end;
  std::optional<engine::trade_id> before;
  std::size_t limit = 50;
};

// GET /positions/{client_id}/pnl: the client's PnL at the end of each of the last `limit`
// buckets of `bucket` (1 m or longer), the current one included, oldest first.
struct pnl_query {
  engine::client_id client;
  interval bucket = interval::m1;
  std::size_t limit = 20;
};

// Where the gateway sends the reads that go past its memory: the history of trades and
// candles (store::analytics_reader, in durable mode). Each call answers exactly once,
// possibly on another thread, with the response body or why there is none.
class history_source {
 public:
  enum class status : std::uint8_t { ok, overloaded, unavailable };
  using done_fn = std::function<void(status, std::string text)>;

  virtual ~history_source() = default;
  virtual void read(const candle_query& q, done_fn done) = 0;
  virtual void read(const stats_query& q, done_fn done) = 0;
  virtual void read(const trade_query& q, done_fn done) = 0;
  virtual void read(const pnl_query& q, done_fn done) = 0;
};

}  // namespace matchd::analytics
