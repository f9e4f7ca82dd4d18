#pragma once

#include <matchd/analytics/candle.h>
#include <matchd/analytics/live_market.h>
#include <matchd/engine/instrument.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace matchd::codec {

// {"open_time","close_time","open","high","low","close","volume","quote_volume","vwap",
//  "trades","closed"}: closed once `now` has reached close_time.
class json_writer;

void append_candle(json_writer& w, const engine::instrument& ins, analytics::interval interval,
                   const analytics::candle& c, engine::timestamp_us now);
void append_candle(std::string& out, const engine::instrument& ins, analytics::interval interval,
                   const analytics::candle& c, engine::timestamp_us now);

// The `data` of a `candles` stream message: a candle with its "interval" first, and
// `closed` as the stream decided it (live_market::next_message), not by the wall clock.
std::string candle_stream_data(const engine::instrument& ins, analytics::interval interval,
                               const analytics::candle& c, bool closed);

// GET /candles: {"instrument","interval","candles":[...]}, in the order given.
std::string candles_body(const engine::instrument& ins, analytics::interval interval,
                         std::span<const analytics::candle> candles, engine::timestamp_us now);
// The same, the first candles already written (append_candle's text, oldest first), the
// rest after them.
std::string candles_body(const engine::instrument& ins, analytics::interval interval,
                         std::span<const std::string_view> written,
                         std::span<const analytics::candle> candles, engine::timestamp_us now);

// GET /analytics/stats: {"instrument","start_time","end_time","trades","volume",
// "quote_volume","vwap","average_price","open","high","low","close"}; with no trades the
// price fields are null and the amounts zero.
std::string stats_body(const engine::instrument& ins, engine::timestamp_us start,
                       engine::timestamp_us end, const analytics::trade_summary& s);

// What GET /analytics/ticker and the `ticker` stream report of one instrument.
struct ticker_figures {
  analytics::live_market::ticker_windows windows;
  std::optional<engine::price_ticks> last_price;  // the last trade's, however old
  std::optional<engine::price_ticks> best_bid;
  std::optional<engine::price_ticks> best_ask;
  engine::timestamp_us at = 0;
};

// {"instrument","last_price","open","high","low","volume","quote_volume","vwap","trades",
//  "price_change","price_change_percent","best_bid","best_ask","vwap_1m","vwap_5m",
//  "volume_1m","volume_5m","trades_1m","trades_5m","timestamp"}. Prices of an empty window
// (and a change without both ends) are null; price_change_percent has two decimals, rounded
// half to even.
std::string ticker_body(const engine::instrument& ins, const ticker_figures& t);

}  // namespace matchd::codec
