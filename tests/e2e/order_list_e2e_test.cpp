// A client's orders over the API (docs/api.md "GET /orders", "DELETE /orders" and
// "Cancel on disconnect"): pages newest first, the mass cancel in one answer, the WebSocket's
// cancel_all and its opt-in cancel-on-disconnect, against the real daemon (in memory, and
// again in durable mode as durable.*).

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "harness.h"
#include "wait.h"

namespace matchd::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::vector<std::string> two_instruments() {
  std::vector<std::string> args = daemon_process::default_args();
  args.insert(args.end(), {"--instrument", "BTC-USD:0.01:0.00000001", "--instrument",
                           "ETH-USD:0.01:0.00000001"});
  return args;
}

class order_list : public ::testing::Test {
 protected:
  void place(const json& body) {
    const http_response r = http.post_json("/orders", body);
    ASSERT_EQ(r.status, 201u) << r.describe();
  }
  std::string status_of(const std::string& id) {
    const http_response r = http.get(order_path(id));
    EXPECT_EQ(r.status, 200u) << r.describe();
    return r.status == 200 ? r.json()["order"].value("status", "") : "";
  }
  // Every page of `query` (without limit/before), following next_before; the ids in order.
  std::vector<std::string> all_pages(const std::string& query, int limit) {
    std::vector<std::string> ids;
    std::string before;
    for (int page = 0; page < 100; ++page) {
      const http_response r = http.get("/orders?" + query + "&limit=" + std::to_string(limit) +
                                       (before.empty() ? "" : "&before=" + before));
      EXPECT_EQ(r.status, 200u) << r.describe();
      if (r.status != 200) break;
      const json body = r.json();
      EXPECT_LE(body["orders"].size(), static_cast<std::size_t>(limit));
      for (const json& o : body["orders"]) {
        EXPECT_TRUE(is_well_formed_order(o)) << o.dump();
        ids.push_back(o.value("order_id", ""));
      }
      if (body["next_before"].is_null()) break;
      EXPECT_EQ(body["orders"].size(), static_cast<std::size_t>(limit)) << "a short page";
      before = std::to_string(body["next_before"].get<std::uint64_t>());
    }
    return ids;
  }
  double open_connections() {
    const std::string metrics = http.get("/metrics").body;
    const std::string name = "\ngateway_connections ";
    const auto at = metrics.find(name);
    return at == std::string::npos ? -1 : std::stod(metrics.substr(at + name.size()));
  }

  daemon_process daemon{two_instruments()};
  http_client http{daemon.port()};
};

TEST_F(order_list, lists_a_clients_open_orders_newest_first_page_by_page) {
  for (int i = 1; i <= 5; ++i) {
    place(
        limit_order("a" + std::to_string(i), "alice", "buy", std::to_string(90 + i) + ".00", "1"));
  }
  place(limit_order("b1", "bob", "buy", "80.00", "1"));
  // a5 (95.00, the best bid) fills against zed's sell; it is no longer open.
  place(limit_order("z1", "zed", "sell", "95.00", "1", "ioc"));
  ASSERT_EQ(status_of("a5"), "filled");

  EXPECT_EQ(all_pages("client_id=alice", 2), (std::vector<std::string>{"a4", "a3", "a2", "a1"}));
  // The default: status=open, one page.
  const http_response one = http.get("/orders?client_id=alice");
  ASSERT_EQ(one.status, 200u) << one.describe();
  EXPECT_EQ(one.json()["orders"].size(), 4u);
  EXPECT_TRUE(one.json()["next_before"].is_null());
  EXPECT_EQ(one.json()["orders"][0]["order_id"], "a4");
  EXPECT_EQ(all_pages("client_id=bob", 10), (std::vector<std::string>{"b1"}));
  EXPECT_EQ(all_pages("client_id=carol", 10), (std::vector<std::string>{}));
}

TEST_F(order_list, status_all_adds_finished_orders_and_instrument_filters) {
  place(limit_order("e1", "alice", "buy", "10.00", "1", "gtc", "ETH-USD"));
  place(limit_order("x1", "alice", "buy", "100.00", "1"));
  place(limit_order("x2", "alice", "buy", "100.00", "1", "ioc"));  // nothing to match: cancelled
  place(limit_order("x3", "alice", "sell", "200.00", "1"));
  ASSERT_EQ(http.del(order_path("x3")).status, 200u);

  EXPECT_EQ(all_pages("client_id=alice&status=all", 2),
            (std::vector<std::string>{"x3", "x2", "x1", "e1"}));
  EXPECT_EQ(all_pages("client_id=alice&status=open", 3), (std::vector<std::string>{"x1", "e1"}));
  EXPECT_EQ(all_pages("client_id=alice&status=all&instrument=BTC-USD", 10),
            (std::vector<std::string>{"x3", "x2", "x1"}));
  EXPECT_EQ(all_pages("client_id=alice&instrument=ETH-USD", 10), (std::vector<std::string>{"e1"}));
  const http_response r = http.get("/orders?client_id=alice&status=all&limit=1");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.json()["orders"][0]["status"], "cancelled");
}

TEST_F(order_list, bad_parameters_are_400_with_their_codes) {
  const auto code_of = [&](const std::string& target) {
    const http_response r = http.get(target);
    EXPECT_EQ(r.status, 400u) << target << " " << r.describe();
    return r.status == 400 ? r.json()["error"].value("code", "") : "";
  };
  EXPECT_EQ(code_of("/orders"), "invalid_parameter");
  EXPECT_EQ(code_of("/orders?client_id="), "invalid_client_id");
  EXPECT_EQ(code_of("/orders?client_id=a%20b"), "invalid_client_id");
  EXPECT_EQ(code_of("/orders?client_id=alice&instrument=NOPE"), "unknown_instrument");
  for (const char* bad : {"status=closed", "limit=0", "limit=1001", "limit=x", "before=0",
                          "before=-1", "before=abc"}) {
    EXPECT_EQ(code_of(std::string("/orders?client_id=alice&") + bad), "invalid_parameter") << bad;
  }
  const http_response r = http.request("DELETE", "/orders");
  EXPECT_TRUE(is_error(r, 400, "invalid_parameter")) << r.describe();
  EXPECT_TRUE(is_error(http.request("DELETE", "/orders?client_id=alice&instrument=NOPE"), 400,
                       "unknown_instrument"));
}

TEST_F(order_list, delete_orders_cancels_every_open_order_of_the_client_in_one_answer) {
  place(limit_order("a1", "alice", "buy", "100.00", "1"));
  place(limit_order("a2", "alice", "sell", "110.00", "2"));
  place(limit_order("a3", "alice", "buy", "10.00", "1", "gtc", "ETH-USD"));
  place(limit_order("b1", "bob", "buy", "100.00", "1"));

  const http_response btc = http.request("DELETE", "/orders?client_id=alice&instrument=BTC-USD");
  ASSERT_EQ(btc.status, 200u) << btc.describe();
  ASSERT_EQ(btc.json()["orders"].size(), 2u) << btc.describe();
  EXPECT_EQ(btc.json()["orders"][0]["order_id"], "a1");
  EXPECT_EQ(btc.json()["orders"][1]["order_id"], "a2");
  for (const json& o : btc.json()["orders"]) {
    EXPECT_TRUE(is_well_formed_order(o)) << o.dump();
    EXPECT_EQ(o["status"], "cancelled");
  }
  EXPECT_EQ(status_of("a3"), "open");
  EXPECT_EQ(status_of("b1"), "open");

  const http_response rest = http.request("DELETE", "/orders?client_id=alice");
  ASSERT_EQ(rest.status, 200u) << rest.describe();
  ASSERT_EQ(rest.json()["orders"].size(), 1u);
  EXPECT_EQ(rest.json()["orders"][0]["order_id"], "a3");
  // Nothing left: 200 and an empty list.
  const http_response none = http.request("DELETE", "/orders?client_id=alice");
  ASSERT_EQ(none.status, 200u) << none.describe();
  EXPECT_EQ(none.json(), json::parse(R"({"orders":[]})"));

  EXPECT_EQ(status_of("a1"), "cancelled");
  EXPECT_EQ(status_of("b1"), "open");
  const json book = http.get(orderbook_path()).json();
  ASSERT_EQ(book["bids"].size(), 1u);
  EXPECT_EQ(book["bids"][0]["orders"], 1);
  EXPECT_TRUE(book["asks"].empty());
  EXPECT_TRUE(is_error(http.request("DELETE", order_path("a2")), 409, "order_not_open", {"order"}));
}

TEST_F(order_list, the_websocket_cancel_all_op_answers_with_the_cancelled_orders) {
  place(limit_order("w1", "carol", "buy", "100.00", "1"));
  ws_client ws(daemon.port());
  ws.send_json({{"op", "cancel_all"}, {"req_id", "c1"}, {"client_id", "carol"}});
  const auto reply =
      ws.read_until([](const json& m) { return m.value("type", "") == "cancel_all"; }, 5s);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ((*reply)["req_id"], "c1");
  EXPECT_EQ((*reply)["status"], 200);
  ASSERT_EQ((*reply)["data"]["orders"].size(), 1u) << reply->dump();
  EXPECT_EQ((*reply)["data"]["orders"][0]["status"], "cancelled");

  ws.send_json({{"op", "cancel_all"}, {"req_id", "c2"}});
  const auto missing =
      ws.read_until([](const json& m) { return m.value("type", "") == "cancel_all"; }, 5s);
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ((*missing)["status"], 400);
  EXPECT_EQ((*missing)["error"]["code"], "missing_field");
}

// The opt-in: a session that asked for it has its clients' open orders cancelled when the
// TCP connection drops; one that did not leaves them open.
TEST_F(order_list, cancel_on_disconnect_cancels_only_for_sessions_that_asked) {
  const double baseline = open_connections();
  const auto place_over = [&](ws_client& ws, const std::string& id, const std::string& client) {
    ws.send_json({{"op", "place"},
                  {"req_id", id},
                  {"order_id", id},
                  {"client_id", client},
                  {"instrument", "BTC-USD"},
                  {"side", "buy"},
                  {"type", "limit"},
                  {"price", "100.00"},
                  {"quantity", "1"}});
    const auto r = ws.read_until([](const json& m) { return m.value("type", "") == "place"; }, 5s);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ((*r)["status"], 201) << r->dump();
  };
  {
    ws_client plain(daemon.port());
    place_over(plain, "keep-1", "dave");
    place_over(plain, "keep-2", "dave");
  }  // the socket is closed without a close frame
  // The session is gone once its connection is no longer counted.
  ASSERT_TRUE(test::wait_until([&] { return open_connections() == baseline; }, 10s));
  EXPECT_EQ(status_of("keep-1"), "open");
  EXPECT_EQ(status_of("keep-2"), "open");

  {
    ws_client opted(daemon.port());
    opted.send_json({{"op", "auth"}, {"req_id", "a"}, {"cancel_on_disconnect", true}});
    const auto auth =
        opted.read_until([](const json& m) { return m.value("type", "") == "auth"; }, 5s);
    ASSERT_TRUE(auth.has_value());
    EXPECT_EQ((*auth)["status"], 200) << auth->dump();
    EXPECT_EQ((*auth)["cancel_on_disconnect"], true) << auth->dump();
    place_over(opted, "gone-1", "erin");
    place_over(opted, "gone-2", "erin");
  }
  EXPECT_TRUE(test::wait_until(
      [&] { return status_of("gone-1") == "cancelled" && status_of("gone-2") == "cancelled"; },
      10s));
  EXPECT_EQ(status_of("keep-1"), "open");
  EXPECT_TRUE(all_pages("client_id=erin", 10).empty());
}

TEST_F(order_list, cancel_on_disconnect_must_be_a_boolean) {
  ws_client ws(daemon.port());
  ws.send_json({{"op", "auth"}, {"req_id", "a"}, {"cancel_on_disconnect", "yes"}});
  const auto auth = ws.read_until([](const json& m) { return m.value("type", "") == "auth"; }, 5s);
  ASSERT_TRUE(auth.has_value());
  EXPECT_EQ((*auth)["status"], 400) << auth->dump();
  EXPECT_EQ((*auth)["error"]["code"], "invalid_field_type");
}

}  // namespace
}  // namespace matchd::e2e
