#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "api_checks.h"

namespace matchd::pgtest {

// Problems found by a check: keeps the first `kKept` and counts all.
class problem_list {
 public:
  static constexpr std::size_t kKept = 50;
  template <class... Parts>
  void add(const Parts&... parts) {
    ++count_;
    if (list_.size() >= kKept) return;
    std::ostringstream out;
    (out << ... << parts);
    list_.push_back(out.str());
  }
  std::vector<std::string> take() {
    if (count_ > list_.size()) {
      list_.push_back("... " + std::to_string(count_ - list_.size()) + " more");
    }
    return std::move(list_);
  }

 private:
  std::vector<std::string> list_;
  std::size_t count_ = 0;
};

// One row of `orders`, read straight from PostgreSQL (ticks, lots, microseconds).
struct db_order {
  std::string order_id;
  std::string client_id;
  std::string instrument;
  std::string side;           // buy | sell
  std::string type;           // limit | market
  std::string time_in_force;  // gtc | ioc | fok ("" when NULL)
  std::string status;
  std::int64_t price_ticks = 0;  // 0 when NULL (market)
  std::int64_t quantity_lots = 0;
  std::int64_t filled_lots = 0;
  std::string notional;  // decimal text of the numeric column, "" when NULL
  std::int64_t created_at_us = 0;
  std::int64_t updated_at_us = 0;
  std::int64_t created_sequence = 0;
  std::int64_t sequence = 0;
};

// One row of `trades`.
struct db_trade {
  std::int64_t trade_id = 0;
  std::string instrument;
  std::int64_t price_ticks = 0;
  std::int64_t quantity_lots = 0;
  std::string aggressor_side;
  std::string buy_order_id;
  std::string sell_order_id;
  std::string buy_client_id;
  std::string sell_client_id;
  std::int64_t executed_at_us = 0;
  std::int64_t sequence = 0;
};

// The committed history: every order and every trade the database holds.
struct db_state {
  std::map<std::string, db_order> orders;  // by order_id
  std::vector<db_trade> trades;            // by trade_id ascending
  std::int64_t max_sequence = 0;           // over orders and trades
  std::int64_t max_trade_id = 0;
};

// Waits until the journal applier has turned every committed journal row into table rows
// (the journal is empty), so the tables hold every acknowledged effect; throws
// std::runtime_error after `timeout`. The readers below call it first.
void wait_for_tables(const std::string& conninfo,
                     std::chrono::seconds timeout = std::chrono::seconds(30));

// Reads every order and trade (one REPEATABLE READ transaction, so both are one snapshot).
db_state load_db_state(const std::string& conninfo);

// The one value of a query that returns one row (an integer), -1 when it is NULL.
std::int64_t query_scalar(const std::string& conninfo, const std::string& sql);

// SELECT count(*) FROM <table>.
std::int64_t count_rows(const std::string& conninfo, const std::string& table);

// The book as SQL aggregates it from the open orders: per side and price, the sum of the
// remaining quantities and the number of orders (docs/api.md units: cents and 1e-8).
e2e::book_sides book_from_open_orders_sql(const std::string& conninfo,
                                          const std::string& instrument = "BTC-USD");

// The result of replaying the committed order history through a reference model.
struct replay_result {
  e2e::book_sides book;
  std::size_t commands = 0;  // placements and cancels replayed
  std::size_t trades = 0;    // trades the model produced
  // Each way the database disagrees with the model (first ones only, with a total count).
  std::vector<std::string> problems;
};

// Replays every order of `instrument` as commands in sequence order through a separately
// written price-time matcher: a placement at the order's created_sequence (its side, type,
// time in force, price and quantity), and a cancel at its last sequence for each limit GTC
// order that ended `cancelled` (only a cancel command ends a resting order so). Checks that the
// model's trades equal the `trades` rows (buyer, seller, price, quantity, aggressor, sequence, in
// trade_id order) and that every order's final status and filled quantity equal its row; returns
// the model's book. A trade's sequence must lie within its command's numbers (from the command's
// first number to the next command's), so this holds whether a command has one number or one per
// event.
replay_result replay_order_history(const db_state& state,
                                   const std::string& instrument = "BTC-USD");

// Fill bookkeeping of the committed history, independent of matching rules: for every
// order 0 <= filled <= quantity, filled == the sum of its trades (as buyer or seller),
// notional == the sum of price x quantity of its trades, status agrees with filled; every
// trade's buy order exists and buys, its sell order exists and sells, each side's client is
// that order's client, the aggressor is the later order, the price is the maker's, the
// trade's sequence lies between the taker's created_sequence and its last sequence, trade ids
// grow with sequence. Empty when all hold.
std::vector<std::string> fill_consistency_problems(const db_state& state);

// The append-only order_events agree with orders: each order's latest event has the row's
// status and filled quantity, filled never decreases from one event to the next, every
// order has events, none before its created_sequence, and no event names an unknown order.
std::vector<std::string> order_events_problems(const std::string& conninfo);

// The book aggregated in C++ from the open / partially filled rows of `state`.
e2e::book_sides book_from_open_orders(const db_state& state,
                                      const std::string& instrument = "BTC-USD");

// "problem 1\nproblem 2\n... (N in all)" for assertion messages, at most `max` lines.
std::string join_problems(const std::vector<std::string>& problems, std::size_t max = 20);

}  // namespace matchd::pgtest
