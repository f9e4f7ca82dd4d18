#pragma once

#include <matchd/engine/order.h>

#include <array>
#include <cstddef>
#include <string_view>

namespace matchd::store {

// The orders table's columns as recovery and the history reader read them, in this order.
// key_id, reason and client_order_id are NULL when there is none; they are read as empty
// texts (an empty label is never stored), and a NULL stop_price_ticks as 0, so a row
// never holds COPY's NULL marker (a backslash, which recovery refuses in a line).
inline constexpr const char* kOrderColumns =
    "order_id, client_id, instrument, side, type, time_in_force, status, price_ticks,"
    " quantity_lots, filled_lots, notional, created_at_us, updated_at_us, created_sequence,"
    " sequence, coalesce(key_id, ''), coalesce(reason, ''), stp, post_only, amended,"
    " coalesce(client_order_id, ''), coalesce(stop_price_ticks, 0), triggered";
inline constexpr std::size_t kOrderColumnCount = 23;
using order_fields = std::array<std::string_view, kOrderColumnCount>;

// One row's columns, as text (COPY's or a SELECT's), as the order of `instrument` (the id of
// the symbol in column 2). Throws std::runtime_error on a value the writer never stores.
engine::order order_from_fields(const order_fields& f, engine::instrument_id instrument);
// The row's client_order_id (column 20), empty when none; throws as above on a bad one.
std::string_view label_from_fields(const order_fields& f);

}  // namespace matchd::store
