#pragma once

#include <matchd/clearing/position.h>
#include <matchd/engine/instrument.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace matchd::store {

// A database whose trades predate sql/014_positions.sql has no positions for them; this folds
// every trade of `trades`, oldest first, into `positions` once, in one transaction, and marks
// the table complete. Call it after the migrations and before anything writes trades (the
// daemon: before recovery). Trades of instruments not in `instruments` are skipped (their
// increments are unknown) and counted in the log line. Returns the trades folded (0 when the
// table was complete).
std::size_t complete_positions(const std::string& conninfo,
                               const std::vector<engine::instrument>& instruments);

// Every row of `positions` of a configured instrument, in `tx`.
void read_positions(
    pqxx::transaction_base& tx, const std::vector<engine::instrument>& instruments,
    const std::function<void(std::string_view client, engine::instrument_id instrument,
                             const clearing::position&)>& f);

}  // namespace matchd::store
