#pragma once

#include <matchd/engine/instrument.h>
#include <matchd/engine/order.h>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
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

// The trades `where` selects (an SQL condition on the trades table), in trade order, with
// their buyer's and seller's clients, through COPY (memory stays flat however many there
// are); each trade's instrument is its index in `instruments`. Trades of an instrument not
// there are skipped and counted: the return value.
std::size_t stream_cleared_trades(
    pqxx::transaction_base& tx, const std::string& where,
    const std::vector<engine::instrument>& instruments,
    const std::function<void(const engine::trade&, std::string_view buyer,
                             std::string_view seller)>& f);

}  // namespace matchd::store
