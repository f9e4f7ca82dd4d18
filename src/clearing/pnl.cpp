#include <matchd/clearing/pnl.h>
#include <matchd/engine/decimal.h>

#include <algorithm>

namespace matchd::clearing {

pnl_total sum_pnl(std::span<const pnl_part> parts,
                  const std::vector<engine::instrument>& instruments) noexcept {
  pnl_total total;
  for (const pnl_part& p : parts) {
    const engine::instrument& ins = instruments[p.instrument];
    total.decimals = std::max(total.decimals, ins.price_scale + ins.quantity_scale);
  }
  for (const pnl_part& p : parts) {
    const engine::instrument& ins = instruments[p.instrument];
    // To the common precision: quote units have price + quantity decimals, fees price ones.
    const int128 quote_up = engine::pow10(total.decimals - ins.price_scale - ins.quantity_scale);
    const int128 fee_up = static_cast<int128>(engine::pow10(ins.quantity_scale)) * quote_up;
    total.realized += p.held.realized * quote_up;
    total.unrealized += p.unrealized(quote_scale::of(ins)) * quote_up;
    total.fees += p.held.fees * fee_up;
  }
  total.net = total.realized + total.unrealized - total.fees;
  return total;
}

}  // namespace matchd::clearing
