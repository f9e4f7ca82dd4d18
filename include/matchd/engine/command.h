#pragma once

#include <matchd/engine/client_scope.h>
#include <matchd/engine/key_id.h>
#include <matchd/engine/types.h>

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
};

struct cancel_order {
  order_id id;
  timestamp_us received_at = 0;
  // The clients the caller may act for (null: any). An order of another client is
  // order_not_found, exactly as an id never seen: a key learns nothing of other clients.
  client_scope scope;
};

}  // namespace matchd::engine
