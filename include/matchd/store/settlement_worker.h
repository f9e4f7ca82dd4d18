#pragma once

#include <matchd/clearing/settlement_source.h>
#include <matchd/engine/instrument.h>
#include <matchd/store/reader_options.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace matchd::store {

class reader_session;

// Where the tables stand against the engine's clock (store_stage): `committed_through(t)` is
// a sequence number once every trade stamped before `t` is committed (the group whose
// engine clock passed `t` committed: nullopt before), and `applied()` how far the journal
// applier has written the tables.
struct settlement_fence {
  std::function<std::optional<engine::sequence_number>(engine::timestamp_us)> committed_through;
  std::function<engine::sequence_number()> applied;
};

struct settlement_options {
  reader_options reader;  // conninfo, queue, backoff; `timeout` bounds the reads
  // A settlement may wait this long for the tables to hold every trade before its cutoff,
  // then takes up to this long again to compute and write.
  std::chrono::milliseconds settle_timeout{60'000};
  // --settlement-time: minutes after UTC midnight of the daily run; none: no daily run.
  std::optional<int> daily_minute;
};

// The settlement routes and the daily run (docs/api.md "Settlements") on a thread of its own
// (`matchd-settle`) with a session of its own: a settlement waits for the trades before its
// cutoff to be in the tables (settlement_fence), then nets them in one transaction
// (store/settlements.h). The completion runs on this thread.
class settlement_worker final : public clearing::settlement_source {
 public:
  settlement_worker(settlement_options options, std::vector<engine::instrument> instruments,
                    settlement_fence fence);
  ~settlement_worker();
  settlement_worker(const settlement_worker&) = delete;
  settlement_worker& operator=(const settlement_worker&) = delete;

  void start();
  void stop();

  void settle(engine::timestamp_us cutoff, done_fn done) override;
  void list(std::size_t limit, done_fn done) override;
  void get(std::uint64_t settlement_id, bool csv, engine::client_scope scope,
           done_fn done) override;
  // An instrument added at runtime (any thread).
  void add_instrument(const engine::instrument& ins);

 private:
  // Queues `work` for the thread; answers `done` overloaded at once when the queue is full.
  void enqueue(std::function<void()> work, const done_fn& done);
  void run();
  // The daily run's next cutoff after `now`, and the one at or before it.
  engine::timestamp_us next_daily(engine::timestamp_us now) const;
  void settle_now(engine::timestamp_us cutoff, const done_fn& done);
  // Waits until the tables hold every trade stamped before `cutoff`; false on timeout or stop.
  bool wait_for_tables(engine::timestamp_us cutoff, std::chrono::steady_clock::time_point until);

  settlement_options options_;
  settlement_fence fence_;
  std::mutex mutex_;  // guards jobs_, stopping_, instruments_
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<engine::instrument> instruments_;
  std::unique_ptr<reader_session> session_;
  std::thread thread_;
};

}  // namespace matchd::store
