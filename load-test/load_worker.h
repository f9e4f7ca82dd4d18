#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "connection.h"
#include "load_plan.h"

namespace matchd::load {

// One load-generating thread: its own io_context, a slice of the connections
// [first, first + count), and its own statistics.
//
// Open loop: request i is due at plan.intended_ns(i) and belongs to connection i % C. A pace
// timer wakes at the next due time of this worker's connections and kicks the connections
// whose requests became due; a busy connection keeps them queued (implicitly: its
// next_index() lags the due count) and sends them as soon as it can. Latency is measured
// from the intended time, so time spent queued behind a slow answer counts (no
// coordinated omission).
// Closed loop: every connection sends the next request as soon as it may, until the
// request count or the send deadline is reached; latency from the actual send.
//
// Thread-safety: begin_connect(), begin_load() and the progress counters may be used from
// any thread; everything else runs on the worker's thread.
class load_worker {
 public:
  load_worker(load_plan& plan, unsigned first_connection, unsigned connection_count);
  ~load_worker();
  load_worker(const load_worker&) = delete;
  load_worker& operator=(const load_worker&) = delete;

  // Starts connecting every connection; `on_ready(connected)` is called once (on the worker
  // thread) when each has connected or failed once.
  void begin_connect(std::function<void(unsigned connected)> on_ready);
  // Starts sending; plan.t0_ns must be set before.
  void begin_load();
  // Runs the event loop until the run is over. Call on the worker's own thread.
  void run();

  [[nodiscard]] const load_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::uint64_t progress_sent() const noexcept {
    return progress_sent_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t progress_answered() const noexcept {
    return progress_answered_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t progress_errors() const noexcept {
    return progress_errors_.load(std::memory_order_relaxed);
  }
  // The slowest answer since the last call (from its reference time, as in the report),
  // in ns: the progress line shows when in a run the tail happens.
  [[nodiscard]] std::int64_t take_progress_max_latency() noexcept {
    return progress_max_latency_.exchange(0, std::memory_order_relaxed);
  }

  // For the connections.
  [[nodiscard]] boost::asio::io_context& context() noexcept { return ioc_; }
  [[nodiscard]] const load_plan& plan() const noexcept { return plan_; }
  [[nodiscard]] bool finished() const noexcept { return phase_ == phase::finished; }
  // The next request `c` should send now, if any; counts it as sent.
  bool take_request(connection& c, std::int64_t now, request_ticket& out);
  void answered(const request_ticket& t, int status, std::int64_t now);
  void lost(const request_ticket& t);  // the connection died with it in flight
  void unmatched_answer();
  void connect_failed();
  // First outcome of a connection's first connect attempt.
  void initial_connect_done(bool ok);

 private:
  enum class phase { connecting, loading, draining, finished };

  void on_pace();
  void arm_pace(std::int64_t now);
  void on_watchdog();
  [[nodiscard]] bool sending_over(std::int64_t now) const noexcept;
  [[nodiscard]] bool all_done() const noexcept;
  void give_up();
  void finish();
  void error_progress() { progress_errors_.fetch_add(1, std::memory_order_relaxed); }

  load_plan& plan_;
  boost::asio::io_context ioc_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  boost::asio::steady_timer pace_timer_;
  boost::asio::steady_timer watchdog_;
  unsigned first_;
  unsigned count_;
  std::vector<std::unique_ptr<connection>> connections_;
  phase phase_ = phase::connecting;
  std::uint64_t dispatched_ = 0;  // open loop: requests < this were kicked
  bool closed_exhausted_ = false;
  std::int64_t drain_deadline_ns_ = 0;
  std::int64_t last_answer_ns_ = 0;
  unsigned pending_initial_ = 0;
  unsigned connected_initially_ = 0;
  std::function<void(unsigned)> on_ready_;
  load_stats stats_;
  std::atomic<std::uint64_t> progress_sent_{0};
  std::atomic<std::uint64_t> progress_answered_{0};
  std::atomic<std::uint64_t> progress_errors_{0};
  std::atomic<std::int64_t> progress_max_latency_{0};
};

}  // namespace matchd::load
