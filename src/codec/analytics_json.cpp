#include <matchd/codec/analytics_json.h>
#include <matchd/codec/json_writer.h>
#include <matchd/engine/decimal.h>

namespace matchd::codec {

namespace {

void wide_decimal(json_writer& w, engine::int128 units, int scale) {
  char buf[engine::kMaxFormattedDecimal];
  w.plain_string_value(std::string_view(buf, engine::format_decimal_wide(units, scale, buf)));
}

// The amounts every summary has, empty or not.
void amounts(json_writer& w, const engine::instrument& ins, const analytics::summary_units& u) {
  w.key("volume");
  wide_decimal(w, u.volume, ins.quantity_scale);
  w.key("quote_volume");
  wide_decimal(w, u.quote_volume, analytics::quote_scale(ins));
}

}  // namespace

void append_candle(json_writer& w, const engine::instrument& ins, analytics::interval interval,
                   const analytics::candle& c, engine::timestamp_us now) {
  const analytics::summary_units u = analytics::to_units(c.summary, ins);
  const engine::timestamp_us close_time = c.open_time + analytics::length_us(interval);
  w.begin_object();
  w.key("open_time");
  w.timestamp_value(c.open_time);
  w.key("close_time");
  w.timestamp_value(close_time);
  w.key("open");
  w.decimal_value(u.open, ins.price_scale);
  w.key("high");
  w.decimal_value(u.high, ins.price_scale);
  w.key("low");
  w.decimal_value(u.low, ins.price_scale);
  w.key("close");
  w.decimal_value(u.close, ins.price_scale);
  amounts(w, ins, u);
  w.key("vwap");
  wide_decimal(w, u.vwap, analytics::average_scale(ins));
  w.key("trades");
  w.int_value(c.summary.trades);
  w.key("closed");
  w.bool_value(now >= close_time);
  w.end_object();
}

void append_candle(std::string& out, const engine::instrument& ins, analytics::interval interval,
                   const analytics::candle& c, engine::timestamp_us now) {
  json_writer w(out);
  append_candle(w, ins, interval, c, now);
}

std::string candles_body(const engine::instrument& ins, analytics::interval interval,
                         std::span<const analytics::candle> candles, engine::timestamp_us now) {
  std::string out;
  out.reserve(96 + candles.size() * 320);
  json_writer w(out);
  w.begin_object();
  w.key("instrument");
  w.string_value(ins.symbol);
  w.key("interval");
  w.plain_string_value(analytics::to_string(interval));
  w.key("candles");
  w.begin_array();
  for (const analytics::candle& c : candles) append_candle(w, ins, interval, c, now);
  w.end_array();
  w.end_object();
  return out;
}

std::string stats_body(const engine::instrument& ins, engine::timestamp_us start,
                       engine::timestamp_us end, const analytics::trade_summary& s) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("instrument");
  w.string_value(ins.symbol);
  w.key("start_time");
  w.timestamp_value(start);
  w.key("end_time");
  w.timestamp_value(end);
  w.key("trades");
  w.int_value(s.trades);
  const analytics::summary_units u =
      s.empty() ? analytics::summary_units{} : analytics::to_units(s, ins);
  amounts(w, ins, u);
  const auto price = [&](std::string_view name, auto write) {
    w.key(name);
    if (s.empty()) {
      w.null_value();
    } else {
      write();
    }
  };
  price("vwap", [&] { wide_decimal(w, u.vwap, analytics::average_scale(ins)); });
  price("average_price", [&] { wide_decimal(w, u.average_price, analytics::average_scale(ins)); });
  price("open", [&] { w.decimal_value(u.open, ins.price_scale); });
  price("high", [&] { w.decimal_value(u.high, ins.price_scale); });
  price("low", [&] { w.decimal_value(u.low, ins.price_scale); });
  price("close", [&] { w.decimal_value(u.close, ins.price_scale); });
  w.end_object();
  return out;
}

}  // namespace matchd::codec
