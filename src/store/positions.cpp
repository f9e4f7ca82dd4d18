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
  const std::size_t skipped = stream_cleared_trades(
      tx, "true", instruments,
      [&](const engine::trade& t, std::string_view buyer, std::string_view seller) {
        const clearing::quote_scale scale = clearing::quote_scale::of(instruments[t.instrument]);
        positions[{std::string(buyer), t.instrument}].apply(clearing::buyer_fill(t), scale);
        positions[{std::string(seller), t.instrument}].apply(clearing::seller_fill(t), scale);
        ++folded;
      });
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
    if (const auto instrument = engine::find_instrument(instruments, row[1].c_str())) {
      f(row[0].c_str(), *instrument, read_position(row, 2));
    }
  }
}

}  // namespace matchd::store
