// A client's PnL summed over instruments of different precisions (clearing/pnl.h): each
// amount is brought to the finest precision before adding, so the sum is exact.

#include <gtest/gtest.h>
#include <matchd/clearing/pnl.h>

namespace matchd::clearing {
namespace {

std::vector<engine::instrument> instruments() {
  engine::instrument btc = engine::instrument::btc_usd();  // 2 price, 8 quantity decimals
  engine::instrument gold;
  gold.symbol = "XAU-USD";
  gold.price_scale = 4;  // 0.0001
  gold.quantity_scale = 3;
  gold.lot_units = 10;  // 0.010
  return {btc, gold};
}

TEST(pnl, amounts_of_different_precisions_add_at_the_finest) {
  const auto ins = instruments();
  pnl_part btc;
  btc.instrument = 0;
  btc.held.base = 200'000'000;        // 2 BTC long (lot 10^-8)
  btc.held.cost = 2'000'000'000'000;  // bought at 100.00: 200 at 10 decimals
  btc.held.realized = 5'000'000'000;  // 0.5
  btc.held.fees = 13;                 // 0.13
  btc.mark = 11'000;                  // 110.00: worth 220, unrealized 20
  pnl_part gold;
  gold.instrument = 1;
  gold.held.base = -3;            // 0.030 short (lot 0.010)
  gold.held.cost = -600'000'000;  // sold at 2000.0000: -60 at 7 decimals
  gold.held.realized = -12'345;   // -0.0012345
  gold.held.fees = 7;             // 0.0007
  gold.mark = 21'000'000;         // 2100.0000: worth -63, unrealized -3
  const std::vector<pnl_part> parts{btc, gold};
  const pnl_total t = sum_pnl(parts, ins);
  EXPECT_EQ(t.decimals, 10);
  EXPECT_EQ(t.realized, 5'000'000'000 - 12'345'000);
  EXPECT_EQ(t.unrealized, 200'000'000'000 - 30'000'000'000);
  EXPECT_EQ(t.fees, 1'300'000'000 + 7'000'000);
  EXPECT_EQ(t.net, t.realized + t.unrealized - t.fees);
}

TEST(pnl, no_mark_no_unrealized_and_nothing_sums_to_zero) {
  const auto ins = instruments();
  pnl_part btc;
  btc.held.base = 1;
  btc.held.cost = 100;
  EXPECT_EQ(btc.unrealized(quote_scale::of(ins[0])), 0);
  const pnl_total none = sum_pnl({}, ins);
  EXPECT_EQ(none.decimals, 0);
  EXPECT_EQ(none.net, 0);
}

}  // namespace
}  // namespace matchd::clearing
