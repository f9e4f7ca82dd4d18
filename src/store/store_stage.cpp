#include <matchd/store/store_stage.h>

#include <algorithm>
#include <optional>
#include <random>
#include <span>
#include <string_view>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 at -O3 reports a bogus -Wrestrict inside libstdc++'s `"literal" + std::string&&`,
// which libpqxx's quote() uses (GCC bug 105651; Debian 12 ships GCC 12.2). Called twice here,
// quote() is not inlined, so the warning's location is libpqxx's own code: silenced there.
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <pqxx/pqxx>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <matchd/bus/clock.h>
#include <matchd/codec/instrument_json.h>
#include <matchd/codec/responses.h>
#include <matchd/codec/wire.h>
#include <matchd/obs/logger.h>
#include <matchd/obs/thread_name.h>
#include <matchd/store/copy_text.h>
#include <matchd/store/journal.h>
#include <matchd/store/writer_lock.h>

#include "call_deadline.h"
#include "db_connection.h"
#include "journal_applier.h"
#include "store_probe.h"
#include "table_writer.h"
#include "writer_lock_sql.h"

namespace matchd::store {

namespace {

const std::vector<std::string> kKeyColumns = {"client_id",    "idempotency_key", "fingerprint",
                                              "sequence",     "order_id",        "response",
                                              "created_at_us"};

// Whether a command of the group added, halted or resumed an instrument: its row is
// committed in the group's transaction.
bool changes_a_status(const std::vector<bus::engine_batch*>& group) {
  for (const bus::engine_batch* b : group) {
    for (const bus::command_outcome& c : b->commands) {
      if (bus::is_venue_command(c.kind) && c.sequence != 0) return true;
    }
  }
  return false;
}

// Whether a command of the group holds an idempotency key, stored with its first response
// in the same commit (bus/idempotency.h).
bool holds_a_key(const std::vector<bus::engine_batch*>& group) {
  for (const bus::engine_batch* b : group) {
    for (const bus::command_outcome& c : b->commands) {
      if (bus::holds_key(c)) return true;
    }
  }
  return false;
}

// The common group (no idempotency keys, no snapshot) in one statement, committed on its
// own: one round trip to PostgreSQL instead of BEGIN, two statements and COMMIT. Both
// rows land together or not at all, as in a transaction.
constexpr const char* kJournalCommit = "journal_commit";
constexpr const char* kJournalCommitSql =
    "WITH appended AS (INSERT INTO journal (last_sequence, body) VALUES ($1, $2)) "
    "UPDATE engine_progress SET last_sequence = $1, last_trade_id = $3 WHERE id = 1";

}  // namespace

store_stage::store_stage(store_options options, std::vector<engine::instrument> instruments,
                         bus::spsc_queue<bus::engine_batch*>& input,
                         bus::spsc_queue<bus::engine_batch*>& output,
                         std::function<void()> wake_output, obs::registry& metrics)
    : options_(std::move(options)),
      instruments_(std::move(instruments)),
      input_(input),
      output_(output),
      wake_output_(std::move(wake_output)),
      probe_(std::make_unique<store_probe>(metrics)),
      deadline_(std::make_unique<call_deadline>()),
      backoff_(options_.initial_backoff, options_.max_backoff, bus::jitter::equal,
               std::random_device{}()) {
  journal_applier_options applier_options;
  applier_options.conninfo = options_.conninfo;
  applier_options.initial_backoff = options_.initial_backoff;
  applier_options.max_backoff = options_.max_backoff;
  applier_options.max_lag = options_.journal_max_lag;
  applier_options.timeout = options_.db_timeout * kApplierTimeoutFactor;
  applier_options.writer_pid = &writer_pid_;
  applier_ = std::make_unique<journal_applier>(applier_options, instruments_, *probe_);
}

store_stage::~store_stage() {
  stop();
}

engine::sequence_number store_stage::applied_sequence() const {
  return applier_->applied();
}

void store_stage::set_recovered(engine::sequence_number last_sequence,
                                engine::trade_id last_trade_id) {
  committed_sequence_ = last_sequence;
  last_trade_id_ = last_trade_id;
  applier_->committed(last_sequence);
}

void store_stage::start() {
  applier_->start();
  thread_ = std::thread([this] {
    obs::name_this_thread("matchd-store");
    run();
  });
}

void store_stage::stop() {
  if (thread_.joinable()) {
    stop_requested_at_ = std::chrono::steady_clock::now();
    stopping_.store(true, std::memory_order_release);
    waiter_.notify();
    thread_.join();
  }
  applier_->stop();
}

void store_stage::take_writer_lock() {
  try {
    open_session();
  } catch (...) {
    connection_.reset();
    throw;
  }
}

// A new session for the writer: connected within libpq's connect_timeout, then the writer
// lock and the prepared statement within the deadline. The session is kept only once it holds
// the lock.
void store_stage::open_session() {
  writer_pid_.store(0, std::memory_order_relaxed);
  connection_.reset();
  auto session = std::make_unique<db_connection>(options_.conninfo);
  const int pid = session->c.backendpid();
  // Before the lock is asked for: a request cut by the deadline may have taken it anyway.
  own_sessions_.push_back(pid);
  if (own_sessions_.size() > 16) own_sessions_.erase(own_sessions_.begin());
  const auto window = deadline_->arm(session->c.sock(), options_.db_timeout);
  {
    pqxx::nontransaction q(session->c);
    if (!try_writer_lock(q)) {
      const std::optional<writer_lock_holder> holder = find_writer_lock_holder(q);
      // The two cases below are a session not usable yet, like an unreachable server: the
      // start-up wait and the writer's retries both treat broken_connection so.
      if (!holder) throw pqxx::broken_connection("the writer lock was released meanwhile");
      if (std::find(own_sessions_.begin(), own_sessions_.end(), holder->pid) !=
          own_sessions_.end()) {
        // A cut session of ours that PostgreSQL has not ended yet: a frozen server that resumed
        // finishes what it was doing first, and one that never saw our FIN (a cut network)
        // would keep it until its own keepalives give up. Ended here, and retried like an
        // outage: the lock is free once it is gone, and only then does engine_progress say for
        // sure whether its last COMMIT landed.
        q.exec("SELECT pg_terminate_backend(" + std::to_string(holder->pid) + ")");
        throw pqxx::broken_connection(
            "this daemon's previous session " + std::to_string(holder->pid) +
            " still held the writer lock; ended it, waiting for it to go");
      }
      throw writer_lock_held(holder->pid, holder->description);
    }
  }
  session->c.prepare(kJournalCommit, kJournalCommitSql);
  connection_ = std::move(session);
  writer_pid_.store(pid, std::memory_order_relaxed);
}

void store_stage::lose_lock(const std::string& holder) {
  connection_.reset();
  writer_pid_.store(0, std::memory_order_relaxed);
  set_database_up(false);
  if (lock_lost_.exchange(true)) return;
  obs::logger("store")->critical(
      "writer lock lost: {}; another matchd writes this database, so this one commits and "
      "acknowledges nothing more and stops",
      holder);
  if (options_.on_lock_lost) options_.on_lock_lost();
}

void store_stage::wait_for_stop() {
  while (!waiter_.wait_for([this] { return stopping_.load(std::memory_order_acquire); },
                           options_.idle_check_interval)) {
  }
}

void store_stage::run() {
  auto log = obs::logger("store");
  log->info("store stage started");
  std::vector<bus::engine_batch*> group;
  while (true) {
    const auto ready = [this] {
      return !input_.empty() || stopping_.load(std::memory_order_acquire);
    };
    // Idle is a second without a word with the database: an idle engine's clock ticks
    // (bus::engine_batch::clock) still come by, but they write nothing.
    if (!waiter_.wait_for(ready, options_.idle_check_interval) ||
        std::chrono::steady_clock::now() - last_contact_ >= options_.idle_check_interval) {
      check_while_idle();
      last_contact_ = std::chrono::steady_clock::now();
      if (lock_lost_.load(std::memory_order_relaxed)) break;
      if (input_.empty()) continue;
    }
    // Group commit: everything the engine produced while the last COMMIT was in flight.
    std::size_t commands = 0;
    while (bus::engine_batch** b = input_.front()) {
      if (!group.empty() && commands + (*b)->commands.size() > options_.max_group_commands) break;
      commands += (*b)->commands.size();
      group.push_back(*b);
      input_.pop();
    }
    if (group.empty()) {
      if (stopping_.load(std::memory_order_acquire)) break;
      continue;
    }
    commit_group(group);
    if (lock_lost_.load(std::memory_order_relaxed)) break;
    if (!group.empty()) {
      // Gave up during shutdown: these are not acknowledged, and never will be.
      log->error("shutting down with {} batches not committed", group.size());
      break;
    }
  }
  if (lock_lost_.load(std::memory_order_relaxed)) {
    // Nothing more is committed; the batches held and those still coming are never answered.
    wait_for_stop();
    log->warn("store stage stopped without the writer lock; {} batches not committed",
              group.size() + input_.size());
    return;
  }
  log->info("store stage stopped");
}

void store_stage::commit_group(std::vector<bus::engine_batch*>& group) {
  auto log = obs::logger("store");
  // Instruments added in the group, before any of its events is encoded: ids are given in
  // sequence, so the group's later commands may already trade them.
  for (const bus::engine_batch* b : group) {
    for (const bus::command_outcome& c : b->commands) {
      if (c.kind == bus::request_kind::add_instrument && c.error == engine::errc::ok &&
          c.instrument == instruments_.size()) {
        add_instrument(*c.definition);
      }
    }
  }
  engine::sequence_number last_sequence = 0;
  std::size_t commands = 0;
  bool snapshots = false;
  for (const bus::engine_batch* b : group) {
    commands += b->commands.size();
    for (const bus::command_outcome& c : b->commands) {
      last_sequence = std::max(last_sequence, c.sequence);
      snapshots =
          snapshots || (c.kind == bus::request_kind::snapshot && c.error == engine::errc::ok);
    }
  }

  backoff_.reset();
  bool outcome_unknown = false;
  int attempt = 0;
  // Only groups that changed something touch the database; answers to rejected commands
  // and replays wait for their turn all the same, keeping the order of responses.
  while (last_sequence > 0 || snapshots) {
    ++attempt;
    try {
      if (!connection_) open_session();
      const auto window = deadline_->arm(connection_->c.sock(), options_.db_timeout);
      if (outcome_unknown && last_sequence > 0 && already_committed(last_sequence)) {
        log->warn("batch up to sequence {} was committed before the failure", last_sequence);
        committed_sequence_ = std::max(committed_sequence_, last_sequence);
        applier_->committed(committed_sequence_);
        break;
      }
      const auto started = std::chrono::steady_clock::now();
      if (!snapshots && !holds_a_key(group) && !changes_a_status(group)) {
        pqxx::nontransaction tx(connection_->c);
        outcome_unknown = true;  // the statement commits as it runs
        write_journal_statement(tx, group, last_sequence);
      } else {
        pqxx::work tx(connection_->c);
        write_group(tx, group, last_sequence);
        outcome_unknown = true;  // from here a failure may or may not have committed
        tx.commit();
      }
      committed_sequence_ = std::max(committed_sequence_, last_sequence);
      applier_->committed(committed_sequence_);
      last_contact_ = std::chrono::steady_clock::now();
      probe_->committed(
          static_cast<double>(commands),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      break;
    } catch (const writer_lock_held& e) {
      // The group is neither committed nor answered, ever.
      lose_lock(e.what());
      return;
    } catch (const std::exception& e) {
      // A broken connection, an in-doubt commit, a deadline passed or a server error: all
      // are retried with the same group. A logic error would repeat; it is logged at every
      // attempt.
      connection_.reset();
      writer_pid_.store(0, std::memory_order_relaxed);
      outcome_unknown = true;
      probe_->failed();
      probe_->retried();
      set_database_up(false);
      const std::chrono::milliseconds wait = backoff_.next();
      log->warn("database write failed attempt={} up_to_sequence={} retry_in_ms={} error={}",
                attempt, last_sequence, wait.count(), failure_text(e));
      if (stopping_.load(std::memory_order_acquire) &&
          std::chrono::steady_clock::now() - stop_requested_at_ > options_.shutdown_grace) {
        return;
      }
      back_off(wait);
    }
  }
  // Every earlier group is committed, and this one: the engine's clock it carries has passed
  // every trade not in it or before it.
  engine::timestamp_us clock = 0;
  for (const bus::engine_batch* b : group) clock = std::max(clock, b->clock);
  fence_sequence_.store(committed_sequence_, std::memory_order_relaxed);
  if (clock > fence_clock_.load(std::memory_order_relaxed)) {
    fence_clock_.store(clock, std::memory_order_release);
  }
  // A group that wrote nothing (answers to rejections, an idle engine's clock) says
  // nothing about the database either.
  if (attempt > 0) {
    if (!database_up_.load(std::memory_order_relaxed)) {
      log->info("database reachable again after {} attempts", attempt);
    }
    set_database_up(true);
  }

  for (bus::engine_batch* b : group) {
    while (!output_.try_push(b)) std::this_thread::yield();  // sized for every batch
  }
  group.clear();
  wake_output_();
}

void store_stage::check_while_idle() {
  const bool was_up = database_up_.load(std::memory_order_relaxed);
  try {
    if (!connection_) open_session();
    const auto window = deadline_->arm(connection_->c.sock(), options_.db_timeout);
    pqxx::nontransaction check(connection_->c);
    check.exec1("SELECT 1");
    if (!was_up) obs::logger("store")->info("database reachable again (idle check)");
    set_database_up(true);
  } catch (const writer_lock_held& e) {
    lose_lock(e.what());
  } catch (const std::exception& e) {
    connection_.reset();
    writer_pid_.store(0, std::memory_order_relaxed);
    if (was_up) {
      obs::logger("store")->warn("database unreachable (idle check): {}", failure_text(e));
    }
    set_database_up(false);
  }
}

// The exception's text, or what the deadline did when it was the cause (libpq then only
// reports a closed connection).
std::string store_stage::failure_text(const std::exception& e) {
  if (!deadline_->take_expired()) return e.what();
  return "no answer within --db-timeout (" + std::to_string(options_.db_timeout.count()) +
         " ms); session cut and replaced";
}

void store_stage::set_database_up(bool up) {
  database_up_.store(up, std::memory_order_relaxed);
  probe_->set_up(up);
}

bool store_stage::already_committed(engine::sequence_number last_sequence) {
  pqxx::nontransaction q(connection_->c);
  const auto row = q.exec1("SELECT last_sequence FROM engine_progress WHERE id = 1");
  return row[0].as<long long>() >= static_cast<long long>(last_sequence);
}

void store_stage::back_off(std::chrono::milliseconds wait) {
  const auto until = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
  }
}

void store_stage::write_group(pqxx::transaction_base& tx, std::vector<bus::engine_batch*>& group,
                              engine::sequence_number last_sequence) {
  const std::string body = encode_journal(group);
  if (!body.empty()) {
    tx.exec_params0("INSERT INTO journal (last_sequence, body) VALUES ($1, $2)",
                    static_cast<long long>(last_sequence),
                    pqxx::binarystring(body.data(), body.size()));
  }
  // The first response of each command that holds a key, stored with it and handed to the
  // publish stage so both send the same bytes (bus/idempotency.h).
  copy_text keys;
  for (bus::engine_batch* b : group) {
    for (bus::command_outcome& c : b->commands) {
      if (!bus::holds_key(c)) continue;
      if (!c.response) {
        const std::span<const engine::event> evs(b->events.data() + c.first_event,
                                                 c.end_event - c.first_event);
        c.response = std::make_shared<const std::string>(
            codec::command_response(evs, c.subject, true, instruments_, c.client_order_id.view()));
      }
      const std::int64_t created_at = [&] {
        for (std::uint32_t i = c.first_event; i < c.end_event; ++i) {
          if (const auto* o = std::get_if<engine::order>(&b->events[i])) return o->updated_at;
        }
        return std::int64_t{0};
      }();
      keys.text(c.client.view())
          .text(c.idempotency.view())
          .number(static_cast<std::int64_t>(c.fingerprint))
          .number(c.sequence)
          .text(c.subject.view())
          .text(*c.response)
          .number(created_at)
          .end_row();
    }
  }
  copy_rows(tx, "idempotency_keys", kKeyColumns, keys);
  for (bus::engine_batch* b : group) {
    for (bus::command_outcome& c : b->commands) {
      if (c.kind != bus::request_kind::snapshot || c.error != engine::errc::ok) continue;
      std::vector<codec::book_level> bids;
      std::vector<codec::book_level> asks;
      for (std::uint32_t i = c.first_event; i < c.end_event; ++i) {
        const auto& d = std::get<engine::level_delta>(b->events[i]);
        (d.level_side == engine::side::buy ? bids : asks)
            .push_back({d.price, d.quantity, d.orders});
      }
      const auto now_us = bus::wall_us();
      std::string book;
      codec::append_orderbook(book, instruments_[c.instrument], c.snapshot_sequence, now_us, bids,
                              asks);
      const auto row = tx.exec1(
          "INSERT INTO book_snapshots (instrument, sequence, taken_at_us, book) VALUES (" +
          tx.quote(instruments_[c.instrument].symbol) + ", " + std::to_string(c.snapshot_sequence) +
          ", " + std::to_string(now_us) + ", " + tx.quote(book) + "::jsonb) RETURNING snapshot_id");
      c.snapshot_id = row[0].as<long long>();
    }
  }
  write_instrument_status(tx, group);
  if (last_sequence > 0) write_progress(tx, last_sequence);
  probe_->written(body.empty() ? 0.0 : 1.0, static_cast<double>(keys.rows()));
}

void store_stage::write_instrument_status(pqxx::transaction_base& tx,
                                          const std::vector<bus::engine_batch*>& group) {
  for (const bus::engine_batch* b : group) {
    for (const bus::command_outcome& c : b->commands) {
      if (!bus::is_venue_command(c.kind) || c.sequence == 0) continue;
      std::string sql;
      if (c.kind == bus::request_kind::add_instrument) {
        std::string definition;
        codec::append_instrument(definition, instruments_[c.instrument], false);
        sql = "INSERT INTO instruments (symbol, definition, sequence, added_at_us) VALUES (";
        sql += tx.quote(instruments_[c.instrument].symbol);
        sql += ", ";
        sql += tx.quote(definition);
        sql += ", ";
      } else {
        sql = "INSERT INTO instrument_status (symbol, status, sequence, updated_at_us) VALUES (";
        sql += tx.quote(instruments_[c.instrument].symbol);
        sql += c.kind == bus::request_kind::halt ? ", 'halted', " : ", 'trading', ";
      }
      sql += std::to_string(c.sequence);
      sql += ", ";
      sql += std::to_string(bus::wall_us());
      sql += ")";
      if (c.kind != bus::request_kind::add_instrument) {
        sql +=
            " ON CONFLICT (symbol) DO UPDATE SET status = EXCLUDED.status,"
            " sequence = EXCLUDED.sequence, updated_at_us = EXCLUDED.updated_at_us";
      }
      tx.exec0(sql);
    }
  }
}

void store_stage::add_instrument(const engine::instrument& ins) {
  instruments_.push_back(ins);
  applier_->add_instrument(ins);
}

void store_stage::write_journal_statement(pqxx::transaction_base& tx,
                                          const std::vector<bus::engine_batch*>& group,
                                          engine::sequence_number last_sequence) {
  const std::string body = encode_journal(group);
  if (body.empty()) {
    write_progress(tx, last_sequence);
  } else {
    tx.exec_prepared0(kJournalCommit, static_cast<long long>(last_sequence),
                      pqxx::binarystring(body.data(), body.size()),
                      static_cast<long long>(last_trade_id_));
  }
  probe_->written(body.empty() ? 0.0 : 1.0, 0.0);
}

// Where the engine stood at this commit; after an in-doubt COMMIT, already_committed reads it.
void store_stage::write_progress(pqxx::transaction_base& tx,
                                 engine::sequence_number last_sequence) {
  tx.exec0("UPDATE engine_progress SET last_sequence = " + std::to_string(last_sequence) +
           ", last_trade_id = " + std::to_string(last_trade_id_) + " WHERE id = 1");
}

// The group's effects, as one journal row body (empty when it changed nothing): the
// acknowledgement waits for this row, not for the table rows the applier derives from it.
std::string store_stage::encode_journal(const std::vector<bus::engine_batch*>& group) {
  journal_encoder journal;
  for (const bus::engine_batch* b : group) {
    // Command by command: a placement's first state carries its client_order_id, which the
    // engine's order does not hold (bus::command_outcome).
    for (const bus::command_outcome& c : b->commands) {
      const bool labelled = c.kind == bus::request_kind::place && !c.client_order_id.empty();
      // A snapshot's events are the book's levels at that instant, not changes of them.
      const bool levels = options_.journal_book_levels && c.kind != bus::request_kind::snapshot;
      for (std::uint32_t i = c.first_event; i < c.end_event; ++i) {
        const engine::event& e = b->events[i];
        if (const auto* o = std::get_if<engine::order>(&e)) {
          journal.add(
              *o, instruments_[o->instrument].symbol,
              labelled && o->id == c.subject ? c.client_order_id.view() : std::string_view{});
        } else if (const auto* t = std::get_if<engine::trade>(&e)) {
          journal.add(*t, instruments_[t->instrument].symbol);
          last_trade_id_ = std::max(last_trade_id_, t->id);
        } else if (levels) {
          const auto& d = std::get<engine::level_delta>(e);
          journal.add(d, instruments_[d.instrument].symbol);
        }
      }
    }
  }
  if (journal.records() == 0) return {};
  return journal.take();
}

}  // namespace matchd::store
