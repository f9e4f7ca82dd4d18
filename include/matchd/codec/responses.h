#pragma once

#include <matchd/engine/event.h>
#include <matchd/engine/instrument.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace matchd::codec {

// The body of a successful command: {"order": <subject's final state>} and, for a
// placement, "trades": the trades it produced as taker. `events` are the command's own.
// `client_order_id` is the subject's label (codec::append_order).
std::string command_response(std::span<const engine::event> events, const engine::order_id& subject,
                             bool with_trades, const std::vector<engine::instrument>& instruments,
                             std::string_view client_order_id = {});

}  // namespace matchd::codec
