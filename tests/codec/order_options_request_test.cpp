// The order options of POST /orders (post_only, stp, client_order_id) and the PATCH
// /orders/{order_id} body (docs/api.md), both parser paths: the flat scan and nlohmann's SAX.

#include <gtest/gtest.h>
#include <matchd/codec/errors.h>
#include <matchd/codec/order_request.h>

#include <string>
#include <string_view>

#include "test_instruments.h"

namespace matchd::codec {
namespace {

constexpr std::string_view kLimit =
    R"({"client_id":"c","instrument":"BTC-USD","side":"buy","type":"limit","quantity":"1",)"
    R"("price":"100.00")";

std::string limit_and(std::string_view more) {
  return std::string(kLimit) + "," + std::string(more) + "}";
}

TEST(OrderOptionsRequest, DefaultsAreCancelTakerNoPostOnlyNoLabel) {
  order_request r;
  ASSERT_FALSE(parse_order_request(std::string(kLimit) + "}", {}, test_instruments(), r));
  EXPECT_EQ(r.command.stp, engine::stp_mode::cancel_taker);
  EXPECT_FALSE(r.command.post_only);
  EXPECT_TRUE(r.client_order_id.empty());
}

TEST(OrderOptionsRequest, EveryOptionIsRead) {
  both_paths(limit_and(R"("post_only":true,"stp":"cancel_both","client_order_id":"my.id-1")"),
             [](const std::string& body) {
               order_request r;
               ASSERT_FALSE(parse_order_request(body, {}, test_instruments(), r)) << body;
               EXPECT_TRUE(r.command.post_only);
               EXPECT_EQ(r.command.stp, engine::stp_mode::cancel_both);
               EXPECT_EQ(r.client_order_id.view(), "my.id-1");
             });
  for (const char* mode : {"cancel_taker", "cancel_maker", "cancel_both", "none"}) {
    order_request r;
    ASSERT_FALSE(parse_order_request(limit_and(std::string(R"("stp":")") + mode + "\""), {},
                                     test_instruments(), r));
    EXPECT_EQ(engine::to_string(r.command.stp), mode);
  }
}

TEST(OrderOptionsRequest, Errors) {
  const auto code = [](const std::string& body) -> std::string {
    order_request r;
    const auto e = parse_order_request(body, {}, test_instruments(), r);
    return e ? std::string(e->code) : "accepted";
  };
  both_paths(limit_and(R"("post_only":"yes")"),
             [&](const std::string& b) { EXPECT_EQ(code(b), "invalid_field_type"); });
  both_paths(limit_and(R"("post_only":true,"time_in_force":"ioc")"),
             [&](const std::string& b) { EXPECT_EQ(code(b), "post_only_not_allowed"); });
  EXPECT_EQ(code(R"({"client_id":"c","instrument":"BTC-USD","side":"buy","type":"market",)"
                 R"("quantity":"1","post_only":true})"),
            "post_only_not_allowed");
  EXPECT_EQ(code(limit_and(R"("post_only":false,"time_in_force":"ioc")")), "accepted");
  both_paths(limit_and(R"("stp":"EXPIRE_TAKER")"),
             [&](const std::string& b) { EXPECT_EQ(code(b), "invalid_stp"); });
  EXPECT_EQ(code(limit_and(R"("stp":1)")), "invalid_field_type");
  EXPECT_EQ(code(limit_and(R"("client_order_id":"")")), "invalid_client_order_id");
  EXPECT_EQ(code(limit_and(R"("client_order_id":"a b")")), "invalid_client_order_id");
  EXPECT_EQ(code(limit_and("\"client_order_id\":\"" + std::string(37, 'x') + "\"")),
            "invalid_client_order_id");
  EXPECT_EQ(code(limit_and("\"client_order_id\":\"" + std::string(36, 'x') + "\"")), "accepted");
  // After order_id, before idempotency_key.
  EXPECT_EQ(code(limit_and(R"("order_id":"","stp":"x")")), "invalid_order_id");
  EXPECT_EQ(code(limit_and(R"("stp":"x","idempotency_key":"")")), "invalid_stp");
}

TEST(OrderOptionsRequest, OptionsChangeTheFingerprintOnlyWhenGiven) {
  const auto fp = [](const std::string& body) {
    order_request r;
    EXPECT_FALSE(parse_order_request(body, {}, test_instruments(), r));
    return r.fingerprint;
  };
  const std::uint64_t plain = fp(std::string(kLimit) + "}");
  EXPECT_EQ(fp(limit_and(R"("stp":"cancel_taker")")), plain);
  EXPECT_NE(fp(limit_and(R"("stp":"none")")), plain);
  EXPECT_NE(fp(limit_and(R"("post_only":true)")), plain);
  EXPECT_NE(fp(limit_and(R"("client_order_id":"a")")), plain);
  EXPECT_NE(fp(limit_and(R"("client_order_id":"a")")), fp(limit_and(R"("client_order_id":"b")")));
}

TEST(AmendRequest, PriceQuantityOrBoth) {
  both_paths(R"({"instrument":"BTC-USD","quantity":"0.5"})", [](const std::string& body) {
    engine::amend_order a;
    ASSERT_FALSE(parse_amend_request(body, test_instruments(), a)) << body;
    EXPECT_EQ(a.quantity.value, 50'000'000);
    EXPECT_EQ(a.price.value, 0);
  });
  engine::amend_order a;
  ASSERT_FALSE(parse_amend_request(R"({"instrument":"BTC-USD","price":101.5,"quantity":2})",
                                   test_instruments(), a));
  EXPECT_EQ(a.price.value, 10'150);
  EXPECT_EQ(a.quantity.value, 200'000'000);
  EXPECT_EQ(a.instrument, 0u);
}

TEST(AmendRequest, Errors) {
  const auto code = [](std::string_view body) -> std::string {
    engine::amend_order a;
    const auto e = parse_amend_request(body, test_instruments(), a);
    return e ? std::string(e->code) : "accepted";
  };
  EXPECT_EQ(code(""), "malformed_json");
  EXPECT_EQ(code("[1]"), "malformed_json");
  EXPECT_EQ(code(R"({"quantity":"1","quantity":"2","instrument":"BTC-USD"})"), "malformed_json");
  EXPECT_EQ(code(R"({"quantity":"1"})"), "missing_field");
  EXPECT_EQ(code(R"({"instrument":"NOPE","quantity":"1"})"), "unknown_instrument");
  EXPECT_EQ(code(R"({"instrument":"BTC-USD"})"), "missing_field");
  EXPECT_EQ(code(R"({"instrument":"BTC-USD","price":null,"quantity":null})"), "missing_field");
  EXPECT_EQ(code(R"({"instrument":"BTC-USD","quantity":"0"})"), "invalid_quantity");
  EXPECT_EQ(code(R"({"instrument":"BTC-USD","price":"100.001"})"), "invalid_price_tick");
  EXPECT_EQ(code(R"({"instrument":"BTC-USD","price":[1]})"), "invalid_field_type");
  // Quantity before price.
  EXPECT_EQ(code(R"({"instrument":"BTC-USD","price":"-1","quantity":"-1"})"), "invalid_quantity");
  // What an amend cannot change is refused, first, not ignored; null counts as absent, and
  // a field no order has is ignored as in a placement.
  for (const char* field : {R"("stp":"none")", R"("side":"sell")", R"("post_only":true)",
                            R"("type":"market")", R"("time_in_force":"ioc")", R"("client_id":"x")",
                            R"("client_order_id":"x")", R"("stop_price":"1")"}) {
    both_paths(std::string(R"({"instrument":"BTC-USD","quantity":"1",)") + field + "}",
               [&](const std::string& b) { EXPECT_EQ(code(b), "field_not_amendable") << b; });
  }
  EXPECT_EQ(code(R"({"instrument":"NOPE","stp":"none","quantity":"1"})"), "field_not_amendable");
  EXPECT_EQ(code(R"({"instrument":"BTC-USD","quantity":"1","stp":null})"), "accepted");
  EXPECT_EQ(code(R"({"instrument":"BTC-USD","quantity":"1","note":"x"})"), "accepted");
  // The WebSocket's amend names its order in the message.
  EXPECT_EQ(code(R"({"op":"amend","order_id":"o1","instrument":"BTC-USD","quantity":"1"})"),
            "accepted");
}

}  // namespace
}  // namespace matchd::codec
