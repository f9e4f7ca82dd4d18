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

namespace {

void write_candle(json_writer& w, const engine::instrument& ins, analytics::interval interval,
                  const analytics::candle& c, bool closed, bool with_interval) {
  const analytics::summary_units u = analytics::to_units(c.summary, ins);
  w.begin_object();
  if (with_interval) {
    w.key("interval");
    w.plain_string_value(analytics::to_string(interval));
  }
  w.key("open_time");
  w.timestamp_value(c.open_time);
  w.key("close_time");
  w.timestamp_value(c.open_time + analytics::length_us(interval));
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
  w.bool_value(closed);
  w.end_object();
}

}  // namespace

void append_candle(json_writer& w, const engine::instrument& ins, analytics::interval interval,
                   const analytics::candle& c, engine::timestamp_us now) {
  write_candle(w, ins, interval, c, now >= c.open_time + analytics::length_us(interval), false);
}

std::string candle_stream_data(const engine::instrument& ins, analytics::interval interval,
                               const analytics::candle& c, bool closed) {
  std::string out;
  json_writer w(out);
  write_candle(w, ins, interval, c, closed, true);
  return out;
}

void append_candle(std::string& out, const engine::instrument& ins, analytics::interval interval,
                   const analytics::candle& c, engine::timestamp_us now) {
  json_writer w(out);
  append_candle(w, ins, interval, c, now);
}

std::string candles_body(const engine::instrument& ins, analytics::interval interval,
                         std::span<const analytics::candle> candles, engine::timestamp_us now) {
  return candles_body(ins, interval, {}, candles, now);
}

std::string candles_body(const engine::instrument& ins, analytics::interval interval,
                         std::span<const std::string_view> written,
                         std::span<const analytics::candle> candles, engine::timestamp_us now) {
  std::string out;
  out.reserve(96 + (written.size() + candles.size()) * 320);
  json_writer w(out);
  w.begin_object();
  w.key("instrument");
  w.string_value(ins.symbol);
  w.key("interval");
  w.plain_string_value(analytics::to_string(interval));
  w.key("candles");
  w.begin_array();
  for (const std::string_view text : written) w.raw_value(text);
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

std::string ticker_body(const engine::instrument& ins, const ticker_figures& t) {
  const analytics::trade_summary& day = t.windows.day;
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("instrument");
  w.string_value(ins.symbol);
  const auto price = [&](std::string_view name, const std::optional<engine::price_ticks>& p) {
    w.key(name);
    if (p) {
      w.decimal_value(p->value * ins.tick_units, ins.price_scale);
    } else {
      w.null_value();
    }
  };
  price("last_price", t.last_price);
  const analytics::summary_units u =
      day.empty() ? analytics::summary_units{} : analytics::to_units(day, ins);
  const auto day_price = [&](std::string_view name, std::int64_t units) {
    w.key(name);
    if (day.empty()) {
      w.null_value();
    } else {
      w.decimal_value(units, ins.price_scale);
    }
  };
  day_price("open", u.open);
  day_price("high", u.high);
  day_price("low", u.low);
  amounts(w, ins, u);
  const auto vwap = [&](std::string_view name, const analytics::trade_summary& s) {
    w.key(name);
    if (s.empty()) {
      w.null_value();
    } else {
      wide_decimal(w, analytics::to_units(s, ins).vwap, analytics::average_scale(ins));
    }
  };
  vwap("vwap", day);
  w.key("trades");
  w.int_value(day.trades);
  // The change from the window's first trade to the last trade, in ticks.
  const bool has_change = !day.empty() && t.last_price.has_value();
  w.key("price_change");
  if (has_change) {
    w.decimal_value((t.last_price->value - day.open.value) * ins.tick_units, ins.price_scale);
  } else {
    w.null_value();
  }
  w.key("price_change_percent");
  if (has_change && day.open.value > 0) {
    const engine::int128 change = t.last_price->value - day.open.value;
    const engine::int128 magnitude = analytics::divide_half_even(
        (change < 0 ? -change : change) * 10'000, static_cast<engine::int128>(day.open.value));
    wide_decimal(w, change < 0 ? -magnitude : magnitude, 2);
  } else {
    w.null_value();
  }
  price("best_bid", t.best_bid);
  price("best_ask", t.best_ask);
  vwap("vwap_1m", t.windows.minute);
  vwap("vwap_5m", t.windows.five_minutes);
  w.key("volume_1m");
  wide_decimal(w, t.windows.minute.volume * ins.lot_units, ins.quantity_scale);
  w.key("volume_5m");
  wide_decimal(w, t.windows.five_minutes.volume * ins.lot_units, ins.quantity_scale);
  w.key("trades_1m");
  w.int_value(t.windows.minute.trades);
  w.key("trades_5m");
  w.int_value(t.windows.five_minutes.trades);
  w.key("timestamp");
  w.timestamp_value(t.at);
  w.end_object();
  return out;
}

}  // namespace matchd::codec
