#pragma once

#include <matchd/engine/client_scope.h>
#include <matchd/engine/key_id.h>
#include <matchd/engine/types.h>

#include <optional>

namespace matchd::engine {

// Commands arrive validated: the instrument exists, price and quantity are positive,
// on tick/lot and within the instrument's limits, and a market order carries no price.
struct place_order {
  order_id id;
  client_id client;
  instrument_id instrument = 0;
  side order_side = side::buy;
  order_type type = order_type::limit;
  time_in_force tif = time_in_force::gtc;
  price_ticks price{};
  quantity_lots quantity{};
  timestamp_us received_at = 0;
  key_id key = 0;  // the API key that placed it; 0 with --auth none
  stp_mode stp = stp_mode::cancel_taker;
  // A limit GTC order only (the codec refuses it elsewhere): one that would cross on
  // arrival is created `rejected` with reason would_take, without trading.
  bool post_only = false;
  // Non-zero: a stop order (stop_market when `type` is market, stop_limit when limit). It
  // waits outside the book until a trade at or beyond it (order_book's stops), then runs as
  // the order `type` says. On tick and within the price limits, like a price.
  price_ticks stop_price{};
};

struct cancel_order {
  order_id id;
  timestamp_us received_at = 0;
  // The clients the caller may act for (null: any). An order of another client is
  // order_not_found, exactly as an id never seen: a key learns nothing of other clients.
  client_scope scope;
};

// Changes a resting order in place (PATCH /orders/{id}). Zero means "unchanged" for price
// and quantity; at least one is set, positive, on tick/lot and within the instrument's
// limits (the codec checks them against `instrument`). `quantity` is the new total,
// filled part included.
struct amend_order {
  order_id id;
  instrument_id instrument = 0;  // an order of another instrument is order_not_found
  price_ticks price{};
  quantity_lots quantity{};
  timestamp_us received_at = 0;
  client_scope scope;  // as cancel_order::scope
};

// Mass cancel: every open order of `client`, in `instrument` only or, without one, in every
// instrument. The caller has checked that it may act for the client (the gateway refuses
// another client's with 403 before a command is made), so it carries no scope.
struct cancel_all_orders {
  client_id client;
  std::optional<instrument_id> instrument;  // nullopt: every instrument
  timestamp_us received_at = 0;
};

}  // namespace matchd::engine
