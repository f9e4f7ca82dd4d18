#pragma once

#include <matchd/bus/backoff.h>
#include <matchd/engine/instrument.h>
#include <matchd/engine/types.h>
#include <matchd/store/store_stage.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace matchd::store {

struct journal_applier_options {
  std::string conninfo;
  // Journal rows per transaction at most: `busy_chunk_rows` while the applier rests between
  // chunks (the commit path is busy), `max_chunk_rows` when it runs at full speed. A chunk
  // is CPU-bound work for one core (PostgreSQL's session): 512-row chunks took half a second
  // each under load and showed as latency spikes of that length in the acknowledgements;
  // 32 rows (about 2,000 orders then) take some 30 ms, so the rests spread the applier's
  // share of the machine evenly. Catching up alone, the large chunks pay the per-transaction
  // cost (eleven round trips and a WAL flush) a sixteenth as often: 3 to 4 s against 8 to
  // 10 s for a 20 s REST phase's backlog.
  std::size_t max_chunk_rows = 512;
  std::size_t busy_chunk_rows = 32;
  // While groups keep being committed, the applier rests after each chunk `rest_factor`
  // times as long as the chunk took, so its PostgreSQL session leaves the commit path most of
  // the machine during a burst. It stops resting when no group has been committed for
  // `quiet_after`, or when the tables trail the journal by more than `max_lag` sequence
  // numbers. That bounds the journal's size, how stale the tables get, and what a restart
  // reads from the journal on top of them (recovery lays the backlog over the tables).
  double rest_factor = 3.0;
  std::chrono::milliseconds quiet_after{200};
  engine::sequence_number max_lag = kDefaultJournalMaxLag;
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  // Looks for journal rows this often even without news from the writer.
  std::chrono::milliseconds poll_interval{1000};
  // The deadline of one transaction (call_deadline.h); the session is replaced after it.
  std::chrono::milliseconds timeout = kDefaultDbTimeout * kApplierTimeoutFactor;
  // The backend pid of the writer's session while it holds the writer lock, else 0
  // (store_stage). Rows are applied only in a transaction that sees that session hold it.
  const std::atomic<int>* writer_pid = nullptr;
};

class store_probe;
class call_deadline;
struct db_connection;

// Turns committed journal rows into the normalized tables (orders, order_events, trades), in
// sequence order, on its own thread and PostgreSQL session. Each transaction reads the
// position from journal_progress, applies the next rows, moves the position and deletes
// those rows, so a failure at any point (crash, outage, unknown commit outcome) leaves
// every row either applied once or still in the journal. Failures are retried with capped
// exponential backoff and equal jitter (bus::retry_backoff).
//
// What it writes is derived from the committed journal and journal_progress alone, under a
// row lock on journal_progress; it still applies only while its daemon's writer holds the
// writer lock (store/writer_lock.h), so a daemon that lost the lock writes nothing at all.
class journal_applier {
 public:
  journal_applier(journal_applier_options options, std::vector<engine::instrument> instruments,
                  store_probe& probe);
  ~journal_applier();
  journal_applier(const journal_applier&) = delete;
  journal_applier& operator=(const journal_applier&) = delete;

  void start();
  // Stops after the transaction in progress (cut if it takes longer than the deadline); what
  // is left stays in the journal.
  void stop();

  // The writer committed the journal up to `last_sequence` (also called once with the
  // recovered position, before start()).
  void committed(engine::sequence_number last_sequence);
  // How far the tables hold the journal (any thread).
  engine::sequence_number applied() const noexcept {
    return applied_sequence_.load(std::memory_order_relaxed);
  }

  // An instrument added at runtime (any thread; the store stage's, before it commits a journal
  // row that names it). Taken in before the next rows are decoded.
  void add_instrument(const engine::instrument& ins);

 private:
  void run();
  // One transaction; returns the number of journal rows it applied (0: none were waiting).
  std::size_t apply_chunk(std::size_t max_rows);
  engine::sequence_number lag() const;
  bool resting_allowed() const;
  bool stop_requested();
  void sleep_unless_stopped(std::chrono::steady_clock::duration d);

  journal_applier_options options_;
  std::vector<engine::instrument> instruments_;
  std::mutex added_mutex_;  // guards added_; off the order path, a few times a day at most
  std::vector<engine::instrument> added_;
  std::atomic<bool> has_added_{false};
  store_probe& probe_;
  std::unique_ptr<call_deadline> deadline_;  // bounds every call on connection_
  std::unique_ptr<db_connection> connection_;
  bus::retry_backoff backoff_;  // equal jitter; reset once a chunk goes through

  std::atomic<engine::sequence_number> committed_sequence_{0};
  std::atomic<engine::sequence_number> applied_sequence_{0};
  std::atomic<std::chrono::steady_clock::rep> last_commit_{0};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  bool pending_ = false;   // the writer committed since the applier last looked; mutex_
  bool finished_ = false;  // run() returned; mutex_
  std::thread thread_;
};

}  // namespace matchd::store
