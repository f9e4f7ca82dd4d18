#include <matchd/obs/logger.h>
#include <matchd/store/positions.h>

#include <chrono>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "position_columns.h"
#include "position_writer.h"

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

// Writes `positions` back, one statement.
void upsert(pqxx::transaction_base& tx, const position_map& positions,
            const std::vector<engine::instrument>& instruments) {
  if (positions.empty()) return;
  std::string sql = std::string("INSERT INTO positions (") + kColumns + ") VALUES ";
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
  tx.exec0(sql);
}

std::optional<engine::instrument_id> find(const std::vector<engine::instrument>& instruments,
                                          std::string_view symbol) {
  return engine::find_instrument(instruments, symbol);
}

}  // namespace

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
    const auto instrument = find(instruments, row[1].c_str());
    if (!instrument) continue;  // cannot be: the key was ours
    positions[{row[0].c_str(), *instrument}] = read_position(row, 2);
  }
  for (const cleared_trade& c : trades) {
    const engine::trade& t = *c.trade;
    const clearing::quote_scale scale = clearing::quote_scale::of(instruments.at(t.instrument));
    // find, not operator[]: the keys are there, and a string is made only to look up.
    positions.find({std::string(c.buyer), t.instrument})
        ->second.apply(clearing::buyer_fill(t), scale);
    positions.find({std::string(c.seller), t.instrument})
        ->second.apply(clearing::seller_fill(t), scale);
  }
  upsert(tx, positions, instruments);
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
  tx.exec0("DELETE FROM positions");
  position_map positions;
  std::size_t folded = 0;
  std::size_t skipped = 0;
  // Pages by trade_id, so memory holds one page and the positions.
  constexpr std::size_t kPage = 100'000;
  engine::trade_id after = 0;
  for (;;) {
    const pqxx::result rows = tx.exec(
        "SELECT trade_id, instrument, price_ticks, quantity_lots, aggressor_side, buy_client_id,"
        " sell_client_id, executed_at_us, maker_fee, taker_fee FROM trades WHERE trade_id > " +
        std::to_string(after) + " ORDER BY trade_id LIMIT " + std::to_string(kPage));
    for (const pqxx::row& row : rows) {
      engine::trade t;
      t.id = row[0].as<engine::trade_id>();
      after = t.id;
      const auto instrument = find(instruments, row[1].c_str());
      if (!instrument) {
        ++skipped;
        continue;
      }
      t.instrument = *instrument;
      t.price = engine::price_ticks(row[2].as<std::int64_t>());
      t.quantity = engine::quantity_lots(row[3].as<std::int64_t>());
      t.aggressor =
          std::string_view(row[4].c_str()) == "buy" ? engine::side::buy : engine::side::sell;
      t.executed_at = row[7].as<std::int64_t>();
      t.maker_fee = row[8].as<std::int64_t>();
      t.taker_fee = row[9].as<std::int64_t>();
      const clearing::quote_scale scale = clearing::quote_scale::of(instruments[t.instrument]);
      positions[{row[5].c_str(), t.instrument}].apply(clearing::buyer_fill(t), scale);
      positions[{row[6].c_str(), t.instrument}].apply(clearing::seller_fill(t), scale);
      ++folded;
    }
    if (rows.size() < kPage) break;
  }
  // In statements of bounded size.
  position_map batch;
  for (auto& entry : positions) {
    batch.insert(std::move(entry));
    if (batch.size() == 10'000) {
      upsert(tx, batch, instruments);
      batch.clear();
    }
  }
  upsert(tx, batch, instruments);
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
    if (const auto instrument = find(instruments, row[1].c_str())) {
      f(row[0].c_str(), *instrument, read_position(row, 2));
    }
  }
}

}  // namespace matchd::store
