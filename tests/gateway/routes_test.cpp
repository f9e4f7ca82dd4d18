// The route matcher: path parameters, 404 against 405 and the Allow header, what is served
// while recovering, and no allocation on the order path.

#include "routes.h"

#include <gtest/gtest.h>

#include <boost/beast/http/verb.hpp>
#include <string>
#include <string_view>

#include "allocation_counter.h"

namespace matchd::gateway {
namespace {

namespace http = boost::beast::http;
using http::verb;

TEST(MatchPath, LiteralPatternMatchesOnlyItself) {
  path_params p;
  EXPECT_TRUE(match_path("/orders", "/orders", p));
  EXPECT_EQ(p.size(), 0u);
  EXPECT_FALSE(match_path("/orders", "/orders/", p));
  EXPECT_FALSE(match_path("/orders", "/Orders", p));
  EXPECT_FALSE(match_path("/orders", "/orders/x", p));
  EXPECT_FALSE(match_path("/orders", "", p));
}

TEST(MatchPath, ParameterTakesOneNonEmptySegment) {
  path_params p;
  ASSERT_TRUE(match_path("/orders/{order_id}", "/orders/order-1", p));
  EXPECT_EQ(p.size(), 1u);
  EXPECT_EQ(p.get("order_id"), "order-1");
  EXPECT_EQ(p["order_id"], "order-1");
  EXPECT_EQ(p.get("client_id"), std::nullopt);

  ASSERT_TRUE(match_path("/orders/{order_id}/cancel", "/orders/o.2:x/cancel", p));
  EXPECT_EQ(p["order_id"], "o.2:x");
  // A literal later in the path is a value here, not the literal of another pattern.
  ASSERT_TRUE(match_path("/orders/{order_id}", "/orders/cancel", p));
  EXPECT_EQ(p["order_id"], "cancel");

  EXPECT_FALSE(match_path("/orders/{order_id}", "/orders/", p));
  EXPECT_FALSE(match_path("/orders/{order_id}", "/orders", p));
  EXPECT_FALSE(match_path("/orders/{order_id}", "/orders/a/b", p));
  EXPECT_FALSE(match_path("/orders/{order_id}/cancel", "/orders//cancel", p));
  EXPECT_FALSE(match_path("/orders/{order_id}/cancel", "/orders/a/cancel/", p));
  EXPECT_FALSE(match_path("/orders/{order_id}/cancel", "/orders/a/close", p));
  EXPECT_FALSE(match_path("/orders/{order_id}", "orders/a", p));
}

TEST(MatchPath, ParametersArePercentDecodedAndPlusStaysPlus) {
  path_params p;
  ASSERT_TRUE(match_path("/orders/{order_id}", "/orders/a%2Fb", p));
  EXPECT_EQ(p["order_id"], "a/b");
  ASSERT_TRUE(match_path("/orders/{order_id}", "/orders/%41%62c", p));
  EXPECT_EQ(p["order_id"], "Abc");
  ASSERT_TRUE(match_path("/orders/{order_id}", "/orders/a+b", p));
  EXPECT_EQ(p["order_id"], "a+b");
  // A '%' without two hex digits is kept as it is.
  ASSERT_TRUE(match_path("/orders/{order_id}", "/orders/100%zz%4", p));
  EXPECT_EQ(p["order_id"], "100%zz%4");
}

TEST(MatchPath, SeveralParametersDecodedIntoOneBufferStayValid) {
  path_params p;
  ASSERT_TRUE(match_path("/a/{x}/b/{y}/{z}", "/a/%41x%42/b/plain/%7E%7e", p));
  EXPECT_EQ(p.size(), 3u);
  EXPECT_EQ(p["x"], "AxB");
  EXPECT_EQ(p["y"], "plain");
  EXPECT_EQ(p["z"], "~~");
  // A failed match leaves no parameters behind.
  EXPECT_FALSE(match_path("/a/{x}/c", "/a/1/b", p));
  EXPECT_EQ(p.size(), 0u);
}

TEST(MatchPath, AtMostKMaxParameters) {
  path_params p;
  EXPECT_TRUE(match_path("/{a}/{b}/{c}/{d}", "/1/2/3/4", p));
  EXPECT_FALSE(match_path("/{a}/{b}/{c}/{d}/{e}", "/1/2/3/4/5", p));
}

TEST(FindRoute, EachRouteOfTheServerByMethodAndPath) {
  path_params p;
  const auto table = server_routes();
  ASSERT_NE(find_route(table, verb::get, "/orders/o1", p).found, nullptr);
  const route_lookup place = find_route(table, verb::post, "/orders", p);
  ASSERT_NE(place.found, nullptr);
  EXPECT_EQ(place.found->pattern, "/orders");
  EXPECT_EQ(place.found->needs, access::trade);
  EXPECT_EQ(p.size(), 0u) << "the previous request's parameters are gone";

  // GET /orders lists a client's orders, DELETE /orders cancels them (query parameters).
  const route_lookup list = find_route(table, verb::get, "/orders", p);
  ASSERT_NE(list.found, nullptr);
  EXPECT_EQ(list.found->pattern, "/orders");
  EXPECT_EQ(list.found->needs, access::account_read);
  const route_lookup cancel_all = find_route(table, verb::delete_, "/orders", p);
  ASSERT_NE(cancel_all.found, nullptr);
  EXPECT_EQ(cancel_all.found->pattern, "/orders");
  EXPECT_EQ(cancel_all.found->needs, access::trade);

  const route_lookup get = find_route(table, verb::get, "/orders/o%2D1", p);
  ASSERT_NE(get.found, nullptr);
  EXPECT_EQ(get.found->pattern, "/orders/{order_id}");
  EXPECT_EQ(get.found->method, verb::get);
  EXPECT_EQ(p["order_id"], "o-1");

  const route_lookup del = find_route(table, verb::delete_, "/orders/o1", p);
  ASSERT_NE(del.found, nullptr);
  EXPECT_EQ(del.found->method, verb::delete_);
  EXPECT_EQ(p["order_id"], "o1");

  const route_lookup cancel = find_route(table, verb::post, "/orders/o1/cancel", p);
  ASSERT_NE(cancel.found, nullptr);
  EXPECT_EQ(cancel.found->pattern, "/orders/{order_id}/cancel");
  EXPECT_EQ(cancel.found->handler, del.found->handler) << "DELETE and POST .../cancel differ";

  for (const std::string_view path :
       {"/orderbook", "/trades", "/stream", "/stream/sse", "/healthz", "/readyz", "/metrics"}) {
    const route_lookup r = find_route(table, verb::get, path, p);
    ASSERT_NE(r.found, nullptr) << path;
    EXPECT_EQ(r.found->pattern, path);
  }
  EXPECT_NE(find_route(table, verb::post, "/admin/snapshots", p).found, nullptr);
}

TEST(FindRoute, UnknownPathIsNotFoundAndKnownPathWithOtherMethodIsNotAllowed) {
  path_params p;
  const auto table = server_routes();
  for (const std::string_view path :
       {"/nope", "/v2/orders", "/orders/", "/orders/a/b", "/orders//cancel", "/orderbook/", "",
        "//", "/ui/", "/ui/a/b", "/stream/sse/x", "http://host/orders"}) {
    const route_lookup r = find_route(table, verb::get, path, p);
    EXPECT_EQ(r.found, nullptr) << path;
    EXPECT_FALSE(r.path_known) << path;
    EXPECT_EQ(allowed_methods(table, path), "") << path;
  }
  const route_lookup put = find_route(table, verb::put, "/orders/x", p);
  EXPECT_EQ(put.found, nullptr);
  EXPECT_TRUE(put.path_known);
  EXPECT_EQ(allowed_methods(table, "/orders/x"), "DELETE, GET, PATCH");

  EXPECT_TRUE(find_route(table, verb::get, "/orders/x/cancel", p).path_known);
  EXPECT_EQ(find_route(table, verb::get, "/orders/x/cancel", p).found, nullptr);
  EXPECT_EQ(allowed_methods(table, "/orders/x/cancel"), "POST");
  EXPECT_EQ(allowed_methods(table, "/orders"), "DELETE, GET, POST");
  EXPECT_EQ(allowed_methods(table, "/orderbook"), "GET");
  EXPECT_EQ(allowed_methods(table, "/healthz"), "GET");
  EXPECT_EQ(allowed_methods(table, "/"), "GET");  // the web client
  EXPECT_EQ(allowed_methods(table, "/ui/app.js"), "GET");
  EXPECT_EQ(allowed_methods(table, "/admin/snapshots"), "POST");
}

TEST(FindRoute, AllowIsTheSortedUnionOfEveryPatternThatFits) {
  // Two patterns fit "/items/new": the literal one and the parameter one.
  static constexpr route kTable[] = {
      {verb::put, "/items/{id}", access::trade, nullptr},
      {verb::post, "/items/new", access::trade, nullptr},
      {verb::get, "/items/{id}", access::public_read, nullptr},
      {verb::delete_, "/items/{id}", access::admin, nullptr},
      {verb::get, "/items/new", access::public_read, nullptr},
  };
  EXPECT_EQ(allowed_methods(kTable, "/items/new"), "DELETE, GET, POST, PUT");
  EXPECT_EQ(allowed_methods(kTable, "/items/7"), "DELETE, GET, PUT");
  path_params p;
  // The first route that fits both wins.
  const route_lookup r = find_route(kTable, verb::get, "/items/new", p);
  ASSERT_NE(r.found, nullptr);
  EXPECT_EQ(r.found->pattern, "/items/{id}");
  EXPECT_EQ(p["id"], "new");
  const route_lookup patch = find_route(kTable, verb::patch, "/items/new", p);
  EXPECT_EQ(patch.found, nullptr);
  EXPECT_TRUE(patch.path_known);
  EXPECT_EQ(patch.needs, access::public_read) << "the most open access of the path";
}

TEST(FindRoute, WhileRecoveringOnlyOperationalPathsAndTheWebSocketAreServed) {
  path_params p;
  const auto table = server_routes();
  auto served = [&](verb method, std::string_view path) {
    return served_while_recovering(find_route(table, method, path, p));
  };
  EXPECT_TRUE(served(verb::get, "/healthz"));
  EXPECT_TRUE(served(verb::get, "/readyz"));
  EXPECT_TRUE(served(verb::get, "/metrics"));
  EXPECT_TRUE(served(verb::post, "/healthz")) << "a 405, as when ready";
  // The WebSocket session answers not_ready per message; GET /stream's handler answers a
  // plain GET not_ready itself.
  EXPECT_TRUE(served(verb::get, "/stream"));
  EXPECT_FALSE(served(verb::post, "/stream"));
  EXPECT_FALSE(served(verb::post, "/orders"));
  EXPECT_FALSE(served(verb::get, "/orders/x"));
  EXPECT_FALSE(served(verb::get, "/orderbook"));
  EXPECT_FALSE(served(verb::get, "/stream/sse"));
  EXPECT_FALSE(served(verb::post, "/admin/snapshots"));
  EXPECT_FALSE(served(verb::get, "/nope")) << "unknown paths are not_ready too";
}

TEST(FindRoute, MatchingAllocatesNothingOnTheOrderPath) {
  path_params p;
  const auto table = server_routes();
  (void)find_route(table, verb::get, "/orders/%41", p);  // warms the decode buffer
  const std::size_t before = test::allocations();
  int found = 0;
  for (int i = 0; i < 100; ++i) {
    found += find_route(table, verb::post, "/orders", p).found != nullptr;
    found += find_route(table, verb::get, "/orders/order-17", p).found != nullptr;
    found += find_route(table, verb::post, "/orders/order-17/cancel", p).found != nullptr;
    found += find_route(table, verb::get, "/orders/%41", p).found != nullptr;
    found += find_route(table, verb::get, "/nope", p).found == nullptr;
  }
  const std::size_t allocated = test::allocations() - before;
  EXPECT_EQ(found, 500);
  EXPECT_EQ(allocated, 0u);
  // The counter does count: a 405's Allow header is built on the heap.
  const std::size_t before_allow = test::allocations();
  EXPECT_EQ(allowed_methods(table, "/orders/x"), "DELETE, GET, PATCH");
  EXPECT_GT(test::allocations(), before_allow);
}

TEST(Access, Names) {
  EXPECT_EQ(to_string(access::operational), "operational");
  EXPECT_EQ(to_string(access::public_read), "public_read");
  EXPECT_EQ(to_string(access::account_read), "account_read");
  EXPECT_EQ(to_string(access::trade), "trade");
  EXPECT_EQ(to_string(access::admin), "admin");
}

}  // namespace
}  // namespace matchd::gateway
