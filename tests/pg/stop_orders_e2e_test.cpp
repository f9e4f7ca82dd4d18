// Stop orders (docs/api.md, "Stop orders") against the real daemon in durable mode: a stop
// waits, is refused when already reached, triggers in the command of the trade that
// reaches it, and comes back through kill -9 exactly as it was: still waiting, or
// triggered and resting at its limit with the priority of its trigger.

#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>

#include "api_checks.h"
#include "daemon_process.h"
#include "durability_checks.h"
#include "order_builders.h"
#include "pg_server.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

json stop_order(const std::string& id, const std::string& client, const std::string& side,
                const std::string& stop_price, const std::string& quantity,
                const std::string& limit_price = "") {
  json body = {{"order_id", id},
               {"client_id", client},
               {"instrument", "BTC-USD"},
               {"side", side},
               {"quantity", quantity},
               {"stop_price", stop_price},
               {"type", limit_price.empty() ? "stop_market" : "stop_limit"}};
  if (!limit_price.empty()) body["price"] = limit_price;
  return body;
}

json placed(e2e::http_client& http, const json& body) {
  const e2e::http_response r = http.post_json("/orders", body);
  EXPECT_EQ(r.status, 201u) << r.describe();
  return r.status == 201u ? r.json() : json::object();
}

json order_of(e2e::http_client& http, const std::string& id) {
  const e2e::http_response r = http.get(e2e::order_path(id));
  EXPECT_EQ(r.status, 200u) << r.describe();
  EXPECT_TRUE(e2e::is_well_formed_order(r.json()["order"])) << r.body;
  return r.json()["order"];
}

void restart_after_kill9(e2e::daemon_process& daemon) {
  daemon.kill9();
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
}

TEST(stop_orders_e2e, wait_trigger_and_come_back_through_kill9_as_they_were) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  {
    e2e::http_client http(daemon.port(), 30s);
    placed(http, e2e::limit_order("m0", "maker", "sell", "100.00", "0.1"));
    placed(http, e2e::limit_order("t0", "taker", "buy", "100.00", "0.1"));  // last trade 100.00

    json r = placed(http, stop_order("up", "carol", "buy", "101.00", "1"));
    EXPECT_EQ(r["order"]["type"], "stop_market");
    EXPECT_EQ(r["order"]["status"], "open");
    EXPECT_EQ(r["order"]["triggered"], false);
    EXPECT_EQ(r["order"]["stop_price"], "101.00");
    EXPECT_TRUE(e2e::is_well_formed_order(r["order"])) << r.dump();
    placed(http, stop_order("down", "dave", "sell", "99.00", "1", "101.50"));
    r = placed(http, stop_order("late", "erin", "sell", "100.00", "1"));
    EXPECT_EQ(r["order"]["status"], "rejected");
    EXPECT_EQ(r["order"]["reason"], "would_trigger");

    // A waiting stop is not in the book, cannot be amended, and is listed as open.
    EXPECT_TRUE(http.get("/orderbook?instrument=BTC-USD").json()["bids"].empty());
    const e2e::http_response amend =
        http.request("PATCH", e2e::order_path("up"), R"({"instrument":"BTC-USD","quantity":"2"})",
                     {{"Content-Type", "application/json"}});
    EXPECT_TRUE(e2e::is_error(amend, 409, "stop_not_triggered")) << amend.describe();
    const json listed = http.get("/orders?client_id=carol").json();
    ASSERT_EQ(listed["orders"].size(), 1u) << listed.dump();
    EXPECT_EQ(listed["orders"][0]["order_id"], "up");
  }

  restart_after_kill9(daemon);
  {
    e2e::http_client http(daemon.port(), 30s);
    EXPECT_EQ(order_of(http, "up")["triggered"], false);
    EXPECT_EQ(order_of(http, "down")["status"], "open");

    // A trade at 99.00 reaches dave's sell stop: in that command it triggers and rests at
    // its limit, 101.50, behind the ask resting there before the trigger.
    placed(http, e2e::limit_order("early", "frank", "sell", "101.50", "1"));
    placed(http, e2e::limit_order("bid", "grace", "buy", "99.00", "0.1"));
    const json hit = placed(http, e2e::limit_order("hit", "heidi", "sell", "99.00", "0.1"));
    EXPECT_EQ(hit["trades"].size(), 1u) << hit.dump();
    const json down = order_of(http, "down");
    EXPECT_EQ(down["triggered"], true);
    EXPECT_EQ(down["status"], "open");
    EXPECT_EQ(down["type"], "stop_limit");
  }

  restart_after_kill9(daemon);
  {
    e2e::http_client http(daemon.port(), 30s);
    // A buy of 1.1 at 101.50: frank's first, then dave's triggered stop (its priority is the
    // trigger's, after frank's order), and its trades reach carol's buy stop at 101.00,
    // which buys the rest of the level.
    placed(http, e2e::limit_order("more", "ivan", "sell", "101.50", "5"));
    const json lift = placed(http, e2e::limit_order("lift", "judy", "buy", "101.50", "1.1"));
    ASSERT_EQ(lift["trades"].size(), 2u) << lift.dump();
    EXPECT_EQ(lift["trades"][0]["sell_order_id"], "early");
    EXPECT_EQ(lift["trades"][1]["sell_order_id"], "down");
    const json up = order_of(http, "up");
    EXPECT_EQ(up["triggered"], true);
    EXPECT_EQ(up["status"], "filled");
    EXPECT_EQ(up["average_fill_price"], "101.50");
    EXPECT_EQ(order_of(http, "down")["filled_quantity"], "1.00000000");
  }

  // The tables, once the applier caught up: the stop's columns.
  pqxx::connection c(pg.connection_string());
  ASSERT_TRUE(test::wait_until(
      [&] {
        return pqxx::nontransaction(c).exec1("SELECT count(*) FROM journal")[0].as<long long>() ==
               0;
      },
      20s, 10ms));
  const pqxx::row row = pqxx::nontransaction(c).exec1(
      "SELECT type, stop_price_ticks, triggered, status FROM orders WHERE order_id = 'up'");
  EXPECT_EQ(row[0].as<std::string>(), "market");
  EXPECT_EQ(row[1].as<long long>(), 10'100);
  EXPECT_TRUE(row[2].as<bool>());
  EXPECT_EQ(row[3].as<std::string>(), "filled");
}

}  // namespace
}  // namespace matchd::pgtest
