#include "db_state.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <limits>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "wait.h"

namespace matchd::pgtest {
namespace {

__extension__ typedef __int128 int128;  // NOLINT(modernize-use-using): pedantic-clean

std::string to_string(int128 value) {
  if (value == 0) return "0";
  const bool negative = value < 0;
  std::string digits;
  while (value != 0) {
    const int digit = static_cast<int>(value % 10);
    digits.push_back(static_cast<char>('0' + (negative ? -digit : digit)));
    value /= 10;
  }
  if (negative) digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

// "123", "123.000" (numeric with scale) -> "123"; anything else unchanged.
std::string strip_zero_fraction(std::string text) {
  const std::size_t dot = text.find('.');
  if (dot == std::string::npos) return text;
  if (text.find_first_not_of('0', dot + 1) != std::string::npos) return text;
  return text.substr(0, dot);
}

bool is_open_status(const std::string& status) {
  return status == "open" || status == "partially_filled";
}

e2e::book_sides aggregate(const std::map<std::pair<std::string, std::int64_t>,
                                         std::pair<std::int64_t, std::int64_t>>& levels) {
  e2e::book_sides book;
  for (const auto& [key, value] : levels) {
    e2e::book_level level{key.second, value.first, value.second};
    (key.first == "buy" ? book.bids : book.asks).push_back(level);
  }
  std::sort(book.bids.begin(), book.bids.end(),
            [](const auto& a, const auto& b) { return a.price > b.price; });
  std::sort(book.asks.begin(), book.asks.end(),
            [](const auto& a, const auto& b) { return a.price < b.price; });
  return book;
}

}  // namespace

std::string join_problems(const std::vector<std::string>& problems, std::size_t max) {
  std::string text;
  for (std::size_t i = 0; i < problems.size() && i < max; ++i) text += problems[i] + "\n";
  if (problems.size() > max) text += "... (" + std::to_string(problems.size()) + " lines)\n";
  return text;
}

void wait_for_tables(const std::string& conninfo, std::chrono::seconds timeout) {
  pqxx::connection connection(conninfo);
  std::int64_t left = 0;
  const bool caught_up = test::wait_until(
      [&] {
        pqxx::nontransaction work(connection);
        left = work.exec1("SELECT count(*) FROM journal")[0].as<std::int64_t>();
        return left == 0;
      },
      timeout, std::chrono::milliseconds(20));
  if (!caught_up) {
    throw std::runtime_error("the tables did not catch up with the journal within " +
                             std::to_string(timeout.count()) + " s: " + std::to_string(left) +
                             " journal rows left");
  }
}

db_state load_db_state(const std::string& conninfo) {
  wait_for_tables(conninfo);
  pqxx::connection connection(conninfo);
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> work(
      connection);
  db_state state;
  const pqxx::result orders = work.exec(
      "SELECT order_id, client_id, instrument::text, side::text, type::text, "
      "COALESCE(time_in_force::text, ''), status::text, COALESCE(price_ticks, 0), "
      "quantity_lots, filled_lots, COALESCE(notional::text, ''), created_at_us, updated_at_us, "
      "created_sequence, sequence FROM orders");
  for (const pqxx::row& row : orders) {
    db_order o;
    o.order_id = row[0].as<std::string>();
    o.client_id = row[1].as<std::string>();
    o.instrument = row[2].as<std::string>();
    o.side = row[3].as<std::string>();
    o.type = row[4].as<std::string>();
    o.time_in_force = row[5].as<std::string>();
    o.status = row[6].as<std::string>();
    o.price_ticks = row[7].as<std::int64_t>();
    o.quantity_lots = row[8].as<std::int64_t>();
    o.filled_lots = row[9].as<std::int64_t>();
    o.notional = row[10].as<std::string>();
    o.created_at_us = row[11].as<std::int64_t>();
    o.updated_at_us = row[12].as<std::int64_t>();
    o.created_sequence = row[13].as<std::int64_t>();
    o.sequence = row[14].as<std::int64_t>();
    state.max_sequence = std::max(state.max_sequence, o.sequence);
    state.orders.emplace(o.order_id, std::move(o));
  }
  const pqxx::result trades = work.exec(
      "SELECT trade_id, instrument::text, price_ticks, quantity_lots, aggressor_side::text, "
      "buy_order_id, sell_order_id, executed_at_us, sequence, buy_client_id, sell_client_id "
      "FROM trades ORDER BY trade_id");
  for (const pqxx::row& row : trades) {
    db_trade t;
    t.trade_id = row[0].as<std::int64_t>();
    t.instrument = row[1].as<std::string>();
    t.price_ticks = row[2].as<std::int64_t>();
    t.quantity_lots = row[3].as<std::int64_t>();
    t.aggressor_side = row[4].as<std::string>();
    t.buy_order_id = row[5].as<std::string>();
    t.sell_order_id = row[6].as<std::string>();
    t.executed_at_us = row[7].as<std::int64_t>();
    t.sequence = row[8].as<std::int64_t>();
    t.buy_client_id = row[9].as<std::string>();
    t.sell_client_id = row[10].as<std::string>();
    state.max_sequence = std::max(state.max_sequence, t.sequence);
    state.max_trade_id = std::max(state.max_trade_id, t.trade_id);
    state.trades.push_back(std::move(t));
  }
  return state;
}

std::int64_t query_scalar(const std::string& conninfo, const std::string& sql) {
  pqxx::connection connection(conninfo);
  pqxx::nontransaction work(connection);
  const pqxx::row r = work.exec1(sql);
  return r[0].is_null() ? -1 : r[0].as<std::int64_t>();
}

std::int64_t count_rows(const std::string& conninfo, const std::string& table) {
  wait_for_tables(conninfo);
  pqxx::connection connection(conninfo);
  pqxx::nontransaction work(connection);
  return work.exec1("SELECT count(*) FROM " + connection.quote_name(table))[0].as<std::int64_t>();
}

e2e::book_sides book_from_open_orders_sql(const std::string& conninfo,
                                          const std::string& instrument) {
  wait_for_tables(conninfo);
  pqxx::connection connection(conninfo);
  pqxx::nontransaction work(connection);
  const pqxx::result rows = work.exec(
      "SELECT side::text, price_ticks, sum(quantity_lots - filled_lots)::bigint, count(*) "
      "FROM orders WHERE status::text IN ('open', 'partially_filled') AND instrument::text = " +
      work.quote(instrument) + " GROUP BY side, price_ticks");
  std::map<std::pair<std::string, std::int64_t>, std::pair<std::int64_t, std::int64_t>> levels;
  for (const pqxx::row& row : rows) {
    levels[{row[0].as<std::string>(), row[1].as<std::int64_t>()}] = {row[2].as<std::int64_t>(),
                                                                     row[3].as<std::int64_t>()};
  }
  return aggregate(levels);
}

std::vector<std::string> order_events_problems(const std::string& conninfo) {
  problem_list problems;
  wait_for_tables(conninfo);
  pqxx::connection connection(conninfo);
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> work(
      connection);
  for (const pqxx::row& row :
       work.exec("SELECT o.order_id, o.status, o.filled_lots, e.status, e.filled_lots, e.sequence "
                 "FROM orders o LEFT JOIN LATERAL (SELECT status, filled_lots, sequence FROM "
                 "order_events e WHERE e.order_id = o.order_id ORDER BY sequence DESC LIMIT 1) e "
                 "ON true WHERE e.status IS DISTINCT FROM o.status "
                 "OR e.filled_lots IS DISTINCT FROM o.filled_lots LIMIT 50")) {
    problems.add("order ", row[0].c_str(), " is ", row[1].c_str(), " filled ", row[2].c_str(),
                 " but its latest event (sequence ", row[5].c_str(), ") says ", row[3].c_str(),
                 " filled ", row[4].c_str());
  }
  for (const pqxx::row& row : work.exec(
           "SELECT order_id, sequence, filled_lots, previous FROM (SELECT order_id, sequence, "
           "filled_lots, lag(filled_lots) OVER (PARTITION BY order_id ORDER BY sequence) AS "
           "previous FROM order_events) x WHERE filled_lots < previous LIMIT 50")) {
    problems.add("order ", row[0].c_str(), ": filled drops to ", row[2].c_str(), " at sequence ",
                 row[1].c_str(), " from ", row[3].c_str());
  }
  for (const pqxx::row& row : work.exec(
           "SELECT o.order_id, o.created_sequence, min(e.sequence) FROM orders o LEFT JOIN "
           "order_events e ON e.order_id = o.order_id GROUP BY o.order_id, o.created_sequence "
           "HAVING min(e.sequence) IS NULL OR min(e.sequence) < o.created_sequence LIMIT 50")) {
    problems.add("order ", row[0].c_str(), " (created_sequence ", row[1].c_str(),
                 ") has no event or one before its creation (first event at ",
                 row[2].is_null() ? "none" : row[2].c_str(), ")");
  }
  for (const pqxx::row& row : work.exec(
           "SELECT e.order_id, e.sequence FROM order_events e WHERE NOT EXISTS (SELECT 1 FROM "
           "orders o WHERE o.order_id = e.order_id) LIMIT 50")) {
    problems.add("event of unknown order ", row[0].c_str(), " at sequence ", row[1].c_str());
  }
  return problems.take();
}

e2e::book_sides book_from_open_orders(const db_state& state, const std::string& instrument) {
  std::map<std::pair<std::string, std::int64_t>, std::pair<std::int64_t, std::int64_t>> levels;
  for (const auto& [id, o] : state.orders) {
    if (o.instrument != instrument || !is_open_status(o.status)) continue;
    auto& level = levels[{o.side, o.price_ticks}];
    level.first += o.quantity_lots - o.filled_lots;
    level.second += 1;
  }
  return aggregate(levels);
}

// ---------------------------------------------------------------------------------------
// Reference replay. Deliberately naive (std::map of price levels, std::deque of orders),
// written from docs/api.md's rules and not from the engine's code.

namespace {

struct model_order {
  const db_order* row = nullptr;
  std::int64_t filled = 0;
  std::string status;
  bool resting = false;
};

struct model_trade {
  std::string buy_order_id;
  std::string sell_order_id;
  std::int64_t price = 0;
  std::int64_t quantity = 0;
  std::string aggressor;
  // The trade's sequence must lie within its command's numbers: from the command's first
  // number up to (not including) the next command's. (Whether a command has one number or
  // one per event, this holds.)
  std::int64_t command_sequence = 0;
  std::int64_t next_command_sequence = 0;
};

struct model_book {
  // price -> order ids in time priority
  std::map<std::int64_t, std::deque<std::string>, std::greater<>> bids;
  std::map<std::int64_t, std::deque<std::string>> asks;
};

struct command {
  std::int64_t sequence = 0;
  bool cancel = false;
  const db_order* order = nullptr;
  std::int64_t next_sequence = 0;  // the following command's, or int64 max
};

}  // namespace

replay_result replay_order_history(const db_state& state, const std::string& instrument) {
  problem_list problems;
  std::vector<command> commands;
  std::unordered_map<std::string, model_order> model;
  for (const auto& [id, o] : state.orders) {
    if (o.instrument != instrument) continue;
    commands.push_back({o.created_sequence, false, &o});
    // A resting (limit GTC) order ends cancelled only by a cancel command, whose number is
    // the order's last sequence; IOC, FOK and market remainders are cancelled by their own
    // placement.
    if (o.status == "cancelled" && o.type == "limit" && o.time_in_force == "gtc") {
      commands.push_back({o.sequence, true, &o});
    }
    model[id].row = &o;
  }
  std::sort(commands.begin(), commands.end(), [](const command& a, const command& b) {
    return a.sequence != b.sequence ? a.sequence < b.sequence : a.cancel < b.cancel;
  });
  for (std::size_t i = 0; i < commands.size(); ++i) {
    commands[i].next_sequence = i + 1 < commands.size() ? commands[i + 1].sequence
                                                        : std::numeric_limits<std::int64_t>::max();
  }
  for (std::size_t i = 1; i < commands.size(); ++i) {
    if (commands[i].sequence == commands[i - 1].sequence) {
      problems.add("two commands share sequence ", commands[i].sequence, ": ",
                   commands[i - 1].order->order_id, " and ", commands[i].order->order_id);
    }
  }

  model_book book;
  std::vector<model_trade> trades;

  auto match = [&](model_order& taker, const command& c, auto& opposite, auto crosses) {
    const db_order& t = *taker.row;
    while (taker.filled < t.quantity_lots && !opposite.empty()) {
      auto level = opposite.begin();
      if (!crosses(level->first)) break;
      std::deque<std::string>& queue = level->second;
      model_order& maker = model[queue.front()];
      const std::int64_t quantity =
          std::min(t.quantity_lots - taker.filled, maker.row->quantity_lots - maker.filled);
      taker.filled += quantity;
      maker.filled += quantity;
      const bool taker_buys = t.side == "buy";
      trades.push_back({taker_buys ? t.order_id : maker.row->order_id,
                        taker_buys ? maker.row->order_id : t.order_id, level->first, quantity,
                        t.side, c.sequence, c.next_sequence});
      if (maker.filled == maker.row->quantity_lots) {
        maker.status = "filled";
        maker.resting = false;
        queue.pop_front();
        if (queue.empty()) opposite.erase(level);
      } else {
        maker.status = "partially_filled";
      }
    }
  };
  auto available = [&](const db_order& t, const auto& opposite, auto crosses) {
    std::int64_t total = 0;
    for (const auto& [price, queue] : opposite) {
      if (!crosses(price) || total >= t.quantity_lots) break;
      for (const std::string& id : queue) {
        const model_order& maker = model[id];
        total += maker.row->quantity_lots - maker.filled;
      }
    }
    return total;
  };

  for (const command& c : commands) {
    model_order& m = model[c.order->order_id];
    const db_order& o = *c.order;
    if (c.cancel) {
      if (!m.resting) {
        problems.add("order ", o.order_id, " is cancelled at sequence ", c.sequence,
                     " but is not resting in the replayed book then (model status ", m.status, ")");
        continue;
      }
      auto remove = [&](auto& side) {
        auto level = side.find(o.price_ticks);
        if (level == side.end()) return;
        auto& queue = level->second;
        queue.erase(std::remove(queue.begin(), queue.end(), o.order_id), queue.end());
        if (queue.empty()) side.erase(level);
      };
      if (o.side == "buy")
        remove(book.bids);
      else
        remove(book.asks);
      m.resting = false;
      m.status = "cancelled";
      continue;
    }

    const bool market = o.type == "market";
    const bool buy = o.side == "buy";
    const std::string tif = market ? "ioc" : o.time_in_force;
    auto buy_crosses = [&](std::int64_t ask) { return market || ask <= o.price_ticks; };
    auto sell_crosses = [&](std::int64_t bid) { return market || bid >= o.price_ticks; };
    if (tif == "fok") {
      const std::int64_t liquidity =
          buy ? available(o, book.asks, buy_crosses) : available(o, book.bids, sell_crosses);
      if (liquidity < o.quantity_lots) {
        m.status = "rejected";
        continue;
      }
    }
    if (buy) {
      match(m, c, book.asks, buy_crosses);
    } else {
      match(m, c, book.bids, sell_crosses);
    }
    if (m.filled == o.quantity_lots) {
      m.status = "filled";
    } else if (tif == "gtc" && !market) {
      m.status = m.filled > 0 ? "partially_filled" : "open";
      m.resting = true;
      if (buy) {
        book.bids[o.price_ticks].push_back(o.order_id);
      } else {
        book.asks[o.price_ticks].push_back(o.order_id);
      }
    } else {
      m.status = "cancelled";
    }
  }

  // The model's trades against the table, in trade_id order.
  std::vector<const db_trade*> db_trades;
  for (const db_trade& t : state.trades) {
    if (t.instrument == instrument) db_trades.push_back(&t);
  }
  if (db_trades.size() != trades.size()) {
    problems.add("the replay produces ", trades.size(), " trades, the trades table holds ",
                 db_trades.size());
  }
  for (std::size_t i = 0; i < std::min(db_trades.size(), trades.size()); ++i) {
    const db_trade& d = *db_trades[i];
    const model_trade& r = trades[i];
    if (d.buy_order_id != r.buy_order_id || d.sell_order_id != r.sell_order_id ||
        d.price_ticks != r.price || d.quantity_lots != r.quantity ||
        d.aggressor_side != r.aggressor || d.sequence < r.command_sequence ||
        d.sequence >= r.next_command_sequence) {
      problems.add("trade #", i, " (trade_id ", d.trade_id, "): table has buy ", d.buy_order_id,
                   " sell ", d.sell_order_id, " ", d.quantity_lots, " @ ", d.price_ticks,
                   " aggressor ", d.aggressor_side, " seq ", d.sequence, "; replay has buy ",
                   r.buy_order_id, " sell ", r.sell_order_id, " ", r.quantity, " @ ", r.price,
                   " aggressor ", r.aggressor, " seq in [", r.command_sequence, ", ",
                   r.next_command_sequence, ")");
    }
  }
  // Every order's final state against its row.
  for (const auto& [id, m] : model) {
    const db_order& o = *m.row;
    if (m.status != o.status || m.filled != o.filled_lots) {
      problems.add("order ", id, ": row says ", o.status, " filled ", o.filled_lots,
                   ", replay says ", m.status, " filled ", m.filled);
    }
  }

  replay_result result;
  result.commands = commands.size();
  result.trades = trades.size();
  auto levels = [&](const auto& side, std::vector<e2e::book_level>& out) {
    for (const auto& [price, queue] : side) {
      e2e::book_level level{price, 0, static_cast<std::int64_t>(queue.size())};
      for (const std::string& id : queue) {
        const model_order& m = model[id];
        level.quantity += m.row->quantity_lots - m.filled;
      }
      out.push_back(level);
    }
  };
  levels(book.bids, result.book.bids);
  levels(book.asks, result.book.asks);
  result.problems = problems.take();
  return result;
}

std::vector<std::string> fill_consistency_problems(const db_state& state) {
  problem_list problems;
  std::unordered_map<std::string, std::int64_t> traded;
  std::unordered_map<std::string, int128> notional;
  std::set<std::int64_t> trade_ids;
  const db_trade* previous = nullptr;
  for (const db_trade& t : state.trades) {
    if (!trade_ids.insert(t.trade_id).second) problems.add("trade_id ", t.trade_id, " repeats");
    if (previous != nullptr && t.sequence < previous->sequence) {
      problems.add("trade ", t.trade_id, " has sequence ", t.sequence, " below trade ",
                   previous->trade_id, "'s ", previous->sequence);
    }
    previous = &t;
    if (t.quantity_lots <= 0) problems.add("trade ", t.trade_id, " has quantity ", t.quantity_lots);
    traded[t.buy_order_id] += t.quantity_lots;
    traded[t.sell_order_id] += t.quantity_lots;
    notional[t.buy_order_id] += static_cast<int128>(t.price_ticks) * t.quantity_lots;
    notional[t.sell_order_id] += static_cast<int128>(t.price_ticks) * t.quantity_lots;

    const auto buy = state.orders.find(t.buy_order_id);
    const auto sell = state.orders.find(t.sell_order_id);
    if (buy == state.orders.end()) {
      problems.add("trade ", t.trade_id, ": buy order ", t.buy_order_id, " does not exist");
    }
    if (sell == state.orders.end()) {
      problems.add("trade ", t.trade_id, ": sell order ", t.sell_order_id, " does not exist");
    }
    if (buy == state.orders.end() || sell == state.orders.end()) continue;
    const db_order& b = buy->second;
    const db_order& s = sell->second;
    if (b.side != "buy") problems.add("trade ", t.trade_id, ": buy order ", b.order_id, " sells");
    if (s.side != "sell") problems.add("trade ", t.trade_id, ": sell order ", s.order_id, " buys");
    if (t.buy_client_id != b.client_id) {
      problems.add("trade ", t.trade_id, ": buy client ", t.buy_client_id, " but order ",
                   b.order_id, " is client ", b.client_id, "'s");
    }
    if (t.sell_client_id != s.client_id) {
      problems.add("trade ", t.trade_id, ": sell client ", t.sell_client_id, " but order ",
                   s.order_id, " is client ", s.client_id, "'s");
    }
    if (b.instrument != t.instrument || s.instrument != t.instrument) {
      problems.add("trade ", t.trade_id, " is in ", t.instrument, " but its orders in ",
                   b.instrument, " / ", s.instrument);
    }
    const bool buyer_is_taker = b.created_sequence > s.created_sequence;
    const db_order& taker = buyer_is_taker ? b : s;
    const db_order& maker = buyer_is_taker ? s : b;
    if (t.aggressor_side != taker.side) {
      problems.add("trade ", t.trade_id, ": aggressor ", t.aggressor_side, " but the later order ",
                   taker.order_id, " is a ", taker.side);
    }
    if (t.price_ticks != maker.price_ticks) {
      problems.add("trade ", t.trade_id, ": price ", t.price_ticks, " is not the maker ",
                   maker.order_id, "'s price ", maker.price_ticks);
    }
    if (t.sequence < taker.created_sequence || t.sequence > taker.sequence) {
      problems.add("trade ", t.trade_id, ": sequence ", t.sequence, " outside the taker ",
                   taker.order_id, "'s [created_sequence ", taker.created_sequence, ", sequence ",
                   taker.sequence, "]");
    }
    if (taker.type == "limit" &&
        (buyer_is_taker ? t.price_ticks > taker.price_ticks : t.price_ticks < taker.price_ticks)) {
      problems.add("trade ", t.trade_id, ": price ", t.price_ticks, " is through the taker ",
                   taker.order_id, "'s limit ", taker.price_ticks);
    }
  }

  for (const auto& [id, o] : state.orders) {
    const std::int64_t sum = traded.contains(id) ? traded[id] : 0;
    if (o.filled_lots < 0 || o.filled_lots > o.quantity_lots) {
      problems.add("order ", id, ": filled ", o.filled_lots, " outside [0, ", o.quantity_lots, "]");
    }
    if (o.filled_lots != sum) {
      problems.add("order ", id, ": filled_lots ", o.filled_lots, " but its trades sum to ", sum);
    }
    if (!o.notional.empty()) {
      const std::string expected = to_string(notional.contains(id) ? notional[id] : 0);
      if (strip_zero_fraction(o.notional) != expected) {
        problems.add("order ", id, ": notional ", o.notional, " but its trades sum to ", expected);
      }
    }
    const bool ok =
        (o.status == "open" && o.filled_lots == 0) ||
        (o.status == "partially_filled" && o.filled_lots > 0 && o.filled_lots < o.quantity_lots) ||
        (o.status == "filled" && o.filled_lots == o.quantity_lots) ||
        (o.status == "cancelled" && o.filled_lots < o.quantity_lots) ||
        (o.status == "rejected" && o.filled_lots == 0);
    if (!ok) {
      problems.add("order ", id, ": status ", o.status, " with filled ", o.filled_lots, " of ",
                   o.quantity_lots);
    }
    if (o.sequence < o.created_sequence) {
      problems.add("order ", id, ": sequence ", o.sequence, " below created_sequence ",
                   o.created_sequence);
    }
    if (is_open_status(o.status) && (o.type != "limit" || o.time_in_force != "gtc")) {
      problems.add("order ", id, " rests but is ", o.type, " ", o.time_in_force);
    }
  }
  return problems.take();
}

}  // namespace matchd::pgtest
