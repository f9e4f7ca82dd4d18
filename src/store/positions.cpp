#include <matchd/analytics/candle.h>
#include <matchd/obs/logger.h>
#include <matchd/store/copy_text.h>
#include <matchd/store/positions.h>

#include <chrono>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "position_columns.h"
#include "position_writer.h"
#include "table_writer.h"

namespace matchd::store {

namespace {

constexpr const char* kColumns =
    "client_id, instrument, base_lots, quote_units, cost_units, realized_units, "
    "fee_units, bought_lots, sold_lots, trades, updated_at_us, last_trade_id";

// Every column is replaced: the row is the fold of all the pair's trades, made here.
constexpr const char* kUpsertTail =
    " ON CONFLICT (client_id, instrument) DO UPDATE SET base_lots = EXCLUDED.base_lots,"
    " quote_units = EXCLUDED.quote_units, cost_units = EXCLUDED.cost_units,"
    " realized_units = EXCLUDED.realized_units, fee_units = EXCLUDED.fee_units,"
    " bought_lots = EXCLUDED.bought_lots, sold_lots = EXCLUDED.sold_lots,"
    " trades = EXCLUDED.trades, updated_at_us = EXCLUDED.updated_at_us,"
    " last_trade_id = EXCLUDED.last_trade_id";

// ('client','instrument'): esc() and our own quotes (quote() trips GCC 12's false -Wrestrict
// at -O3, bug 105651).
void append_key(std::string& sql, pqxx::transaction_base& tx, std::string_view client,
                std::string_view instrument) {
  sql += "('";
  sql += tx.esc(std::string(client));
  sql += "','";
  sql += tx.esc(std::string(instrument));
  sql += "')";
}

using position_key = std::pair<std::string, engine::instrument_id>;
using position_map = std::map<position_key, clearing::position>;

// Appends the statement that writes `positions` back (none when empty).
void append_upsert(std::string& sql, pqxx::transaction_base& tx, const position_map& positions,
                   const std::vector<engine::instrument>& instruments) {
  if (positions.empty()) return;
  sql += "INSERT INTO positions (";
  sql += kColumns;
  sql += ") VALUES ";
  bool first = true;
  for (const auto& [key, p] : positions) {
    if (!first) sql += ',';
    first = false;
    sql += '(';
    sql += '\'';
    sql += tx.esc(key.first);
    sql += "','";
    sql += tx.esc(instruments.at(key.second).symbol);
    sql += '\'';
    append_position_values(sql, p);
    sql += ')';
  }
  sql += kUpsertTail;
}

// Runs the statements in `sql` (';'-separated; none when empty): one round trip.
void run(pqxx::transaction_base& tx, const std::string& sql) {
  if (!sql.empty()) tx.exec0(sql);
}

// The positions at the end of each UTC minute a run of trades (in trade order) moves them in,
// for `position_history` (sql/016_position_history.sql): after each fill, record() the pair's
// position; a pair's row is done when a fill of a later minute comes, or at the end of the run.
// Keys point into the caller's position_map, which outlives this.
class minute_history {
 public:
  void record(const position_key& key, const clearing::position& p) {
    const engine::timestamp_us minute =
        analytics::bucket_start(analytics::interval::m1, p.updated_at);
    const auto [it, added] = newest_.try_emplace(&key, minute_row{minute});
    if (minute > it->second.minute) {
      done_.emplace_back(&key, it->second);
      it->second.minute = minute;
    }
    // A time before the row's minute (trade times never go back; a database edited by hand
    // might) stays in the later minute: one row per minute, as the upsert needs.
    it->second.base = p.base;
    it->second.cost = p.cost;
    it->second.realized = p.realized;
    it->second.fees = p.fees;
  }
  std::size_t done() const noexcept { return done_.size(); }
  // Sends the done rows through one COPY, and forgets them: for a history being written
  // afresh, where no row is there yet (no conflict to resolve, and COPY is many times faster
  // than an INSERT of the same rows).
  void copy(pqxx::transaction_base& tx, const std::vector<engine::instrument>& instruments) {
    copy_text rows;
    for (const auto& [key, row] : done_) {
      rows.text(key->first)
          .text(instruments.at(key->second).symbol)
          .number(row.minute)
          .number(row.base)
          .wide(row.cost)
          .wide(row.realized)
          .wide(row.fees)
          .end_row();
    }
    copy_rows(tx, "position_history",
              {"client_id", "instrument", "minute_us", "base_lots", "cost_units", "realized_units",
               "fee_units"},
              rows);
    done_.clear();
  }
  // The run ended: every pair's newest row is done too.
  void finish() {
    for (const auto& [key, row] : newest_) done_.emplace_back(key, row);
    newest_.clear();
  }
  // Appends the statement that writes the done rows (none: no statement), and forgets them.
  // A row of a minute already there replaces it: a later chunk of trades of the same minute.
  void append_upsert(std::string& sql, pqxx::transaction_base& tx,
                     const std::vector<engine::instrument>& instruments) {
    if (done_.empty()) return;
    sql +=
        "INSERT INTO position_history (client_id, instrument, minute_us, base_lots, cost_units,"
        " realized_units, fee_units) VALUES ";
    bool first = true;
    for (const auto& [key, row] : done_) {
      if (!first) sql += ',';
      first = false;
      sql += "('";
      sql += tx.esc(key->first);
      sql += "','";
      sql += tx.esc(instruments.at(key->second).symbol);
      sql += '\'';
      append_value(sql, row.minute);
      append_value(sql, row.base);
      append_wide_value(sql, row.cost);
      append_wide_value(sql, row.realized);
      append_wide_value(sql, row.fees);
      sql += ')';
    }
    sql +=
        " ON CONFLICT (client_id, instrument, minute_us) DO UPDATE SET"
        " base_lots = EXCLUDED.base_lots, cost_units = EXCLUDED.cost_units,"
        " realized_units = EXCLUDED.realized_units, fee_units = EXCLUDED.fee_units";
    done_.clear();
  }

 private:
  struct minute_row {
    engine::timestamp_us minute = 0;
    std::int64_t base = 0;
    engine::int128 cost = 0;
    engine::int128 realized = 0;
    engine::int128 fees = 0;
  };
  std::map<const position_key*, minute_row> newest_;
  std::vector<std::pair<const position_key*, minute_row>> done_;
};

// The fields of a tab-separated COPY line without backslashes (ids and numbers only).
std::vector<std::string_view> split_tabs(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i < line.size() && line[i] != '\t') continue;
    out.push_back(line.substr(start, i - start));
    start = i + 1;
  }
  return out;
}

std::int64_t number(std::string_view text) {
  return std::stoll(std::string(text));
}

}  // namespace

std::size_t stream_cleared_trades(
    pqxx::transaction_base& tx, const std::string& where,
    const std::vector<engine::instrument>& instruments,
    const std::function<void(const engine::trade&, std::string_view buyer,
                             std::string_view seller)>& f) {
  pqxx::stream_from rows(
      tx,
      "(SELECT trade_id, instrument, price_ticks, quantity_lots, aggressor_side,"
      " buy_client_id, sell_client_id, maker_fee, taker_fee, executed_at_us FROM trades"
      " WHERE " +
          where + " ORDER BY trade_id)");
  std::size_t skipped = 0;
  std::string line;
  while (rows.get_raw_line(line)) {
    const auto v = split_tabs(line);
    if (v.size() != 10) throw std::runtime_error("unexpected trade row: " + line);
    const auto instrument = engine::find_instrument(instruments, v[1]);
    if (!instrument) {
      ++skipped;
      continue;
    }
    engine::trade t;
    t.id = static_cast<engine::trade_id>(number(v[0]));
    t.instrument = *instrument;
    t.price = engine::price_ticks(number(v[2]));
    t.quantity = engine::quantity_lots(number(v[3]));
    t.aggressor = v[4] == "buy" ? engine::side::buy : engine::side::sell;
    t.maker_fee = number(v[7]);
    t.taker_fee = number(v[8]);
    t.executed_at = number(v[9]);
    f(t, v[5], v[6]);
  }
  rows.complete();
  return skipped;
}

std::size_t write_positions(pqxx::transaction_base& tx, std::span<const cleared_trade> trades,
                            const std::vector<engine::instrument>& instruments) {
  if (trades.empty()) return 0;
  position_map positions;
  for (const cleared_trade& c : trades) {
    positions.try_emplace({std::string(c.buyer), c.trade->instrument});
    positions.try_emplace({std::string(c.seller), c.trade->instrument});
  }
  std::string sql = std::string("SELECT ") + kColumns +
                    " FROM positions WHERE (client_id, instrument) IN (VALUES ";
  bool first = true;
  for (const auto& [key, p] : positions) {
    if (!first) sql += ',';
    first = false;
    append_key(sql, tx, key.first, instruments.at(key.second).symbol);
  }
  sql += ')';
  for (const pqxx::row& row : tx.exec(sql)) {
    const auto instrument = engine::find_instrument(instruments, row[1].c_str());
    if (!instrument) continue;  // cannot be: the key was ours
    positions[{row[0].c_str(), *instrument}] = read_position(row, 2);
  }
  minute_history history;
  for (const cleared_trade& c : trades) {
    const engine::trade& t = *c.trade;
    const clearing::quote_scale scale = clearing::quote_scale::of(instruments.at(t.instrument));
    // find, not operator[]: the keys are there, and a string is made only to look up.
    const auto buyer = positions.find({std::string(c.buyer), t.instrument});
    buyer->second.apply(clearing::buyer_fill(t), scale);
    history.record(buyer->first, buyer->second);
    const auto seller = positions.find({std::string(c.seller), t.instrument});
    seller->second.apply(clearing::seller_fill(t), scale);
    history.record(seller->first, seller->second);
  }
  history.finish();
  std::string writes;
  append_upsert(writes, tx, positions, instruments);
  writes += ';';
  history.append_upsert(writes, tx, instruments);
  run(tx, writes);
  return positions.size();
}

std::size_t complete_positions(const std::string& conninfo,
                               const std::vector<engine::instrument>& instruments) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  if (tx.exec1("SELECT complete FROM positions_progress WHERE id = 1 FOR UPDATE")[0].as<bool>()) {
    return 0;
  }
  const auto started = std::chrono::steady_clock::now();
  tx.exec0("DELETE FROM positions; DELETE FROM position_history");
  position_map positions;
  minute_history history;
  constexpr std::size_t kRowsPerStatement = 10'000;
  std::size_t folded = 0;
  std::size_t skipped = 0;
  // Pages of trade ids, each its own COPY out: the history's rows are copied in between them
  // (nothing else runs while a COPY is open), so memory follows the page, not the history.
  constexpr std::int64_t kTradeIdsPerPage = 200'000;
  const auto newest =
      tx.exec1("SELECT coalesce(max(trade_id), 0) FROM trades")[0].as<std::int64_t>();
  for (std::int64_t after = 0; after < newest; after += kTradeIdsPerPage) {
    skipped += stream_cleared_trades(
        tx,
        "trade_id > " + std::to_string(after) +
            " AND trade_id <= " + std::to_string(after + kTradeIdsPerPage),
        instruments, [&](const engine::trade& t, std::string_view buyer, std::string_view seller) {
          const clearing::quote_scale scale = clearing::quote_scale::of(instruments[t.instrument]);
          const auto b = positions.try_emplace({std::string(buyer), t.instrument}).first;
          b->second.apply(clearing::buyer_fill(t), scale);
          history.record(b->first, b->second);
          const auto s = positions.try_emplace({std::string(seller), t.instrument}).first;
          s->second.apply(clearing::seller_fill(t), scale);
          history.record(s->first, s->second);
          ++folded;
        });
    history.copy(tx, instruments);
  }
  history.finish();
  history.copy(tx, instruments);
  position_map batch;
  for (auto& entry : positions) {
    batch.insert(std::move(entry));
    if (batch.size() == kRowsPerStatement) {
      std::string sql;
      append_upsert(sql, tx, batch, instruments);
      run(tx, sql);
      batch.clear();
    }
  }
  std::string sql;
  append_upsert(sql, tx, batch, instruments);
  run(tx, sql);
  tx.exec0("UPDATE positions_progress SET complete = true WHERE id = 1");
  tx.commit();
  obs::logger("store")->info(
      "positions built from earlier trades trades={} positions={} skipped_unknown_instrument={} "
      "seconds={:.3f}",
      folded, positions.size(), skipped,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return folded;
}

void read_positions(
    pqxx::transaction_base& tx, const std::vector<engine::instrument>& instruments,
    const std::function<void(std::string_view client, engine::instrument_id instrument,
                             const clearing::position&)>& f) {
  for (const pqxx::row& row : tx.exec(std::string("SELECT ") + kColumns + " FROM positions")) {
    if (const auto instrument = engine::find_instrument(instruments, row[1].c_str())) {
      f(row[0].c_str(), *instrument, read_position(row, 2));
    }
  }
}

}  // namespace matchd::store
