#pragma once

#include <matchd/clearing/pnl.h>
#include <matchd/clearing/position.h>
#include <matchd/engine/instrument.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

// One bucket of GET /positions/{client_id}/pnl: the client's instruments at its end.
struct pnl_bucket {
  engine::timestamp_us open_time = 0;
  std::vector<clearing::pnl_part> parts;
};

// The body of GET /positions/{client_id}/pnl (docs/api.md, "PnL over time"):
// {"client_id","interval","buckets":[{"open_time","close_time","realized_pnl",
// "unrealized_pnl","fees","net_pnl","instruments":[{"instrument","base_position",
// "mark_price","realized_pnl","unrealized_pnl","fees","net_pnl"}]}]}, the buckets in the
// order given. Parts name instruments by their index in `instruments`.
std::string pnl_body(std::string_view client, std::string_view interval_name,
                     engine::timestamp_us interval_length, std::span<const pnl_bucket> buckets,
                     const std::vector<engine::instrument>& instruments);

}  // namespace matchd::codec
