#include <matchd/clearing/position.h>
#include <matchd/codec/json_writer.h>
#include <matchd/codec/timestamp.h>
#include <matchd/engine/decimal.h>
#include <matchd/store/recovery.h>
#include <matchd/store/settlements.h>

#include <limits>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <utility>

#include "position_columns.h"
#include "position_writer.h"

namespace matchd::store {

namespace {

using engine::int128;

constexpr auto kNoLower = std::numeric_limits<std::int64_t>::min();

// The entry columns after settlement_id, in this order everywhere.
constexpr const char* kEntryColumns =
    "client_id, instrument, net_base_lots, net_quote_units, fee_units, bought_lots, sold_lots,"
    " trades, realized_units, closing_base_lots, closing_quote_units,"
    " closing_cost_units, closing_realized_units, closing_fee_units,"
    " closing_bought_lots, closing_sold_lots, closing_trades, closing_updated_at_us,"
    " closing_last_trade_id";

constexpr const char* kClosingUpsertTail =
    " ON CONFLICT (instrument, client_id) DO UPDATE SET settlement_id = EXCLUDED.settlement_id,"
    " base_lots = EXCLUDED.base_lots, quote_units = EXCLUDED.quote_units,"
    " cost_units = EXCLUDED.cost_units, realized_units = EXCLUDED.realized_units,"
    " fee_units = EXCLUDED.fee_units, bought_lots = EXCLUDED.bought_lots,"
    " sold_lots = EXCLUDED.sold_lots, trades = EXCLUDED.trades,"
    " updated_at_us = EXCLUDED.updated_at_us, last_trade_id = EXCLUDED.last_trade_id";

struct pair_state {
  clearing::position opening;
  clearing::position closing;
};

// Folds the instrument's trades in [from, to) into `pairs`, in trade order; each pair starts
// from its newest earlier closing position.
void fold_window(pqxx::transaction_base& tx, const engine::instrument& ins,
                 engine::instrument_id id, std::int64_t from, std::int64_t to,
                 std::map<std::pair<std::string, engine::instrument_id>, pair_state>& pairs) {
  std::map<std::string, clearing::position> openings;
  for (const pqxx::row& row : tx.exec_params(
           "SELECT client_id, base_lots, quote_units, cost_units, realized_units, fee_units,"
           " bought_lots, sold_lots, trades, updated_at_us, last_trade_id"
           " FROM settlement_closings WHERE instrument = $1",
           ins.symbol)) {
    openings.emplace(row[0].c_str(), read_position(row, 1));
  }
  const clearing::quote_scale scale = clearing::quote_scale::of(ins);
  const auto side_of = [&](std::string_view client) -> clearing::position& {
    auto [it, fresh] = pairs.try_emplace({std::string(client), id});
    if (fresh) {
      if (const auto o = openings.find(std::string(client)); o != openings.end()) {
        it->second.opening = o->second;
        it->second.closing = o->second;
      }
    }
    return it->second.closing;
  };
  const std::vector<engine::instrument> only{ins};  // resolves to 0; `id` is the caller's
  stream_cleared_trades(
      tx,
      "instrument = '" + tx.esc(ins.symbol) + "' AND executed_at_us >= " + std::to_string(from) +
          " AND executed_at_us < " + std::to_string(to),
      only, [&](const engine::trade& t, std::string_view buyer, std::string_view seller) {
        side_of(buyer).apply(clearing::buyer_fill(t), scale);
        side_of(seller).apply(clearing::seller_fill(t), scale);
      });
}

void insert_entries(
    pqxx::transaction_base& tx, std::int64_t settlement_id,
    const std::vector<engine::instrument>& instruments,
    const std::map<std::pair<std::string, engine::instrument_id>, pair_state>& pairs) {
  std::string sql;
  std::size_t rows = 0;
  const auto flush = [&] {
    if (rows == 0) return;
    tx.exec0(sql);
    sql.clear();
    rows = 0;
  };
  for (const auto& [key, s] : pairs) {
    if (rows == 0) {
      sql = std::string("INSERT INTO settlement_entries (settlement_id, ") + kEntryColumns +
            ") VALUES ";
    } else {
      sql += ',';
    }
    const clearing::position& o = s.opening;
    const clearing::position& c = s.closing;
    sql += '(';
    sql += std::to_string(settlement_id);
    sql += ",'";
    sql += tx.esc(key.first);
    sql += "','";
    sql += tx.esc(instruments.at(key.second).symbol);
    sql += '\'';
    append_value(sql, c.base - o.base);
    append_wide_value(sql, c.quote - o.quote);
    append_wide_value(sql, c.fees - o.fees);
    append_wide_value(sql, c.bought - o.bought);
    append_wide_value(sql, c.sold - o.sold);
    append_value(sql, c.trades - o.trades);
    append_wide_value(sql, c.realized - o.realized);
    append_position_values(sql, c);
    sql += ')';
    if (++rows == 500) flush();
  }
  flush();
  // Where each pair's next entry starts.
  const auto upsert = [&] {
    if (rows == 0) return;
    sql += kClosingUpsertTail;
    flush();
  };
  for (const auto& [key, s] : pairs) {
    if (rows == 0) {
      sql =
          "INSERT INTO settlement_closings (instrument, client_id, settlement_id, base_lots,"
          " quote_units, cost_units, realized_units, fee_units, bought_lots, sold_lots, trades,"
          " updated_at_us, last_trade_id) VALUES ";
    } else {
      sql += ',';
    }
    sql += "('";
    sql += tx.esc(instruments.at(key.second).symbol);
    sql += "','";
    sql += tx.esc(key.first);
    sql += "',";
    sql += std::to_string(settlement_id);
    append_position_values(sql, s.closing);
    sql += ')';
    if (++rows == 500) upsert();
  }
  upsert();
}

// One entry as the API shows it, every amount at its instrument's precision.
struct entry_text {
  std::string client;
  std::string instrument;
  std::string net_base, net_quote, fees, buy_volume, sell_volume, realized, closing_base,
      closing_quote;
  std::int64_t trades = 0;
};

std::string decimal(int128 units, int scale) {
  char buf[engine::kMaxFormattedDecimal];
  return std::string(buf, engine::format_decimal_wide(units, scale, buf));
}

struct totals {
  int128 net_base = 0, net_quote = 0, fees = 0, bought = 0, sold = 0;
  std::int64_t sides = 0;
};

}  // namespace

settlement_outcome settle(pqxx::transaction_base& tx,
                          const std::vector<engine::instrument>& configured,
                          engine::timestamp_us cutoff, engine::timestamp_us now) {
  // Every instrument that can have trades in the window: the caller's, and those added at
  // runtime that it may not have heard of yet (their rows commit before any of their trades).
  std::vector<engine::instrument> instruments = configured;
  for (engine::instrument& ins : read_added_instruments(tx)) {
    if (!engine::find_instrument(instruments, ins.symbol)) instruments.push_back(std::move(ins));
  }
  // One maker at a time: a second waits here, then finds the first's row.
  tx.exec0("LOCK TABLE settlements IN EXCLUSIVE MODE");
  const pqxx::result same =
      tx.exec_params("SELECT settlement_id FROM settlements WHERE cutoff_us = $1", cutoff);
  if (!same.empty()) {
    return {settlement_outcome::kind::existing,
            *settlement_body(tx, instruments, same[0][0].as<std::uint64_t>(), false, nullptr)};
  }
  const pqxx::result last =
      tx.exec("SELECT settlement_id, cutoff_us FROM settlements ORDER BY cutoff_us DESC LIMIT 1");
  std::int64_t id = 1;
  std::optional<std::int64_t> previous;
  if (!last.empty()) {
    previous = last[0][1].as<std::int64_t>();
    if (*previous > cutoff) {
      return {settlement_outcome::kind::out_of_order, "a settlement with the later cutoff " +
                                                          codec::format_timestamp(*previous) +
                                                          " exists; cutoffs must not go back"};
    }
    id = last[0][0].as<std::int64_t>() + 1;
  }
  std::map<std::pair<std::string, engine::instrument_id>, pair_state> pairs;
  for (engine::instrument_id i = 0; i < instruments.size(); ++i) {
    fold_window(tx, instruments[i], i, previous.value_or(kNoLower), cutoff, pairs);
  }
  if (previous) {
    tx.exec_params(
        "INSERT INTO settlements (settlement_id, cutoff_us, previous_cutoff_us, created_at_us)"
        " VALUES ($1, $2, $3, $4)",
        id, cutoff, *previous, now);
  } else {
    tx.exec_params(
        "INSERT INTO settlements (settlement_id, cutoff_us, previous_cutoff_us, created_at_us)"
        " VALUES ($1, $2, NULL, $3)",
        id, cutoff, now);
  }
  insert_entries(tx, id, instruments, pairs);
  return {settlement_outcome::kind::created,
          *settlement_body(tx, instruments, static_cast<std::uint64_t>(id), false, nullptr)};
}

std::string settlement_list_body(pqxx::transaction_base& tx, std::size_t limit) {
  std::string body;
  codec::json_writer w(body);
  w.begin_object();
  w.key("settlements");
  w.begin_array();
  for (const pqxx::row& row : tx.exec_params(
           "SELECT s.settlement_id, s.cutoff_us, s.previous_cutoff_us, s.created_at_us,"
           " (SELECT count(*) FROM settlement_entries e WHERE e.settlement_id = s.settlement_id)"
           " FROM settlements s ORDER BY s.cutoff_us DESC LIMIT $1",
           static_cast<std::int64_t>(limit))) {
    w.begin_object();
    w.key("settlement_id");
    w.string_value(row[0].c_str());
    w.key("cutoff");
    w.timestamp_value(row[1].as<std::int64_t>());
    w.key("previous_cutoff");
    if (row[2].is_null()) {
      w.null_value();
    } else {
      w.timestamp_value(row[2].as<std::int64_t>());
    }
    w.key("created_at");
    w.timestamp_value(row[3].as<std::int64_t>());
    w.key("entries");
    w.int_value(row[4].as<std::int64_t>());
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return body;
}

std::optional<std::string> settlement_body(pqxx::transaction_base& tx,
                                           const std::vector<engine::instrument>& instruments,
                                           std::uint64_t settlement_id, bool csv,
                                           const engine::client_scope& scope) {
  const pqxx::result head = tx.exec_params(
      "SELECT cutoff_us, previous_cutoff_us, created_at_us FROM settlements"
      " WHERE settlement_id = $1",
      static_cast<std::int64_t>(settlement_id));
  if (head.empty()) return std::nullopt;
  const std::int64_t cutoff = head[0][0].as<std::int64_t>();
  std::vector<entry_text> entries;
  std::map<std::string, totals> sums;  // by instrument symbol
  for (const pqxx::row& row : tx.exec_params(std::string("SELECT ") + kEntryColumns +
                                                 " FROM settlement_entries WHERE settlement_id = "
                                                 "$1 ORDER BY client_id, instrument",
                                             static_cast<std::int64_t>(settlement_id))) {
    const auto client = engine::client_id::from(row[0].c_str());
    if (!engine::in_scope(scope, client)) continue;
    const auto id = engine::find_instrument(instruments, row[1].c_str());
    if (!id) continue;  // an instrument no longer configured: its increments are unknown
    const engine::instrument& ins = instruments[*id];
    const int qs = ins.quantity_scale;
    const int quote_scale = ins.price_scale + ins.quantity_scale;
    const int128 lot = ins.lot_units;
    entry_text e;
    e.client = row[0].c_str();
    e.instrument = ins.symbol;
    const int128 net_base = row[2].as<std::int64_t>();
    const int128 net_quote = wide_integer(row[3]);
    const int128 fees = wide_integer(row[4]);
    const int128 bought = wide_integer(row[5]);
    const int128 sold = wide_integer(row[6]);
    e.trades = row[7].as<std::int64_t>();
    e.net_base = decimal(net_base * lot, qs);
    e.net_quote = decimal(net_quote, quote_scale);
    e.fees = decimal(fees, ins.price_scale);
    e.buy_volume = decimal(bought * lot, qs);
    e.sell_volume = decimal(sold * lot, qs);
    e.realized = decimal(wide_integer(row[8]), quote_scale);
    e.closing_base = decimal(static_cast<int128>(row[9].as<std::int64_t>()) * lot, qs);
    e.closing_quote = decimal(wide_integer(row[10]), quote_scale);
    entries.push_back(std::move(e));
    totals& t = sums[ins.symbol];
    t.net_base += net_base;
    t.net_quote += net_quote;
    t.fees += fees;
    t.bought += bought;
    t.sold += sold;
    t.sides += row[7].as<std::int64_t>();
  }
  if (csv) {
    std::string out =
        "settlement_id,cutoff,client_id,instrument,net_base,net_quote,fees,buy_volume,"
        "sell_volume,trades,realized_pnl,closing_base_position,closing_quote_position\n";
    const std::string id_text = std::to_string(settlement_id);
    const std::string cutoff_text = codec::format_timestamp(cutoff);
    for (const entry_text& e : entries) {
      // Ids are [A-Za-z0-9._:-] and amounts plain decimals: nothing needs quoting.
      for (const std::string* v : {&id_text, &cutoff_text, &e.client, &e.instrument, &e.net_base,
                                   &e.net_quote, &e.fees, &e.buy_volume, &e.sell_volume}) {
        out += *v;
        out += ',';
      }
      out += std::to_string(e.trades);
      for (const std::string* v : {&e.realized, &e.closing_base, &e.closing_quote}) {
        out += ',';
        out += *v;
      }
      out += '\n';
    }
    return out;
  }
  std::string body;
  codec::json_writer w(body);
  w.begin_object();
  w.key("settlement");
  w.begin_object();
  w.key("settlement_id");
  w.string_value(std::to_string(settlement_id));
  w.key("cutoff");
  w.timestamp_value(cutoff);
  w.key("previous_cutoff");
  if (head[0][1].is_null()) {
    w.null_value();
  } else {
    w.timestamp_value(head[0][1].as<std::int64_t>());
  }
  w.key("created_at");
  w.timestamp_value(head[0][2].as<std::int64_t>());
  w.key("entries");
  w.begin_array();
  for (const entry_text& e : entries) {
    w.begin_object();
    w.key("client_id");
    w.string_value(e.client);
    w.key("instrument");
    w.string_value(e.instrument);
    for (const auto& [name, value] :
         {std::pair{"net_base", &e.net_base}, std::pair{"net_quote", &e.net_quote},
          std::pair{"fees", &e.fees}, std::pair{"buy_volume", &e.buy_volume},
          std::pair{"sell_volume", &e.sell_volume}}) {
      w.key(name);
      w.plain_string_value(*value);
    }
    w.key("trades");
    w.int_value(e.trades);
    for (const auto& [name, value] : {std::pair{"realized_pnl", &e.realized},
                                      std::pair{"closing_base_position", &e.closing_base},
                                      std::pair{"closing_quote_position", &e.closing_quote}}) {
      w.key(name);
      w.plain_string_value(*value);
    }
    w.end_object();
  }
  w.end_array();
  // Per instrument: the entries' sums. net_base is zero and net_quote minus the fees when
  // every client is in (an admin's view); fills counts both sides of each trade.
  w.key("totals");
  w.begin_object();
  for (const auto& [symbol, t] : sums) {
    const engine::instrument& ins = instruments[*engine::find_instrument(instruments, symbol)];
    const int128 lot = ins.lot_units;
    w.key(symbol);
    w.begin_object();
    w.key("net_base");
    w.plain_string_value(decimal(t.net_base * lot, ins.quantity_scale));
    w.key("net_quote");
    w.plain_string_value(decimal(t.net_quote, ins.price_scale + ins.quantity_scale));
    w.key("fees");
    w.plain_string_value(decimal(t.fees, ins.price_scale));
    w.key("buy_volume");
    w.plain_string_value(decimal(t.bought * lot, ins.quantity_scale));
    w.key("sell_volume");
    w.plain_string_value(decimal(t.sold * lot, ins.quantity_scale));
    w.key("fills");
    w.int_value(t.sides);
    w.end_object();
  }
  w.end_object();
  w.end_object();
  w.end_object();
  return body;
}

}  // namespace matchd::store
