// The order options and amend of docs/api.md ("Order options", "PATCH /orders/{order_id}"),
// against the real daemon in durable mode: post_only, each self-trade prevention mode, an
// amend that keeps or loses time priority as matching shows it, and the new priority, the
// end reason and the client_order_id through a kill -9 and a restart.

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

json with(json body, const std::string& field, json value) {
  body[field] = std::move(value);
  return body;
}

e2e::http_response amend(e2e::http_client& http, const std::string& id, const json& body) {
  return http.request("PATCH", e2e::order_path(id), body.dump(),
                      {{"Content-Type", "application/json"}});
}

e2e::http_response place(e2e::http_client& http, const json& body) {
  return http.post_json("/orders", body);
}

// The sell order a buy of `quantity` at `price` by a third client trades with first.
std::string first_maker_hit(e2e::http_client& http, const std::string& id, const std::string& price,
                            const std::string& quantity) {
  const e2e::http_response r = place(http, e2e::limit_order(id, "taker", "buy", price, quantity));
  EXPECT_EQ(r.status, 201u) << r.describe();
  const json body = r.json();
  if (body["trades"].empty()) return "";
  return body["trades"][0]["sell_order_id"].get<std::string>();
}

class order_options_e2e : public ::testing::Test {
 protected:
  void SetUp() override { pg.start(); }

  pg_server pg;
};

TEST_F(order_options_e2e, post_only_and_every_self_trade_prevention_mode_over_rest) {
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  e2e::http_client http(daemon.port(), 30s);

  // post_only: a cross is created rejected with reason would_take, and trades nothing.
  ASSERT_EQ(place(http, e2e::limit_order("po-s", "bob", "sell", "100.00", "1")).status, 201u);
  e2e::http_response r =
      place(http, with(e2e::limit_order("po-b", "alice", "buy", "100.00", "1"), "post_only", true));
  ASSERT_EQ(r.status, 201u) << r.describe();
  EXPECT_TRUE(e2e::is_well_formed_order(r.json()["order"]));
  EXPECT_EQ(r.json()["order"]["status"], "rejected");
  EXPECT_EQ(r.json()["order"]["reason"], "would_take");
  EXPECT_EQ(r.json()["order"]["post_only"], true);
  EXPECT_TRUE(r.json()["trades"].empty());
  r = place(http, with(e2e::market_order("po-m", "alice", "buy", "1"), "post_only", true));
  EXPECT_TRUE(e2e::is_error(r, 400, "post_only_not_allowed")) << r.describe();
  r = place(http, with(e2e::limit_order("po-x", "alice", "buy", "99.00", "1"), "stp", "expire"));
  EXPECT_TRUE(e2e::is_error(r, 400, "invalid_stp")) << r.describe();
  ASSERT_EQ(http.del("/orders/po-s").status, 200u);

  // cancel_taker, the default: the incoming order is cancelled, the resting one stays.
  ASSERT_EQ(place(http, e2e::limit_order("ct-s", "carol", "sell", "101.00", "1")).status, 201u);
  r = place(http, e2e::limit_order("ct-b", "carol", "buy", "101.00", "1"));
  ASSERT_EQ(r.status, 201u) << r.describe();
  EXPECT_EQ(r.json()["order"]["status"], "cancelled");
  EXPECT_EQ(r.json()["order"]["reason"], "self_trade_prevention");
  EXPECT_EQ(r.json()["order"]["stp"], "cancel_taker");
  EXPECT_TRUE(r.json()["trades"].empty());
  EXPECT_EQ(http.get("/orders/ct-s").json()["order"]["status"], "open");

  // cancel_maker: the resting order is cancelled and the taker goes on to the next one.
  ASSERT_EQ(place(http, e2e::limit_order("cm-x", "dave", "sell", "101.00", "1")).status, 201u);
  r = place(http,
            with(e2e::limit_order("cm-b", "carol", "buy", "101.00", "1"), "stp", "cancel_maker"));
  ASSERT_EQ(r.status, 201u) << r.describe();
  EXPECT_EQ(r.json()["order"]["status"], "filled");
  ASSERT_EQ(r.json()["trades"].size(), 1u);
  EXPECT_EQ(r.json()["trades"][0]["sell_order_id"], "cm-x");
  const json ct_s = http.get("/orders/ct-s").json()["order"];
  EXPECT_EQ(ct_s["status"], "cancelled");
  EXPECT_EQ(ct_s["reason"], "self_trade_prevention");

  // cancel_both: both go.
  ASSERT_EQ(place(http, e2e::limit_order("cb-s", "erin", "sell", "102.00", "1")).status, 201u);
  r = place(http,
            with(e2e::limit_order("cb-b", "erin", "buy", "102.00", "1"), "stp", "cancel_both"));
  ASSERT_EQ(r.status, 201u) << r.describe();
  EXPECT_EQ(r.json()["order"]["reason"], "self_trade_prevention");
  EXPECT_EQ(http.get("/orders/cb-s").json()["order"]["reason"], "self_trade_prevention");

  // none: a client may trade with itself when it asks to.
  ASSERT_EQ(place(http, e2e::limit_order("nn-s", "fred", "sell", "103.00", "1")).status, 201u);
  r = place(http, with(e2e::limit_order("nn-b", "fred", "buy", "103.00", "1"), "stp", "none"));
  ASSERT_EQ(r.status, 201u) << r.describe();
  EXPECT_EQ(r.json()["order"]["status"], "filled");
  EXPECT_EQ(r.json()["trades"].size(), 1u);

  // The reasons reach the orders table.
  pqxx::connection c(pg.connection_string());
  const auto reason_of = [&](const std::string& id) {
    return pqxx::nontransaction(c)
        .exec1("SELECT coalesce(reason, '') FROM orders WHERE order_id = '" + id + "'")[0]
        .as<std::string>();
  };
  ASSERT_TRUE(test::wait_until(
      [&] {
        return pqxx::nontransaction(c)
                   .exec1("SELECT count(*) FROM orders WHERE order_id = 'nn-b'")[0]
                   .as<long long>() == 1;
      },
      20s, 10ms));
  EXPECT_EQ(reason_of("po-b"), "would_take");
  EXPECT_EQ(reason_of("ct-s"), "self_trade_prevention");
  EXPECT_EQ(reason_of("nn-b"), "");
}

TEST_F(order_options_e2e, amend_keeps_or_loses_priority_and_the_loss_survives_kill9) {
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  {
    e2e::http_client http(daemon.port(), 30s);
    for (const char* id : {"a1", "a2", "a3", "a4"}) {
      json body = e2e::limit_order(id, std::string("maker-") + id, "sell", "100.00", "2");
      body["client_order_id"] = std::string("label-") + id;
      const e2e::http_response r = place(http, body);
      ASSERT_EQ(r.status, 201u) << r.describe();
      EXPECT_EQ(r.json()["order"]["client_order_id"], std::string("label-") + id);
    }
    // A lower quantity keeps a1 first.
    e2e::http_response r = amend(http, "a1", {{"instrument", "BTC-USD"}, {"quantity", "1"}});
    ASSERT_EQ(r.status, 200u) << r.describe();
    EXPECT_EQ(r.json()["order"]["quantity"], "1.00000000");
    EXPECT_EQ(first_maker_hit(http, "t1", "100.00", "1"), "a1");
    // A higher quantity sends a2 to the back: a3 is next.
    r = amend(http, "a2", {{"instrument", "BTC-USD"}, {"quantity", "3"}});
    ASSERT_EQ(r.status, 200u) << r.describe();
    EXPECT_EQ(first_maker_hit(http, "t2", "100.00", "1"), "a3");
    // Not above what filled: refused, nothing changed.
    r = amend(http, "a3", {{"instrument", "BTC-USD"}, {"quantity", "1"}});
    EXPECT_TRUE(e2e::is_error(r, 409, "quantity_not_above_filled")) << r.describe();
    r = amend(http, "a3", {{"instrument", "BTC-USD"}});
    EXPECT_TRUE(e2e::is_error(r, 400, "missing_field")) << r.describe();
    r = amend(http, "a3", {{"instrument", "BTC-USD"}, {"quantity", "5"}, {"stp", "none"}});
    EXPECT_TRUE(e2e::is_error(r, 400, "field_not_amendable")) << r.describe();
    r = amend(http, "nope", {{"instrument", "BTC-USD"}, {"quantity", "1"}});
    EXPECT_TRUE(e2e::is_error(r, 404, "order_not_found")) << r.describe();
    // A price that crosses trades at once, as a taker.
    ASSERT_EQ(place(http, e2e::limit_order("bid", "buyer", "buy", "99.00", "1")).status, 201u);
    r = amend(http, "a4", {{"instrument", "BTC-USD"}, {"price", "99.00"}});
    ASSERT_EQ(r.status, 200u) << r.describe();
    ASSERT_EQ(r.json()["trades"].size(), 1u);
    EXPECT_EQ(r.json()["trades"][0]["buy_order_id"], "bid");
    EXPECT_EQ(r.json()["order"]["status"], "partially_filled");
    EXPECT_EQ(r.json()["order"]["price"], "99.00");
    ASSERT_EQ(http.del("/orders/a4").status, 200u);  // out of the way of the checks below
    // Queue at 100.00 now: a3 (1 left), a2 (3, amended to the back).
  }

  daemon.kill9();
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);

  e2e::http_client http(daemon.port(), 30s);
  const e2e::http_response a2 = http.get("/orders/a2");
  ASSERT_EQ(a2.status, 200u) << a2.describe();
  EXPECT_EQ(a2.json()["order"]["client_order_id"], "label-a2");
  EXPECT_EQ(a2.json()["order"]["quantity"], "3.00000000");
  EXPECT_TRUE(e2e::is_well_formed_order(a2.json()["order"]));
  EXPECT_EQ(http.get("/orders/a1").json()["order"]["client_order_id"], "label-a1");
  // The lost priority held through the restart: a3 trades before a2.
  EXPECT_EQ(first_maker_hit(http, "t3", "100.00", "1"), "a3");
  EXPECT_EQ(first_maker_hit(http, "t4", "100.00", "1"), "a2");

  // And once the applier wrote the tables, a second restart reads them, not the journal.
  pqxx::connection c(pg.connection_string());
  ASSERT_TRUE(test::wait_until(
      [&] {
        return pqxx::nontransaction(c).exec1("SELECT count(*) FROM journal")[0].as<long long>() ==
               0;
      },
      20s, 10ms));
  EXPECT_EQ(pqxx::nontransaction(c)
                .exec1("SELECT client_order_id FROM orders WHERE order_id = 'a2'")[0]
                .as<std::string>(),
            "label-a2");
  ASSERT_EQ(place(http, e2e::limit_order("a5", "maker-a5", "sell", "100.00", "1")).status, 201u);
  ASSERT_EQ(place(http, e2e::limit_order("a6", "maker-a6", "sell", "100.00", "1")).status, 201u);
  ASSERT_EQ(amend(http, "a5", {{"instrument", "BTC-USD"}, {"quantity", "2"}}).status, 200u);
  ASSERT_TRUE(test::wait_until(
      [&] {
        return pqxx::nontransaction(c).exec1("SELECT count(*) FROM journal")[0].as<long long>() ==
               0;
      },
      20s, 10ms));
  daemon.kill9();
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  e2e::http_client again(daemon.port(), 30s);
  // a2 has 2 left, then a6, then a5 (amended to the back after a6 arrived): the new
  // priority as the orders table holds it.
  EXPECT_EQ(first_maker_hit(again, "t5", "100.00", "2"), "a2");
  EXPECT_EQ(first_maker_hit(again, "t6", "100.00", "1"), "a6");
  EXPECT_EQ(first_maker_hit(again, "t7", "100.00", "1"), "a5");
}

}  // namespace
}  // namespace matchd::pgtest
