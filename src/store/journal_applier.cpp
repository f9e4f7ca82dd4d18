#include "journal_applier.h"

#include <matchd/obs/logger.h>
#include <matchd/obs/thread_name.h>
#include <matchd/store/journal.h>

#include <pqxx/pqxx>
#include <random>

#include "call_deadline.h"
#include "db_connection.h"
#include "journal_rows.h"
#include "store_probe.h"
#include "table_writer.h"
#include "writer_lock_sql.h"

namespace matchd::store {

journal_applier::journal_applier(journal_applier_options options,
                                 std::vector<engine::instrument> instruments, store_probe& probe)
    : options_(std::move(options)),
      instruments_(std::move(instruments)),
      probe_(probe),
      deadline_(std::make_unique<call_deadline>()),
      backoff_(options_.initial_backoff, options_.max_backoff, bus::jitter::equal,
               std::random_device{}()) {}

journal_applier::~journal_applier() {
  stop();
}

void journal_applier::start() {
  thread_ = std::thread([this] {
    obs::name_this_thread("matchd-apply");
    run();
  });
}

void journal_applier::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  {
    std::unique_lock lock(mutex_);
    // A transaction still running after the writer's own deadline is cut: what it did not
    // commit stays in the journal.
    if (!wake_.wait_for(lock, options_.timeout / kApplierTimeoutFactor,
                        [this] { return finished_; })) {
      deadline_->cut();  // blocked on a server that does not answer
    }
  }
  thread_.join();
}

void journal_applier::committed(engine::sequence_number last_sequence) {
  committed_sequence_.store(last_sequence, std::memory_order_relaxed);
  last_commit_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                     std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  wake_.notify_one();
}

void journal_applier::run() {
  auto log = obs::logger("store");
  int failures = 0;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_ || pending_; });
      if (stopping_) break;
      pending_ = false;
    }
    try {
      // Drain: chunk after chunk until the journal is empty, resting between chunks while
      // the writer is busy.
      while (!stop_requested()) {
        const auto started = std::chrono::steady_clock::now();
        const bool resting = resting_allowed();
        if (apply_chunk(resting ? options_.busy_chunk_rows : options_.max_chunk_rows) == 0) {
          break;
        }
        if (failures > 0) {
          log->info("journal applier: database reachable again after {} failures", failures);
          failures = 0;
          backoff_.reset();
        }
        if (resting_allowed()) {
          sleep_unless_stopped(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              (std::chrono::steady_clock::now() - started) * options_.rest_factor));
        }
      }
    } catch (const std::exception& e) {
      // The transaction rolled back (or its outcome is unknown: the next one reads the
      // position again, so either way nothing is applied twice).
      connection_.reset();
      ++failures;
      probe_.failed();
      const std::chrono::milliseconds wait = backoff_.next();
      log->warn("journal applier failed attempt={} retry_in_ms={} error={}", failures, wait.count(),
                deadline_->take_expired()
                    ? "no answer within its deadline (" + std::to_string(options_.timeout.count()) +
                          " ms); session cut and replaced"
                    : std::string(e.what()));
      sleep_unless_stopped(wait);
      std::lock_guard lock(mutex_);
      pending_ = true;
    }
  }
  connection_.reset();
  std::lock_guard lock(mutex_);
  finished_ = true;
  wake_.notify_all();
}

std::size_t journal_applier::apply_chunk(std::size_t max_rows) {
  const int writer =
      options_.writer_pid != nullptr ? options_.writer_pid->load(std::memory_order_relaxed) : 0;
  if (writer == 0) return 0;  // the writer is (re)connecting: nothing to apply under
  if (!connection_) {
    auto session = std::make_unique<db_connection>(options_.conninfo);
    const auto window = deadline_->arm(session->c.sock(), options_.timeout);
    prepare_table_session(session->c);
    connection_ = std::move(session);
  }
  const auto started = std::chrono::steady_clock::now();
  // Read before the transaction's first query: every group committed up to here has its
  // journal row, if it has one, visible to the query below.
  const engine::sequence_number committed_before =
      committed_sequence_.load(std::memory_order_relaxed);
  const auto window = deadline_->arm(connection_->c.sock(), options_.timeout);
  pqxx::work tx(connection_->c);
  // FOR UPDATE: a second session applying the journal waits here instead of applying the
  // same rows. No row: the writer's session does not hold the writer lock (any more).
  const pqxx::result progress =
      tx.exec("SELECT applied_sequence FROM journal_progress WHERE id = 1 AND " +
              writer_lock_held_by_sql(writer) + " FOR UPDATE OF journal_progress");
  if (progress.empty()) {
    tx.commit();
    return 0;
  }
  const auto applied = static_cast<engine::sequence_number>(progress[0][0].as<long long>());
  const pqxx::result rows = select_journal_rows(tx, applied, max_rows);
  if (rows.empty()) {
    // Rows an exporting sink and this applier both passed at the same moment can be left by
    // both deletes (each saw the other's old position): with nothing else to do, take them.
    tx.exec0("DELETE FROM journal WHERE last_sequence <= LEAST(" + std::to_string(applied) +
             ", (SELECT min(sequence) FROM export_progress))");
    tx.commit();
    // Nothing waits: the tables hold everything committed so far, including groups that
    // left no journal row (a halt, a resume) and took numbers after the last row.
    applied_sequence_.store(std::max(applied, committed_before), std::memory_order_relaxed);
    probe_.set_journal_lag(static_cast<double>(lag()));
    return 0;
  }
  if (has_added_.load(std::memory_order_acquire)) {
    const std::lock_guard lock(added_mutex_);
    for (engine::instrument& ins : added_) instruments_.push_back(std::move(ins));
    added_.clear();
    has_added_.store(false, std::memory_order_relaxed);
  }
  engine::event_buffer events;
  std::vector<journal_label> labels;
  for (const pqxx::row& row : rows) {
    const pqxx::binarystring body(row[1]);
    decode_journal(std::string_view(body.get(), body.size()), instruments_, events, &labels);
  }
  const table_rows written = write_tables(tx, events, applied, instruments_, labels);
  const std::string last = rows.back()[0].c_str();
  tx.exec0("UPDATE journal_progress SET applied_sequence = " + last + " WHERE id = 1");
  // A row an exporting sink has not delivered yet stays (sql/017_event_export.sql).
  tx.exec0("DELETE FROM journal WHERE last_sequence <= LEAST(" + last +
           ", (SELECT min(sequence) FROM export_progress))");
  tx.commit();
  applied_sequence_.store(static_cast<engine::sequence_number>(std::stoull(last)),
                          std::memory_order_relaxed);
  probe_.applied(written,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  probe_.set_journal_lag(static_cast<double>(lag()));
  return rows.size();
}

void journal_applier::add_instrument(const engine::instrument& ins) {
  const std::lock_guard lock(added_mutex_);
  added_.push_back(ins);
  has_added_.store(true, std::memory_order_release);
}

engine::sequence_number journal_applier::lag() const {
  const auto committed = committed_sequence_.load(std::memory_order_relaxed);
  const auto applied = applied_sequence_.load(std::memory_order_relaxed);
  return committed > applied ? committed - applied : 0;
}

bool journal_applier::resting_allowed() const {
  const auto since_commit =
      std::chrono::steady_clock::now().time_since_epoch() -
      std::chrono::steady_clock::duration(last_commit_.load(std::memory_order_relaxed));
  return since_commit < options_.quiet_after && lag() < options_.max_lag;
}

bool journal_applier::stop_requested() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void journal_applier::sleep_unless_stopped(std::chrono::steady_clock::duration d) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, d, [this] { return stopping_; });
}

}  // namespace matchd::store
