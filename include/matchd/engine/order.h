#pragma once

#include <matchd/engine/key_id.h>
#include <matchd/engine/types.h>

#include <cstddef>

namespace matchd::engine {

// The full state of one order, as the API's order object describes it. The engine keeps
// this for every resting order and emits a copy after each change.
struct order {
  order_id id;
  client_id client;
  // These two fill the padding after the ids (offsets 130 and 131): no byte added.
  end_reason reason = end_reason::none;   // why it ended, when the status does not say
  stp_mode stp = stp_mode::cancel_taker;  // kept for an amend that makes it take again
  instrument_id instrument = 0;
  side order_side = side::buy;
  order_type type = order_type::limit;
  time_in_force tif = time_in_force::gtc;
  order_status status = order_status::open;
  // A stop order whose trigger came (offset 138, padding): it runs, or rests, as its type.
  bool triggered = false;
  // In the padding before the 8-byte aligned price (offsets 140 and 141).
  bool post_only = false;
  // Set by the first amend. An amend that moves the order to the back of a level gives it
  // a new created_sequence, so a store cannot take "created_sequence after what I wrote"
  // to mean a new order once this is set (store/table_writer).
  bool amended = false;
  price_ticks price{};  // zero for market orders
  // Non-zero: a stop order (the API's stop_market or stop_limit, by `type`), kept after it
  // triggered. These 8 bytes take the order from 224 to 240 bytes: the engine mix measured
  // the same with and without them (5.72 vs 5.70 M/s, medians of 3 alternated runs).
  price_ticks stop_price{};
  quantity_lots quantity{};
  quantity_lots filled{};
  // The API key that placed it (0: none, --auth none). Here, in the padding before the
  // 16-byte aligned notional, it costs the order (and every event) no bytes.
  key_id key = 0;
  int128 notional = 0;  // sum of fill price (ticks) x fill quantity (lots)
  timestamp_us created_at = 0;
  timestamp_us updated_at = 0;
  // Time priority among equal prices: the first number of the command that placed it, or
  // of the amend that last sent it to the back of a level.
  sequence_number created_sequence = 0;
  sequence_number sequence = 0;  // the event that carries this state
  // The client's client_order_id is not here: 37 more bytes in every event cost the engine
  // benchmark's mix about 12%. The stages around the engine keep it (bus::command_outcome,
  // the journal, the publish stage's order view, the orders table).

  constexpr quantity_lots remaining() const noexcept { return quantity - filled; }
  constexpr bool has_price() const noexcept { return type == order_type::limit; }
  constexpr bool is_stop() const noexcept { return stop_price.value != 0; }
  // Waiting outside the book for its trigger.
  constexpr bool waits_for_trigger() const noexcept { return is_stop() && !triggered; }
};
// Events are copied by value through every stage: a field must not make them larger than
// it has to.
static_assert(sizeof(order) <= 240, "order grew: look for padding before adding a field");
static_assert(offsetof(order, stp) < offsetof(order, instrument) &&
                  offsetof(order, triggered) < offsetof(order, price) &&
                  offsetof(order, amended) < offsetof(order, price),
              "the option fields are meant to sit in padding");

// One fill between a taker and a maker. The buyer's and seller's client ids are not
// repeated here: both orders' new states follow in the same command's events (the
// maker's right after the trade, the taker's after the last fill), and a trade that
// carried them would make every event 96 bytes larger.
struct trade {
  trade_id id = 0;
  instrument_id instrument = 0;
  price_ticks price{};
  quantity_lots quantity{};
  side aggressor = side::buy;
  order_id buy_order_id;
  order_id sell_order_id;
  timestamp_us executed_at = 0;
  sequence_number sequence = 0;
  // What each side paid (engine/fees.h): quote units at the price precision. Fixed when the
  // trade happens, so a later change of --fees never rewrites a trade.
  std::int64_t maker_fee = 0;
  std::int64_t taker_fee = 0;
};

// The new total at one price level after a command; quantity zero removes the level.
struct level_delta {
  instrument_id instrument = 0;
  side level_side = side::buy;
  price_ticks price{};
  quantity_lots quantity{};
  std::uint32_t orders = 0;
  sequence_number sequence = 0;
};

}  // namespace matchd::engine
