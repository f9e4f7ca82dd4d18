// Stop orders in POST /orders (docs/api.md, "Stop orders"): the types stop_market and
// stop_limit, the stop_price they need and only they may carry, on both parser paths.

#include <gtest/gtest.h>
#include <matchd/codec/errors.h>
#include <matchd/codec/order_request.h>

#include <string>
#include <string_view>

#include "test_instruments.h"

namespace matchd::codec {
namespace {

std::string order_with(std::string_view fields) {
  return R"({"client_id":"c","instrument":"BTC-USD","side":"buy","quantity":"1",)" +
         std::string(fields) + "}";
}

std::string code_of(const std::string& body) {
  order_request r;
  const auto e = parse_order_request(body, {}, test_instruments(), r);
  return e ? std::string(e->code) : "accepted";
}

TEST(StopOrderRequest, AStopMarketIsAMarketOrderWithAStopPrice) {
  both_paths(order_with(R"("type":"stop_market","stop_price":"101.50")"),
             [](const std::string& body) {
               order_request r;
               ASSERT_FALSE(parse_order_request(body, {}, test_instruments(), r)) << body;
               EXPECT_EQ(r.command.type, engine::order_type::market);
               EXPECT_EQ(r.command.tif, engine::time_in_force::ioc);
               EXPECT_EQ(r.command.price.value, 0);
               EXPECT_EQ(r.command.stop_price.value, 10'150);
             });
}

TEST(StopOrderRequest, AStopLimitIsALimitOrderWithAStopPrice) {
  both_paths(
      order_with(
          R"("type":"stop_limit","price":"102.00","stop_price":101.5,"time_in_force":"fok")"),
      [](const std::string& body) {
        order_request r;
        ASSERT_FALSE(parse_order_request(body, {}, test_instruments(), r)) << body;
        EXPECT_EQ(r.command.type, engine::order_type::limit);
        EXPECT_EQ(r.command.tif, engine::time_in_force::fok);
        EXPECT_EQ(r.command.price.value, 10'200);
        EXPECT_EQ(r.command.stop_price.value, 10'150);
      });
}

TEST(StopOrderRequest, Errors) {
  for (const std::string& body :
       {order_with(R"("type":"stop_market")"), order_with(R"("type":"stop_limit","price":"1")")}) {
    both_paths(body, [](const std::string& b) { EXPECT_EQ(code_of(b), "missing_field") << b; });
  }
  for (const char* bad : {R"("0")", R"("-1")", R"("100.001")", R"("1e30")", "1e400"}) {
    both_paths(order_with(std::string(R"("type":"stop_market","stop_price":)") + bad),
               [&](const std::string& b) {
                 const std::string code = code_of(b);
                 EXPECT_TRUE(code == "invalid_stop_price" || code == "too_many_decimals") << b;
               });
  }
  EXPECT_EQ(code_of(order_with(R"("type":"stop_market","stop_price":true)")), "invalid_field_type");
  EXPECT_EQ(code_of(order_with(R"("type":"limit","price":"1","stop_price":"1")")),
            "stop_price_not_allowed");
  EXPECT_EQ(code_of(order_with(R"("type":"market","stop_price":"1")")), "stop_price_not_allowed");
  EXPECT_EQ(code_of(order_with(R"("type":"stop_market","stop_price":"1","price":"1")")),
            "price_not_allowed");
  EXPECT_EQ(
      code_of(order_with(R"("type":"stop_limit","stop_price":"1","price":"1","post_only":true)")),
      "post_only_not_allowed");
  EXPECT_EQ(code_of(order_with(R"("type":"stop","stop_price":"1")")), "invalid_order_type");
}

// A stop price is part of what an idempotency key fingerprints; an order without one
// fingerprints as it did before stop orders existed.
TEST(StopOrderRequest, TheStopPriceChangesTheFingerprint) {
  const auto fp = [](const std::string& body) {
    order_request r;
    EXPECT_FALSE(parse_order_request(body, {}, test_instruments(), r)) << body;
    return r.fingerprint;
  };
  const std::uint64_t market = fp(order_with(R"("type":"market")"));
  const std::uint64_t stop = fp(order_with(R"("type":"stop_market","stop_price":"101.00")"));
  EXPECT_NE(market, stop);
  EXPECT_NE(stop, fp(order_with(R"("type":"stop_market","stop_price":"101.01")")));
}

}  // namespace
}  // namespace matchd::codec
