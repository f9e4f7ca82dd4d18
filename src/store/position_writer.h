#pragma once

#include <matchd/engine/instrument.h>
#include <matchd/engine/order.h>

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace matchd::store {

// A trade with the clients of its two orders (the trades table's buy_client_id and
// sell_client_id).
struct cleared_trade {
  const engine::trade* trade = nullptr;
  std::string_view buyer;
  std::string_view seller;
};

// Folds `trades` (in trade order) into both sides' rows of `positions` (sql/014_positions.sql)
// in `tx`, the transaction that inserts those trades (write_tables), so a position holds each
// trade of the table once: reads the rows the trades touch, applies them in memory
// (clearing::position) and writes the rows back in one statement. Returns the rows written.
std::size_t write_positions(pqxx::transaction_base& tx, std::span<const cleared_trade> trades,
                            const std::vector<engine::instrument>& instruments);

}  // namespace matchd::store
