#pragma once

#include <matchd/clearing/position.h>

#include <pqxx/pqxx>
#include <string>

#include "wide_integer.h"

namespace matchd::store {

// A clearing::position as ten columns, in this order, wherever the tables keep one (positions,
// settlement_entries' closing_*): base lots, quote units, cost units, realized
// units, fee units, bought lots, sold lots, trades, updated_at_us, last_trade_id.

// The position in the ten columns from `first`.
inline clearing::position read_position(const pqxx::row& row, int first) {
  clearing::position p;
  p.base = row[first].as<std::int64_t>();
  p.quote = wide_integer(row[first + 1]);
  p.cost = wide_integer(row[first + 2]);
  p.realized = wide_integer(row[first + 3]);
  p.fees = wide_integer(row[first + 4]);
  p.bought = wide_integer(row[first + 5]);
  p.sold = wide_integer(row[first + 6]);
  p.trades = row[first + 7].as<std::int64_t>();
  p.updated_at = row[first + 8].as<std::int64_t>();
  p.last_trade = row[first + 9].as<engine::trade_id>();
  return p;
}

// Appends ",v": one more value of a row being written into an INSERT.
inline void append_value(std::string& sql, std::int64_t v) {
  sql += ',';
  sql += std::to_string(v);
}
inline void append_wide_value(std::string& sql, engine::int128 v) {
  sql += ',';
  append_wide(sql, v);
}

// Appends ",v1,...,v10": the position's values for an INSERT.
inline void append_position_values(std::string& sql, const clearing::position& p) {
  append_value(sql, p.base);
  append_wide_value(sql, p.quote);
  append_wide_value(sql, p.cost);
  append_wide_value(sql, p.realized);
  append_wide_value(sql, p.fees);
  append_wide_value(sql, p.bought);
  append_wide_value(sql, p.sold);
  append_value(sql, p.trades);
  append_value(sql, p.updated_at);
  append_value(sql, static_cast<std::int64_t>(p.last_trade));
}

}  // namespace matchd::store
