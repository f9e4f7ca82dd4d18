#include <matchd/codec/wire.h>
#include <matchd/engine/decimal.h>

#include <charconv>

namespace matchd::codec {

namespace {

void price_value(json_writer& w, const engine::instrument& ins, engine::price_ticks p) {
  char buf[engine::kMaxFormattedDecimal];
  w.plain_string_value({buf, engine::format_price(ins, p, buf)});
}

void quantity_value(json_writer& w, const engine::instrument& ins, engine::quantity_lots q) {
  char buf[engine::kMaxFormattedDecimal];
  w.plain_string_value({buf, engine::format_quantity(ins, q, buf)});
}

void levels(json_writer& w, const engine::instrument& ins, std::span<const book_level> side) {
  w.begin_array();
  engine::quantity_lots cumulative{};
  for (const book_level& l : side) {
    cumulative += l.quantity;
    w.begin_object();
    w.key("price");
    price_value(w, ins, l.price);
    w.key("quantity");
    quantity_value(w, ins, l.quantity);
    w.key("orders");
    w.uint_value(l.orders);
    w.key("cumulative_quantity");
    quantity_value(w, ins, cumulative);
    w.end_object();
  }
  w.end_array();
}

}  // namespace

std::string stream_frame(std::string_view channel, std::string_view instrument,
                         engine::sequence_number seq, std::string_view data) {
  std::string out;
  out.reserve(data.size() + channel.size() + instrument.size() + 64);
  out += "{\"channel\":\"";
  out += channel;
  out += "\",\"instrument\":\"";
  out += instrument;  // symbols are validated to need no escaping
  out += "\",\"sequence\":";
  out += std::to_string(seq);
  out += ",\"data\":";
  out += data;
  out += '}';
  return out;
}

void append_order(json_writer& w, const engine::order& o, const engine::instrument& ins,
                  std::string_view client_order_id) {
  w.begin_object();
  w.key("order_id");
  w.string_value(o.id.view());
  w.key("client_id");
  w.string_value(o.client.view());
  w.key("client_order_id");
  if (!client_order_id.empty()) {
    w.plain_string_value(client_order_id);  // the id alphabet: nothing to escape
  } else {
    w.null_value();
  }
  w.key("key_id");
  if (o.key != 0) {
    char digits[engine::kKeyIdLength];
    w.plain_string_value({digits, engine::write_key_id(o.key, digits)});
  } else {
    w.null_value();
  }
  w.key("instrument");
  w.string_value(ins.symbol);
  w.key("side");
  w.plain_string_value(engine::to_string(o.order_side));
  w.key("type");
  if (o.is_stop()) {
    w.plain_string_value(o.type == engine::order_type::market ? "stop_market" : "stop_limit");
  } else {
    w.plain_string_value(engine::to_string(o.type));
  }
  w.key("time_in_force");
  w.plain_string_value(engine::to_string(o.tif));
  w.key("post_only");
  w.bool_value(o.post_only);
  w.key("stp");
  w.plain_string_value(engine::to_string(o.stp));
  w.key("price");
  if (o.has_price()) {
    price_value(w, ins, o.price);
  } else {
    w.null_value();
  }
  w.key("stop_price");
  if (o.is_stop()) {
    price_value(w, ins, o.stop_price);
  } else {
    w.null_value();
  }
  w.key("triggered");
  if (o.is_stop()) {
    w.bool_value(o.triggered);
  } else {
    w.null_value();
  }
  w.key("quantity");
  quantity_value(w, ins, o.quantity);
  w.key("filled_quantity");
  quantity_value(w, ins, o.filled);
  w.key("remaining_quantity");
  quantity_value(w, ins, o.remaining());
  w.key("average_fill_price");
  if (o.filled.value > 0) {
    w.decimal_value(engine::average_price_units(ins, o.notional, o.filled), ins.price_scale);
  } else {
    w.null_value();
  }
  w.key("status");
  w.plain_string_value(engine::to_string(o.status));
  w.key("reason");
  if (o.reason != engine::end_reason::none) {
    w.plain_string_value(engine::to_string(o.reason));
  } else {
    w.null_value();
  }
  w.key("created_at");
  w.timestamp_value(o.created_at);
  w.key("updated_at");
  w.timestamp_value(o.updated_at);
  w.key("sequence");
  w.uint_value(o.sequence);
  w.end_object();
}

void append_order(std::string& out, const engine::order& o, const engine::instrument& ins,
                  std::string_view client_order_id) {
  json_writer w(out);
  append_order(w, o, ins, client_order_id);
}

void append_trade(json_writer& w, const engine::trade& t, const engine::instrument& ins) {
  w.begin_object();
  w.key("trade_id");
  char id[24];
  const auto r = std::to_chars(id, id + sizeof id, t.id);
  w.plain_string_value({id, static_cast<std::size_t>(r.ptr - id)});
  w.key("instrument");
  w.string_value(ins.symbol);
  w.key("buy_order_id");
  w.string_value(t.buy_order_id.view());
  w.key("sell_order_id");
  w.string_value(t.sell_order_id.view());
  w.key("price");
  price_value(w, ins, t.price);
  w.key("quantity");
  quantity_value(w, ins, t.quantity);
  w.key("aggressor_side");
  w.plain_string_value(engine::to_string(t.aggressor));
  w.key("timestamp");
  w.timestamp_value(t.executed_at);
  w.key("sequence");
  w.uint_value(t.sequence);
  w.key("maker_fee");
  w.decimal_value(t.maker_fee, ins.price_scale);
  w.key("taker_fee");
  w.decimal_value(t.taker_fee, ins.price_scale);
  w.end_object();
}

void append_trade(std::string& out, const engine::trade& t, const engine::instrument& ins) {
  json_writer w(out);
  append_trade(w, t, ins);
}

void append_level_delta(json_writer& w, const engine::level_delta& d,
                        const engine::instrument& ins) {
  w.begin_object();
  w.key("side");
  w.plain_string_value(engine::to_string(d.level_side));
  w.key("price");
  price_value(w, ins, d.price);
  w.key("quantity");
  quantity_value(w, ins, d.quantity);
  w.key("orders");
  w.uint_value(d.orders);
  w.end_object();
}

void append_level_delta(std::string& out, const engine::level_delta& d,
                        const engine::instrument& ins) {
  json_writer w(out);
  append_level_delta(w, d, ins);
}

void append_orderbook(json_writer& w, const engine::instrument& ins,
                      engine::sequence_number sequence, engine::timestamp_us timestamp,
                      std::span<const book_level> bids, std::span<const book_level> asks) {
  w.begin_object();
  w.key("instrument");
  w.string_value(ins.symbol);
  w.key("sequence");
  w.uint_value(sequence);
  w.key("timestamp");
  w.timestamp_value(timestamp);
  w.key("bids");
  levels(w, ins, bids);
  w.key("asks");
  levels(w, ins, asks);
  w.end_object();
}

void append_orderbook(std::string& out, const engine::instrument& ins,
                      engine::sequence_number sequence, engine::timestamp_us timestamp,
                      std::span<const book_level> bids, std::span<const book_level> asks) {
  json_writer w(out);
  append_orderbook(w, ins, sequence, timestamp, bids, asks);
}

}  // namespace matchd::codec
