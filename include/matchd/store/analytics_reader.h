#pragma once

#include <matchd/analytics/history_source.h>
#include <matchd/engine/instrument.h>
#include <matchd/store/reader_options.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pqxx {
class transaction_base;
}
namespace prometheus {
class Counter;
class Histogram;
class Registry;
}  // namespace prometheus

namespace matchd::store {

class candle_cache;
class reader_session;

// The reads of the history routes (GET /candles, /analytics/stats, /trades by time,
// /positions/{client_id}/pnl) against the candles, trades and position_history tables
// (store/market_history.h, store/pnl_history.h): a thread of its own
// (`matchd-analytics`) with a session of its own, so neither an I/O thread nor the order path
// waits on PostgreSQL. It writes the response body too, off the I/O threads.
//
// The completion runs on this thread (the gateway posts the answer back to the session's
// own). Each statement runs by itself (no BEGIN/COMMIT round trips); a statement is
// consistent, and the parts of one read that come from several are safe to combine (see
// answer()). The tables trail the acknowledgements by the journal applier's lag
// (docs/design.md, Analytics).
//
// GET /candles of 1 m and coarser takes the buckets that can no longer change from memory
// (store/candle_cache.h) and reads only the newest part of its range.
//
// After a failure the session is replaced, and until the next attempt (capped exponential
// backoff) reads are answered `unavailable` at once.
class analytics_reader final : public analytics::history_source {
 public:
  // Metrics: analytics_read_seconds{route} (from when asked to the body written) and
  // analytics_reads_total{route,outcome}.
  analytics_reader(reader_options options, std::vector<engine::instrument> instruments,
                   prometheus::Registry& metrics);
  ~analytics_reader();
  analytics_reader(const analytics_reader&) = delete;
  analytics_reader& operator=(const analytics_reader&) = delete;

  void start();
  // Answers what is queued, then stops.
  void stop();

  // Any thread. `done` is called exactly once: at once when the queue is full, otherwise on
  // the reader's thread.
  void read(const analytics::candle_query& q, done_fn done) override;
  void read(const analytics::stats_query& q, done_fn done) override;
  void read(const analytics::trade_query& q, done_fn done) override;
  void read(const analytics::pnl_query& q, done_fn done) override;
  // An instrument added at runtime (any thread).
  void add_instrument(const engine::instrument& ins);

 private:
  using instrument_list = std::vector<engine::instrument>;
  // Reads the tables and writes the body, with the instruments known when it runs.
  using read_fn = std::function<std::string(pqxx::transaction_base&, const instrument_list&)>;
  enum class route : std::uint8_t { candles, stats, trades, pnl };
  static constexpr std::size_t kRoutes = 4;
  struct job {
    route what = route::candles;
    read_fn fn;
    done_fn done;
    std::chrono::steady_clock::time_point asked;
  };

  void submit(route what, read_fn fn, done_fn done);
  // For the routes of one instrument: `fn` gets it, once it is known here.
  using instrument_read_fn =
      std::function<std::string(pqxx::transaction_base&, const engine::instrument&)>;
  void submit(route what, engine::instrument_id instrument, instrument_read_fn fn, done_fn done);
  void finish(job& j, status st, std::string text);
  void run();
  void answer(job& j);

  reader_options options_;
  std::mutex mutex_;  // guards jobs_, stopping_ and instruments_
  std::condition_variable wake_;
  std::deque<job> jobs_;
  bool stopping_ = false;
  // Replaced, not changed, when one is added: a job takes the list without copying it.
  std::shared_ptr<const instrument_list> instruments_;
  std::unique_ptr<reader_session> session_;
  std::unique_ptr<candle_cache> candles_;  // the reader thread's own
  std::thread thread_;
  struct route_metrics {
    prometheus::Histogram* seconds = nullptr;
    prometheus::Counter* ok = nullptr;
    prometheus::Counter* overloaded = nullptr;
    prometheus::Counter* unavailable = nullptr;
  };
  std::array<route_metrics, kRoutes> metrics_{};
};

}  // namespace matchd::store
