#include "pnl_history.h"

#include <matchd/codec/position_json.h>

#include <pqxx/pqxx>

#include "wide_integer.h"

namespace matchd::store {

namespace {

// Per bucket k (ending at end_us) and instrument of the client: the newest history row before
// the end, and the newest minute's close before it. Index scans backwards on both primary
// keys, one row each: the cost is buckets x instruments, whatever the history's length.
constexpr const char* kPnlAtBucketEnds = R"(
WITH b AS (SELECT k, $2::bigint + (k + 1) * $3::bigint AS end_us
           FROM generate_series(0, $4::integer - 1) AS k),
     i AS (SELECT instrument FROM positions WHERE client_id = $1)
SELECT b.k, i.instrument, h.base_lots, h.cost_units, h.realized_units, h.fee_units, m.close_ticks
FROM b CROSS JOIN i
CROSS JOIN LATERAL (
  SELECT base_lots, cost_units, realized_units, fee_units FROM position_history
  WHERE client_id = $1 AND instrument = i.instrument AND minute_us < b.end_us
  ORDER BY minute_us DESC LIMIT 1) h
LEFT JOIN LATERAL (
  SELECT close_ticks FROM candles
  WHERE instrument = i.instrument AND interval_s = 60 AND open_time_us < b.end_us
  ORDER BY open_time_us DESC LIMIT 1) m ON true
ORDER BY b.k, i.instrument)";

}  // namespace

std::string pnl_body(pqxx::transaction_base& tx, const std::vector<engine::instrument>& instruments,
                     const analytics::pnl_query& q, engine::timestamp_us now) {
  const engine::timestamp_us length = analytics::length_us(q.bucket);
  const auto count = static_cast<engine::timestamp_us>(q.limit);
  const engine::timestamp_us first = analytics::bucket_start(q.bucket, now) - (count - 1) * length;
  std::vector<codec::pnl_bucket> buckets;
  for (const pqxx::row& row :
       tx.exec_params(kPnlAtBucketEnds, std::string(q.client.view()), first, length, count)) {
    const auto instrument = engine::find_instrument(instruments, row[1].c_str());
    if (!instrument) continue;  // no longer configured: its amounts are not known here
    const engine::timestamp_us open_time = first + row[0].as<engine::timestamp_us>() * length;
    if (buckets.empty() || buckets.back().open_time != open_time) {
      buckets.push_back({open_time, {}});
    }
    clearing::pnl_part part;
    part.instrument = *instrument;
    part.held.base = row[2].as<std::int64_t>();
    part.held.cost = wide_integer(row[3]);
    part.held.realized = wide_integer(row[4]);
    part.held.fees = wide_integer(row[5]);
    if (!row[6].is_null()) {
      part.mark = row[6].as<std::int64_t>() * instruments[*instrument].tick_units;
    }
    buckets.back().parts.push_back(std::move(part));
  }
  return codec::pnl_body(q.client.view(), analytics::to_string(q.bucket), length, buckets,
                         instruments);
}

}  // namespace matchd::store
