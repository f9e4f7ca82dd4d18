// Every REST endpoint and status code of docs/api.md against the real daemon (in memory).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "durable_database.h"
#include "harness.h"
#include "wait.h"

namespace matchd::e2e {
namespace {

using nlohmann::json;
using strings = std::vector<std::string>;

class rest : public ::testing::Test {
 protected:
  // The response of POST /orders, expecting 201.
  json place(const json& body) {
    const http_response r = http.post_json("/orders", body);
    EXPECT_EQ(r.status, 201u) << "POST /orders " << body.dump() << " -> " << r.describe();
    return r.json();
  }
  // A resting (or any accepted) order's object.
  json rest_order(const std::string& id, const std::string& side, const std::string& price,
                  const std::string& quantity, const std::string& client = "client-M") {
    return place(limit_order(id, client, side, price, quantity))["order"];
  }
  json get_order(const std::string& id) {
    const http_response r = http.get(order_path(id));
    EXPECT_EQ(r.status, 200u) << "GET " << order_path(id) << " -> " << r.describe();
    const json body = r.json();
    return body.is_object() && body.contains("order") ? body["order"] : json();
  }
  json book(int levels = 1000) {
    const http_response r = http.get(orderbook_path(levels));
    EXPECT_EQ(r.status, 200u) << r.describe();
    return r.json();
  }
  book_sides book_sides_now() { return book_from_json(book()); }

  daemon_process daemon;
  http_client http{daemon.port()};
};

// --- POST /orders: the response -------------------------------------------------------

TEST_F(rest, limit_order_is_created_with_the_exact_order_fields_and_no_trades) {
  const json request = {{"order_id", "order-1"},   {"client_id", "client-A"},
                        {"instrument", "BTC-USD"}, {"side", "buy"},
                        {"type", "limit"},         {"price", 70150.5},
                        {"quantity", 0.25},        {"time_in_force", "gtc"}};
  const http_response r = http.post_json("/orders", request);
  ASSERT_EQ(r.status, 201u) << r.describe();
  EXPECT_NE(r.header("Content-Type").find("application/json"), std::string::npos)
      << "Content-Type: " << r.header("Content-Type");
  const json body = r.json();
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(keys_of(body), (strings{"order", "trades"}));
  EXPECT_EQ(body["trades"], json::array());
  const json& order = body["order"];
  EXPECT_TRUE(is_well_formed_order(order));
  EXPECT_EQ(order["order_id"], "order-1");
  EXPECT_EQ(order["client_id"], "client-A");
  EXPECT_EQ(order["instrument"], "BTC-USD");
  EXPECT_EQ(order["side"], "buy");
  EXPECT_EQ(order["type"], "limit");
  EXPECT_EQ(order["time_in_force"], "gtc");
  EXPECT_EQ(order["price"], "70150.50");
  EXPECT_EQ(order["quantity"], "0.25000000");
  EXPECT_EQ(order["filled_quantity"], "0.00000000");
  EXPECT_EQ(order["remaining_quantity"], "0.25000000");
  EXPECT_TRUE(order["average_fill_price"].is_null()) << order.dump();
  EXPECT_EQ(order["status"], "open");
}

TEST_F(rest, decimal_strings_are_accepted_and_time_in_force_defaults_to_gtc) {
  json request = limit_order("order-2", "client-A", "sell", "70150.5", "0.25");
  request.erase("time_in_force");
  const json order = place(request)["order"];
  EXPECT_TRUE(is_well_formed_order(order));
  EXPECT_EQ(order["price"], "70150.50");
  EXPECT_EQ(order["quantity"], "0.25000000");
  EXPECT_EQ(order["time_in_force"], "gtc");
  EXPECT_EQ(order["status"], "open");
}

TEST_F(rest, json_numbers_with_exponents_are_exact) {
  const http_response r = http.request(
      "POST", "/orders",
      R"({"order_id": "exp-1", "client_id": "client-A", "instrument": "BTC-USD", "side": "buy",
          "type": "limit", "price": 1.0005e2, "quantity": 2.5e-1})",
      {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 201u) << r.describe();
  EXPECT_EQ(r.json()["order"]["price"], "100.05");
  EXPECT_EQ(r.json()["order"]["quantity"], "0.25000000");
}

TEST_F(rest, content_type_with_charset_is_accepted) {
  const http_response r =
      http.request("POST", "/orders", limit_order("cs-1", "client-A", "buy", "1.00", "1").dump(),
                   {{"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_EQ(r.status, 201u) << r.describe();
}

TEST_F(rest, get_order_returns_the_resting_order) {
  const json placed = rest_order("o-get", "buy", "100.00", "1");
  const http_response r = http.get(order_path("o-get"));
  ASSERT_EQ(r.status, 200u) << r.describe();
  const json body = r.json();
  EXPECT_EQ(keys_of(body), (strings{"order"}));
  EXPECT_TRUE(is_well_formed_order(body["order"]));
  EXPECT_EQ(body["order"], placed);
}

TEST_F(rest, get_unknown_order_is_404) {
  EXPECT_TRUE(is_error(http.get(order_path("no-such-order")), 404, "order_not_found"));
}

// --- matching -------------------------------------------------------------------------

TEST_F(rest, crossing_buy_trades_at_the_maker_price) {
  rest_order("s1", "sell", "100.00", "1", "client-S");
  const json body = place(limit_order("b1", "client-B", "buy", "101.00", "1"));
  ASSERT_TRUE(body.is_object());
  const json& order = body["order"];
  EXPECT_TRUE(is_well_formed_order(order));
  EXPECT_EQ(order["status"], "filled");
  EXPECT_EQ(order["price"], "101.00");
  EXPECT_EQ(order["filled_quantity"], "1.00000000");
  EXPECT_EQ(order["remaining_quantity"], "0.00000000");
  EXPECT_EQ(order["average_fill_price"], "100.00");
  ASSERT_EQ(body["trades"].size(), 1u) << body.dump();
  const json& trade = body["trades"][0];
  EXPECT_TRUE(is_well_formed_trade(trade));
  EXPECT_EQ(trade["instrument"], "BTC-USD");
  EXPECT_EQ(trade["buy_order_id"], "b1");
  EXPECT_EQ(trade["sell_order_id"], "s1");
  EXPECT_EQ(trade["price"], "100.00");
  EXPECT_EQ(trade["quantity"], "1.00000000");
  EXPECT_EQ(trade["aggressor_side"], "buy");
  // Every event takes the next number: the trade, then the maker's state, then the taker's.
  EXPECT_EQ(trade["sequence"].get<std::uint64_t>() + 2, order["sequence"].get<std::uint64_t>())
      << "trade, maker state and taker state are consecutive events of one command";

  const json maker = get_order("s1");
  EXPECT_TRUE(is_well_formed_order(maker));
  EXPECT_EQ(maker["status"], "filled");
  EXPECT_EQ(maker["filled_quantity"], "1.00000000");
  EXPECT_EQ(maker["remaining_quantity"], "0.00000000");
  EXPECT_EQ(maker["average_fill_price"], "100.00");
  EXPECT_EQ(maker["sequence"].get<std::uint64_t>(), trade["sequence"].get<std::uint64_t>() + 1)
      << "the maker's state is the event right after its trade";

  const json trades = http.get(trades_path(10)).json();
  ASSERT_EQ(trades["trades"].size(), 1u) << trades.dump();
  EXPECT_EQ(trades["trades"][0], trade);
  EXPECT_EQ(book_sides_now(), book_sides{});
}

TEST_F(rest, crossing_sell_trades_at_the_maker_price_with_sell_aggressor) {
  rest_order("b1", "buy", "100.00", "1", "client-B");
  const json body = place(limit_order("s1", "client-S", "sell", "99.00", "0.4"));
  ASSERT_EQ(body["trades"].size(), 1u) << body.dump();
  const json& trade = body["trades"][0];
  EXPECT_EQ(trade["buy_order_id"], "b1");
  EXPECT_EQ(trade["sell_order_id"], "s1");
  EXPECT_EQ(trade["price"], "100.00");
  EXPECT_EQ(trade["quantity"], "0.40000000");
  EXPECT_EQ(trade["aggressor_side"], "sell");
  EXPECT_EQ(body["order"]["status"], "filled");
  EXPECT_EQ(body["order"]["average_fill_price"], "100.00");
}

TEST_F(rest, partial_fills_update_both_orders_and_the_remainder_rests) {
  rest_order("s1", "sell", "100.00", "1", "client-S");
  const json first = place(limit_order("b1", "client-B", "buy", "100.00", "0.4"));
  EXPECT_EQ(first["order"]["status"], "filled");
  json maker = get_order("s1");
  EXPECT_EQ(maker["status"], "partially_filled");
  EXPECT_EQ(maker["filled_quantity"], "0.40000000");
  EXPECT_EQ(maker["remaining_quantity"], "0.60000000");
  EXPECT_EQ(maker["average_fill_price"], "100.00");

  const json second = place(limit_order("b2", "client-B", "buy", "100.00", "1"));
  const json& taker = second["order"];
  EXPECT_TRUE(is_well_formed_order(taker));
  EXPECT_EQ(taker["status"], "partially_filled");
  EXPECT_EQ(taker["filled_quantity"], "0.60000000");
  EXPECT_EQ(taker["remaining_quantity"], "0.40000000");
  EXPECT_EQ(taker["average_fill_price"], "100.00");
  ASSERT_EQ(second["trades"].size(), 1u) << second.dump();
  EXPECT_EQ(second["trades"][0]["quantity"], "0.60000000");
  maker = get_order("s1");
  EXPECT_EQ(maker["status"], "filled");
  EXPECT_EQ(get_order("b2"), taker);

  EXPECT_EQ(book_sides_now(), (book_sides{{{10000, 40000000, 1}}, {}}));
}

TEST_F(rest, best_price_fills_first_then_time_priority) {
  rest_order("a-102", "sell", "102.00", "1");
  rest_order("a-100-first", "sell", "100.00", "1");
  rest_order("a-100-second", "sell", "100.00", "1");
  rest_order("a-101", "sell", "101.00", "1");
  const json body = place(limit_order("taker", "client-B", "buy", "101.00", "2.5"));
  ASSERT_EQ(body["trades"].size(), 3u) << body.dump();
  EXPECT_EQ(body["trades"][0]["sell_order_id"], "a-100-first");
  EXPECT_EQ(body["trades"][0]["price"], "100.00");
  EXPECT_EQ(body["trades"][1]["sell_order_id"], "a-100-second");
  EXPECT_EQ(body["trades"][1]["price"], "100.00");
  EXPECT_EQ(body["trades"][2]["sell_order_id"], "a-101");
  EXPECT_EQ(body["trades"][2]["price"], "101.00");
  EXPECT_EQ(body["trades"][2]["quantity"], "0.50000000");
  EXPECT_EQ(body["order"]["status"], "filled");
  EXPECT_EQ(body["order"]["average_fill_price"], "100.20");  // (100 + 100 + 50.5) / 2.5
  EXPECT_EQ(book_sides_now(), (book_sides{{}, {{10100, 50000000, 1}, {10200, 100000000, 1}}}));
}

TEST_F(rest, trade_ids_are_integer_strings_increasing_with_every_trade) {
  std::vector<long long> ids;
  for (int i = 0; i < 5; ++i) {
    rest_order("m" + std::to_string(i), "sell", "100.00", "1");
    const json body = place(limit_order("t" + std::to_string(i), "client-B", "buy", "100.00", "1"));
    ASSERT_EQ(body["trades"].size(), 1u) << body.dump();
    ASSERT_TRUE(is_integer_string(body["trades"][0]["trade_id"])) << body.dump();
    ids.push_back(std::stoll(body["trades"][0]["trade_id"].get<std::string>()));
  }
  for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i], ids[i - 1]);
}

TEST_F(rest, market_order_sweeps_levels_and_cancels_the_remainder) {
  rest_order("a1", "sell", "100.00", "1");
  rest_order("a2", "sell", "101.00", "1");
  rest_order("a3", "sell", "102.00", "1");
  const json body = place(market_order("mkt-1", "client-B", "buy", "5"));
  const json& order = body["order"];
  EXPECT_TRUE(is_well_formed_order(order));
  EXPECT_EQ(order["type"], "market");
  EXPECT_TRUE(order["price"].is_null()) << order.dump();
  EXPECT_EQ(order["status"], "cancelled");
  EXPECT_EQ(order["quantity"], "5.00000000");
  EXPECT_EQ(order["filled_quantity"], "3.00000000");
  EXPECT_EQ(order["remaining_quantity"], "2.00000000");
  EXPECT_EQ(order["average_fill_price"], "101.00");
  ASSERT_EQ(body["trades"].size(), 3u) << body.dump();
  const strings prices = {"100.00", "101.00", "102.00"};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(is_well_formed_trade(body["trades"][i]));
    EXPECT_EQ(body["trades"][i]["price"], prices[i]);
    EXPECT_EQ(body["trades"][i]["quantity"], "1.00000000");
    EXPECT_EQ(body["trades"][i]["aggressor_side"], "buy");
  }
  EXPECT_EQ(book_sides_now(), book_sides{}) << "the remainder must not rest";
  EXPECT_EQ(get_order("mkt-1"), order);
}

TEST_F(rest, market_order_that_fills_is_filled) {
  rest_order("b1", "buy", "100.00", "1");
  const json body = place(market_order("mkt-2", "client-S", "sell", "0.4"));
  EXPECT_EQ(body["order"]["status"], "filled");
  EXPECT_EQ(body["order"]["remaining_quantity"], "0.00000000");
  EXPECT_EQ(body["order"]["average_fill_price"], "100.00");
  ASSERT_EQ(body["trades"].size(), 1u);
  EXPECT_EQ(body["trades"][0]["aggressor_side"], "sell");
  EXPECT_EQ(book_sides_now(), (book_sides{{{10000, 60000000, 1}}, {}}));
}

TEST_F(rest, market_order_on_an_empty_book_is_cancelled_without_trades) {
  const json body = place(market_order("mkt-3", "client-B", "buy", "1"));
  EXPECT_TRUE(is_well_formed_order(body["order"]));
  EXPECT_EQ(body["order"]["status"], "cancelled");
  EXPECT_EQ(body["order"]["filled_quantity"], "0.00000000");
  EXPECT_EQ(body["order"]["remaining_quantity"], "1.00000000");
  EXPECT_TRUE(body["order"]["average_fill_price"].is_null());
  EXPECT_EQ(body["trades"], json::array());
  EXPECT_EQ(book_sides_now(), book_sides{});
}

TEST_F(rest, ioc_limit_fills_up_to_its_price_and_cancels_the_rest) {
  rest_order("a1", "sell", "100.00", "1");
  rest_order("a2", "sell", "102.00", "1");
  const json body = place(limit_order("ioc-1", "client-B", "buy", "101.00", "2", "ioc"));
  const json& order = body["order"];
  EXPECT_TRUE(is_well_formed_order(order));
  EXPECT_EQ(order["time_in_force"], "ioc");
  EXPECT_EQ(order["status"], "cancelled");
  EXPECT_EQ(order["filled_quantity"], "1.00000000");
  EXPECT_EQ(order["remaining_quantity"], "1.00000000");
  ASSERT_EQ(body["trades"].size(), 1u) << body.dump();
  EXPECT_EQ(body["trades"][0]["price"], "100.00");
  EXPECT_EQ(book_sides_now(), (book_sides{{}, {{10200, 100000000, 1}}}));

  const json none = place(limit_order("ioc-2", "client-B", "buy", "99.00", "1", "ioc"));
  EXPECT_EQ(none["order"]["status"], "cancelled");
  EXPECT_EQ(none["trades"], json::array());
  EXPECT_EQ(book_sides_now(), (book_sides{{}, {{10200, 100000000, 1}}}));
}

TEST_F(rest, fok_that_cannot_fill_entirely_is_rejected_without_trading) {
  rest_order("a1", "sell", "100.00", "1");
  rest_order("a2", "sell", "101.00", "1");
  const book_sides before = book_sides_now();
  const http_response r =
      http.post_json("/orders", limit_order("fok-1", "client-B", "buy", "100.00", "2", "fok"));
  ASSERT_EQ(r.status, 201u) << r.describe();
  const json body = r.json();
  EXPECT_TRUE(is_well_formed_order(body["order"]));
  EXPECT_EQ(body["order"]["status"], "rejected");
  EXPECT_EQ(body["order"]["time_in_force"], "fok");
  EXPECT_EQ(body["order"]["filled_quantity"], "0.00000000");
  EXPECT_EQ(body["trades"], json::array());
  EXPECT_EQ(book_sides_now(), before);
  EXPECT_EQ(get_order("fok-1")["status"], "rejected");
  EXPECT_EQ(http.get(trades_path()).json()["trades"], json::array());
}

TEST_F(rest, fok_that_can_fill_entirely_is_filled) {
  rest_order("a1", "sell", "100.00", "1");
  rest_order("a2", "sell", "101.00", "1");
  const json body = place(limit_order("fok-2", "client-B", "buy", "101.00", "2", "fok"));
  EXPECT_EQ(body["order"]["status"], "filled");
  EXPECT_EQ(body["order"]["average_fill_price"], "100.50");
  ASSERT_EQ(body["trades"].size(), 2u) << body.dump();
  EXPECT_EQ(book_sides_now(), book_sides{});
}

TEST_F(rest, server_generates_a_uuid_order_id_when_none_is_given) {
  const json first = place(limit_order("", "client-A", "buy", "100.00", "1"))["order"];
  const json second = place(limit_order("", "client-A", "buy", "100.00", "1"))["order"];
  EXPECT_TRUE(is_well_formed_order(first));
  EXPECT_TRUE(is_uuid(first["order_id"])) << first.dump();
  EXPECT_TRUE(is_uuid(second["order_id"])) << second.dump();
  EXPECT_NE(first["order_id"], second["order_id"]);
  EXPECT_EQ(get_order(first["order_id"].get<std::string>()), first);
}

TEST_F(rest, max_length_order_id_with_every_allowed_character_is_accepted) {
  std::string id = "AZaz09._:-";
  id += std::string(64 - id.size(), 'x');
  const json order = place(limit_order(id, "client-A", "buy", "100.00", "1"))["order"];
  EXPECT_EQ(order["order_id"], id);
  EXPECT_EQ(get_order(id)["order_id"], id);
}

// --- cancel ---------------------------------------------------------------------------

TEST_F(rest, cancel_with_post_returns_the_cancelled_order) {
  const json placed = rest_order("c1", "buy", "100.00", "1");
  const http_response r = http.request("POST", cancel_path("c1"));
  ASSERT_EQ(r.status, 200u) << r.describe();
  const json body = r.json();
  EXPECT_EQ(keys_of(body), (strings{"order"}));
  const json& order = body["order"];
  EXPECT_TRUE(is_well_formed_order(order));
  EXPECT_EQ(order["order_id"], "c1");
  EXPECT_EQ(order["status"], "cancelled");
  EXPECT_EQ(order["filled_quantity"], "0.00000000");
  EXPECT_EQ(order["remaining_quantity"], "1.00000000");
  EXPECT_GT(order["sequence"].get<long long>(), placed["sequence"].get<long long>());
  EXPECT_EQ(book_sides_now(), book_sides{});
  EXPECT_EQ(get_order("c1"), order);
}

TEST_F(rest, cancel_with_delete_returns_the_cancelled_order) {
  rest_order("c2", "sell", "100.00", "1");
  const http_response r = http.del(order_path("c2"));
  ASSERT_EQ(r.status, 200u) << r.describe();
  const json body = r.json();
  EXPECT_EQ(keys_of(body), (strings{"order"}));
  EXPECT_TRUE(is_well_formed_order(body["order"]));
  EXPECT_EQ(body["order"]["status"], "cancelled");
  EXPECT_EQ(book_sides_now(), book_sides{});
}

TEST_F(rest, cancel_of_a_partially_filled_order_keeps_its_fills) {
  rest_order("c3", "sell", "100.00", "1");
  place(limit_order("b", "client-B", "buy", "100.00", "0.25"));
  const http_response r = http.request("POST", cancel_path("c3"));
  ASSERT_EQ(r.status, 200u) << r.describe();
  const json order = r.json()["order"];
  EXPECT_EQ(order["status"], "cancelled");
  EXPECT_EQ(order["filled_quantity"], "0.25000000");
  EXPECT_EQ(order["remaining_quantity"], "0.75000000");
  EXPECT_EQ(order["average_fill_price"], "100.00");
  EXPECT_EQ(book_sides_now(), book_sides{});
}

// updated_at is when the order last changed: a resting order's at its creation, a filled
// maker's at the fill (the taker's arrival), a cancelled order's at the cancel.
TEST_F(rest, updated_at_moves_with_each_change) {
  auto place = [&](const std::string& id, const std::string& client, const std::string& side,
                   const std::string& price) {
    return http.post_json("/orders", limit_order(id, client, side, price, "1")).json()["order"];
  };
  const json maker = place("u-m", "client-A", "sell", "100.00");
  EXPECT_EQ(maker["updated_at"], maker["created_at"]);
  const json rest_one = place("u-r", "client-A", "buy", "90.00");
  const json taker = place("u-t", "client-B", "buy", "100.00");
  const json filled = http.get(order_path("u-m")).json()["order"];
  EXPECT_EQ(filled["status"], "filled");
  EXPECT_EQ(filled["created_at"], maker["created_at"]);
  EXPECT_EQ(filled["updated_at"], taker["created_at"]) << "filled when the taker arrived";
  EXPECT_GT(filled["updated_at"].get<std::string>(), maker["updated_at"].get<std::string>());

  const json cancelled = http.request("POST", cancel_path("u-r")).json()["order"];
  EXPECT_EQ(cancelled["status"], "cancelled");
  EXPECT_EQ(cancelled["created_at"], rest_one["created_at"]);
  EXPECT_GT(cancelled["updated_at"].get<std::string>(), taker["created_at"].get<std::string>())
      << "the cancel came after the taker";
}

TEST_F(rest, cancel_of_an_unknown_order_is_404) {
  EXPECT_TRUE(is_error(http.request("POST", cancel_path("nope")), 404, "order_not_found"));
  EXPECT_TRUE(is_error(http.del(order_path("nope")), 404, "order_not_found"));
}

// An id no order can have (too long, or outside the id alphabet) is just as unknown: 404,
// not 400 (docs/api.md, Behaviour in detail).
TEST_F(rest, an_impossible_order_id_is_404_for_every_route) {
  for (const std::string& id : {std::string(65, 'x'), std::string("a%20b")}) {
    SCOPED_TRACE(id);
    EXPECT_TRUE(is_error(http.get("/orders/" + id), 404, "order_not_found"));
    EXPECT_TRUE(is_error(http.del("/orders/" + id), 404, "order_not_found"));
    EXPECT_TRUE(
        is_error(http.request("POST", "/orders/" + id + "/cancel"), 404, "order_not_found"));
  }
}

TEST_F(rest, cancel_of_a_finished_order_is_409_with_the_order) {
  rest_order("f1", "sell", "100.00", "1");
  place(limit_order("f2", "client-B", "buy", "100.00", "1"));
  rest_order("f3", "buy", "90.00", "1");
  ASSERT_EQ(http.del(order_path("f3")).status, 200u);
  place(limit_order("f4", "client-B", "buy", "50.00", "1", "fok"));

  const struct {
    std::string id;
    std::string status;
  } cases[] = {{"f1", "filled"}, {"f2", "filled"}, {"f3", "cancelled"}, {"f4", "rejected"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.id + " " + c.status);
    for (const std::string method : {"POST", "DELETE"}) {
      const http_response r =
          method == "POST" ? http.request("POST", cancel_path(c.id)) : http.del(order_path(c.id));
      EXPECT_TRUE(is_error(r, 409, "order_not_open", {"order"})) << method;
      const json body = r.json();
      if (body.is_object() && body.contains("order")) {
        EXPECT_TRUE(is_well_formed_order(body["order"]));
        EXPECT_EQ(body["order"]["order_id"], c.id);
        EXPECT_EQ(body["order"]["status"], c.status);
      }
    }
  }
}

TEST_F(rest, duplicate_order_id_is_409_and_changes_nothing) {
  rest_order("dup", "buy", "100.00", "1", "client-A");
  const book_sides before = book_sides_now();
  EXPECT_TRUE(
      is_error(http.post_json("/orders", limit_order("dup", "client-A", "buy", "99.00", "2")), 409,
               "duplicate_order_id"));
  EXPECT_EQ(book_sides_now(), before);
  EXPECT_EQ(get_order("dup")["price"], "100.00");

  // Also once the first order is finished.
  ASSERT_EQ(http.del(order_path("dup")).status, 200u);
  EXPECT_TRUE(
      is_error(http.post_json("/orders", limit_order("dup", "client-A", "buy", "99.00", "2")), 409,
               "duplicate_order_id"));
  EXPECT_EQ(book_sides_now(), book_sides{});
}

// --- GET /orderbook -------------------------------------------------------------------

TEST_F(rest, orderbook_aggregates_levels_best_first_with_cumulative_quantity) {
  rest_order("b1", "buy", "100.00", "1");
  rest_order("b2", "buy", "100.00", "0.5");
  rest_order("b3", "buy", "99.00", "2");
  rest_order("b4", "buy", "98.50", "0.25");
  rest_order("a1", "sell", "101.00", "0.3");
  rest_order("a2", "sell", "102.00", "1");
  rest_order("a3", "sell", "102.00", "1.5");
  const json last = rest_order("a4", "sell", "105.00", "3");

  const http_response r = http.get(orderbook_path(2));
  ASSERT_EQ(r.status, 200u) << r.describe();
  const json body = r.json();
  EXPECT_EQ(keys_of(body), (strings{"asks", "bids", "instrument", "sequence", "timestamp"}));
  EXPECT_EQ(body["instrument"], "BTC-USD");
  EXPECT_TRUE(is_rfc3339_utc_micros(body["timestamp"])) << body.dump();
  ASSERT_TRUE(body["sequence"].is_number_integer()) << body.dump();
  EXPECT_GE(body["sequence"].get<long long>(), last["sequence"].get<long long>());
  EXPECT_EQ(body["bids"], json::parse(R"([
      {"price": "100.00", "quantity": "1.50000000", "orders": 2, "cumulative_quantity": "1.50000000"},
      {"price": "99.00", "quantity": "2.00000000", "orders": 1, "cumulative_quantity": "3.50000000"}])"));
  EXPECT_EQ(body["asks"], json::parse(R"([
      {"price": "101.00", "quantity": "0.30000000", "orders": 1, "cumulative_quantity": "0.30000000"},
      {"price": "102.00", "quantity": "2.50000000", "orders": 2, "cumulative_quantity": "2.80000000"}])"));

  // Default depth (20) shows everything here.
  const json all = http.get("/orderbook?instrument=BTC-USD").json();
  EXPECT_EQ(book_from_json(all),
            (book_sides{{{10000, 150000000, 2}, {9900, 200000000, 1}, {9850, 25000000, 1}},
                        {{10100, 30000000, 1}, {10200, 250000000, 2}, {10500, 300000000, 1}}}));
  ASSERT_EQ(all["bids"].size(), 3u) << all.dump();
  EXPECT_EQ(all["bids"][2]["cumulative_quantity"], "3.75000000");
  ASSERT_EQ(all["asks"].size(), 3u) << all.dump();
  EXPECT_EQ(all["asks"][2]["cumulative_quantity"], "5.80000000");

  // Empty levels never appear: cancel the only order at 99.00, fill the one at 101.00.
  ASSERT_EQ(http.del(order_path("b3")).status, 200u);
  place(limit_order("t", "client-B", "buy", "101.00", "0.3"));
  EXPECT_EQ(book_sides_now(), (book_sides{{{10000, 150000000, 2}, {9850, 25000000, 1}},
                                          {{10200, 250000000, 2}, {10500, 300000000, 1}}}));
}

TEST_F(rest, orderbook_levels_caps_the_depth_per_side) {
  for (int i = 0; i < 25; ++i) {
    rest_order("b" + std::to_string(i), "buy", std::to_string(100 - i) + ".00", "1");
    rest_order("a" + std::to_string(i), "sell", std::to_string(200 + i) + ".00", "1");
  }
  const json by_default = http.get("/orderbook?instrument=BTC-USD").json();
  EXPECT_EQ(by_default["bids"].size(), 20u);
  EXPECT_EQ(by_default["asks"].size(), 20u);
  const json five = book(5);
  ASSERT_EQ(five["bids"].size(), 5u);
  ASSERT_EQ(five["asks"].size(), 5u);
  EXPECT_EQ(five["bids"][4]["price"], "96.00");
  EXPECT_EQ(five["bids"][4]["cumulative_quantity"], "5.00000000");
  EXPECT_EQ(five["asks"][4]["price"], "204.00");
  EXPECT_EQ(book(1000)["bids"].size(), 25u);
}

TEST_F(rest, orderbook_of_an_empty_book_has_empty_sides) {
  const json body = book(10);
  EXPECT_EQ(body["bids"], json::array());
  EXPECT_EQ(body["asks"], json::array());
}

TEST_F(rest, orderbook_parameters_are_validated) {
  EXPECT_EQ(http.get(orderbook_path(1000)).status, 200u);
  EXPECT_TRUE(is_error(http.get(orderbook_path(1001)), 400, "invalid_parameter"));
  EXPECT_TRUE(
      is_error(http.get("/orderbook?instrument=BTC-USD&levels=abc"), 400, "invalid_parameter"));
  EXPECT_TRUE(is_error(http.get("/orderbook?levels=5"), 400, "invalid_parameter"));
  EXPECT_TRUE(is_error(http.get("/orderbook"), 400, "invalid_parameter"));
  EXPECT_TRUE(is_error(http.get(orderbook_path(5, "DOGE-EUR")), 400, "unknown_instrument"));
}

// --- GET /trades ----------------------------------------------------------------------

TEST_F(rest, trades_are_newest_first_and_limited) {
  std::vector<json> made;
  for (int i = 0; i < 3; ++i) {
    rest_order("m" + std::to_string(i), "sell", "100.00", "1");
    const json body = place(limit_order("t" + std::to_string(i), "client-B", "buy", "100.00", "1"));
    ASSERT_EQ(body["trades"].size(), 1u);
    made.push_back(body["trades"][0]);
  }
  const http_response r = http.get(trades_path(2));
  ASSERT_EQ(r.status, 200u) << r.describe();
  const json body = r.json();
  EXPECT_EQ(keys_of(body), (strings{"trades"}));
  ASSERT_EQ(body["trades"].size(), 2u) << body.dump();
  EXPECT_EQ(body["trades"][0], made[2]);
  EXPECT_EQ(body["trades"][1], made[1]);
  for (const json& t : body["trades"]) EXPECT_TRUE(is_well_formed_trade(t));

  const json all = http.get("/trades?instrument=BTC-USD").json();
  ASSERT_EQ(all["trades"].size(), 3u) << all.dump();
  EXPECT_EQ(all["trades"][2], made[0]);
}

TEST_F(rest, trades_default_limit_is_50) {
  for (int i = 0; i < 55; ++i) rest_order("m" + std::to_string(i), "sell", "100.00", "0.01");
  place(limit_order("sweep", "client-B", "buy", "100.00", "0.55"));
  const json all = http.get("/trades?instrument=BTC-USD").json();
  EXPECT_EQ(all["trades"].size(), 50u);
  EXPECT_EQ(http.get(trades_path(1000)).json()["trades"].size(), 55u);
}

TEST_F(rest, trades_parameters_are_validated) {
  EXPECT_EQ(http.get(trades_path(1000)).status, 200u);
  EXPECT_TRUE(is_error(http.get(trades_path(1001)), 400, "invalid_parameter"));
  EXPECT_TRUE(is_error(http.get(trades_path(10, "DOGE-EUR")), 400, "unknown_instrument"));
}

// --- protocol errors ------------------------------------------------------------------

TEST_F(rest, unknown_path_is_404_not_found) {
  EXPECT_TRUE(is_error(http.get("/nope"), 404, "not_found"));
  EXPECT_TRUE(is_error(http.get("/v2/orders"), 404, "not_found"));
}

TEST_F(rest, wrong_method_is_405_method_not_allowed) {
  EXPECT_TRUE(is_error(
      http.request("PUT", "/orders", limit_order("x", "client-A", "buy", "1.00", "1").dump(),
                   {{"Content-Type", "application/json"}}),
      405, "method_not_allowed"));
  EXPECT_TRUE(is_error(http.request("DELETE", orderbook_path(5)), 405, "method_not_allowed"));
  EXPECT_TRUE(is_error(http.request("POST", trades_path(5)), 405, "method_not_allowed"));
}

// RFC 9110 15.5.6: a 405 carries an Allow header listing the methods of that resource.
TEST_F(rest, method_not_allowed_lists_the_allowed_methods_of_the_resource) {
  auto allowed = [](const http_response& r) {
    std::set<std::string> methods;
    std::string value = r.header("Allow");
    std::size_t start = 0;
    while (start < value.size()) {
      std::size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      std::string m = value.substr(start, comma - start);
      m.erase(0, m.find_first_not_of(' '));
      m.erase(m.find_last_not_of(' ') + 1);
      if (!m.empty() && m != "HEAD" && m != "OPTIONS") methods.insert(m);
      start = comma + 1;
    }
    return methods;
  };
  const http_response orders = http.request("PUT", "/orders");
  ASSERT_EQ(orders.status, 405u) << orders.describe();
  EXPECT_EQ(allowed(orders), (std::set<std::string>{"DELETE", "GET", "POST"}))
      << "PUT /orders -> Allow: " << orders.header("Allow");
  const http_response book = http.request("DELETE", orderbook_path(5));
  ASSERT_EQ(book.status, 405u) << book.describe();
  EXPECT_EQ(allowed(book), (std::set<std::string>{"GET"}))
      << "DELETE /orderbook -> Allow: " << book.header("Allow");
  const http_response one = http.request("PUT", order_path("x"));
  ASSERT_EQ(one.status, 405u) << one.describe();
  EXPECT_EQ(allowed(one), (std::set<std::string>{"GET", "DELETE", "PATCH"}))
      << "PUT /orders/x -> Allow: " << one.header("Allow");
}

// The Allow header comes from the route table: every method of the routes that fit the
// path, sorted, so it is the same list on every request.
TEST_F(rest, allow_header_is_the_sorted_methods_of_the_route_table_for_that_path) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"PUT", "/orders", "DELETE, GET, POST"},
      {"PATCH", "/orders", "DELETE, GET, POST"},
      {"PUT", order_path("x"), "DELETE, GET, PATCH"},
      {"POST", order_path("x"), "DELETE, GET, PATCH"},
      {"GET", order_path("x") + "/cancel", "POST"},
      {"DELETE", "/trades?instrument=BTC-USD", "GET"},
      {"POST", "/stream/sse?instrument=BTC-USD", "GET"},
      {"POST", "/healthz", "GET"},
      {"PUT", "/metrics", "GET"},
      {"GET", "/admin/snapshots", "POST"},
  };
  for (const auto& [method, target, allow] : cases) {
    const http_response r = http.request(method, target);
    EXPECT_TRUE(is_error(r, 405, "method_not_allowed")) << method << " " << target;
    EXPECT_EQ(r.header("Allow"), allow) << method << " " << target << " -> " << r.describe();
  }
  // Not a 405: no route has the path.
  EXPECT_FALSE(http.request("PUT", "/orders/x/y").has_header("Allow"));
}

// GET /stream is a WebSocket endpoint: without the upgrade it is 426 upgrade_required.
TEST_F(rest, stream_without_a_websocket_upgrade_is_426_upgrade_required) {
  const http_response r = http.get("/stream");
  EXPECT_TRUE(is_error(r, 426, "upgrade_required")) << r.describe();
}

TEST_F(rest, wrong_content_type_is_415) {
  const std::string body = limit_order("ct-1", "client-A", "buy", "100.00", "1").dump();
  EXPECT_TRUE(is_error(http.request("POST", "/orders", body, {{"Content-Type", "text/plain"}}), 415,
                       "unsupported_media_type"));
  EXPECT_TRUE(is_error(http.get(order_path("ct-1")), 404, "order_not_found"));
}

// The limit is 64 KiB exactly: a body of 65,536 bytes is an order, one byte more is 413.
TEST_F(rest, body_of_exactly_64_kib_is_accepted_and_one_byte_more_is_413) {
  auto body_of_size = [](const std::string& order_id, std::size_t size) {
    json request = limit_order(order_id, "client-A", "buy", "100.00", "1");
    request["padding"] = "";
    const std::size_t bare = request.dump().size();
    request["padding"] = std::string(size - bare, 'x');
    std::string text = request.dump();
    EXPECT_EQ(text.size(), size);
    return text;
  };
  const header_list json_type = {{"Content-Type", "application/json"}};
  const http_response at_limit =
      http.request("POST", "/orders", body_of_size("limit-1", 64 * 1024), json_type);
  EXPECT_EQ(at_limit.status, 201u) << at_limit.describe();
  http_client fresh(daemon.port());
  EXPECT_TRUE(
      is_error(fresh.request("POST", "/orders", body_of_size("limit-2", 64 * 1024 + 1), json_type),
               413, "body_too_large"));
  http_client after(daemon.port());
  EXPECT_EQ(after.get(order_path("limit-1")).status, 200u);
  EXPECT_TRUE(is_error(after.get(order_path("limit-2")), 404, "order_not_found"));
}

TEST_F(rest, body_over_64_kib_is_413) {
  json request = limit_order("big-1", "client-A", "buy", "100.00", "1");
  request["padding"] = std::string(70 * 1024, 'x');
  EXPECT_TRUE(is_error(http.post_json("/orders", request), 413, "body_too_large"));
  http_client fresh(daemon.port());
  EXPECT_EQ(fresh.get("/healthz").status, 200u) << "the daemon keeps serving";
  EXPECT_TRUE(is_error(fresh.get(order_path("big-1")), 404, "order_not_found"));
}

TEST_F(rest, malformed_json_is_400) {
  EXPECT_TRUE(is_error(http.request("POST", "/orders", R"({"client_id": "a",)",
                                    {{"Content-Type", "application/json"}}),
                       400, "malformed_json"));
  EXPECT_TRUE(is_error(
      http.request("POST", "/orders", "not json at all", {{"Content-Type", "application/json"}}),
      400, "malformed_json"));
}

// --- validation -----------------------------------------------------------------------

TEST_F(rest, each_validation_failure_has_its_code_and_creates_nothing) {
  struct validation_case {
    std::string name;
    json body;
    std::string code;
  };
  int n = 0;
  auto base = [&n] {
    return limit_order("v-" + std::to_string(++n), "client-A", "buy", "100.00", "1");
  };
  auto without = [&](const std::string& field) {
    json b = base();
    b.erase(field);
    return b;
  };
  auto with = [&](const std::string& field, json value) {
    json b = base();
    b[field] = std::move(value);
    return b;
  };
  json market_with_price = market_order("v-market", "client-A", "buy", "1");
  market_with_price["price"] = "100.00";
  const std::vector<validation_case> cases = {
      {"no client_id", without("client_id"), "missing_field"},
      {"no instrument", without("instrument"), "missing_field"},
      {"no side", without("side"), "missing_field"},
      {"no type", without("type"), "missing_field"},
      {"no quantity", without("quantity"), "missing_field"},
      {"limit without price", without("price"), "missing_field"},
      {"quantity is a boolean", with("quantity", true), "invalid_field_type"},
      {"price is an array", with("price", json::array({100})), "invalid_field_type"},
      {"price is an object", with("price", json::object({{"v", 1}})), "invalid_field_type"},
      {"unknown instrument", with("instrument", "ETH-USD"), "unknown_instrument"},
      {"side hold", with("side", "hold"), "invalid_side"},
      {"type stop", with("type", "stop"), "invalid_order_type"},
      {"time_in_force day", with("time_in_force", "day"), "invalid_time_in_force"},
      {"price 0", with("price", "0"), "invalid_price"},
      {"price 0 number", with("price", 0), "invalid_price"},
      {"price -1.00", with("price", "-1.00"), "invalid_price"},
      {"price -5 number", with("price", -5), "invalid_price"},
      {"price 1.005", with("price", "1.005"), "invalid_price_tick"},
      {"price 1.005 number", with("price", 1.005), "invalid_price_tick"},
      {"quantity 0", with("quantity", "0"), "invalid_quantity"},
      {"quantity -1", with("quantity", "-1"), "invalid_quantity"},
      {"quantity 0.000000001", with("quantity", "0.000000001"), "invalid_quantity_lot"},
      {"market with price", market_with_price, "price_not_allowed"},
      {"order_id with a space", with("order_id", "has space"), "invalid_order_id"},
      {"order_id with a slash", with("order_id", "a/b"), "invalid_order_id"},
      {"empty order_id", with("order_id", ""), "invalid_order_id"},
      {"65-char order_id", with("order_id", std::string(65, 'a')), "invalid_order_id"},
      {"empty client_id", with("client_id", ""), "invalid_client_id"},
  };
  for (const validation_case& c : cases) {
    SCOPED_TRACE(c.name + ": " + c.body.dump());
    const http_response r = http.post_json("/orders", c.body);
    EXPECT_TRUE(is_error(r, 400, c.code));
    if (c.body.contains("order_id") && c.body["order_id"].is_string() &&
        !c.body["order_id"].get<std::string>().empty() &&
        c.body["order_id"].get<std::string>().find_first_of(" /") == std::string::npos &&
        c.body["order_id"].get<std::string>().size() <= 64) {
      EXPECT_EQ(http.get(order_path(c.body["order_id"].get<std::string>())).status, 404u)
          << "nothing is created";
    }
  }
  EXPECT_EQ(book_sides_now(), book_sides{});
  EXPECT_EQ(http.get(trades_path()).json()["trades"], json::array());
}

TEST_F(rest, out_of_range_and_non_decimal_values_are_400) {
  auto with = [](const std::string& field, json value) {
    json b = limit_order("", "client-A", "buy", "100.00", "1");
    b[field] = std::move(value);
    return b;
  };
  const std::vector<std::pair<json, std::string>> cases = {
      {with("price", "1e30"), "price_out_of_range"},
      {with("price", "100000000000000000000000.00"), "price_out_of_range"},
      {with("quantity", "99999999999999999999999"), "quantity_out_of_range"},
      {with("price", "abc"), "invalid_price"},
      {with("quantity", "1..0"), "invalid_quantity"},
      {with("price", "100.001"), "invalid_price_tick"},
      {with("quantity", "0.0000000001"), "invalid_quantity_lot"},
  };
  for (const auto& [body, code] : cases) {
    SCOPED_TRACE(body.dump());
    EXPECT_TRUE(is_error(http.post_json("/orders", body), 400, code));
  }
  EXPECT_EQ(book_sides_now(), book_sides{});
}

// --- operations -----------------------------------------------------------------------

TEST_F(rest, healthz_and_readyz_are_200_in_memory_mode) {
  const http_response health = http.get("/healthz");
  EXPECT_EQ(health.status, 200u) << health.describe();
  EXPECT_EQ(health.json(), json::parse(R"({"status": "ok"})"));
  const http_response ready = http.get("/readyz");
  EXPECT_EQ(ready.status, 200u) << ready.describe();
}

// POST /admin/snapshots persists the book in durable mode (the suite's `durable.` copy); a
// daemon without a database has nowhere to persist it and says so.
TEST_F(rest, admin_snapshot_is_persisted_with_a_database_and_refused_without) {
  auto place = [&](const std::string& id, const std::string& side, const std::string& price) {
    return http.post_json("/orders", limit_order(id, "client-A", side, price, "1")).status;
  };
  ASSERT_EQ(place("snap-b", "buy", "100.00"), 201u);
  ASSERT_EQ(place("snap-s", "sell", "101.00"), 201u);
  const json book = http.get("/orderbook?instrument=BTC-USD").json();
  const http_response first = http.post_json("/admin/snapshots", {{"instrument", "BTC-USD"}});
  if (!durable_mode()) {
    EXPECT_TRUE(is_error(first, 503, "not_ready")) << first.describe();
    return;
  }
  ASSERT_EQ(first.status, 201u) << first.describe();
  const json a = first.json();
  EXPECT_EQ(a.size(), 3u) << a.dump();
  ASSERT_TRUE(a.at("snapshot_id").is_string()) << a.dump();
  EXPECT_FALSE(a.at("snapshot_id").get<std::string>().empty());
  EXPECT_EQ(a.at("instrument"), "BTC-USD");
  // Nothing happened between the book read and the snapshot: both are at one sequence.
  EXPECT_EQ(a.at("sequence"), book.at("sequence")) << a.dump() << " vs " << book.dump();

  ASSERT_EQ(place("snap-c", "buy", "99.00"), 201u);
  const http_response second = http.post_json("/admin/snapshots", {{"instrument", "BTC-USD"}});
  ASSERT_EQ(second.status, 201u) << second.describe();
  const json b = second.json();
  EXPECT_NE(b.at("snapshot_id"), a.at("snapshot_id"));
  EXPECT_GT(b.at("sequence").get<std::uint64_t>(), a.at("sequence").get<std::uint64_t>());
}

TEST_F(rest, admin_snapshot_request_errors_have_their_codes) {
  EXPECT_TRUE(is_error(http.get("/admin/snapshots"), 405, "method_not_allowed"));
  EXPECT_TRUE(is_error(http.post_json("/admin/snapshots", json::object()), 400, "missing_field"));
  EXPECT_TRUE(is_error(http.post_json("/admin/snapshots", {{"instrument", "DOGE-EUR"}}), 400,
                       "unknown_instrument"));
  EXPECT_TRUE(is_error(http.request("POST", "/admin/snapshots", R"({"instrument":"BTC-USD"})",
                                    {{"Content-Type", "text/plain"}}),
                       415, "unsupported_media_type"));
}

TEST_F(rest, metrics_expose_the_required_series_and_they_move) {
  auto scrape = [&] {
    const http_response r = http.get("/metrics");
    EXPECT_EQ(r.status, 200u) << r.describe();
    EXPECT_EQ(r.header("Content-Type").rfind("text/plain", 0), 0u)
        << "Content-Type: " << r.header("Content-Type");
    return parse_prometheus(r.body);
  };
  const std::vector<metric_sample> before = scrape();
  for (const char* name : {"orders_received_total", "orders_matched_total", "orders_rejected_total",
                           "order_latency_seconds_sum", "order_latency_seconds_count"}) {
    EXPECT_TRUE(metric_value(before, name).has_value()) << name << " missing";
  }
  EXPECT_TRUE(metric_value(before, "order_latency_seconds_bucket", {{"le", "+Inf"}}).has_value())
      << "order_latency_seconds_bucket{le=\"+Inf\"} missing";
  for (const char* side : {"buy", "sell"}) {
    EXPECT_TRUE(
        metric_value(before, "current_orderbook_depth", {{"instrument", "BTC-USD"}, {"side", side}})
            .has_value())
        << "current_orderbook_depth{instrument=\"BTC-USD\",side=\"" << side << "\"} missing";
  }

  rest_order("m1", "sell", "100.00", "1");
  place(limit_order("m2", "client-B", "buy", "100.00", "1"));
  rest_order("m3", "buy", "90.00", "1");
  place(limit_order("m4", "client-B", "buy", "50.00", "1", "fok"));
  EXPECT_EQ(http.post_json("/orders", limit_order("m5", "client-A", "buy", "1.005", "1")).status,
            400u);

  auto delta = [&](const std::vector<metric_sample>& after, std::string_view name,
                   const std::map<std::string, std::string>& labels = {}) {
    return metric_value(after, name, labels).value_or(0) -
           metric_value(before, name, labels).value_or(0);
  };
  std::vector<metric_sample> after;
  (void)test::wait_until(
      [&] {
        after = scrape();
        return delta(after, "orders_received_total") >= 4 &&
               delta(after, "orders_matched_total") >= 1 &&
               delta(after, "orders_rejected_total", {{"reason", "fok_not_fillable"}}) >= 1 &&
               delta(after, "order_latency_seconds_count") >= 4 &&
               metric_value(after, "current_orderbook_depth",
                            {{"instrument", "BTC-USD"}, {"side", "buy"}})
                       .value_or(0) > 0;
      },
      std::chrono::seconds(3), std::chrono::milliseconds(50));
  EXPECT_GE(delta(after, "orders_received_total"), 4);
  EXPECT_GE(delta(after, "orders_matched_total"), 1);
  EXPECT_GE(delta(after, "orders_rejected_total"), 1);
  EXPECT_GE(delta(after, "order_latency_seconds_count"), 4);
  EXPECT_GT(delta(after, "order_latency_seconds_sum"), 0);
  EXPECT_EQ(metric_value(after, "order_latency_seconds_bucket", {{"le", "+Inf"}}),
            metric_value(after, "order_latency_seconds_count"));
  EXPECT_GT(
      metric_value(after, "current_orderbook_depth", {{"instrument", "BTC-USD"}, {"side", "buy"}})
          .value_or(0),
      0)
      << "a bid rests at 90.00";
  // Rejections by reason: the FOK the engine refused, the price the gateway refused.
  EXPECT_EQ(delta(after, "orders_rejected_total", {{"reason", "fok_not_fillable"}}), 1);
  EXPECT_EQ(delta(after, "orders_rejected_total", {{"reason", "invalid_price_tick"}}), 1);
  // Depth counts price levels per side: the bid at 90.00 only; m1 was filled by m2.
  EXPECT_EQ(
      metric_value(after, "current_orderbook_depth", {{"instrument", "BTC-USD"}, {"side", "buy"}}),
      1);
  EXPECT_EQ(
      metric_value(after, "current_orderbook_depth", {{"instrument", "BTC-USD"}, {"side", "sell"}}),
      0);
}

// --- instruments from the command line -----------------------------------------------

class rest_instruments : public ::testing::Test {
 protected:
  daemon_process daemon{{"--rate-limit", "0", "--instrument", "BTC-USD:0.01:0.00000001",
                         "--instrument", "ETH-USD:0.1:0.001"}};
  http_client http{daemon.port()};
};

TEST_F(rest_instruments, each_instrument_has_its_own_precision_and_book) {
  const http_response r = http.post_json(
      "/orders", limit_order("e1", "client-A", "buy", "3000.1", "0.5", "gtc", "ETH-USD"));
  ASSERT_EQ(r.status, 201u) << r.describe();
  const json order = r.json()["order"];
  EXPECT_TRUE(is_well_formed_order(order, 1, 3));
  EXPECT_EQ(order["instrument"], "ETH-USD");
  EXPECT_EQ(order["price"], "3000.1");
  EXPECT_EQ(order["quantity"], "0.500");

  EXPECT_TRUE(is_error(http.post_json("/orders", limit_order("e2", "client-A", "buy", "3000.15",
                                                             "0.5", "gtc", "ETH-USD")),
                       400, "invalid_price_tick"));
  EXPECT_TRUE(is_error(http.post_json("/orders", limit_order("e3", "client-A", "buy", "3000.1",
                                                             "0.0005", "gtc", "ETH-USD")),
                       400, "invalid_quantity_lot"));

  // A BTC-USD sell below the ETH-USD bid does not cross it.
  const http_response btc =
      http.post_json("/orders", limit_order("x1", "client-B", "sell", "100.00", "1"));
  ASSERT_EQ(btc.status, 201u) << btc.describe();
  EXPECT_EQ(btc.json()["trades"], json::array());

  const json eth_book = http.get(orderbook_path(10, "ETH-USD")).json();
  EXPECT_EQ(eth_book["instrument"], "ETH-USD");
  EXPECT_EQ(eth_book["bids"], json::parse(R"([{"price": "3000.1", "quantity": "0.500",
                                              "orders": 1, "cumulative_quantity": "0.500"}])"));
  EXPECT_EQ(eth_book["asks"], json::array());
  const json btc_book = http.get(orderbook_path(10)).json();
  EXPECT_EQ(btc_book["bids"], json::array());
  EXPECT_EQ(btc_book["asks"].size(), 1u);
}

}  // namespace
}  // namespace matchd::e2e
