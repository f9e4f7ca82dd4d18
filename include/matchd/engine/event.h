#pragma once

#include <matchd/engine/order.h>

#include <variant>
#include <vector>

namespace matchd::engine {

// What one command changed, in the order it happened: trades and the makers' new states
// as they fill, then the taker's own state, then one delta per touched price level.
// Events are self-contained values so later stages (store, publish) may read them on
// other threads without reaching back into the engine.
using event = std::variant<order, trade, level_delta>;
using event_buffer = std::vector<event>;

}  // namespace matchd::engine
