#include <matchd/store/store_stage.h>

#include <algorithm>
#include <random>
#include <span>
#include <string_view>

#include <boost/unordered/unordered_flat_map.hpp>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include <matchd/codec/responses.h>
#include <matchd/codec/wire.h>
#include <matchd/obs/logger.h>
#include <matchd/obs/thread_name.h>

#include <matchd/store/copy_text.h>
#include "store_probe.h"

namespace matchd::store {

struct db_connection {
  explicit db_connection(const std::string& conninfo) : c(conninfo) {}
  pqxx::connection c;
};

namespace {

// Sends the rows through one COPY into `table`. Empty tables are skipped: each COPY costs
// two round trips even with no rows. libpqxx 6.4 writes prebuilt COPY text only through
// tablewriter, deprecated there in favour of stream_to, whose raw-line write is private.
void copy_into(pqxx::transaction_base& tx, const std::string& table,
               const std::vector<std::string>& columns, const copy_text& rows) {
  if (rows.rows() == 0) return;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pqxx::tablewriter out(tx, table, columns.begin(), columns.end());
#pragma GCC diagnostic pop
  out.write_raw_line(std::string(rows.data()));  // it drops the last newline and adds one
  out.complete();
}

const std::vector<std::string> kOrderColumns = {
    "order_id",      "client_id",     "instrument",    "side",        "type",
    "time_in_force", "status",        "price_ticks",   "quantity_lots", "filled_lots",
    "notional",      "created_at_us", "updated_at_us", "created_sequence", "sequence"};
const std::vector<std::string> kChangeColumns = {"order_id",      "status",  "filled_lots",
                                                 "notional", "updated_at_us", "sequence"};
const std::vector<std::string> kEventColumns = {"sequence",    "order_id", "status",
                                                "filled_lots", "notional", "updated_at_us"};
const std::vector<std::string> kTradeColumns = {
    "trade_id",      "instrument",    "price_ticks",    "quantity_lots",
    "aggressor_side", "buy_order_id", "sell_order_id",  "buy_client_id",
    "sell_client_id", "executed_at_us", "sequence"};
const std::vector<std::string> kKeyColumns = {"client_id", "idempotency_key", "fingerprint",
                                              "sequence",  "order_id",        "response",
                                              "created_at_us"};

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
      probe_(std::make_unique<store_probe>(metrics)) {}

store_stage::~store_stage() { stop(); }

void store_stage::start() {
  thread_ = std::thread([this] {
    obs::name_this_thread("matchd-store");
    run();
  });
}

void store_stage::stop() {
  if (!thread_.joinable()) return;
  stop_requested_at_ = std::chrono::steady_clock::now();
  stopping_.store(true, std::memory_order_release);
  waiter_.notify();
  thread_.join();
}

void store_stage::connect() {
  connection_ = std::make_unique<db_connection>(options_.conninfo);
  // Per-session staging table for changes to orders created by earlier groups; emptied at
  // every commit.
  pqxx::nontransaction setup(connection_->c);
  setup.exec0(
      "CREATE TEMP TABLE IF NOT EXISTS order_changes (order_id text, status text,"
      " filled_lots bigint, notional numeric, updated_at_us bigint, sequence bigint)"
      " ON COMMIT DELETE ROWS");
}

void store_stage::run() {
  auto log = obs::logger("store");
  log->info("store stage started");
  std::vector<bus::engine_batch*> group;
  while (true) {
    const auto ready = [this] {
      return !input_.empty() || stopping_.load(std::memory_order_acquire);
    };
    if (!waiter_.wait_for(ready, options_.idle_check_interval)) {
      check_while_idle();
      continue;
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
    if (!group.empty()) {
      // Gave up during shutdown: these are not acknowledged, and never will be.
      log->error("shutting down with {} batches not committed", group.size());
      break;
    }
  }
  log->info("store stage stopped");
}

void store_stage::commit_group(std::vector<bus::engine_batch*>& group) {
  auto log = obs::logger("store");
  engine::sequence_number last_sequence = 0;
  std::size_t commands = 0;
  bool snapshots = false;
  for (const bus::engine_batch* b : group) {
    commands += b->commands.size();
    for (const bus::command_outcome& c : b->commands) {
      last_sequence = std::max(last_sequence, c.sequence);
      snapshots = snapshots || (c.kind == bus::request_kind::snapshot && c.error == engine::errc::ok);
    }
  }

  std::chrono::milliseconds delay = options_.initial_backoff;
  bool outcome_unknown = false;
  int attempt = 0;
  // Only groups that changed something touch the database; answers to rejected commands
  // and replays wait for their turn all the same, keeping the order of responses.
  while (last_sequence > 0 || snapshots) {
    ++attempt;
    try {
      if (!connection_) connect();
      if (outcome_unknown && last_sequence > 0 && already_committed(last_sequence)) {
        log->warn("batch up to sequence {} was committed before the failure", last_sequence);
        committed_sequence_ = std::max(committed_sequence_, last_sequence);
        break;
      }
      const auto started = std::chrono::steady_clock::now();
      pqxx::work tx(connection_->c);
      write_group(tx, group, last_sequence);
      outcome_unknown = true;  // from here a failure may or may not have committed
      tx.commit();
      committed_sequence_ = std::max(committed_sequence_, last_sequence);
      probe_->committed(static_cast<double>(commands),
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                            .count());
      break;
    } catch (const std::exception& e) {
      // A broken connection, an in-doubt commit or a server error: all are retried with
      // the same group. A logic error would repeat; it is logged at every attempt.
      connection_.reset();
      outcome_unknown = true;
      probe_->failed();
      probe_->retried();
      set_database_up(false);
      log->warn("database write failed attempt={} up_to_sequence={} retry_in_ms={} error={}",
                attempt, last_sequence, delay.count(), e.what());
      if (stopping_.load(std::memory_order_acquire) &&
          std::chrono::steady_clock::now() - stop_requested_at_ > options_.shutdown_grace) {
        return;
      }
      back_off(delay);
    }
  }
  if (!database_up_.load(std::memory_order_relaxed)) {
    log->info("database reachable again after {} attempts", attempt);
  }
  set_database_up(true);

  for (bus::engine_batch* b : group) {
    while (!output_.try_push(b)) std::this_thread::yield();  // sized for every batch
  }
  group.clear();
  wake_output_();
}

void store_stage::check_while_idle() {
  const bool was_up = database_up_.load(std::memory_order_relaxed);
  try {
    if (!connection_) connect();
    pqxx::nontransaction check(connection_->c);
    check.exec1("SELECT 1");
    if (!was_up) obs::logger("store")->info("database reachable again (idle check)");
    set_database_up(true);
  } catch (const std::exception& e) {
    connection_.reset();
    if (was_up) obs::logger("store")->warn("database unreachable (idle check): {}", e.what());
    set_database_up(false);
  }
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

void store_stage::back_off(std::chrono::milliseconds& delay) {
  // Full jitter: sleep a random time up to the current delay, then double it.
  thread_local std::mt19937_64 random{std::random_device{}()};
  const auto sleep = std::chrono::milliseconds(
      std::uniform_int_distribution<long long>(delay.count() / 2, delay.count())(random));
  const auto until = std::chrono::steady_clock::now() + sleep;
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
  }
  delay = std::min(delay * 2, options_.max_backoff);
}

void store_stage::write_group(pqxx::transaction_base& tx, std::vector<bus::engine_batch*>& group,
                              engine::sequence_number last_sequence) {
  // The latest state of each order the group touched, in order of first appearance.
  std::vector<const engine::order*> latest;
  boost::unordered_flat_map<std::string_view, std::size_t> latest_index;
  std::vector<const engine::trade*> group_trades;
  copy_text events;
  for (const bus::engine_batch* b : group) {
    for (const engine::event& e : b->events) {
      if (const auto* t = std::get_if<engine::trade>(&e)) group_trades.push_back(t);
      const auto* o = std::get_if<engine::order>(&e);
      if (o == nullptr) continue;
      const auto [it, fresh] = latest_index.try_emplace(o->id.view(), latest.size());
      if (fresh) {
        latest.push_back(o);
      } else {
        latest[it->second] = o;
      }
      events.number(o->sequence)
          .text(o->id.view())
          .text(engine::to_string(o->status))
          .number(o->filled.value)
          .wide(o->notional)
          .number(o->updated_at)
          .end_row();
    }
  }
  copy_into(tx, "order_events", kEventColumns, events);
  // Orders created by this group are new rows: plain COPY, no conflict check. Orders
  // created before it (resting makers that traded, cancels) are changed in place. An
  // upsert of everything through a staging table did the same with three times the work
  // per order in PostgreSQL. (`latest` is read in place, not reordered: `latest_index`
  // points into it, for the trades below.)
  copy_text created;
  copy_text changed;
  for (const engine::order* o : latest) {
    if (o->created_sequence > committed_sequence_) {
      created.text(o->id.view())
          .text(o->client.view())
          .text(instruments_[o->instrument].symbol)
          .text(engine::to_string(o->order_side))
          .text(engine::to_string(o->type))
          .text(engine::to_string(o->tif))
          .text(engine::to_string(o->status))
          .number(o->price.value)
          .number(o->quantity.value)
          .number(o->filled.value)
          .wide(o->notional)
          .number(o->created_at)
          .number(o->updated_at)
          .number(o->created_sequence)
          .number(o->sequence)
          .end_row();
    } else {
      changed.text(o->id.view())
          .text(engine::to_string(o->status))
          .number(o->filled.value)
          .wide(o->notional)
          .number(o->updated_at)
          .number(o->sequence)
          .end_row();
    }
  }
  copy_into(tx, "orders", kOrderColumns, created);
  if (changed.rows() > 0) {
    copy_into(tx, "order_changes", kChangeColumns, changed);
    const pqxx::result updated = tx.exec0(
        "UPDATE orders o SET status = c.status, filled_lots = c.filled_lots,"
        " notional = c.notional, updated_at_us = c.updated_at_us, sequence = c.sequence"
        " FROM order_changes c WHERE o.order_id = c.order_id");
    if (updated.affected_rows() != changed.rows()) {
      // The committed history lacks orders the engine says it had: never acknowledge on
      // top of that. The transaction rolls back and the group is retried (and logged).
      throw std::logic_error("orders to update: " + std::to_string(changed.rows()) +
                             ", rows found: " + std::to_string(updated.affected_rows()));
    }
  }
  if (!group_trades.empty()) {
    // A trade's two orders both have a state in the same command's events, so in this
    // group; their client ids come from there.
    const auto client_of = [&](const engine::order_id& id) -> std::string_view {
      const auto it = latest_index.find(id.view());
      if (it == latest_index.end()) {
        throw std::logic_error("trade of order " + std::string(id.view()) +
                               " without that order's state in the group");
      }
      return latest[it->second]->client.view();
    };
    copy_text rows;
    for (const engine::trade* t : group_trades) {
      rows.number(static_cast<std::int64_t>(t->id))
          .text(instruments_[t->instrument].symbol)
          .number(t->price.value)
          .number(t->quantity.value)
          .text(engine::to_string(t->aggressor))
          .text(t->buy_order_id.view())
          .text(t->sell_order_id.view())
          .text(client_of(t->buy_order_id))
          .text(client_of(t->sell_order_id))
          .number(t->executed_at)
          .number(t->sequence)
          .end_row();
      last_trade_id_ = std::max(last_trade_id_, t->id);
    }
    copy_into(tx, "trades", kTradeColumns, rows);
  }
  const auto keyed_placement = [](const bus::command_outcome& c) {
    return !c.idempotency.empty() && c.outcome == bus::outcome_kind::executed &&
           c.error == engine::errc::ok && c.kind == bus::request_kind::place;
  };
  // The first response of each keyed placement, stored with it and handed to the publish
  // stage so both send the same bytes.
  copy_text keys;
  for (bus::engine_batch* b : group) {
    for (bus::command_outcome& c : b->commands) {
      if (!keyed_placement(c)) continue;
      if (!c.response) {
        const std::span<const engine::event> evs(b->events.data() + c.first_event,
                                                 c.end_event - c.first_event);
        c.response = std::make_shared<const std::string>(
            codec::command_response(evs, c.subject, true, instruments_));
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
  copy_into(tx, "idempotency_keys", kKeyColumns, keys);
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
      const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      std::string book;
      codec::append_orderbook(book, instruments_[c.instrument], c.snapshot_sequence, now_us, bids,
                              asks);
      const auto row = tx.exec1(
          "INSERT INTO book_snapshots (instrument, sequence, taken_at_us, book) VALUES (" +
          tx.quote(instruments_[c.instrument].symbol) + ", " +
          std::to_string(c.snapshot_sequence) + ", " + std::to_string(now_us) + ", " +
          tx.quote(book) + "::jsonb) RETURNING snapshot_id");
      c.snapshot_id = row[0].as<long long>();
    }
  }
  if (last_sequence > 0) {
    tx.exec0("UPDATE engine_progress SET last_sequence = " + std::to_string(last_sequence) +
             ", last_trade_id = " + std::to_string(last_trade_id_) + " WHERE id = 1");
  }
  probe_->rows(static_cast<double>(latest.size()), static_cast<double>(events.rows()),
               static_cast<double>(group_trades.size()), static_cast<double>(keys.rows()));
}

}  // namespace matchd::store
