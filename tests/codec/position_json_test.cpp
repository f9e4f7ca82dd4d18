// The position object (docs/api.md, "Positions and PnL"): the worked example's fields after
// each trade, as the API writes them.

#include <gtest/gtest.h>
#include <matchd/codec/position_json.h>

#include <nlohmann/json.hpp>
#include <string>

namespace matchd::codec {
namespace {

using engine::side;

// Tick 0.01 and lot 0.001: prices at 2 decimals, base at 3, quote amounts at 5.
engine::instrument x_usd() {
  return *engine::instrument::parse_spec("X-USD:0.01:0.001");
}

clearing::fill at(side s, std::int64_t cents, std::int64_t lots, std::int64_t fee,
                  engine::trade_id id) {
  return {s,
          engine::price_ticks{cents},
          engine::quantity_lots{lots},
          fee,
          id,
          1'796'594'400'000'000 + static_cast<std::int64_t>(id) * 1'000'000};
}

nlohmann::json written(const clearing::position& p, std::optional<std::int64_t> mark) {
  std::string out;
  append_position(out, "alice", x_usd(), p, mark);
  return nlohmann::json::parse(out);
}

TEST(position_json, the_worked_example_field_by_field) {
  const engine::instrument ins = x_usd();
  const auto scale = clearing::quote_scale::of(ins);
  clearing::position p;
  EXPECT_EQ(written(p, std::nullopt),
            nlohmann::json::parse(R"({"client_id":"alice","instrument":"X-USD",
      "base_position":"0.000","quote_position":"0.00000","average_entry_price":null,
      "realized_pnl":"0.00000","unrealized_pnl":"0.00000","mark_price":null,"fees":"0.00",
      "buy_volume":"0.000","sell_volume":"0.000","trades":0,"last_trade_id":0,
      "updated_at":"1970-01-01T00:00:00.000000Z"})"));

  p.apply(at(side::buy, 100'00, 2'000, 4, 1), scale);  // buy 2 at 100, fee 0.04
  EXPECT_EQ(written(p, 100'00), nlohmann::json::parse(R"({"client_id":"alice",
      "instrument":"X-USD","base_position":"2.000","quote_position":"-200.04000",
      "average_entry_price":"100.00","realized_pnl":"0.00000","unrealized_pnl":"0.00000",
      "mark_price":"100.00","fees":"0.04","buy_volume":"2.000","sell_volume":"0.000",
      "trades":1,"last_trade_id":1,"updated_at":"2026-12-06T22:00:01.000000Z"})"));

  p.apply(at(side::sell, 110'00, 3'000, 7, 2), scale);  // sell 3 at 110, fee 0.07
  EXPECT_EQ(written(p, 110'00), nlohmann::json::parse(R"({"client_id":"alice",
      "instrument":"X-USD","base_position":"-1.000","quote_position":"129.89000",
      "average_entry_price":"110.00","realized_pnl":"20.00000","unrealized_pnl":"0.00000",
      "mark_price":"110.00","fees":"0.11","buy_volume":"2.000","sell_volume":"3.000",
      "trades":2,"last_trade_id":2,"updated_at":"2026-12-06T22:00:02.000000Z"})"));

  p.apply(at(side::buy, 105'00, 1'000, 2, 3), scale);  // buy 1 at 105, fee 0.02
  EXPECT_EQ(written(p, 105'00), nlohmann::json::parse(R"({"client_id":"alice",
      "instrument":"X-USD","base_position":"0.000","quote_position":"24.87000",
      "average_entry_price":null,"realized_pnl":"25.00000","unrealized_pnl":"0.00000",
      "mark_price":"105.00","fees":"0.13","buy_volume":"3.000","sell_volume":"3.000",
      "trades":3,"last_trade_id":3,"updated_at":"2026-12-06T22:00:03.000000Z"})"));
}

TEST(position_json, an_open_position_is_marked_at_the_mark_price) {
  const engine::instrument ins = x_usd();
  clearing::position p;
  p.apply(at(side::sell, 50'00, 1'500, 0, 9), clearing::quote_scale::of(ins));
  const auto j = written(p, 48'25);
  EXPECT_EQ(j["unrealized_pnl"], "2.62500");  // short 1.5 from 50.00 to 48.25
  EXPECT_EQ(j["average_entry_price"], "50.00");
  EXPECT_EQ(j["base_position"], "-1.500");
  // Before any trade of the instrument there is no mark: no unrealized PnL either.
  EXPECT_EQ(written(p, std::nullopt)["unrealized_pnl"], "0.00000");
}

}  // namespace
}  // namespace matchd::codec
