// GET /orders and DELETE /orders against PostgreSQL (docs/api.md "GET /orders",
// "DELETE /orders"): a client's history pages come from the orders table once the daemon
// has forgotten the finished orders (a short --retention), merged with the open ones it
// holds, the same across a kill -9 and a restart; and a mass cancel, like any cancel, is
// durable once acknowledged.

#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "api_checks.h"
#include "daemon_process.h"
#include "durability_checks.h"
#include "order_builders.h"
#include "pg_server.h"
#include "wait.h"
#include "ws_client.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

void place(e2e::http_client& http, const json& body) {
  const e2e::http_response r = http.post_json("/orders", body);
  ASSERT_EQ(r.status, 201u) << r.describe();
}

std::string status_of(e2e::http_client& http, const std::string& id) {
  const e2e::http_response r = http.get(e2e::order_path(id));
  EXPECT_EQ(r.status, 200u) << r.describe();
  return r.status == 200 ? r.json()["order"].value("status", "") : "";
}

// Every page of `query`, following next_before: "id:status" newest first.
std::vector<std::string> all_pages(e2e::http_client& http, const std::string& query, int limit) {
  std::vector<std::string> out;
  std::string before;
  for (int page = 0; page < 100; ++page) {
    const e2e::http_response r = http.get("/orders?" + query + "&limit=" + std::to_string(limit) +
                                          (before.empty() ? "" : "&before=" + before));
    EXPECT_EQ(r.status, 200u) << r.describe();
    if (r.status != 200) break;
    const json body = r.json();
    for (const json& o : body["orders"]) {
      EXPECT_TRUE(e2e::is_well_formed_order(o)) << o.dump();
      out.push_back(o.value("order_id", "") + ":" + o.value("status", ""));
    }
    if (body["next_before"].is_null()) break;
    before = std::to_string(body["next_before"].get<std::uint64_t>());
  }
  return out;
}

long long rows_where(const std::string& conninfo, const std::string& where) {
  pqxx::connection c(conninfo);
  return pqxx::nontransaction(c)
      .exec1("SELECT count(*) FROM orders WHERE " + where)[0]
      .as<long long>();
}

TEST(order_history, pages_merge_the_orders_table_with_open_orders_across_restarts) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string(), {"--retention", "1s"}));
  {
    e2e::http_client http(daemon.port(), 30s);
    place(http, e2e::limit_order("h1", "alice", "buy", "100.00", "1"));
    place(http, e2e::limit_order("h2", "alice", "sell", "101.00", "1"));
    // Fills h2: alice's own order, so only with self-trade prevention off.
    nlohmann::json h3 = e2e::limit_order("h3", "alice", "buy", "101.00", "1", "ioc");
    h3["stp"] = "none";
    place(http, h3);
    place(http, e2e::limit_order("h4", "alice", "buy", "90.00", "1"));
    ASSERT_EQ(http.del(e2e::order_path("h4")).status, 200u);
    place(http, e2e::limit_order("b1", "bob", "buy", "99.00", "1"));
  }
  daemon.kill9();
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  e2e::http_client http(daemon.port(), 30s);

  const std::vector<std::string> history = {"h4:cancelled", "h3:filled", "h2:filled", "h1:open"};
  EXPECT_EQ(all_pages(http, "client_id=alice&status=all", 3), history);
  EXPECT_EQ(all_pages(http, "client_id=alice", 3), (std::vector<std::string>{"h1:open"}));

  // Once the retention horizon has passed, the daemon forgets h4 (its id is free again): the
  // old h4 is then only in the orders table, and a new h4 only in the daemon.
  ASSERT_TRUE(test::wait_until(
      [&] {
        return http.post_json("/orders", e2e::limit_order("h4", "alice", "buy", "80.00", "1"))
                   .status == 201;
      },
      20s, 50ms));
  const std::vector<std::string> with_reuse = {"h4:open", "h4:cancelled", "h3:filled", "h2:filled",
                                               "h1:open"};
  EXPECT_EQ(all_pages(http, "client_id=alice&status=all", 2), with_reuse);
  EXPECT_EQ(all_pages(http, "client_id=alice&status=all", 1000), with_reuse);
  EXPECT_EQ(all_pages(http, "client_id=bob&status=all", 10), (std::vector<std::string>{"b1:open"}));

  // The same after a clean restart.
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  e2e::http_client again(daemon.port(), 30s);
  EXPECT_EQ(all_pages(again, "client_id=alice&status=all", 2), with_reuse);
  EXPECT_EQ(all_pages(again, "client_id=alice", 10),
            (std::vector<std::string>{"h4:open", "h1:open"}));
}

TEST(order_history, a_mass_cancel_acknowledged_survives_kill9) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  {
    e2e::http_client http(daemon.port(), 30s);
    place(http, e2e::limit_order("m1", "alice", "buy", "100.00", "1"));
    place(http, e2e::limit_order("m2", "alice", "sell", "110.00", "1"));
    place(http, e2e::limit_order("m3", "alice", "buy", "99.00", "2"));
    place(http, e2e::limit_order("k1", "bob", "buy", "100.00", "1"));
    const e2e::http_response r = http.request("DELETE", "/orders?client_id=alice");
    ASSERT_EQ(r.status, 200u) << r.describe();
    ASSERT_EQ(r.json()["orders"].size(), 3u) << r.describe();
  }
  daemon.kill9();  // right after the acknowledgement
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  e2e::http_client http(daemon.port(), 30s);
  for (const char* id : {"m1", "m2", "m3"}) EXPECT_EQ(status_of(http, id), "cancelled") << id;
  EXPECT_EQ(status_of(http, "k1"), "open");
  EXPECT_EQ(all_pages(http, "client_id=alice", 10), (std::vector<std::string>{}));
  const json book = http.get(e2e::orderbook_path()).json();
  ASSERT_EQ(book["bids"].size(), 1u);
  EXPECT_EQ(book["bids"][0]["orders"], 1);
  EXPECT_TRUE(book["asks"].empty());
  // The applier writes the cancelled states to the orders table too.
  EXPECT_TRUE(test::wait_until(
      [&] {
        return rows_where(pg.connection_string(), "client_id = 'alice' AND status = 'cancelled'") ==
               3;
      },
      20s, 20ms));
}

TEST(order_history, cancel_on_disconnect_is_durable) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  e2e::http_client http(daemon.port(), 30s);
  {
    e2e::ws_client ws(daemon.port());
    ws.send_json({{"op", "auth"}, {"cancel_on_disconnect", true}});
    ASSERT_TRUE(ws.read_until([](const json& m) { return m.value("type", "") == "auth"; }, 5s));
    ws.send_json({{"op", "place"},
                  {"req_id", 1},
                  {"order_id", "d1"},
                  {"client_id", "dora"},
                  {"instrument", "BTC-USD"},
                  {"side", "buy"},
                  {"type", "limit"},
                  {"price", "100.00"},
                  {"quantity", "1"}});
    const auto placed =
        ws.read_until([](const json& m) { return m.value("type", "") == "place"; }, 5s);
    ASSERT_TRUE(placed.has_value());
    ASSERT_EQ((*placed)["status"], 201) << placed->dump();
  }
  ASSERT_TRUE(test::wait_until([&] { return status_of(http, "d1") == "cancelled"; }, 10s));
  daemon.kill9();
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  e2e::http_client after(daemon.port(), 30s);
  EXPECT_EQ(status_of(after, "d1"), "cancelled");
}

}  // namespace
}  // namespace matchd::pgtest
