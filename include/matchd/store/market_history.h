#pragma once

#include <matchd/analytics/candle.h>
#include <matchd/analytics/history_source.h>
#include <matchd/engine/order.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace matchd::store {

// The reads behind GET /candles, /analytics/stats and /trades with a time range, from the
// candles and trades tables (sql/012_candles.sql). Each takes the instrument by symbol, as
// the tables do.

// The newest `q.limit` buckets of the range that had trades, oldest first.
std::vector<analytics::candle> read_candles(pqxx::transaction_base& tx, const std::string& symbol,
                                            const analytics::candle_query& q);

// Every trade in [start, end) summed, from the fewest rows: whole buckets where they fit
// (analytics::cover_range), trades at the sub-second edges, all in one statement, so its
// pieces see the same trades.
analytics::trade_summary read_range_summary(pqxx::transaction_base& tx, const std::string& symbol,
                                            engine::timestamp_us start, engine::timestamp_us end);
// The pieces of a cover (or some of them) summed, in one statement.
analytics::trade_summary read_pieces_summary(pqxx::transaction_base& tx, const std::string& symbol,
                                             std::span<const analytics::range_piece> pieces);

// What the candles and ticker streams start from at `now` (publish::publish_stage::
// seed_candle): the 1 m candles of the last 1,440 minutes, the 1 s candles of the last 300
// seconds, and the bucket of every other interval that holds `now`, each with its interval.
void read_live_candles(pqxx::transaction_base& tx, const std::string& symbol,
                       engine::timestamp_us now,
                       const std::function<void(analytics::interval, const analytics::candle&)>& f);

// Newest first (by trade_id).
// Its SQL, with $1 symbol, $2 before (exclusive), $3 start, $4 end, $5 limit.
const std::string& trade_page_sql();
std::vector<engine::trade> read_trades(pqxx::transaction_base& tx, const std::string& symbol,
                                       const analytics::trade_query& q);

}  // namespace matchd::store
