#pragma once

#include <matchd/engine/event.h>
#include <matchd/engine/instrument.h>
#include <matchd/store/journal.h>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace pqxx {
class transaction_base;
class connection_base;
}  // namespace pqxx

namespace matchd::store {

class copy_text;

struct table_rows {
  std::size_t orders = 0;
  std::size_t order_events = 0;
  std::size_t trades = 0;
  std::size_t candles = 0;    // buckets inserted or extended (candle_writer.h)
  std::size_t positions = 0;  // (client, instrument) rows written (position_writer.h)
};

// Sends `rows` through one COPY into `table` (nothing when there are none).
void copy_rows(pqxx::transaction_base& tx, const std::string& table,
               const std::vector<std::string>& columns, const copy_text& rows);

// Once per session, before write_tables: the staging table for changed orders, and the
// planner settings that keep its join on the orders index.
void prepare_table_session(pqxx::connection_base& c);

// Writes the normalized rows of `events` (order states and trades of consecutive commands,
// in sequence order; other events are skipped): one order_events row per state, one trades
// row per trade and its share of the candles and of both sides' positions, and each order's latest
// state into orders. Orders created after `written_up_to` are new rows; the others are updated in
// place, and one missing from the table is an error (std::logic_error), so a gap in the history is
// never written over. `labels` are the client_order_ids of the events that carry one
// (decode_journal); a new row takes its order's.
table_rows write_tables(pqxx::transaction_base& tx, std::span<const engine::event> events,
                        engine::sequence_number written_up_to,
                        const std::vector<engine::instrument>& instruments,
                        std::span<const journal_label> labels = {});

}  // namespace matchd::store
