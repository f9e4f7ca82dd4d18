#include <matchd/codec/instrument_json.h>
#include <matchd/engine/decimal.h>

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace matchd::codec {

namespace {

void decimal(json_writer& w, std::int64_t units, int scale) {
  char buf[engine::kMaxFormattedDecimal];
  w.plain_string_value({buf, engine::format_decimal(units, scale, buf)});
}

void price(json_writer& w, const engine::instrument& ins, engine::price_ticks p) {
  char buf[engine::kMaxFormattedDecimal];
  w.plain_string_value({buf, engine::format_price(ins, p, buf)});
}

void quantity(json_writer& w, const engine::instrument& ins, engine::quantity_lots q) {
  char buf[engine::kMaxFormattedDecimal];
  w.plain_string_value({buf, engine::format_quantity(ins, q, buf)});
}

}  // namespace

void append_instrument(json_writer& w, const engine::instrument& ins, bool halted) {
  w.begin_object();
  w.key("symbol");
  w.string_value(ins.symbol);
  w.key("status");
  w.plain_string_value(halted ? "halted" : "trading");
  w.key("tick_size");
  decimal(w, ins.tick_units, ins.price_scale);
  w.key("lot_size");
  decimal(w, ins.lot_units, ins.quantity_scale);
  w.key("min_price");
  price(w, ins, engine::price_ticks{1});
  w.key("max_price");
  price(w, ins, ins.max_price);
  w.key("min_quantity");
  quantity(w, ins, ins.min_quantity);
  w.key("max_quantity");
  quantity(w, ins, ins.max_quantity);
  w.key("band_bps");
  if (ins.band_bps != 0) {
    w.uint_value(ins.band_bps);
  } else {
    w.null_value();
  }
  w.key("max_notional");
  if (ins.max_notional_units != 0) {
    decimal(w, ins.max_notional_units, ins.price_scale);
  } else {
    w.null_value();
  }
  w.end_object();
}

void append_instrument(std::string& out, const engine::instrument& ins, bool halted) {
  json_writer w(out);
  append_instrument(w, ins, halted);
}

namespace {

// The request's top-level members by name, each as its raw text: a number exactly as sent,
// a string unescaped. Anything nested is only marked as such.
class instrument_fields {
 public:
  enum class kind : std::uint8_t { absent, null, string, number, other };
  struct field {
    kind what = kind::absent;
    std::string text;
  };
  static constexpr std::array<std::string_view, 8> kNames = {
      "symbol",       "tick_size", "lot_size", "min_quantity",
      "max_quantity", "max_price", "band_bps", "max_notional"};

  const field& operator[](std::string_view name) const {
    for (std::size_t i = 0; i < kNames.size(); ++i) {
      if (kNames[i] == name) return fields_[i];
    }
    return none_;
  }
  bool top_level_object() const { return top_level_object_; }
  bool duplicate() const { return duplicate_; }

  using json = nlohmann::json;
  bool null() { return value(kind::null, {}); }
  bool boolean(bool) { return value(kind::other, {}); }
  bool number_integer(json::number_integer_t v) { return value(kind::number, std::to_string(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return value(kind::number, std::to_string(v)); }
  // `raw` is the source text, but with the C locale's decimal point for '.': put '.' back.
  bool number_float(json::number_float_t, const json::string_t& raw) {
    std::string text = raw;
    for (char& c : text) {
      if ((c < '0' || c > '9') && c != 'e' && c != 'E' && c != '+' && c != '-') c = '.';
    }
    return value(kind::number, text);
  }
  bool string(json::string_t& s) { return value(kind::string, s); }
  bool binary(json::binary_t&) { return value(kind::other, {}); }
  bool start_object(std::size_t) {
    if (depth_ == 0) top_level_object_ = true;
    return open();
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) {
    if (depth_ == 0) return false;
    return open();
  }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (depth_ == 1) current_ = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

 private:
  bool open() {
    if (depth_ == 1) value(kind::other, {});
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
  bool value(kind k, const std::string& text) {
    if (depth_ == 0) return false;  // not an object
    if (depth_ != 1) return true;
    for (std::size_t i = 0; i < kNames.size(); ++i) {
      if (kNames[i] != current_) continue;
      if (fields_[i].what != kind::absent) duplicate_ = true;
      fields_[i] = {k, text};
    }
    return true;
  }

  std::array<field, kNames.size()> fields_{};
  field none_;
  std::string current_;
  int depth_ = 0;
  bool top_level_object_ = false;
  bool duplicate_ = false;
};

api_error invalid(std::string message) {
  return make_error(api_errc::invalid_parameter, std::move(message));
}

}  // namespace

std::optional<api_error> parse_instrument_request(std::string_view body, engine::instrument& out) {
  instrument_fields f;
  const bool parsed =
      !body.empty() && nlohmann::json::sax_parse(body.data(), body.data() + body.size(), &f);
  if (!parsed || !f.top_level_object() || f.duplicate()) {
    return make_error(api_errc::malformed_json, "the body is not one JSON object");
  }
  using kind = instrument_fields::kind;
  for (const std::string_view name : instrument_fields::kNames) {
    const kind k = f[name].what;
    if (k == kind::other || (name == "symbol" && k == kind::number)) {
      return make_error(api_errc::invalid_field_type, std::string(name) + " has the wrong type");
    }
  }
  for (const std::string_view name : {"symbol", "tick_size", "lot_size"}) {
    const kind k = f[name].what;
    if (k == kind::absent || k == kind::null) {
      return make_error(api_errc::missing_field, std::string(name) + " is required");
    }
  }
  const std::string spec = f["symbol"].text + ":" + f["tick_size"].text + ":" + f["lot_size"].text;
  if (f["symbol"].text.find(':') != std::string::npos) return invalid("invalid symbol");
  std::optional<engine::instrument> ins = engine::instrument::parse_spec(spec);
  if (!ins) {
    return invalid(
        "symbol (1 to 32 of A-Z a-z 0-9 - _ . /), tick_size and lot_size (positive decimals) "
        "are required");
  }
  const auto given = [&](std::string_view name) {
    const kind k = f[name].what;
    return k == kind::string || k == kind::number;
  };
  if (given("max_quantity")) {
    const auto q = engine::parse_quantity(*ins, f["max_quantity"].text);
    if (q.error != engine::amount_errc::ok) return invalid("invalid max_quantity");
    ins->max_quantity = q.value;
  }
  if (given("min_quantity")) {
    const auto q = engine::parse_quantity(*ins, f["min_quantity"].text);
    if (q.error != engine::amount_errc::ok) return invalid("invalid min_quantity");
    ins->min_quantity = q.value;
  }
  if (given("max_price")) {
    const auto p = engine::parse_price(*ins, f["max_price"].text);
    if (p.error != engine::amount_errc::ok) return invalid("invalid max_price");
    ins->max_price = p.value;
  }
  if (given("band_bps")) {
    const auto bps = engine::parse_band_bps(f["band_bps"].text);
    if (!bps) return invalid("band_bps must be a whole number from 1 to 100000");
    ins->band_bps = *bps;
  }
  if (given("max_notional")) {
    const auto units = engine::parse_max_notional(*ins, f["max_notional"].text);
    if (!units) {
      return invalid("max_notional must be a positive decimal at the tick's precision");
    }
    ins->max_notional_units = *units;
  }
  out = std::move(*ins);
  return std::nullopt;
}

}  // namespace matchd::codec
