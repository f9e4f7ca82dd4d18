#pragma once

#include <matchd/engine/event.h>
#include <matchd/engine/instrument.h>
#include <matchd/engine/types.h>
#include <matchd/store/journal.h>

#include <chrono>
#include <functional>
#include <memory>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

namespace matchd::store {

// At start, before the writer commits anything of this run (sql/017_event_export.sql): each
// enabled sink without a position gets one at the last committed sequence (it exports what
// is committed from now on), and the positions of the sinks not enabled are removed, so they
// no longer hold journal rows back. Returns each enabled sink's position, in order.
std::vector<engine::sequence_number> prepare_export_sinks(const std::string& conninfo,
                                                          const std::vector<std::string>& enabled);

// The journal rows after a sink's position, decoded with their level records: the events of
// whole groups, in sequence order.
struct export_batch {
  engine::event_buffer events;
  std::vector<journal_label> labels;     // client_order_id of a placing state
  engine::sequence_number last_row = 0;  // the last row's last_sequence; 0 when none
  std::size_t rows = 0;
  engine::sequence_number committed = 0;  // engine_progress when the rows were read

  void clear() {
    events.clear();
    labels.clear();
    last_row = 0;
    rows = 0;
  }
};

class call_deadline;
struct db_connection;

// One sink's durable place in the journal, on a PostgreSQL session of its own. The journal is
// the outbox: a sink reads the committed rows after its position, delivers their events, and
// only then moves the position (advance), which also deletes the rows that neither the
// applier nor any sink needs any more. Every call is bounded by `timeout` (call_deadline);
// after an exception the caller calls reset() and tries again later: the position on disk
// is unchanged, so the same rows come again (at least once).
class export_cursor {
 public:
  export_cursor(std::string conninfo, std::string sink, std::chrono::milliseconds timeout);
  ~export_cursor();
  export_cursor(const export_cursor&) = delete;
  export_cursor& operator=(const export_cursor&) = delete;

  // The position on disk (read again after a reset).
  engine::sequence_number position();
  // The last committed sequence (engine_progress): what the lag is measured against while
  // the sink's broker is away.
  engine::sequence_number committed();
  // Up to `max_rows` journal rows after `after` (the position, or where delivery got to).
  void read(engine::sequence_number after, std::size_t max_rows,
            const std::vector<engine::instrument>& instruments, export_batch& out);
  // Everything up to journal row `last_row` is delivered.
  void advance(engine::sequence_number last_row);
  // The same, in one transaction with what `also` writes (a sink that delivers into the
  // database: its rows and its position commit together).
  void advance_with(engine::sequence_number last_row,
                    const std::function<void(pqxx::transaction_base&)>& also);
  // The newest journal row's last_sequence (0: the journal is empty).
  engine::sequence_number journal_end();
  // Runs `body` in a transaction of this session, under the deadline, and commits it.
  void transact(const std::function<void(pqxx::transaction_base&)>& body);

  // The settlements made since the last one delivered, per instrument with entries (the
  // settlement as GET /settlements/{id} gives it, restricted to the instrument), oldest
  // first, at most `max` settlements; none until the sink has delivered every journal row
  // the tables held (`delivered_row` >= the applier's position), so that a settlement follows
  // every trade it nets.
  struct settlement_message {
    std::uint64_t settlement_id = 0;
    std::string instrument;
    std::string body;
  };
  std::vector<settlement_message> settlements(engine::sequence_number delivered_row,
                                              const std::vector<engine::instrument>& instruments,
                                              std::size_t max);
  // Every settlement up to `settlement_id` is delivered.
  void advance_settlement(std::uint64_t settlement_id);
  // The client_order_id of every order that may still change after the position: labelled
  // orders not finished in the tables, or changed after the position, and the labels of the
  // journal rows kept up to the position (the tables may not hold them yet).
  void labels(engine::sequence_number position, const std::vector<engine::instrument>& instruments,
              const std::function<void(std::string_view order_id, std::string_view label)>& each);
  // Drops the session (after a failure); the next call opens a new one.
  void reset();
  // Cuts a call in progress (another thread, to stop).
  void cut();

 private:
  db_connection& session();

  std::string conninfo_;
  std::string sink_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<call_deadline> deadline_;
  std::unique_ptr<db_connection> connection_;
};

}  // namespace matchd::store
