#pragma once

#include <matchd/engine/order_book.h>
#include <matchd/engine/types.h>

#include <optional>

namespace matchd::engine {

// The price an instrument's band is measured from (docs/api.md, Price bands). Today it is the
// instrument's last trade; an index price from other venues is planned, so the engine asks
// this interface and assumes nothing about where the price comes from. Asked on the engine
// thread, only for instruments with a band, once per placement.
class reference_price {
 public:
  virtual ~reference_price() = default;
  // Nullopt: no reference yet, so no band applies.
  virtual std::optional<price_ticks> of(instrument_id id, const order_book& book) const = 0;
};

// The last trade of the instrument, as its book recorded it (restored at recovery from the
// most recent trade).
class last_trade_reference final : public reference_price {
 public:
  std::optional<price_ticks> of(instrument_id, const order_book& book) const override {
    return book.last_trade_price();
  }
};

}  // namespace matchd::engine
