#pragma once

#include <matchd/engine/instrument.h>
#include <matchd/engine/order.h>

#include <cstddef>
#include <span>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace matchd::store {

// Adds `trades` to their candles (sql/012_candles.sql), every interval, in `tx`: the
// transaction that inserts those trades (write_tables), so a candle counts each trade of the
// table once. The trades are summed per bucket first; one statement then inserts or extends
// each bucket. Returns the buckets written.
std::size_t write_candles(pqxx::transaction_base& tx, std::span<const engine::trade* const> trades,
                          const std::vector<engine::instrument>& instruments);

}  // namespace matchd::store
