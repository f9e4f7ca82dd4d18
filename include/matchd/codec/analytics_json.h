#pragma once

#include <matchd/analytics/candle.h>
#include <matchd/engine/instrument.h>

#include <span>
#include <string>

namespace matchd::codec {

// {"open_time","close_time","open","high","low","close","volume","quote_volume","vwap",
//  "trades","closed"}: closed once `now` has reached close_time.
class json_writer;

void append_candle(json_writer& w, const engine::instrument& ins, analytics::interval interval,
                   const analytics::candle& c, engine::timestamp_us now);
void append_candle(std::string& out, const engine::instrument& ins, analytics::interval interval,
                   const analytics::candle& c, engine::timestamp_us now);

// GET /candles: {"instrument","interval","candles":[...]}, in the order given.
std::string candles_body(const engine::instrument& ins, analytics::interval interval,
                         std::span<const analytics::candle> candles, engine::timestamp_us now);

// GET /analytics/stats: {"instrument","start_time","end_time","trades","volume",
// "quote_volume","vwap","average_price","open","high","low","close"}; with no trades the
// price fields are null and the amounts zero.
std::string stats_body(const engine::instrument& ins, engine::timestamp_us start,
                       engine::timestamp_us end, const analytics::trade_summary& s);

}  // namespace matchd::codec
