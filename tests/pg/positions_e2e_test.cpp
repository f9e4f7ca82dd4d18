// Positions and settlements against the real daemon and PostgreSQL (docs/api.md "Positions
// and PnL", "Settlements"): with fees, what GET /positions and the positions channel say
// equals a model folded over the trades the daemon acknowledged, before and after a kill -9,
// and the positions table agrees once the applier caught up; settlements net exactly the
// trades of their window, add up to the positions, and answer the same cutoff again with the
// same settlement; GET /positions/{client_id}/pnl's newest bucket is the position now; bad
// queries are 400s with the stable codes.

#include <gtest/gtest.h>
#include <matchd/engine/decimal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "daemon_process.h"
#include "db_state.h"
#include "durability_checks.h"
#include "http_client.h"
#include "order_builders.h"
#include "pg_server.h"
#include "reference_position.h"
#include "ws_client.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// BTC-USD: tick 0.01 (1 unit), lot 0.00000001 (1 unit, 10^8 to the coin).
constexpr std::int64_t kLotUnits = 1;
constexpr std::int64_t kFeeToQuote = 100'000'000;

std::int64_t units(const std::string& decimal) {
  std::string digits;
  for (char c : decimal) {
    if (c != '.') digits += c;
  }
  return std::stoll(digits);
}

std::string text(engine::int128 v, int scale) {
  char buf[engine::kMaxFormattedDecimal];
  return std::string(buf, engine::format_decimal_wide(v, scale, buf));
}

class positions : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_.start();
    daemon_ = std::make_unique<e2e::daemon_process>(
        durable_daemon_args(pg_.connection_string(), {"--fees", "3,9"}));
  }

  // A resting order of one client and an IOC of another that takes it (random sides, prices
  // and sizes), its trade folded into the model from the taker's answer.
  void trade(e2e::http_client& http, std::mt19937_64& rng) {
    const int n = next_++;
    const std::size_t m_index = rng() % clients_.size();
    const std::string maker = clients_[m_index];
    const std::string taker =
        clients_[(m_index + 1 + rng() % (clients_.size() - 1)) % clients_.size()];
    const bool maker_sells = rng() % 2 == 0;
    const std::string price =
        std::to_string(95 + rng() % 10) + "." + std::to_string(10 + rng() % 90);
    const std::string quantity =
        std::to_string(rng() % 3) + "." + std::to_string(10'000'000 + rng() % 89'999'999);
    const e2e::http_response m =
        http.post_json("/orders", e2e::limit_order("m" + std::to_string(n), maker,
                                                   maker_sells ? "sell" : "buy", price, quantity));
    ASSERT_EQ(m.status, 201u) << m.describe();
    const e2e::http_response t = http.post_json(
        "/orders", e2e::limit_order("t" + std::to_string(n), taker, maker_sells ? "buy" : "sell",
                                    price, quantity, "ioc"));
    ASSERT_EQ(t.status, 201u) << t.describe();
    const json trades = t.json()["trades"];
    ASSERT_EQ(trades.size(), 1u) << t.describe();
    const json& x = trades[0];
    const std::int64_t p = units(x["price"].get<std::string>());
    const std::int64_t q = units(x["quantity"].get<std::string>());
    const std::int64_t maker_fee = units(x["maker_fee"].get<std::string>());
    const std::int64_t taker_fee = units(x["taker_fee"].get<std::string>());
    // 3 and 9 bps of the notional, half up to the cent.
    const engine::int128 notional = static_cast<engine::int128>(p) * q;  // 10^-10 quote
    EXPECT_EQ(maker_fee,
              static_cast<std::int64_t>((notional * 3 + 500'000'000'000) / 1'000'000'000'000));
    EXPECT_EQ(taker_fee,
              static_cast<std::int64_t>((notional * 9 + 500'000'000'000) / 1'000'000'000'000));
    const std::string& buyer = maker_sells ? taker : maker;
    const std::string& seller = maker_sells ? maker : taker;
    model_[buyer].fill(true, p, q, maker_sells ? taker_fee : maker_fee, kLotUnits, kFeeToQuote);
    model_[seller].fill(false, p, q, maker_sells ? maker_fee : taker_fee, kLotUnits, kFeeToQuote);
    counts_[buyer]++;
    counts_[seller]++;
    mark_ = p;
  }

  json expected(const std::string& client) const {
    const auto& m = model_.at(client);
    json j{{"client_id", client},
           {"instrument", "BTC-USD"},
           {"base_position", text(m.quantity, 8)},
           {"quote_position", text(m.cash, 10)},
           {"average_entry_price", nullptr},
           {"realized_pnl", text(m.realized, 10)},
           {"unrealized_pnl", text(m.unrealized(mark_, kLotUnits), 10)},
           {"mark_price", text(mark_, 2)},
           {"fees", text(m.fees, 2)},
           {"trades", counts_.at(client)}};
    if (m.quantity != 0) j["average_entry_price"] = text(m.average(kLotUnits), 2);
    return j;
  }

  // The fields the model knows (not volumes, times and ids).
  static json comparable(json got) {
    for (const char* k : {"buy_volume", "sell_volume", "last_trade_id", "updated_at"}) {
      got.erase(k);
    }
    return got;
  }

  void expect_api_matches_model(e2e::http_client& http) {
    for (const auto& [client, m] : model_) {
      const e2e::http_response r = http.get("/positions?client_id=" + client);
      ASSERT_EQ(r.status, 200u) << r.describe();
      const json body = r.json();
      EXPECT_EQ(body["client_id"], client);
      ASSERT_EQ(body["positions"].size(), 1u) << r.body;
      EXPECT_EQ(comparable(body["positions"][0]), expected(client)) << client;
    }
  }

  // GET /positions/{client}/pnl once the applier wrote every trade: the newest bucket is the
  // position now, at the last trade's price.
  void expect_pnl_matches_model(e2e::http_client& http) {
    for (const auto& [client, m] : model_) {
      const e2e::http_response r = http.get("/positions/" + client + "/pnl?interval=1m&limit=3");
      ASSERT_EQ(r.status, 200u) << r.describe();
      const json body = r.json();
      EXPECT_EQ(body["client_id"], client);
      EXPECT_EQ(body["interval"], "1m");
      ASSERT_FALSE(body["buckets"].empty()) << r.body;
      const json& now = body["buckets"].back();
      const json want = expected(client);
      const engine::int128 unrealized = m.unrealized(mark_, kLotUnits);
      const engine::int128 net = m.realized + unrealized - m.fees * kFeeToQuote;
      EXPECT_EQ(now["realized_pnl"], want["realized_pnl"]) << client;
      EXPECT_EQ(now["unrealized_pnl"], want["unrealized_pnl"]) << client;
      EXPECT_EQ(now["fees"], text(m.fees * kFeeToQuote, 10)) << client;
      EXPECT_EQ(now["net_pnl"], text(net, 10)) << client;
      ASSERT_EQ(now["instruments"].size(), 1u) << r.body;
      const json& part = now["instruments"][0];
      EXPECT_EQ(part["instrument"], "BTC-USD");
      EXPECT_EQ(part["base_position"], want["base_position"]) << client;
      EXPECT_EQ(part["mark_price"], want["mark_price"]) << client;
      EXPECT_EQ(part["fees"], want["fees"]) << client;
      EXPECT_EQ(part["net_pnl"], text(net, 10)) << client;
    }
  }

  pg_server pg_;
  std::unique_ptr<e2e::daemon_process> daemon_;
  const std::vector<std::string> clients_{"alice", "bob", "carol", "dave", "erin"};
  std::map<std::string, clearing::test_support::reference_position> model_;
  std::map<std::string, long long> counts_;
  std::int64_t mark_ = 0;
  int next_ = 0;
};

TEST_F(positions, the_api_and_the_table_equal_the_acknowledged_trades_across_a_kill9) {
  std::mt19937_64 rng(30);
  {
    e2e::http_client http(daemon_->port(), 30s);
    for (int i = 0; i < 120; ++i) trade(http, rng);
    expect_api_matches_model(http);
  }
  daemon_->kill9();
  daemon_->restart();
  ASSERT_EQ(wait_for_readyz(daemon_->port(), 200, 10s).status, 200u);
  e2e::http_client http(daemon_->port(), 30s);
  expect_api_matches_model(http);  // recovered: the table and the journal's backlog
  for (int i = 0; i < 120; ++i) trade(http, rng);
  expect_api_matches_model(http);

  // The tables, once the applier caught up, hold the same.
  wait_for_tables(pg_.connection_string());
  expect_pnl_matches_model(http);
  pqxx::connection c(pg_.connection_string());
  pqxx::work tx(c);
  long long base = 0;
  for (const pqxx::row& r : tx.exec("SELECT client_id, base_lots, quote_units, realized_units,"
                                    " fee_units, trades FROM positions")) {
    const auto& m = model_.at(r[0].c_str());
    EXPECT_EQ(r[1].as<std::int64_t>(), m.quantity) << r[0].c_str();
    EXPECT_EQ(std::string(r[2].c_str()), text(m.cash, 0)) << r[0].c_str();
    EXPECT_EQ(std::string(r[3].c_str()), text(m.realized, 0)) << r[0].c_str();
    EXPECT_EQ(std::string(r[4].c_str()), text(m.fees, 0)) << r[0].c_str();
    EXPECT_EQ(r[5].as<long long>(), counts_.at(r[0].c_str())) << r[0].c_str();
    base += r[1].as<long long>();
  }
  EXPECT_EQ(base, 0);
}

TEST_F(positions, the_channel_sends_both_sides_after_each_trade) {
  std::mt19937_64 rng(31);
  e2e::http_client http(daemon_->port(), 30s);
  trade(http, rng);
  e2e::ws_client ws(daemon_->port());
  ws.send_json({{"op", "subscribe"}, {"channels", {"positions"}}, {"instrument", "BTC-USD"}});
  const auto ack = ws.read_json(5s);
  ASSERT_TRUE(ack && ack->value("type", "") == "subscribed") << (ack ? ack->dump() : "none");
  EXPECT_EQ((*ack)["channels"], json({"positions"}));
  for (int i = 0; i < 5; ++i) trade(http, rng);
  // Two messages per trade, and the last one of each client is its position now.
  std::map<std::string, json> last;
  std::uint64_t previous = 0;
  for (int i = 0; i < 10; ++i) {
    const auto m = ws.read_json(5s);
    ASSERT_TRUE(m) << "message " << i;
    ASSERT_EQ((*m)["channel"], "positions") << m->dump();
    const std::uint64_t sequence = (*m)["sequence"].get<std::uint64_t>();
    EXPECT_GE(sequence, previous);
    previous = sequence;
    last[(*m)["data"]["client_id"].get<std::string>()] = (*m)["data"];
  }
  for (const auto& [client, data] : last) {
    // Marked at the trade it follows: the model's mark is the last trade's price, which is
    // the same for the last trade's two sides only; compare the rest.
    json got = comparable(data);
    json want = expected(client);
    got.erase("unrealized_pnl");
    got.erase("mark_price");
    want.erase("unrealized_pnl");
    want.erase("mark_price");
    EXPECT_EQ(got, want) << client;
  }
  EXPECT_FALSE(ws.read_json(300ms)) << "nothing more";
}

TEST_F(positions, bad_queries_are_refused_with_their_codes) {
  e2e::http_client http(daemon_->port(), 10s);
  const auto missing = http.get("/positions");
  EXPECT_EQ(missing.status, 400u);
  EXPECT_EQ(missing.json()["error"]["code"], "invalid_parameter") << missing.body;
  const auto bad_client = http.get("/positions?client_id=no%20spaces");
  EXPECT_EQ(bad_client.status, 400u);
  EXPECT_EQ(bad_client.json()["error"]["code"], "invalid_client_id") << bad_client.body;
  const auto unknown = http.get("/positions?client_id=alice&instrument=DOGE-USD");
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(unknown.json()["error"]["code"], "unknown_instrument") << unknown.body;
  const auto none = http.get("/positions?client_id=nobody");
  ASSERT_EQ(none.status, 200u);
  EXPECT_EQ(none.json(), json({{"client_id", "nobody"}, {"positions", json::array()}}));

  // PnL over time: the interval (1 m or longer) is required, limit is 1 to 1000.
  for (const char* query : {"", "?interval=1s", "?interval=2m", "?interval=1m&limit=0",
                            "?interval=1m&limit=1001", "?interval=1m&limit=x"}) {
    const auto r = http.get(std::string("/positions/alice/pnl") + query);
    EXPECT_EQ(r.status, 400u) << query;
    EXPECT_EQ(r.json()["error"]["code"], "invalid_parameter") << query << " " << r.body;
  }
  const auto bad_pnl_client = http.get("/positions/no%20spaces/pnl?interval=1m");
  EXPECT_EQ(bad_pnl_client.status, 400u);
  EXPECT_EQ(bad_pnl_client.json()["error"]["code"], "invalid_client_id") << bad_pnl_client.body;
  const auto no_pnl = http.get("/positions/nobody/pnl?interval=1h&limit=5");
  ASSERT_EQ(no_pnl.status, 200u) << no_pnl.describe();
  EXPECT_EQ(no_pnl.json(),
            json({{"client_id", "nobody"}, {"interval", "1h"}, {"buckets", json::array()}}));
}

std::string now_rfc3339() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  std::string text = std::to_string(us / 1000);  // epoch milliseconds
  return text;
}

TEST_F(positions, settlements_net_each_window_and_add_up_to_the_positions) {
  std::mt19937_64 rng(32);
  e2e::http_client http(daemon_->port(), 30s);
  for (int i = 0; i < 60; ++i) trade(http, rng);
  std::this_thread::sleep_for(5ms);
  const std::string first_cutoff = now_rfc3339();
  const e2e::http_response made =
      http.post_json("/admin/settlements", {{"cutoff", std::stoll(first_cutoff)}});
  ASSERT_EQ(made.status, 201u) << made.describe();
  const json first = made.json()["settlement"];
  EXPECT_EQ(first["settlement_id"], "1");
  EXPECT_TRUE(first["previous_cutoff"].is_null());
  // The first window holds every trade so far: each entry is the client's whole position.
  ASSERT_EQ(first["entries"].size(), model_.size()) << made.body;
  for (const json& e : first["entries"]) {
    const std::string client = e["client_id"];
    const auto& m = model_.at(client);
    EXPECT_EQ(e["net_base"], text(m.quantity, 8)) << client;
    EXPECT_EQ(e["net_quote"], text(m.cash, 10)) << client;
    EXPECT_EQ(e["fees"], text(m.fees, 2)) << client;
    EXPECT_EQ(e["realized_pnl"], text(m.realized, 10)) << client;
    EXPECT_EQ(e["closing_base_position"], text(m.quantity, 8)) << client;
    EXPECT_EQ(e["closing_quote_position"], text(m.cash, 10)) << client;
    EXPECT_EQ(e["trades"], counts_.at(client)) << client;
  }
  // The same cutoff again: the same settlement, 200.
  const e2e::http_response again =
      http.post_json("/admin/settlements", {{"cutoff", std::stoll(first_cutoff)}});
  EXPECT_EQ(again.status, 200u) << again.describe();
  EXPECT_EQ(again.json(), made.json());
  // Refusals.
  const auto earlier =
      http.post_json("/admin/settlements", {{"cutoff", std::stoll(first_cutoff) - 1}});
  EXPECT_EQ(earlier.status, 409u) << earlier.describe();
  EXPECT_EQ(earlier.json()["error"]["code"], "settlement_out_of_order");
  const auto future = http.post_json("/admin/settlements", {{"cutoff", "2999-01-01T00:00:00Z"}});
  EXPECT_EQ(future.status, 400u);
  EXPECT_EQ(future.json()["error"]["code"], "invalid_parameter") << future.body;
  const auto missing = http.post_json("/admin/settlements", json::object());
  EXPECT_EQ(missing.status, 400u);
  EXPECT_EQ(missing.json()["error"]["code"], "missing_field") << missing.body;
  const auto unknown = http.get("/settlements/99");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.json()["error"]["code"], "settlement_not_found") << unknown.body;

  // Reads: the same settlement, and its CSV.
  const auto read = http.get("/settlements/1");
  ASSERT_EQ(read.status, 200u) << read.describe();
  EXPECT_EQ(read.json(), made.json());
  const auto csv = http.request("GET", "/settlements/1", {}, {{"Accept", "text/csv"}});
  ASSERT_EQ(csv.status, 200u) << csv.describe();
  EXPECT_EQ(csv.header("Content-Type").rfind("text/csv", 0), 0u) << csv.header("Content-Type");
  EXPECT_EQ(static_cast<std::size_t>(std::count(csv.body.begin(), csv.body.end(), '\n')),
            model_.size() + 1)
      << csv.body;

  // Across a kill -9, a second window with only the trades after the first cutoff.
  std::map<std::string, clearing::test_support::reference_position> before = model_;
  for (int i = 0; i < 60; ++i) trade(http, rng);
  daemon_->kill9();
  daemon_->restart();
  ASSERT_EQ(wait_for_readyz(daemon_->port(), 200, 10s).status, 200u);
  e2e::http_client after(daemon_->port(), 30s);
  std::this_thread::sleep_for(5ms);
  const auto second = after.post_json("/admin/settlements", {{"cutoff", now_rfc3339()}});
  ASSERT_EQ(second.status, 201u) << second.describe();
  const json s2 = second.json()["settlement"];
  EXPECT_EQ(s2["settlement_id"], "2");
  for (const json& e : s2["entries"]) {
    const std::string client = e["client_id"];
    const auto& m = model_.at(client);
    const auto& b = before[client];
    EXPECT_EQ(e["net_base"], text(m.quantity - b.quantity, 8)) << client;
    EXPECT_EQ(e["net_quote"], text(m.cash - b.cash, 10)) << client;
    EXPECT_EQ(e["closing_base_position"], text(m.quantity, 8)) << client;
  }
  const auto list = after.get("/settlements");
  ASSERT_EQ(list.status, 200u);
  ASSERT_EQ(list.json()["settlements"].size(), 2u) << list.body;
  EXPECT_EQ(list.json()["settlements"][0]["settlement_id"], "2") << "newest first";
}

// --settlement-time: at start the daemon makes the daily settlement whose time passed last
// (one a minute ago here), and the same again after a restart is that one, not a second.
TEST(settlement_schedule, the_daily_settlement_is_made_at_start_for_the_time_that_passed) {
  pg_server pg;
  pg.start();
  const auto now = std::chrono::system_clock::now();
  const std::time_t a_minute_ago = std::chrono::system_clock::to_time_t(now - 60s);
  std::tm utc{};
  gmtime_r(&a_minute_ago, &utc);
  char hhmm[6];
  std::snprintf(hhmm, sizeof hhmm, "%02d:%02d", utc.tm_hour, utc.tm_min);
  e2e::daemon_process d(durable_daemon_args(pg.connection_string(), {"--settlement-time", hhmm}));
  e2e::http_client http(d.port(), 10s);
  json list;
  for (int i = 0; i < 100; ++i) {
    list = http.get("/settlements").json();
    if (!list["settlements"].empty()) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(list["settlements"].size(), 1u) << list.dump();
  const std::string cutoff = list["settlements"][0]["cutoff"];
  EXPECT_NE(cutoff.find(std::string("T") + hhmm + ":00.000000Z"), std::string::npos) << cutoff;
  d.kill9();
  d.restart();
  ASSERT_EQ(wait_for_readyz(d.port(), 200, 10s).status, 200u);
  std::this_thread::sleep_for(500ms);
  e2e::http_client again(d.port(), 10s);
  EXPECT_EQ(again.get("/settlements").json()["settlements"].size(), 1u);
}

}  // namespace
}  // namespace matchd::pgtest
