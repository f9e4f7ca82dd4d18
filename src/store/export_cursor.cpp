#include <matchd/store/export_cursor.h>
#include <matchd/store/settlements.h>

#include <pqxx/pqxx>

#include "call_deadline.h"
#include "db_connection.h"
#include "journal_rows.h"

namespace matchd::store {

namespace {

long long as_bigint(engine::sequence_number s) {
  return static_cast<long long>(s);
}

}  // namespace

std::vector<engine::sequence_number> prepare_export_sinks(const std::string& conninfo,
                                                          const std::vector<std::string>& enabled) {
  db_connection db(conninfo);
  pqxx::work tx(db.c);
  std::string keep = "ARRAY[]::text[]";
  if (!enabled.empty()) {
    keep = "ARRAY[";
    for (std::size_t i = 0; i < enabled.size(); ++i) {
      if (i > 0) keep += ',';
      keep += tx.quote(enabled[i]);
    }
    keep += ']';
  }
  tx.exec0("DELETE FROM export_progress WHERE sink <> ALL(" + keep + ")");
  std::vector<engine::sequence_number> positions;
  for (const std::string& sink : enabled) {
    // From now on: the events committed after this start, the settlements made after it.
    tx.exec0("INSERT INTO export_progress (sink, sequence, updated_at_us, settlement_id) SELECT " +
             tx.quote(sink) +
             ", last_sequence, (extract(epoch from clock_timestamp()) * 1000000)::bigint,"
             " (SELECT coalesce(max(settlement_id), 0) FROM settlements)"
             " FROM engine_progress WHERE id = 1 ON CONFLICT (sink) DO NOTHING");
    positions.push_back(static_cast<engine::sequence_number>(
        tx.exec1("SELECT sequence FROM export_progress WHERE sink = " + tx.quote(sink))[0]
            .as<long long>()));
  }
  tx.commit();
  return positions;
}

export_cursor::export_cursor(std::string conninfo, std::string sink,
                             std::chrono::milliseconds timeout)
    : conninfo_(std::move(conninfo)),
      sink_(std::move(sink)),
      timeout_(timeout),
      deadline_(std::make_unique<call_deadline>()) {}

export_cursor::~export_cursor() = default;

db_connection& export_cursor::session() {
  if (!connection_) connection_ = std::make_unique<db_connection>(conninfo_);
  return *connection_;
}

engine::sequence_number export_cursor::position() {
  db_connection& db = session();
  const auto window = deadline_->arm(db.c.sock(), timeout_);
  pqxx::nontransaction tx(db.c);
  const pqxx::result r =
      tx.exec("SELECT sequence FROM export_progress WHERE sink = " + tx.quote(sink_));
  if (r.empty()) {
    throw std::runtime_error("export sink " + sink_ + " has no position (export_progress)");
  }
  return static_cast<engine::sequence_number>(r[0][0].as<long long>());
}

engine::sequence_number export_cursor::committed() {
  db_connection& db = session();
  const auto window = deadline_->arm(db.c.sock(), timeout_);
  pqxx::nontransaction tx(db.c);
  return static_cast<engine::sequence_number>(
      tx.exec1("SELECT last_sequence FROM engine_progress WHERE id = 1")[0].as<long long>());
}

void export_cursor::read(engine::sequence_number after, std::size_t max_rows,
                         const std::vector<engine::instrument>& instruments, export_batch& out) {
  out.clear();
  db_connection& db = session();
  const auto window = deadline_->arm(db.c.sock(), timeout_);
  // One snapshot for the rows and the committed sequence: the lag is measured against what
  // this read could see.
  pqxx::read_transaction tx(db.c);
  out.committed = static_cast<engine::sequence_number>(
      tx.exec1("SELECT last_sequence FROM engine_progress WHERE id = 1")[0].as<long long>());
  const pqxx::result rows = select_journal_rows(tx, after, max_rows);
  for (const pqxx::row& row : rows) {
    const pqxx::binarystring body(row[1]);
    decode_journal_events(std::string_view(body.get(), body.size()), instruments, out.events,
                          &out.labels);
  }
  if (!rows.empty()) {
    out.last_row = static_cast<engine::sequence_number>(rows.back()[0].as<long long>());
    out.rows = rows.size();
  }
  tx.commit();
}

void export_cursor::advance(engine::sequence_number last_row) {
  advance_with(last_row, [](pqxx::transaction_base&) {});
}

void export_cursor::advance_with(engine::sequence_number last_row,
                                 const std::function<void(pqxx::transaction_base&)>& also) {
  db_connection& db = session();
  const auto window = deadline_->arm(db.c.sock(), timeout_);
  pqxx::work tx(db.c);
  // Without waiting for the WAL flush: a position lost in a crash is only older, and what it
  // covered is delivered again and dropped as already held. The commit path's disk keeps its
  // flushes for the acknowledgements.
  tx.exec0("SET LOCAL synchronous_commit = off");
  also(tx);
  const std::string last = std::to_string(as_bigint(last_row));
  tx.exec0("UPDATE export_progress SET sequence = " + last +
           ", updated_at_us = (extract(epoch from clock_timestamp()) * 1000000)::bigint"
           " WHERE sink = " +
           tx.quote(sink_) + " AND sequence < " + last);
  // What the applier has written and every sink has delivered is needed by no one. LEAST
  // skips NULL: the subqueries always have a row here (this sink's).
  tx.exec0(
      "DELETE FROM journal WHERE last_sequence <= LEAST("
      "(SELECT applied_sequence FROM journal_progress WHERE id = 1),"
      " (SELECT min(sequence) FROM export_progress))");
  tx.commit();
}

std::vector<export_cursor::settlement_message> export_cursor::settlements(
    engine::sequence_number delivered_row, const std::vector<engine::instrument>& instruments,
    std::size_t max) {
  std::vector<settlement_message> out;
  db_connection& db = session();
  const auto window = deadline_->arm(db.c.sock(), timeout_);
  pqxx::read_transaction tx(db.c);
  const pqxx::row gate = tx.exec1(
      "SELECT p.settlement_id, j.applied_sequence FROM export_progress p, journal_progress j"
      " WHERE j.id = 1 AND p.sink = " +
      tx.quote(sink_));
  if (static_cast<engine::sequence_number>(gate[1].as<long long>()) > delivered_row) return out;
  for (const pqxx::row& row :
       tx.exec("SELECT settlement_id FROM settlements WHERE settlement_id > " +
               std::to_string(gate[0].as<long long>()) + " ORDER BY settlement_id LIMIT " +
               std::to_string(max))) {
    const auto id = row[0].as<std::uint64_t>();
    const std::size_t before = out.size();
    for (const engine::instrument& ins : instruments) {
      // The settlement seen through one instrument: its entries and totals only.
      std::optional<std::string> body = settlement_body(tx, {ins}, id, false, nullptr);
      if (!body || body->find("\"entries\":[]") != std::string::npos) continue;
      out.push_back({id, ins.symbol, std::move(*body)});
    }
    // Without entries (no trades in its window) there is nothing to publish; it still counts
    // as delivered.
    if (out.size() == before) out.push_back({id, {}, {}});
  }
  tx.commit();
  return out;
}

void export_cursor::advance_settlement(std::uint64_t settlement_id) {
  db_connection& db = session();
  const auto window = deadline_->arm(db.c.sock(), timeout_);
  pqxx::work tx(db.c);
  tx.exec0("UPDATE export_progress SET settlement_id = " + std::to_string(settlement_id) +
           " WHERE sink = " + tx.quote(sink_) + " AND settlement_id < " +
           std::to_string(settlement_id));
  tx.commit();
}

engine::sequence_number export_cursor::journal_end() {
  db_connection& db = session();
  const auto window = deadline_->arm(db.c.sock(), timeout_);
  pqxx::nontransaction tx(db.c);
  const pqxx::row r = tx.exec1("SELECT max(last_sequence) FROM journal");
  return r[0].is_null() ? 0 : static_cast<engine::sequence_number>(r[0].as<long long>());
}

void export_cursor::transact(const std::function<void(pqxx::transaction_base&)>& body) {
  db_connection& db = session();
  const auto window = deadline_->arm(db.c.sock(), timeout_);
  pqxx::work tx(db.c);
  body(tx);
  tx.commit();
}

void export_cursor::labels(
    engine::sequence_number position, const std::vector<engine::instrument>& instruments,
    const std::function<void(std::string_view order_id, std::string_view label)>& each) {
  db_connection& db = session();
  const auto window = deadline_->arm(db.c.sock(), timeout_ * 12);
  pqxx::read_transaction tx(db.c);
  const std::string from = std::to_string(as_bigint(position));
  for (const pqxx::row& row :
       tx.exec("SELECT order_id, client_order_id FROM orders WHERE client_order_id IS NOT NULL"
               " AND (status IN ('open', 'partially_filled') OR sequence > " +
               from + ")")) {
    each(row[0].c_str(), row[1].c_str());
  }
  // The rows up to the position that the tables may not hold yet (the applier behind).
  for (const pqxx::row& row :
       tx.exec("SELECT last_sequence, body FROM journal WHERE last_sequence <= " + from +
               " AND last_sequence > (SELECT applied_sequence FROM journal_progress WHERE id = 1)"
               " ORDER BY last_sequence")) {
    const pqxx::binarystring body(row[1]);
    engine::event_buffer events;
    std::vector<journal_label> found;
    decode_journal(std::string_view(body.get(), body.size()), instruments, events, &found);
    for (const journal_label& l : found) {
      each(std::get<engine::order>(events[l.event]).id.view(), l.client_order_id.view());
    }
  }
  tx.commit();
}

void export_cursor::reset() {
  connection_.reset();
}

void export_cursor::cut() {
  deadline_->cut();
}

}  // namespace matchd::store
