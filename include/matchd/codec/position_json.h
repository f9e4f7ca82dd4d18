#pragma once

#include <matchd/clearing/position.h>
#include <matchd/engine/instrument.h>

#include <optional>
#include <string>
#include <string_view>

namespace matchd::codec {

class json_writer;

// The position object (docs/api.md, "Positions and PnL"): {"client_id","instrument",
// "base_position","quote_position","average_entry_price","realized_pnl","unrealized_pnl",
// "mark_price","fees","buy_volume","sell_volume","trades","last_trade_id","updated_at"}.
// `mark` in price units, or none before the instrument's first trade (then unrealized_pnl is
// 0 and mark_price null). average_entry_price is null while flat.
void append_position(json_writer& w, std::string_view client, const engine::instrument& ins,
                     const clearing::position& p, std::optional<std::int64_t> mark);
void append_position(std::string& out, std::string_view client, const engine::instrument& ins,
                     const clearing::position& p, std::optional<std::int64_t> mark);

}  // namespace matchd::codec
