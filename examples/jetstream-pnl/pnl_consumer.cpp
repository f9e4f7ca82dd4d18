// A downstream service of matchd: per-client positions and PnL computed from the JetStream
// export, by any number of worker processes that share the work.
//
//   matchd-pnl-consumer worker --nats nats://127.0.0.1:4222 --db "dbname=pnl" [--stream MATCHD]
//   matchd-pnl-consumer report --db "dbname=pnl"
//
// Workers pull from two durable consumers of the stream that they all share, `pnl-orders`
// (matchd.orders.>) and `pnl-trades` (matchd.trades.>): JetStream hands each message to one
// of them. A worker writes what it took into PostgreSQL (an order's client, a trade), commits,
// and only then acknowledges; a worker killed before its acknowledgement has its messages
// delivered again to another after the ack wait, and the keys (order_id, trade_id) make the
// second write a no-op. So every trade is recorded once, whatever dies.
//
// Average-cost PnL depends on the order of a client's trades, which the workers do not see
// (they take messages in parallel): `report` folds each client's recorded trades in sequence
// order, as matchd does (docs/api.md, "The position object"), and prints one JSON line per
// client and instrument with the fields of GET /positions it computes.
//
// Build: part of matchd's CMake project (target matchd-pnl-consumer); it uses only cnats,
// libpqxx and nlohmann/json, not matchd's own libraries.

#include <nats/nats.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using json = nlohmann::json;
__extension__ using int128 = __int128;

std::atomic<bool> stopping{false};

void check(natsStatus s, const std::string& what) {
  if (s != NATS_OK) throw std::runtime_error(what + ": " + natsStatus_GetText(s));
}

// ---- the worker ------------------------------------------------------------------------------

void create_tables(pqxx::connection& db) {
  pqxx::work tx(db);
  // Workers starting together would race in CREATE TABLE IF NOT EXISTS (PostgreSQL may then
  // fail one on its catalog's unique index): one at a time.
  tx.exec("SELECT pg_advisory_xact_lock(7881708793177047043)");
  tx.exec0(
      "CREATE TABLE IF NOT EXISTS pnl_orders (order_id text PRIMARY KEY, client_id text NOT "
      "NULL, instrument text NOT NULL)");
  tx.exec0(
      "CREATE TABLE IF NOT EXISTS pnl_trades (trade_id bigint PRIMARY KEY, sequence bigint NOT "
      "NULL, instrument text NOT NULL, buy_order_id text NOT NULL, sell_order_id text NOT NULL, "
      "price text NOT NULL, quantity text NOT NULL, aggressor_side text NOT NULL, maker_fee "
      "text NOT NULL, taker_fee text NOT NULL, worker text NOT NULL)");
  tx.commit();
}

// The durable pull consumer `name` on `filter`, shared by every worker that names it.
natsSubscription* shared_consumer(jsCtx* js, const std::string& stream, const char* filter,
                                  const char* name) {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Config.AckPolicy = js_AckExplicit;
  so.Config.DeliverPolicy = js_DeliverAll;
  so.Config.AckWait = 10LL * 1000 * 1000 * 1000;  // ns: a dead worker's messages move on
  // The stream appears once matchd first connects, and two workers may create the consumer
  // at once: try again for a while.
  for (int attempt = 1;; ++attempt) {
    natsSubscription* sub = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = js_PullSubscribe(&sub, js, filter, name, nullptr, &so, &code);
    if (s == NATS_OK) return sub;
    if (attempt == 60 || stopping.load()) {
      check(s, std::string("pull consumer ") + name + " (JetStream error " + std::to_string(code) +
                   ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// The rows of one batch, keyed and sorted: the same order's states reach several workers at
// once (its first state to one, its fill to another), and two transactions inserting the same
// keys wait on each other; taking the keys in one global order means they can only queue,
// never deadlock.
std::map<std::string, std::string> batch_rows(const natsMsgList& list, pqxx::work& tx,
                                              const std::string& worker, bool trades) {
  std::map<std::string, std::string> rows;
  for (int i = 0; i < list.Count; ++i) {
    const json event =
        json::parse(std::string(natsMsg_GetData(list.Msgs[i]),
                                static_cast<std::size_t>(natsMsg_GetDataLength(list.Msgs[i]))));
    const json& d = event.at("data");
    if (trades) {
      const auto id = d.at("trade_id").get<std::string>();
      // Zero-padded so that the map's text order is the numeric order of the bigint key.
      std::string key(20 - std::min<std::size_t>(20, id.size()), '0');
      key += id;
      rows.emplace(key, "(" + tx.quote(std::stoull(id)) + ", " +
                            tx.quote(d.at("sequence").get<std::uint64_t>()) + ", " +
                            tx.quote(d.at("instrument").get<std::string>()) + ", " +
                            tx.quote(d.at("buy_order_id").get<std::string>()) + ", " +
                            tx.quote(d.at("sell_order_id").get<std::string>()) + ", " +
                            tx.quote(d.at("price").get<std::string>()) + ", " +
                            tx.quote(d.at("quantity").get<std::string>()) + ", " +
                            tx.quote(d.at("aggressor_side").get<std::string>()) + ", " +
                            tx.quote(d.at("maker_fee").get<std::string>()) + ", " +
                            tx.quote(d.at("taker_fee").get<std::string>()) + ", " +
                            tx.quote(worker) + ")");
    } else {
      const auto id = d.at("order_id").get<std::string>();
      rows.emplace(id, "(" + tx.quote(id) + ", " + tx.quote(d.at("client_id").get<std::string>()) +
                           ", " + tx.quote(d.at("instrument").get<std::string>()) + ")");
    }
  }
  return rows;
}

// Writes the batch in one transaction, with one multi-row INSERT whose rows come in key order.
void write_batch(const natsMsgList& list, pqxx::connection& db, const std::string& worker,
                 bool trades) {
  // A deadlock cannot form (see batch_rows), but PostgreSQL may still roll a transaction
  // back for contention (a serialization failure): that is transient, so try again.
  for (int attempt = 1;; ++attempt) {
    try {
      pqxx::work tx(db);
      const auto rows = batch_rows(list, tx, worker, trades);
      if (rows.empty()) return;
      std::string sql =
          trades ? "INSERT INTO pnl_trades VALUES " : "INSERT INTO pnl_orders VALUES ";
      bool first = true;
      for (const auto& [key, values] : rows) {
        if (!first) sql += ", ";
        sql += values;
        first = false;
      }
      sql += trades ? " ON CONFLICT (trade_id) DO NOTHING" : " ON CONFLICT (order_id) DO NOTHING";
      tx.exec0(sql);
      tx.commit();
      return;
    } catch (const pqxx::transaction_rollback& e) {
      if (attempt == 5) throw;
      std::cerr << "batch rolled back (" << e.what() << "), attempt " << attempt << "\n";
      std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
    }
  }
}

// Takes up to a batch from `sub`, writes it, then acknowledges it. Returns how many messages
// it took.
int take_batch(natsSubscription* sub, pqxx::connection& db, const std::string& worker,
               bool trades) {
  natsMsgList list{};
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = natsSubscription_Fetch(&list, sub, 256, 500, &code);
  if (s == NATS_TIMEOUT) return 0;
  check(s, "fetch");
  write_batch(list, db, worker, trades);
  // Only once the rows are committed: a crash before this redelivers, and the keys above
  // make the redelivery change nothing.
  for (int i = 0; i < list.Count; ++i) natsMsg_Ack(list.Msgs[i], nullptr);
  const int taken = list.Count;
  natsMsgList_Destroy(&list);
  return taken;
}

int run_worker(const std::string& url, const std::string& conninfo, const std::string& stream,
               const std::string& name) {
  pqxx::connection db(conninfo);
  create_tables(db);
  natsConnection* nc = nullptr;
  check(natsConnection_ConnectTo(&nc, url.c_str()), "connect to " + url);
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, nullptr), "JetStream");
  natsSubscription* orders = shared_consumer(js, stream, "matchd.orders.>", "pnl-orders");
  natsSubscription* trades = shared_consumer(js, stream, "matchd.trades.>", "pnl-trades");
  std::cerr << "worker " << name << " started\n";
  std::uint64_t taken = 0;
  while (!stopping.load()) {
    taken += static_cast<std::uint64_t>(take_batch(orders, db, name, false));
    taken += static_cast<std::uint64_t>(take_batch(trades, db, name, true));
  }
  std::cerr << "worker " << name << " stopped after " << taken << " messages\n";
  natsSubscription_Destroy(orders);
  natsSubscription_Destroy(trades);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return 0;
}

// ---- the report ------------------------------------------------------------------------------

// A decimal string as an integer in units of its last digit, and its number of decimals.
struct fixed {
  int128 units = 0;
  int decimals = 0;
};

fixed parse_fixed(const std::string& text) {
  fixed f;
  bool negative = false;
  bool fraction = false;
  for (const char c : text) {
    if (c == '-') {
      negative = true;
    } else if (c == '.') {
      fraction = true;
    } else if (c >= '0' && c <= '9') {
      f.units = f.units * 10 + (c - '0');
      if (fraction) ++f.decimals;
    } else {
      throw std::runtime_error("not a decimal: " + text);
    }
  }
  if (negative) f.units = -f.units;
  return f;
}

int128 pow10(int n) {
  int128 v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

std::string format_fixed(int128 units, int decimals) {
  const bool negative = units < 0;
  int128 v = negative ? -units : units;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  while (static_cast<int>(digits.size()) <= decimals) digits.insert(digits.begin(), '0');
  if (decimals > 0) digits.insert(digits.end() - decimals, '.');
  return negative ? "-" + digits : digits;
}

// a * b / c rounded half away from zero (c > 0).
int128 mul_div_round(int128 a, int128 b, int128 c) {
  const int128 p = a * b;
  const int128 q = p / c;
  const int128 r = p % c;
  if (2 * (r < 0 ? -r : r) >= c) return p < 0 ? q - 1 : q + 1;
  return q;
}

// One client's position in one instrument, by average cost (docs/api.md).
struct position {
  int price_decimals = 0;
  int quantity_decimals = 0;
  int128 base = 0;      // quantity units
  int128 cost = 0;      // quote units (price and quantity decimals together), >= 0
  int128 quote = 0;     // quote units
  int128 realized = 0;  // quote units
  int128 fees = 0;      // price units
  std::uint64_t trades = 0;

  void apply(int side, const fixed& price, const fixed& quantity, const fixed& fee) {
    price_decimals = price.decimals;
    quantity_decimals = quantity.decimals;
    const int128 q = quantity.units;
    const int128 notional = price.units * q;
    quote -= side * notional + fee.units * pow10(quantity.decimals);
    fees += fee.units;
    ++trades;
    if (base == 0 || (base > 0) == (side > 0)) {
      base += side * q;
      cost += notional;
      return;
    }
    const int128 held = base < 0 ? -base : base;
    const int128 closed = q < held ? q : held;
    const int128 share = closed == held ? cost : mul_div_round(cost, closed, held);
    const int128 closed_notional = price.units * closed;
    realized += base > 0 ? closed_notional - share : share - closed_notional;
    cost -= share;
    base += side * closed;
    if (q > held) {  // a flip: the rest opens at this price
      base = side * (q - held);
      cost = price.units * (q - held);
    }
  }
};

int run_report(const std::string& conninfo) {
  pqxx::connection db(conninfo);
  pqxx::read_transaction tx(db);
  const pqxx::result rows = tx.exec(
      "SELECT b.client_id, s.client_id, t.instrument, t.price, t.quantity, t.aggressor_side, "
      "t.maker_fee, t.taker_fee FROM pnl_trades t "
      "LEFT JOIN pnl_orders b ON b.order_id = t.buy_order_id "
      "LEFT JOIN pnl_orders s ON s.order_id = t.sell_order_id ORDER BY t.sequence");
  std::map<std::pair<std::string, std::string>, position> positions;
  std::uint64_t unresolved = 0;
  for (const pqxx::row& r : rows) {
    if (r[0].is_null() || r[1].is_null()) {
      ++unresolved;  // an order's first state not taken yet
      continue;
    }
    const std::string instrument = r[2].c_str();
    const fixed price = parse_fixed(r[3].c_str());
    const fixed quantity = parse_fixed(r[4].c_str());
    const bool buyer_took = std::string(r[5].c_str()) == "buy";
    const fixed maker_fee = parse_fixed(r[6].c_str());
    const fixed taker_fee = parse_fixed(r[7].c_str());
    positions[{r[0].c_str(), instrument}].apply(+1, price, quantity,
                                                buyer_took ? taker_fee : maker_fee);
    positions[{r[1].c_str(), instrument}].apply(-1, price, quantity,
                                                buyer_took ? maker_fee : taker_fee);
  }
  for (const auto& [key, p] : positions) {
    const int quote_decimals = p.price_decimals + p.quantity_decimals;
    std::cout << json{{"client_id", key.first},
                      {"instrument", key.second},
                      {"base_position", format_fixed(p.base, p.quantity_decimals)},
                      {"quote_position", format_fixed(p.quote, quote_decimals)},
                      {"realized_pnl", format_fixed(p.realized, quote_decimals)},
                      {"fees", format_fixed(p.fees, p.price_decimals)},
                      {"trades", p.trades}}
                     .dump()
              << '\n';
  }
  if (unresolved != 0) {
    std::cerr << unresolved << " trades whose orders are not recorded yet: run again later\n";
    return 3;
  }
  return 0;
}

int usage() {
  std::cerr << "usage: matchd-pnl-consumer worker --nats URL --db CONNINFO [--stream MATCHD] "
               "[--name NAME]\n"
               "       matchd-pnl-consumer report --db CONNINFO\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  std::string url;
  std::string conninfo;
  std::string stream = "MATCHD";
  std::string name = "worker-" + std::to_string(::getpid());
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--nats") {
      url = argv[i + 1];
    } else if (flag == "--db") {
      conninfo = argv[i + 1];
    } else if (flag == "--stream") {
      stream = argv[i + 1];
    } else if (flag == "--name") {
      name = argv[i + 1];
    } else {
      return usage();
    }
  }
  try {
    if (mode == "worker" && !url.empty() && !conninfo.empty()) {
      struct sigaction sa {};
      sa.sa_handler = [](int) { stopping.store(true); };
      sigaction(SIGTERM, &sa, nullptr);
      sigaction(SIGINT, &sa, nullptr);
      return run_worker(url, conninfo, stream, name);
    }
    if (mode == "report" && !conninfo.empty()) return run_report(conninfo);
  } catch (const std::exception& e) {
    std::cerr << "matchd-pnl-consumer: " << e.what() << '\n';
    return 1;
  }
  return usage();
}
