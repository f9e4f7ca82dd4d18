#pragma once

#include <matchd/analytics/history_source.h>
#include <matchd/engine/instrument.h>

#include <string>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace matchd::store {

// GET /positions/{client_id}/pnl's body at `now`: for each of the query's buckets, the
// client's position in each of its instruments at the bucket's end (the newest row of
// position_history before it) valued at the mark then (the close of the newest 1 m candle
// before it). One statement, so the positions and the marks are of the same applied trades
// (the applier writes both in one transaction). Buckets before the client's first trade are
// left out. `q.bucket` is 1 m or longer: the history is kept per minute.
std::string pnl_body(pqxx::transaction_base& tx, const std::vector<engine::instrument>& instruments,
                     const analytics::pnl_query& q, engine::timestamp_us now);

}  // namespace matchd::store
