// GET /orders and DELETE /orders: their query parameters and response bodies.

#include <gtest/gtest.h>
#include <matchd/codec/order_request.h>
#include <matchd/codec/responses.h>
#include <matchd/codec/wire.h>
#include <matchd/engine/event.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "test_instruments.h"

namespace matchd::codec {
namespace {

using json = nlohmann::json;

engine::order order_of(std::string_view id, engine::instrument_id ins, engine::order_status s) {
  engine::order o;
  o.id = engine::order_id::from(id);
  o.client = engine::client_id::from("alice");
  o.instrument = ins;
  o.price = engine::price_ticks{100};
  o.quantity = engine::quantity_lots{1000};
  o.status = s;
  o.sequence = 9;
  return o;
}

TEST(OrderListQuery, CursorIsAPositiveIntegerOrAbsent) {
  std::uint64_t v = 7;
  EXPECT_FALSE(parse_cursor_parameter("before", std::nullopt, v));
  EXPECT_EQ(v, 0U);
  EXPECT_FALSE(parse_cursor_parameter("before", "1", v));
  EXPECT_EQ(v, 1U);
  EXPECT_FALSE(parse_cursor_parameter("before", "9223372036854775807", v));
  EXPECT_EQ(v, 9223372036854775807U);
  for (const char* bad :
       {"", "0", "-1", "+5", "5x", " 5", "1.0", "9223372036854775808", "99999999999999999999"}) {
    const auto e = parse_cursor_parameter("before", bad, v);
    ASSERT_TRUE(e.has_value()) << bad;
    EXPECT_EQ(e->code, "invalid_parameter");
    EXPECT_EQ(e->status, 400);
  }
}

TEST(OrderListQuery, StatusIsOpenByDefaultOrAll) {
  bool open_only = false;
  EXPECT_FALSE(parse_status_filter(std::nullopt, open_only));
  EXPECT_TRUE(open_only);
  EXPECT_FALSE(parse_status_filter("all", open_only));
  EXPECT_FALSE(open_only);
  EXPECT_FALSE(parse_status_filter("open", open_only));
  EXPECT_TRUE(open_only);
  for (const char* bad : {"", "OPEN", "closed", "filled", "open,all"}) {
    const auto e = parse_status_filter(bad, open_only);
    ASSERT_TRUE(e.has_value()) << bad;
    EXPECT_EQ(e->code, "invalid_parameter");
  }
}

TEST(OrderListBody, APageListsItsOrdersAndTheNextCursor) {
  const engine::order a = order_of("a", 0, engine::order_status::open);
  const engine::order b = order_of("b", 1, engine::order_status::filled);
  const std::vector<labelled_order_ref> page = {{&a, "mine-1"}, {&b, ""}};
  const json body = json::parse(order_page_response(page, 42, test_instruments()));
  ASSERT_EQ(body["orders"].size(), 2u);
  EXPECT_EQ(body["orders"][0]["order_id"], "a");
  EXPECT_EQ(body["orders"][0]["instrument"], "BTC-USD");
  EXPECT_EQ(body["orders"][0]["client_order_id"], "mine-1");
  EXPECT_TRUE(body["orders"][1]["client_order_id"].is_null());
  EXPECT_EQ(body["orders"][1]["instrument"], "ETH-USD");
  EXPECT_EQ(body["orders"][1]["status"], "filled");
  EXPECT_EQ(body["next_before"], 42);

  EXPECT_EQ(order_page_response({}, std::nullopt, test_instruments()),
            R"({"orders":[],"next_before":null})");
}

TEST(OrderListBody, AMassCancelListsEveryCancelledState) {
  engine::event_buffer events;
  events.emplace_back(order_of("a", 0, engine::order_status::cancelled));
  events.emplace_back(order_of("b", 0, engine::order_status::cancelled));
  events.emplace_back(engine::level_delta{});
  auto label_of = [](const engine::order& o) -> std::string_view {
    return o.id.view() == "a" ? "label-a" : "";
  };
  const json body = json::parse(cancel_all_response(events, test_instruments(), label_of));
  ASSERT_EQ(body["orders"].size(), 2u);
  EXPECT_EQ(body["orders"][0]["order_id"], "a");
  EXPECT_EQ(body["orders"][0]["client_order_id"], "label-a");
  EXPECT_EQ(body["orders"][1]["status"], "cancelled");
  EXPECT_TRUE(body["orders"][1]["client_order_id"].is_null());
  EXPECT_EQ(cancel_all_response({}, test_instruments(), label_of), R"({"orders":[]})");
}

}  // namespace
}  // namespace matchd::codec
