#pragma once

#include <matchd/engine/client_scope.h>
#include <matchd/engine/instrument.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace matchd::store {

// End-of-day settlements (sql/015_settlements.sql, docs/api.md "Settlements"), read and
// written in a transaction the caller owns.

struct settlement_outcome {
  enum class kind : std::uint8_t { created, existing, out_of_order };
  kind what = kind::created;
  std::string body;  // {"settlement":{...}} (created, existing) or why (out_of_order)
};

// The settlement of `cutoff`: the one already made for it, or a new one over the trades in
// [the newest cutoff before it, cutoff) by trade time (from the first trade when there is
// none), or out_of_order when a later cutoff exists. Each (client, instrument) that traded
// in the window gets an entry: its net base and quote (fees included), fees, volumes,
// trades, realized PnL, and its position at the cutoff (the previous entry's, with the
// window's trades applied in trade order, clearing::position). The caller must know that
// every trade stamped before `cutoff` is in the trades table (settlement_worker waits for
// it). Locks `settlements` against a concurrent maker.
settlement_outcome settle(pqxx::transaction_base& tx,
                          const std::vector<engine::instrument>& instruments,
                          engine::timestamp_us cutoff, engine::timestamp_us now);

// GET /settlements: {"settlements":[{"settlement_id","cutoff","previous_cutoff",
// "created_at","entries"}]}, newest first, at most `limit`.
std::string settlement_list_body(pqxx::transaction_base& tx, std::size_t limit);

// GET /settlements/{id}: the settlement with the entries of the clients in `scope` (null:
// all) and their sums per instrument (totals: net amounts, fees, volumes, fills), as JSON or CSV;
// nullopt when there is no such id.
std::optional<std::string> settlement_body(pqxx::transaction_base& tx,
                                           const std::vector<engine::instrument>& instruments,
                                           std::uint64_t settlement_id, bool csv,
                                           const engine::client_scope& scope);

}  // namespace matchd::store
