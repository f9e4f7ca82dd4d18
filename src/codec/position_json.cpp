#include <matchd/codec/json_writer.h>
#include <matchd/codec/position_json.h>
#include <matchd/engine/decimal.h>

namespace matchd::codec {

namespace {

void wide(json_writer& w, engine::int128 units, int scale) {
  char buf[engine::kMaxFormattedDecimal];
  w.plain_string_value(std::string_view(buf, engine::format_decimal_wide(units, scale, buf)));
}

// The amounts of a PnL at `decimals` for quote and `fee_decimals` for fees.
void append_pnl_amounts(json_writer& w, engine::int128 realized, engine::int128 unrealized,
                        engine::int128 fees, engine::int128 fee_to_quote, int decimals,
                        int fee_decimals) {
  w.key("realized_pnl");
  wide(w, realized, decimals);
  w.key("unrealized_pnl");
  wide(w, unrealized, decimals);
  w.key("fees");
  wide(w, fees, fee_decimals);
  w.key("net_pnl");
  wide(w, realized + unrealized - fees * fee_to_quote, decimals);
}

}  // namespace

void append_position(json_writer& w, std::string_view client, const engine::instrument& ins,
                     const clearing::position& p, std::optional<std::int64_t> mark) {
  const int quote_scale = ins.price_scale + ins.quantity_scale;
  const clearing::quote_scale scale = clearing::quote_scale::of(ins);
  w.begin_object();
  w.key("client_id");
  w.string_value(client);
  w.key("instrument");
  w.string_value(ins.symbol);
  w.key("base_position");
  wide(w, static_cast<engine::int128>(p.base) * ins.lot_units, ins.quantity_scale);
  w.key("quote_position");
  wide(w, p.quote, quote_scale);
  w.key("average_entry_price");
  if (p.flat()) {
    w.null_value();
  } else {
    w.decimal_value(p.average_entry(scale), ins.price_scale);
  }
  w.key("realized_pnl");
  wide(w, p.realized, quote_scale);
  w.key("unrealized_pnl");
  wide(w, mark ? p.unrealized(*mark, scale) : 0, quote_scale);
  w.key("mark_price");
  if (mark) {
    w.decimal_value(*mark, ins.price_scale);
  } else {
    w.null_value();
  }
  w.key("fees");
  wide(w, p.fees, ins.price_scale);
  w.key("buy_volume");
  wide(w, p.bought * ins.lot_units, ins.quantity_scale);
  w.key("sell_volume");
  wide(w, p.sold * ins.lot_units, ins.quantity_scale);
  w.key("trades");
  w.int_value(p.trades);
  w.key("last_trade_id");
  w.uint_value(p.last_trade);
  w.key("updated_at");
  w.timestamp_value(p.updated_at);
  w.end_object();
}

void append_position(std::string& out, std::string_view client, const engine::instrument& ins,
                     const clearing::position& p, std::optional<std::int64_t> mark) {
  json_writer w(out);
  append_position(w, client, ins, p, mark);
}

std::string pnl_body(std::string_view client, std::string_view interval_name,
                     engine::timestamp_us interval_length, std::span<const pnl_bucket> buckets,
                     const std::vector<engine::instrument>& instruments) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("client_id");
  w.string_value(client);
  w.key("interval");
  w.string_value(interval_name);
  w.key("buckets");
  w.begin_array();
  for (const pnl_bucket& b : buckets) {
    const clearing::pnl_total total = clearing::sum_pnl(b.parts, instruments);
    w.begin_object();
    w.key("open_time");
    w.timestamp_value(b.open_time);
    w.key("close_time");
    w.timestamp_value(b.open_time + interval_length);
    // The total's fees are at its precision already.
    append_pnl_amounts(w, total.realized, total.unrealized, total.fees, 1, total.decimals,
                       total.decimals);
    w.key("instruments");
    w.begin_array();
    for (const clearing::pnl_part& p : b.parts) {
      const engine::instrument& ins = instruments[p.instrument];
      const clearing::quote_scale scale = clearing::quote_scale::of(ins);
      w.begin_object();
      w.key("instrument");
      w.string_value(ins.symbol);
      w.key("base_position");
      wide(w, static_cast<engine::int128>(p.held.base) * ins.lot_units, ins.quantity_scale);
      w.key("mark_price");
      if (p.mark) {
        w.decimal_value(*p.mark, ins.price_scale);
      } else {
        w.null_value();
      }
      append_pnl_amounts(w, p.held.realized, p.unrealized(scale), p.held.fees, scale.fee_to_quote,
                         ins.price_scale + ins.quantity_scale, ins.price_scale);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

}  // namespace matchd::codec
