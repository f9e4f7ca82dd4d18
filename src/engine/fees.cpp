#include <matchd/engine/decimal.h>
#include <matchd/engine/fees.h>

#include <charconv>

namespace matchd::engine {

namespace {

std::optional<std::uint32_t> parse_bps(std::string_view text) noexcept {
  std::uint32_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value > kMaxFeeBps) return std::nullopt;
  return value;
}

}  // namespace

std::optional<fee_schedule> fee_schedule::parse(std::string_view text) noexcept {
  const auto comma = text.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  const auto maker = parse_bps(text.substr(0, comma));
  const auto taker = parse_bps(text.substr(comma + 1));
  if (!maker || !taker) return std::nullopt;
  return fee_schedule{*maker, *taker};
}

fee_calculator::fee_calculator(const instrument& ins, fee_schedule schedule) noexcept
    : schedule_(schedule),
      units_per_tick_lot_(static_cast<int128>(ins.tick_units) * ins.lot_units),
      divisor_(static_cast<int128>(pow10(ins.quantity_scale)) * 10'000) {}

}  // namespace matchd::engine
