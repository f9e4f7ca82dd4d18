#include "table_writer.h"

#include <matchd/store/copy_text.h>

#include <boost/unordered/unordered_flat_map.hpp>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#include <string>
#include <string_view>

#include "candle_writer.h"
#include "position_writer.h"

namespace matchd::store {

// Empty tables are skipped: each COPY costs two round trips even with no rows. libpqxx 6.4
// writes prebuilt COPY text only through tablewriter, deprecated there in favour of
// stream_to, whose raw-line write is private.
void copy_rows(pqxx::transaction_base& tx, const std::string& table,
               const std::vector<std::string>& columns, const copy_text& rows) {
  if (rows.rows() == 0) return;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pqxx::tablewriter out(tx, table, columns.begin(), columns.end());
#pragma GCC diagnostic pop
  out.write_raw_line(std::string(rows.data()));  // it drops the last newline and adds one
  out.complete();
}

namespace {

const std::vector<std::string> kOrderColumns = {"order_id",
                                                "client_id",
                                                "instrument",
                                                "side",
                                                "type",
                                                "time_in_force",
                                                "status",
                                                "price_ticks",
                                                "quantity_lots",
                                                "filled_lots",
                                                "notional",
                                                "created_at_us",
                                                "updated_at_us",
                                                "created_sequence",
                                                "sequence",
                                                "key_id",
                                                "reason",
                                                "stp",
                                                "post_only",
                                                "amended",
                                                "client_order_id",
                                                "stop_price_ticks",
                                                "triggered"};
// An amend changes price, quantity and (at the back of a level) created_sequence too; a
// stop's trigger changes created_sequence and triggered.
const std::vector<std::string> kChangeColumns = {
    "order_id", "status",      "filled_lots",   "notional",         "updated_at_us", "sequence",
    "reason",   "price_ticks", "quantity_lots", "created_sequence", "amended",       "triggered"};
const std::vector<std::string> kEventColumns = {"sequence",    "order_id", "status",
                                                "filled_lots", "notional", "updated_at_us"};
const std::vector<std::string> kTradeColumns = {
    "trade_id",     "instrument",    "price_ticks",   "quantity_lots",  "aggressor_side",
    "buy_order_id", "sell_order_id", "buy_client_id", "sell_client_id", "executed_at_us",
    "sequence",     "maker_fee",     "taker_fee"};

}  // namespace

void prepare_table_session(pqxx::connection_base& c) {
  // Changes to orders created by earlier groups go through this staging table; it is
  // emptied at every commit.
  pqxx::nontransaction setup(c);
  setup.exec0(
      "CREATE TEMP TABLE IF NOT EXISTS order_changes (order_id text, status text,"
      " filled_lots bigint, notional numeric, updated_at_us bigint, sequence bigint,"
      " reason text, price_ticks bigint, quantity_lots bigint, created_sequence bigint,"
      " amended boolean, triggered boolean) ON COMMIT DELETE ROWS");
  // The planner has no statistics for the staging table (it guesses 550 rows) and chose a
  // hash join for the UPDATE below: the whole orders table read and hashed for every
  // chunk, 52 ms at 100,000 orders against 1 ms through the primary key, and more as the
  // table grows. The join of this session is always a few changed orders against a large
  // table, so it probes the index: no hash or merge joins here. (The session runs nothing
  // else that joins.)
  setup.exec0("SET enable_hashjoin = off");
  setup.exec0("SET enable_mergejoin = off");
}

table_rows write_tables(pqxx::transaction_base& tx, std::span<const engine::event> events,
                        engine::sequence_number written_up_to,
                        const std::vector<engine::instrument>& instruments,
                        std::span<const journal_label> labels) {
  // The latest state of each order the events touch, in order of first appearance.
  std::vector<const engine::order*> latest;
  // Whether the order is a new row: decided by its first state in these events. An amend
  // or a stop's trigger gives an order a new created_sequence, so that alone does not tell
  // (engine::order).
  std::vector<bool> is_new;
  boost::unordered_flat_map<std::string_view, std::size_t> latest_index;
  std::vector<const engine::trade*> trades;
  copy_text states;
  for (const engine::event& e : events) {
    if (const auto* t = std::get_if<engine::trade>(&e)) trades.push_back(t);
    const auto* o = std::get_if<engine::order>(&e);
    if (o == nullptr) continue;
    const auto [it, fresh] = latest_index.try_emplace(o->id.view(), latest.size());
    if (fresh) {
      latest.push_back(o);
      is_new.push_back(o->created_sequence > written_up_to && !o->amended && !o->triggered);
    } else {
      latest[it->second] = o;
    }
    states.number(o->sequence)
        .text(o->id.view())
        .text(engine::to_string(o->status))
        .number(o->filled.value)
        .wide(o->notional)
        .number(o->updated_at)
        .end_row();
  }
  copy_rows(tx, "order_events", kEventColumns, states);
  // Orders created by these events are new rows: plain COPY, no conflict check. Orders
  // created before them (resting makers that traded, cancels) are changed in place. An
  // upsert of everything through a staging table did the same with three times the work
  // per order in PostgreSQL. (`latest` is read in place, not reordered: `latest_index`
  // points into it, for the trades below.)
  copy_text created;
  copy_text changed;
  boost::unordered_flat_map<std::string_view, std::string_view> label_of;
  for (const journal_label& l : labels) {
    if (const auto* o = std::get_if<engine::order>(&events[l.event])) {
      label_of.emplace(o->id.view(), l.client_order_id.view());
    }
  }
  const auto reason_of = [](copy_text& row, const engine::order& o) -> copy_text& {
    return o.reason == engine::end_reason::none ? row.null()
                                                : row.text(engine::to_string(o.reason));
  };
  for (std::size_t i = 0; i < latest.size(); ++i) {
    const engine::order* o = latest[i];
    if (is_new[i]) {
      created.text(o->id.view())
          .text(o->client.view())
          .text(instruments[o->instrument].symbol)
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
          .number(static_cast<std::int64_t>(o->created_sequence))
          .number(static_cast<std::int64_t>(o->sequence))
          .key(o->key);
      reason_of(created, *o)
          .text(engine::to_string(o->stp))
          .text(o->post_only ? "t" : "f")
          .text(o->amended ? "t" : "f");
      if (const auto label = label_of.find(o->id.view()); label != label_of.end()) {
        created.text(label->second);
      } else {
        created.null();
      }
      if (o->is_stop()) {
        created.number(o->stop_price.value);
      } else {
        created.null();
      }
      created.text(o->triggered ? "t" : "f").end_row();
    } else {
      changed.text(o->id.view())
          .text(engine::to_string(o->status))
          .number(o->filled.value)
          .wide(o->notional)
          .number(o->updated_at)
          .number(static_cast<std::int64_t>(o->sequence));
      reason_of(changed, *o)
          .number(o->price.value)
          .number(o->quantity.value)
          .number(static_cast<std::int64_t>(o->created_sequence))
          .text(o->amended ? "t" : "f")
          .text(o->triggered ? "t" : "f")
          .end_row();
    }
  }
  copy_rows(tx, "orders", kOrderColumns, created);
  if (changed.rows() > 0) {
    copy_rows(tx, "order_changes", kChangeColumns, changed);
    const pqxx::result updated = tx.exec0(
        "UPDATE orders o SET status = c.status, filled_lots = c.filled_lots,"
        " notional = c.notional, updated_at_us = c.updated_at_us, sequence = c.sequence,"
        " reason = c.reason, price_ticks = c.price_ticks, quantity_lots = c.quantity_lots,"
        " created_sequence = c.created_sequence, amended = c.amended, triggered = c.triggered"
        " FROM order_changes c WHERE o.order_id = c.order_id"
        // An id may be used again after the retention horizon (sql/004_retention.sql): the
        // order a change is about is the one still open; the older ones are finished.
        " AND o.status IN ('open', 'partially_filled')");
    if (updated.affected_rows() != changed.rows()) {
      // The tables lack orders the history says existed: never write on top of that. The
      // transaction rolls back and the caller retries (and logs).
      throw std::logic_error("orders to update: " + std::to_string(changed.rows()) +
                             ", rows found: " + std::to_string(updated.affected_rows()));
    }
  }
  std::size_t positions = 0;
  if (!trades.empty()) {
    // A trade's two orders both have a state in the same command's events, so here; their
    // client ids come from there.
    const auto client_of = [&](const engine::order_id& id) -> std::string_view {
      const auto it = latest_index.find(id.view());
      if (it == latest_index.end()) {
        throw std::logic_error("trade of order " + std::string(id.view()) +
                               " without that order's state in the same events");
      }
      return latest[it->second]->client.view();
    };
    copy_text rows;
    std::vector<cleared_trade> cleared;
    cleared.reserve(trades.size());
    for (const engine::trade* t : trades) {
      cleared.push_back({t, client_of(t->buy_order_id), client_of(t->sell_order_id)});
      rows.number(static_cast<std::int64_t>(t->id))
          .text(instruments[t->instrument].symbol)
          .number(t->price.value)
          .number(t->quantity.value)
          .text(engine::to_string(t->aggressor))
          .text(t->buy_order_id.view())
          .text(t->sell_order_id.view())
          .text(cleared.back().buyer)
          .text(cleared.back().seller)
          .number(t->executed_at)
          .number(static_cast<std::int64_t>(t->sequence))
          .number(t->maker_fee)
          .number(t->taker_fee)
          .end_row();
    }
    copy_rows(tx, "trades", kTradeColumns, rows);
    positions = write_positions(tx, cleared, instruments);
  }
  const std::size_t candles = write_candles(tx, trades, instruments);
  return {latest.size(), states.rows(), trades.size(), candles, positions};
}

}  // namespace matchd::store
