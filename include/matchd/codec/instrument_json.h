#pragma once

#include <matchd/codec/errors.h>
#include <matchd/codec/json_writer.h>
#include <matchd/engine/instrument.h>

#include <optional>
#include <string>
#include <string_view>

namespace matchd::codec {

// An instrument as GET /instruments and the instrument_status stream frame show it
// (docs/api.md, Instruments):
// {"symbol","status","tick_size","lot_size","min_price","max_price","min_quantity",
//  "max_quantity","band_bps","max_notional"}, amounts as decimal strings at the instrument's
// precision, status "trading" or "halted", band_bps a number and max_notional a decimal
// string in quote units, each null when the instrument has none.
void append_instrument(json_writer& w, const engine::instrument& ins, bool halted);
void append_instrument(std::string& out, const engine::instrument& ins, bool halted);

// The body of POST /admin/instruments into an instrument:
// {"symbol","tick_size","lot_size"} required; "min_quantity", "max_quantity", "max_price",
// "band_bps", "max_notional" optional (null: the default, as for --instrument). Decimals as
// strings or JSON numbers, read exactly. Errors: malformed_json, missing_field,
// invalid_field_type, invalid_parameter (a bad symbol, increment, limit, band or notional).
std::optional<api_error> parse_instrument_request(std::string_view body, engine::instrument& out);

}  // namespace matchd::codec
