#include "durability_checks.h"

#include <algorithm>
#include <ctime>
#include <set>
#include <sstream>
#include <unordered_map>

#include "api_checks.h"
#include "daemon_process.h"
#include "order_builders.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using nlohmann::json;

std::int64_t units(const json& value, int scale) {
  return e2e::decimal_units(value, scale).value_or(-1);
}

std::int64_t micros(const json& value) {
  return value.is_string() ? rfc3339_to_micros(value.get<std::string>()).value_or(-1) : -1;
}

bool is_terminal(const std::string& status) {
  return status == "filled" || status == "cancelled" || status == "rejected";
}

}  // namespace

std::vector<std::string> durable_daemon_args(const std::string& conninfo,
                                             std::vector<std::string> extra) {
  std::vector<std::string> args = e2e::daemon_process::default_args();
  args.insert(args.end(), {"--db", conninfo});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

void kill_under_load(e2e::daemon_process& daemon, order_load& load, std::uint64_t min_acks,
                     std::chrono::milliseconds duration) {
  const auto started = std::chrono::steady_clock::now();
  load.start();
  // At least `duration` of load, and `min_acks` acknowledgements, within 20 s.
  (void)test::wait_until(
      [&] {
        return std::chrono::steady_clock::now() - started >= duration &&
               load.acknowledged() >= min_acks;
      },
      std::chrono::seconds(20), std::chrono::milliseconds(20));
  daemon.kill9();
  load.stop();
}

order_burst::order_burst(std::uint16_t port, int senders, std::chrono::milliseconds timeout)
    : records_(static_cast<std::size_t>(senders)) {
  for (int i = 0; i < senders; ++i) {
    senders_.emplace_back([this, port, timeout, i] {
      exchange_record& r = records_[static_cast<std::size_t>(i)];
      r.order_id = "burst-" + std::to_string(i);
      r.request = e2e::limit_order(r.order_id, "client-burst", i % 2 == 0 ? "buy" : "sell",
                                   i % 2 == 0 ? "99.00" : "101.00", "0.001");
      r.sent = std::chrono::steady_clock::now();
      try {
        e2e::http_client http(port, timeout);
        const e2e::http_response response = http.post_json("/orders", r.request);
        r.status = response.status;
        r.response = response.json();
        r.retry_after = response.header("Retry-After");
      } catch (const std::exception& e) {
        r.transport_error = e.what();
      }
      r.answered = std::chrono::steady_clock::now();
      answered_.fetch_add(1);
    });
  }
}

order_burst::~order_burst() {
  join();
}

void order_burst::join() {
  for (std::thread& t : senders_) {
    if (t.joinable()) t.join();
  }
}

burst_outcome expect_waited_or_refused(const std::vector<exchange_record>& burst,
                                       std::chrono::steady_clock::time_point back_at) {
  burst_outcome outcome;
  for (const exchange_record& r : burst) {
    if (r.status == 201) {
      ++outcome.waited;
      EXPECT_GE(r.answered, back_at)
          << "acknowledged while the database was away: " << r.describe();
    } else if (r.status == 503) {
      ++outcome.refused;
      EXPECT_EQ(r.response["error"].value("code", ""), "overloaded") << r.describe();
      EXPECT_FALSE(r.retry_after.empty()) << "503 without Retry-After: " << r.describe();
      EXPECT_LT(r.answered, back_at)
          << "a refusal must not wait for the database: " << r.describe();
    } else {
      ADD_FAILURE() << "an order sent while the database is away must get 201 once it is "
                       "back, or 503 overloaded at once: "
                    << r.describe();
    }
  }
  EXPECT_GT(outcome.waited, 0u) << "orders within the in-flight budget wait for the database";
  EXPECT_GT(outcome.refused, 0u) << "more orders than the in-flight budget must see 503 overloaded";
  return outcome;
}

e2e::http_response wait_for_readyz(std::uint16_t port, unsigned status,
                                   std::chrono::milliseconds timeout) {
  e2e::http_client http(port, std::chrono::milliseconds(2000));
  e2e::http_response last;
  (void)test::wait_until(
      [&] {
        try {
          last = http.get("/readyz");
        } catch (const e2e::transport_error& e) {
          last = e2e::http_response{};
          last.body = e.what();
          http.close();
        }
        return last.status == status;
      },
      timeout, std::chrono::milliseconds(50));
  return last;
}

std::optional<std::int64_t> rfc3339_to_micros(const std::string& text) {
  // YYYY-MM-DDTHH:MM:SS.ffffffZ
  if (text.size() != 27 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != '.' || text[26] != 'Z') {
    return std::nullopt;
  }
  auto number = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    int value = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const auto year = number(0, 4), month = number(5, 2), day = number(8, 2), hour = number(11, 2),
             minute = number(14, 2), second = number(17, 2), fraction = number(20, 6);
  if (!year || !month || !day || !hour || !minute || !second || !fraction) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  const std::time_t seconds = ::timegm(&tm);
  return static_cast<std::int64_t>(seconds) * 1000000 + *fraction;
}

bool status_may_follow(const std::string& acked, const std::string& now) {
  if (acked == now) return true;
  if (acked == "open") {
    return now == "partially_filled" || now == "filled" || now == "cancelled";
  }
  if (acked == "partially_filled") return now == "filled" || now == "cancelled";
  return false;
}

std::vector<std::string> acknowledged_effects_problems(const db_state& db,
                                                       const std::vector<exchange_record>& records,
                                                       ack_check_counts* checked) {
  problem_list problems;
  ack_check_counts counts;
  std::unordered_map<std::int64_t, const db_trade*> trades_by_id;
  for (const db_trade& t : db.trades) trades_by_id[t.trade_id] = &t;
  std::set<std::int64_t> acknowledged_trade_ids;

  for (const exchange_record& r : records) {
    if (r.what == exchange_record::kind::place && r.status != 201) {
      if (r.status >= 400) {
        ++counts.refused;
        if (db.orders.contains(r.order_id)) {
          problems.add("refused order ", r.order_id, " exists in the orders table: ", r.describe());
        }
      }
      if (r.acknowledged()) problems.add("a place answered other than 201: ", r.describe());
      continue;
    }
    if (!r.acknowledged()) continue;
    const json& order = r.response.contains("order") ? r.response["order"] : json();
    const auto row_it = db.orders.find(r.order_id);
    if (!order.is_object() || order.value("order_id", "") != r.order_id) {
      problems.add("acknowledgement without the order: ", r.describe());
      continue;
    }
    if (row_it == db.orders.end()) {
      problems.add("acknowledged order ", r.order_id, " is missing from the orders table (",
                   r.describe(), ")");
      continue;
    }
    const db_order& row = row_it->second;
    const std::string acked_status = order.value("status", "");
    const std::int64_t acked_filled = units(order["filled_quantity"], 8);

    if (r.what == exchange_record::kind::cancel) {
      ++counts.cancels;
      if (r.status != 200 || acked_status != "cancelled") {
        problems.add("cancel acknowledged with something else than 200 cancelled: ", r.describe());
      }
      if (row.status != "cancelled" || row.filled_lots != acked_filled) {
        problems.add("cancel of ", r.order_id, " was acknowledged (filled ", acked_filled,
                     ") but the row is ", row.status, " filled ", row.filled_lots);
      }
      continue;
    }

    ++counts.orders;
    const json& request = r.request;
    const std::int64_t quantity = units(order["quantity"], 8);
    if (row.client_id != order.value("client_id", "") || row.side != order.value("side", "") ||
        row.type != order.value("type", "") || row.quantity_lots != quantity ||
        quantity != units(request["quantity"], 8) ||
        (row.type == "limit" && row.price_ticks != units(order["price"], 2)) ||
        row.created_at_us != micros(order["created_at"]) ||
        row.created_sequence > order.value("sequence", std::int64_t{0})) {
      problems.add("order ", r.order_id, ": row (client ", row.client_id, ", ", row.side, " ",
                   row.type, " ", row.quantity_lots, " @ ", row.price_ticks, ", created ",
                   row.created_at_us, " seq ", row.created_sequence,
                   ") differs from the acknowledged order ", order.dump());
    }
    if (!status_may_follow(acked_status, row.status) || row.filled_lots < acked_filled ||
        (is_terminal(acked_status) && row.filled_lots != acked_filled) ||
        row.sequence < order.value("sequence", std::int64_t{0})) {
      problems.add("order ", r.order_id, " was acknowledged ", acked_status, " filled ",
                   acked_filled, " sequence ", order.value("sequence", std::int64_t{0}),
                   " but the row is ", row.status, " filled ", row.filled_lots, " sequence ",
                   row.sequence);
    }

    const json& trades = r.response.contains("trades") ? r.response["trades"] : json::array();
    for (const json& t : trades) {
      ++counts.trades;
      const std::int64_t id =
          e2e::is_integer_string(t["trade_id"]) ? std::stoll(t["trade_id"].get<std::string>()) : -1;
      if (!acknowledged_trade_ids.insert(id).second) {
        problems.add("trade_id ", id, " is in two acknowledgements (again in ", r.describe(), ")");
      }
      const auto found = trades_by_id.find(id);
      if (found == trades_by_id.end()) {
        problems.add("acknowledged trade ", t.dump(), " of order ", r.order_id,
                     " is missing from the trades table");
        continue;
      }
      const db_trade& d = *found->second;
      if (d.instrument != t.value("instrument", "") ||
          d.buy_order_id != t.value("buy_order_id", "") ||
          d.sell_order_id != t.value("sell_order_id", "") ||
          d.price_ticks != units(t["price"], 2) || d.quantity_lots != units(t["quantity"], 8) ||
          d.aggressor_side != t.value("aggressor_side", "") ||
          d.executed_at_us != micros(t["timestamp"]) ||
          d.sequence != t.value("sequence", std::int64_t{-1})) {
        problems.add("acknowledged trade ", t.dump(), " differs from its row (", d.instrument,
                     " buy ", d.buy_order_id, " sell ", d.sell_order_id, " ", d.quantity_lots,
                     " @ ", d.price_ticks, " aggressor ", d.aggressor_side, " at ",
                     d.executed_at_us, " seq ", d.sequence, ")");
      }
    }
  }
  if (checked != nullptr) *checked = counts;
  return problems.take();
}

std::vector<std::string> served_orders_problems(e2e::http_client& http, const db_state& db,
                                                const std::vector<exchange_record>& records) {
  problem_list problems;
  for (const auto& [id, row] : db.orders) {
    const e2e::http_response response = http.get(e2e::order_path(id));
    const json body = response.json();
    if (response.status != 200 || !body.contains("order")) {
      problems.add("GET /orders/", id, " (", row.status, " in the database) -> ",
                   response.describe());
      continue;
    }
    const json& order = body["order"];
    if (order.value("status", "") != row.status ||
        units(order["filled_quantity"], 8) != row.filled_lots ||
        units(order["quantity"], 8) != row.quantity_lots || order.value("side", "") != row.side ||
        (row.type == "limit" && units(order["price"], 2) != row.price_ticks) ||
        order.value("sequence", std::int64_t{-1}) != row.sequence ||
        micros(order["created_at"]) != row.created_at_us) {
      problems.add("GET /orders/", id, " -> ", order.dump(), " but the row is ", row.status,
                   " filled ", row.filled_lots, " of ", row.quantity_lots, " @ ", row.price_ticks,
                   " seq ", row.sequence);
    }
  }
  for (const exchange_record& r : records) {
    if (r.what != exchange_record::kind::place || r.status < 400) continue;
    const e2e::http_response response = http.get(e2e::order_path(r.order_id));
    if (response.status != 404) {
      problems.add("order ", r.order_id, " was refused (", r.describe(), ") but GET /orders/",
                   r.order_id, " -> ", response.describe());
    }
  }
  return problems.take();
}

void expect_books_agree(e2e::http_client& http, const std::string& conninfo, const db_state& db,
                        const std::string& what) {
  const e2e::http_response response = http.get(e2e::orderbook_path(1000));
  ASSERT_EQ(response.status, 200u) << what << ": " << response.describe();
  const e2e::book_sides served = e2e::book_from_json(response.json());
  const e2e::book_sides from_sql = book_from_open_orders_sql(conninfo);
  const e2e::book_sides from_rows = book_from_open_orders(db);
  const replay_result replay = replay_order_history(db);
  EXPECT_LT(served.bids.size() + served.asks.size(), 1000u) << "levels=1000 must show them all";
  EXPECT_EQ(served, from_sql) << what << ": GET /orderbook vs SQL over the open orders";
  EXPECT_EQ(from_sql, from_rows) << what << ": SQL aggregate vs the rows read";
  EXPECT_EQ(replay.book, from_sql) << what << ": replayed history vs SQL over the open orders";
  EXPECT_TRUE(replay.problems.empty())
      << what << ": the committed history does not replay to the committed state ("
      << replay.commands << " commands, " << replay.trades << " trades):\n"
      << join_problems(replay.problems);
}

db_state expect_durable_and_consistent(e2e::http_client& http, const std::string& conninfo,
                                       const std::vector<exchange_record>& records,
                                       const std::string& what) {
  const db_state db = load_db_state(conninfo);
  ack_check_counts counts;
  const std::vector<std::string> ack_problems = acknowledged_effects_problems(db, records, &counts);
  EXPECT_TRUE(ack_problems.empty()) << what << ": acknowledged effects not in the database:\n"
                                    << join_problems(ack_problems);
  const std::vector<std::string> fill_problems = fill_consistency_problems(db);
  EXPECT_TRUE(fill_problems.empty()) << what << ": fill bookkeeping of the database:\n"
                                     << join_problems(fill_problems);
  const std::vector<std::string> event_problems = order_events_problems(conninfo);
  EXPECT_TRUE(event_problems.empty()) << what << ": order_events vs orders:\n"
                                      << join_problems(event_problems);
  const std::vector<std::string> served = served_orders_problems(http, db, records);
  EXPECT_TRUE(served.empty()) << what << ": the daemon's orders vs the database:\n"
                              << join_problems(served);
  expect_books_agree(http, conninfo, db, what);
  std::cerr << "[durability] " << what << ": checked " << counts.orders << " acknowledged orders, "
            << counts.trades << " acknowledged trades, " << counts.cancels << " cancels, "
            << counts.refused << " refused orders; database holds " << db.orders.size()
            << " orders, " << db.trades.size() << " trades (max sequence " << db.max_sequence
            << ", max trade_id " << db.max_trade_id << ")\n";
  return db;
}

void expect_new_orders_continue(e2e::http_client& http, const std::string& conninfo,
                                const db_state& before, const std::string& id_prefix) {
  // First an order resting from before the restart, so the crossing pair below cannot
  // have filled it.
  const auto resting = std::find_if(before.orders.begin(), before.orders.end(), [](const auto& o) {
    return o.second.status == "open" || o.second.status == "partially_filled";
  });
  ASSERT_NE(resting, before.orders.end()) << "the run left no resting order to cancel";
  const std::string& old_id = resting->first;
  const e2e::http_response cancel = http.post_json("/orders/" + old_id + "/cancel", json::object());
  ASSERT_EQ(cancel.status, 200u) << cancel.describe();
  EXPECT_EQ(cancel.json()["order"].value("status", ""), "cancelled") << cancel.describe();
  const db_state after = load_db_state(conninfo);
  const auto row = after.orders.find(old_id);
  ASSERT_NE(row, after.orders.end()) << old_id;
  EXPECT_EQ(row->second.status, "cancelled") << old_id;
  EXPECT_GT(row->second.sequence, before.max_sequence) << old_id;
  EXPECT_EQ(row->second.created_sequence, resting->second.created_sequence) << old_id;

  const std::string sell_id = id_prefix + "-after-sell";
  const std::string buy_id = id_prefix + "-after-buy";
  // Two clients: self-trade prevention keeps one client's orders from trading together.
  const e2e::http_response sell = http.post_json(
      "/orders", e2e::limit_order(sell_id, "client-after", "sell", "100.00", "0.001"));
  ASSERT_EQ(sell.status, 201u) << sell.describe();
  const e2e::http_response buy = http.post_json(
      "/orders", e2e::limit_order(buy_id, "client-after-b", "buy", "101.00", "0.001"));
  ASSERT_EQ(buy.status, 201u) << buy.describe();

  const std::int64_t sell_sequence = sell.json()["order"].value("sequence", std::int64_t{-1});
  const std::int64_t buy_sequence = buy.json()["order"].value("sequence", std::int64_t{-1});
  EXPECT_GT(sell_sequence, before.max_sequence) << sell.describe();
  EXPECT_GT(buy_sequence, sell_sequence) << buy.describe();

  std::vector<json> trades;
  for (const e2e::http_response* r : {&sell, &buy}) {
    const json body = r->json();
    for (const json& t : body["trades"]) trades.push_back(t);
  }
  ASSERT_FALSE(trades.empty()) << "a sell at 100.00 then a buy at 101.00 must trade:\n"
                               << sell.describe() << "\n"
                               << buy.describe();
  std::int64_t previous = before.max_trade_id;
  for (const json& t : trades) {
    ASSERT_TRUE(e2e::is_integer_string(t["trade_id"])) << t.dump();
    const std::int64_t id = std::stoll(t["trade_id"].get<std::string>());
    EXPECT_GT(id, previous) << "trade ids must continue above the recovered maximum "
                            << before.max_trade_id << ": " << t.dump();
    EXPECT_GT(t.value("sequence", std::int64_t{-1}), before.max_sequence) << t.dump();
    previous = id;
  }
}

}  // namespace matchd::pgtest
