#pragma once

#include <matchd/bus/backoff.h>
#include <matchd/bus/idle_waiter.h>
#include <matchd/bus/messages.h>
#include <matchd/bus/spsc_queue.h>
#include <matchd/engine/instrument.h>
#include <matchd/obs/metrics.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace matchd::store {

// Sequence numbers the tables may trail the journal by before the applier stops yielding to
// the writer (`--journal-max-lag`; journal_applier_options::max_lag).
inline constexpr std::uint64_t kDefaultJournalMaxLag = 10'000'000;

// How long one commit, one health check or one connection attempt may take before the
// database counts as unreachable and the session is replaced (`--db-timeout`).
inline constexpr std::chrono::milliseconds kDefaultDbTimeout{5000};

struct store_options {
  std::string conninfo;
  std::size_t max_group_commands = 8192;  // commands per transaction at most
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  // On shutdown with the database unreachable, how long to keep trying before giving up
  // on the batches still unacknowledged.
  std::chrono::seconds shutdown_grace{10};
  // While no group arrives, the database is checked this often (SELECT 1, or a reconnect
  // once it was lost), so /readyz tells an outage also when nobody is writing.
  std::chrono::milliseconds idle_check_interval{1000};
  std::uint64_t journal_max_lag = kDefaultJournalMaxLag;
  // Whether the journal also keeps each command's price-level changes (level records,
  // store/journal.h). Only the event export (--nats-url) reads them, so without it the
  // commit path does not write their bytes.
  bool journal_book_levels = false;
  // The deadline of each commit attempt and health check on the writer's session (the
  // applier's transactions get kApplierTimeoutFactor times as long); past it the socket is
  // shut down and the session replaced (store/call_deadline.h). Connection attempts are bounded
  // by libpq's connect_timeout, which the daemon sets from the same value in `conninfo`
  // (store/session_settings.h).
  std::chrono::milliseconds db_timeout = kDefaultDbTimeout;
  // Called once, on the store thread, when the writer lock (store/writer_lock.h) turns out to
  // be held by another daemon on a reconnect. From then on nothing is committed: the store
  // keeps what it holds, and the daemon must stop.
  std::function<void()> on_lock_lost;
};

// An applier transaction writes up to 512 journal rows into the tables: it may take longer
// than a commit.
inline constexpr int kApplierTimeoutFactor = 6;

class store_probe;
class journal_applier;
class call_deadline;
struct db_connection;  // a pqxx::connection (an alias in libpqxx 6.4, so not declarable)

// The batching PostgreSQL writer between the engine and publish stages. It takes every
// batch the engine has produced since its last commit (group commit: the group grows
// while the previous COMMIT is in flight, up to a size bound), writes all their effects
// as one journal row (store/journal.h) with the idempotency keys and the position in one
// transaction, commits, and only then passes the batches on, so nothing is answered or
// broadcast before it is durable. Its journal applier turns the journal into the orders,
// order_events and trades rows behind the acknowledgements, on a second session.
//
// When the database fails it keeps the group, reconnects with capped exponential backoff
// and equal jitter (bus::retry_backoff), and checks engine_progress to tell whether a COMMIT whose
// outcome it never saw did land, so nothing is written twice. Meanwhile no batch returns to the
// engine, which therefore stops taking commands; the gateway then answers 503.
//
// Single writer: the writer's session holds the writer lock (store/writer_lock.h) before it
// commits anything, and every new session takes it again first, so every commit is made by
// the lock's holder. Found held by another daemon on a reconnect, the stage stops committing
// for good and calls on_lock_lost. The applier applies only while the writer's current
// session holds the lock.
class store_stage {
 public:
  store_stage(store_options options, std::vector<engine::instrument> instruments,
              bus::spsc_queue<bus::engine_batch*>& input,
              bus::spsc_queue<bus::engine_batch*>& output, std::function<void()> wake_output,
              obs::registry& metrics);
  ~store_stage();
  store_stage(const store_stage&) = delete;
  store_stage& operator=(const store_stage&) = delete;

  // Where the committed history ends (from recovery), before start(). The trade id is the
  // high-water mark written with each batch; the sequence is where the journal applier's
  // lag is counted from.
  void set_recovered(engine::sequence_number last_sequence, engine::trade_id last_trade_id);

  // Opens the writer's session and takes the writer lock, before start() and before anything
  // is read for recovery, so that what recovery reads stays the truth. Throws writer_lock_held
  // when another session holds it, pqxx::broken_connection when the database is unreachable.
  void take_writer_lock();

  void start();
  void stop();
  void notify() noexcept { waiter_.notify(); }

  // An instrument added at runtime: before start() (recovery), then only on the store thread
  // (commit_group, as the engine's add_instrument outcomes come by). Tells the applier too.
  void add_instrument(const engine::instrument& ins);

  bool database_up() const { return database_up_.load(std::memory_order_relaxed); }
  // For settlements (store/settlement_worker.h), any thread: once a group whose engine clock
  // reached `t` is committed (every trade stamped before `t` is then committed), the
  // committed sequence to wait for; nullopt before.
  std::optional<engine::sequence_number> committed_through(engine::timestamp_us t) const {
    if (fence_clock_.load(std::memory_order_acquire) < t) return std::nullopt;
    return fence_sequence_.load(std::memory_order_relaxed);
  }
  // How far the journal applier has written the tables (any thread).
  engine::sequence_number applied_sequence() const;
  // The writer lock was found held by another daemon: nothing is committed any more.
  bool lock_lost() const { return lock_lost_.load(std::memory_order_relaxed); }

 private:
  void run();
  void commit_group(std::vector<bus::engine_batch*>& group);
  void open_session();
  void lose_lock(const std::string& holder);
  void wait_for_stop();
  std::string failure_text(const std::exception& e);
  void write_group(pqxx::transaction_base& tx, std::vector<bus::engine_batch*>& group,
                   engine::sequence_number last_sequence);
  void write_journal_statement(pqxx::transaction_base& tx,
                               const std::vector<bus::engine_batch*>& group,
                               engine::sequence_number last_sequence);
  std::string encode_journal(const std::vector<bus::engine_batch*>& group);
  void write_progress(pqxx::transaction_base& tx, engine::sequence_number last_sequence);
  // The instruments added, halted and resumed in the group (sql/007_instruments.sql).
  void write_instrument_status(pqxx::transaction_base& tx,
                               const std::vector<bus::engine_batch*>& group);
  bool already_committed(engine::sequence_number last_sequence);
  void check_while_idle();
  void set_database_up(bool up);
  void back_off(std::chrono::milliseconds wait);

  store_options options_;
  std::vector<engine::instrument> instruments_;
  bus::spsc_queue<bus::engine_batch*>& input_;
  bus::spsc_queue<bus::engine_batch*>& output_;
  std::function<void()> wake_output_;
  std::unique_ptr<store_probe> probe_;
  std::unique_ptr<call_deadline> deadline_;  // bounds every call on connection_
  std::unique_ptr<db_connection> connection_;
  // The backend pid of connection_'s session once it holds the writer lock, else 0; read by
  // the applier.
  std::atomic<int> writer_pid_{0};
  // Backend pids of this daemon's earlier writer sessions: one of them may still hold the lock
  // for a moment after its connection was cut (it ends once PostgreSQL notices).
  std::vector<int> own_sessions_;
  std::unique_ptr<journal_applier> applier_;
  bus::retry_backoff backoff_;  // between attempts at one group; reset for each group
  engine::trade_id last_trade_id_ = 0;
  engine::sequence_number committed_sequence_ = 0;
  // committed_through(): the sequence is stored before the clock it goes with.
  std::atomic<engine::sequence_number> fence_sequence_{0};
  std::atomic<engine::timestamp_us> fence_clock_{0};

  bus::idle_waiter waiter_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> database_up_{true};
  // The last time the database answered (a commit or an idle check): see run().
  std::chrono::steady_clock::time_point last_contact_ = std::chrono::steady_clock::now();
  std::atomic<bool> lock_lost_{false};
  std::chrono::steady_clock::time_point stop_requested_at_{};
  std::thread thread_;
};

}  // namespace matchd::store
