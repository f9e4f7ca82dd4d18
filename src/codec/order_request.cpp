#include <matchd/codec/order_request.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace matchd::codec {

namespace {

using json = nlohmann::json;

// The fields the parser knows, in validation order.
enum class field : std::uint8_t {
  client_id,
  instrument,
  side,
  type,
  quantity,
  price,
  time_in_force,
  order_id,
  post_only,
  stp,
  client_order_id,
  idempotency_key,
  stop_price,
};
constexpr std::size_t kFieldCount = 13;
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "client_id",       "instrument",      "side",       "type",      "quantity",
    "price",           "time_in_force",   "order_id",   "post_only", "stp",
    "client_order_id", "idempotency_key", "stop_price",
};

std::string_view describe(json_kind k) {
  switch (k) {
    case json_kind::absent:
      return "nothing";
    case json_kind::null:
      return "null";
    case json_kind::boolean:
      return "a boolean";
    case json_kind::number:
      return "a number";
    case json_kind::string:
      return "a string";
    case json_kind::object:
      return "an object";
    case json_kind::array:
      return "an array";
  }
  return "a value";
}

// One known field as it appeared in the body. `text` is a string's content or a number's
// exact source text; nothing ever goes through double.
struct field_view {
  json_kind kind = json_kind::absent;
  std::string_view text;

  bool given() const noexcept { return kind != json_kind::absent && kind != json_kind::null; }
};

using field_views = std::array<field_view, kFieldCount>;

// The SAX handler's copy of a field: its strings are the parser's temporaries.
struct field_value {
  json_kind kind = json_kind::absent;
  std::string text;
};

using field_values = std::array<field_value, kFieldCount>;

std::string_view name_of(field f) {
  return kFieldNames[static_cast<std::size_t>(f)];
}

// The known field called `name`, if it is one.
std::optional<field> field_named(std::string_view name) {
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (kFieldNames[i] == name) return static_cast<field>(i);
  }
  return std::nullopt;
}

// Client text quoted in messages, bounded and cut on a UTF-8 character boundary.
std::string excerpt(std::string_view v) {
  constexpr std::size_t kMaxExcerpt = 64;
  if (v.size() <= kMaxExcerpt) return std::string(v);
  std::size_t n = kMaxExcerpt;
  while (n > 0 && (static_cast<unsigned char>(v[n]) & 0xC0) == 0x80) --n;
  std::string r(v.substr(0, n));
  r.append("...");
  return r;
}

std::string quoted(std::string_view v) {
  std::string r = "\"";
  r.append(excerpt(v));
  r.push_back('"');
  return r;
}

// nlohmann SAX handler for a flat object. Records the known top-level fields and skips
// everything else; values nested below a known field mark it as object/array. Returning
// false stops the parse; the reason is kept in `error_`.
class order_handler {
 public:
  bool null() { return scalar(json_kind::null, {}); }
  bool boolean(bool v) { return scalar(json_kind::boolean, v ? "true" : "false"); }
  bool number_integer(json::number_integer_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return scalar(json_kind::number, {buf, static_cast<std::size_t>(r.ptr - buf)});
  }
  bool number_unsigned(json::number_unsigned_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return scalar(json_kind::number, {buf, static_cast<std::size_t>(r.ptr - buf)});
  }
  // `raw` is the number's source text, except that nlohmann's lexer writes the C locale's
  // decimal point for '.'; put the '.' back so a process locale cannot change a price.
  bool number_float(json::number_float_t, const json::string_t& raw) {
    if (!scalar(json_kind::number, raw)) return false;
    if (recording()) {
      for (char& c : values_[static_cast<std::size_t>(*current_)].text) {
        if ((c < '0' || c > '9') && c != 'e' && c != 'E' && c != '+' && c != '-') c = '.';
      }
    }
    return true;
  }
  bool string(json::string_t& s) { return scalar(json_kind::string, s); }
  bool binary(json::binary_t&) { return scalar(json_kind::string, {}); }  // not in JSON text

  bool start_object(std::size_t) {
    if (depth_ == 0) {
      depth_ = 1;
      return true;
    }
    return open(json_kind::object);
  }
  bool end_object() {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) {
    if (depth_ == 0) return not_an_object(json_kind::array);
    return open(json_kind::array);
  }
  bool end_array() {
    --depth_;
    return true;
  }

  bool key(json::string_t& k) {
    if (depth_ != 1) return true;
    current_ = field_named(k);
    if (current_ && values_[static_cast<std::size_t>(*current_)].kind != json_kind::absent) {
      error_ = make_error(api_errc::malformed_json,
                          "duplicate field \"" + std::string(name_of(*current_)) + "\"");
      return false;
    }
    return true;
  }

  bool parse_error(std::size_t, const std::string& last_token,
                   const nlohmann::detail::exception& ex) {
    // 406: a number beyond double's range. Valid JSON, but nlohmann stops here.
    if (ex.id == 406 && depth_ == 1 && current_ &&
        (*current_ == field::price || *current_ == field::quantity ||
         *current_ == field::stop_price)) {
      overflowed_ = current_;
      overflow_text_ = excerpt(last_token);
      return false;
    }
    std::string_view what = ex.what();
    if (const auto bracket = what.find("] "); bracket != std::string_view::npos) {
      what.remove_prefix(bracket + 2);
    }
    error_ = make_error(api_errc::malformed_json, "malformed JSON: " + std::string(what));
    return false;
  }

  const std::optional<api_error>& error() const noexcept { return error_; }
  field_views views() const noexcept {
    field_views v;
    for (std::size_t i = 0; i < kFieldCount; ++i) v[i] = {values_[i].kind, values_[i].text};
    return v;
  }
  std::optional<field> overflowed() const noexcept { return overflowed_; }
  const std::string& overflow_text() const noexcept { return overflow_text_; }

 private:
  bool recording() const noexcept { return depth_ == 1 && current_.has_value(); }

  bool scalar(json_kind kind, std::string_view text) {
    if (depth_ == 0) return not_an_object(kind);
    if (recording()) {
      field_value& v = values_[static_cast<std::size_t>(*current_)];
      v.kind = kind;
      v.text.assign(text);
    }
    return true;
  }

  bool open(json_kind kind) {
    if (recording()) values_[static_cast<std::size_t>(*current_)].kind = kind;
    ++depth_;
    return true;
  }

  bool not_an_object(json_kind kind) {
    error_ = make_error(api_errc::malformed_json,
                        "request body must be a JSON object, got " + std::string(describe(kind)));
    return false;
  }

  field_values values_;
  std::optional<field> current_;
  std::size_t depth_ = 0;
  std::optional<api_error> error_;
  std::optional<field> overflowed_;
  std::string overflow_text_;
};

// Feeds each JSON event to the order's handler and to an observer, so one pass over a
// WebSocket message reads both its order fields and its envelope.
class tee_handler {
 public:
  tee_handler(order_handler& order, json::json_sax_t& observer)
      : order_(order), observer_(observer) {}

  bool null() { return order_.null() && observer_.null(); }
  bool boolean(bool v) { return order_.boolean(v) && observer_.boolean(v); }
  bool number_integer(json::number_integer_t v) {
    return order_.number_integer(v) && observer_.number_integer(v);
  }
  bool number_unsigned(json::number_unsigned_t v) {
    return order_.number_unsigned(v) && observer_.number_unsigned(v);
  }
  bool number_float(json::number_float_t v, const json::string_t& raw) {
    return order_.number_float(v, raw) && observer_.number_float(v, raw);
  }
  bool string(json::string_t& v) { return order_.string(v) && observer_.string(v); }
  bool binary(json::binary_t& v) { return order_.binary(v) && observer_.binary(v); }
  bool start_object(std::size_t n) { return order_.start_object(n) && observer_.start_object(n); }
  bool end_object() { return order_.end_object() && observer_.end_object(); }
  bool start_array(std::size_t n) { return order_.start_array(n) && observer_.start_array(n); }
  bool end_array() { return order_.end_array() && observer_.end_array(); }
  bool key(json::string_t& k) { return order_.key(k) && observer_.key(k); }
  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& ex) {
    observer_.parse_error(position, last_token, ex);
    return order_.parse_error(position, last_token, ex);
  }

 private:
  order_handler& order_;
  json::json_sax_t& observer_;
};

// Why `id` is not a valid id, for the message.
std::string id_problem(std::string_view name, std::string_view id) {
  std::string m(name);
  if (id.empty()) {
    m.append(" must not be empty");
  } else if (id.size() > engine::kMaxIdLength) {
    m.append(" is longer than 64 characters");
  } else {
    m.append(" may only contain [A-Za-z0-9._:-], got ");
    m.append(quoted(id));
  }
  return m;
}

// Looks up a string field. Returns an error, or nullopt with `text` set when present.
std::optional<api_error> string_field(const field_views& values, field f, bool required,
                                      std::optional<std::string_view>& text) {
  const field_view& v = values[static_cast<std::size_t>(f)];
  text.reset();
  if (!v.given()) {
    if (!required) return std::nullopt;
    return make_error(api_errc::missing_field, std::string(name_of(f)) + " is required");
  }
  if (v.kind != json_kind::string) {
    return make_error(
        api_errc::invalid_field_type,
        std::string(name_of(f)) + " must be a string, got " + std::string(describe(v.kind)));
  }
  text = v.text;
  return std::nullopt;
}

// The required `instrument`: its id among `instruments`, or unknown_instrument.
std::optional<api_error> instrument_field(const field_views& values,
                                          const std::vector<engine::instrument>& instruments,
                                          engine::instrument_id& id) {
  std::optional<std::string_view> text;
  if (auto e = string_field(values, field::instrument, true, text)) return e;
  const auto found = engine::find_instrument(instruments, *text);
  if (!found)
    return make_error(api_errc::unknown_instrument, "unknown instrument " + excerpt(*text));
  id = *found;
  return std::nullopt;
}

// A price or quantity: a JSON number or a decimal string.
std::optional<api_error> amount_field(const field_views& values, field f,
                                      std::optional<std::string_view>& text) {
  const field_view& v = values[static_cast<std::size_t>(f)];
  text.reset();
  if (!v.given()) return std::nullopt;
  if (v.kind != json_kind::number && v.kind != json_kind::string) {
    return make_error(api_errc::invalid_field_type,
                      std::string(name_of(f)) + " must be a number or a decimal string, got " +
                          std::string(describe(v.kind)));
  }
  text = v.text;
  return std::nullopt;
}

struct amount_rules {
  std::string_view name;            // "price"
  std::string_view increment_name;  // "tick"
  api_errc invalid;
  api_errc not_on_increment;
  api_errc out_of_range;
};

constexpr amount_rules kPriceRules{"price", "tick", api_errc::invalid_price,
                                   api_errc::invalid_price_tick, api_errc::price_out_of_range};
constexpr amount_rules kQuantityRules{"quantity", "lot", api_errc::invalid_quantity,
                                      api_errc::invalid_quantity_lot,
                                      api_errc::quantity_out_of_range};
// A stop price is a price (on tick, within the maximum), with a code of its own.
constexpr amount_rules kStopPriceRules{"stop_price", "tick", api_errc::invalid_stop_price,
                                       api_errc::invalid_stop_price, api_errc::invalid_stop_price};

const amount_rules& rules_of(field f) {
  return f == field::price        ? kPriceRules
         : f == field::stop_price ? kStopPriceRules
                                  : kQuantityRules;
}

std::string range_text(const amount_rules& rules, const engine::instrument& ins) {
  if (rules.increment_name == "tick") {
    return "max " + engine::format_price(ins, ins.max_price);
  }
  return "min " + engine::format_quantity(ins, ins.min_quantity) + ", max " +
         engine::format_quantity(ins, ins.max_quantity);
}

api_error amount_error(const amount_rules& rules, engine::amount_errc e, std::string_view text,
                       const engine::instrument& ins) {
  const std::string name(rules.name);
  switch (e) {
    case engine::amount_errc::not_positive:
      return make_error(rules.invalid, name + " must be positive, got " + excerpt(text));
    case engine::amount_errc::not_on_increment: {
      const std::string increment =
          rules.increment_name == "tick" ? ins.tick_size() : ins.lot_size();
      return make_error(rules.not_on_increment,
                        name + " " + excerpt(text) + " is not a multiple of " +
                            std::string(rules.increment_name) + " " + increment);
    }
    case engine::amount_errc::too_many_decimals:
      return make_error(api_errc::too_many_decimals,
                        name + " " + excerpt(text) + " has more than " +
                            std::to_string(engine::kMaxDecimalScale) + " decimal places");
    case engine::amount_errc::out_of_range:
      return make_error(rules.out_of_range, name + " " + excerpt(text) + " is out of range (" +
                                                range_text(rules, ins) + ")");
    case engine::amount_errc::malformed:
    case engine::amount_errc::ok:
      break;
  }
  return make_error(rules.invalid,
                    name + " must be a positive decimal number, got " + quoted(text));
}

// post_only, stp and client_order_id (docs/api.md, "Order options"), after time_in_force and
// order_id have been read into `out`.
std::optional<api_error> order_options(const field_views& values, order_request& out) {
  engine::place_order& cmd = out.command;
  const field_view& flag = values[static_cast<std::size_t>(field::post_only)];
  if (flag.given()) {
    if (flag.kind != json_kind::boolean) {
      return make_error(api_errc::invalid_field_type,
                        "post_only must be a boolean, got " + std::string(describe(flag.kind)));
    }
    cmd.post_only = flag.text == "true";
    if (cmd.post_only && (cmd.type != engine::order_type::limit ||
                          cmd.tif != engine::time_in_force::gtc || cmd.stop_price.value != 0)) {
      return make_error(api_errc::post_only_not_allowed,
                        "post_only is for limit orders with time_in_force \"gtc\" only");
    }
  }

  std::optional<std::string_view> text;
  if (auto e = string_field(values, field::stp, false, text)) return e;
  if (text && !engine::parse_stp_mode(*text, cmd.stp)) {
    return make_error(api_errc::invalid_stp,
                      "stp must be \"cancel_taker\", \"cancel_maker\", \"cancel_both\" or "
                      "\"none\", got " +
                          quoted(*text));
  }

  if (auto e = string_field(values, field::client_order_id, false, text)) return e;
  if (text) {
    if (!engine::valid_client_order_id(*text)) {
      return make_error(api_errc::invalid_client_order_id,
                        "client_order_id must be 1-" +
                            std::to_string(engine::kMaxClientOrderIdLength) +
                            " chars of [A-Za-z0-9._:-], got " + quoted(*text));
    }
    out.client_order_id = engine::order_label::from(*text);
  }
  return std::nullopt;
}

}  // namespace

namespace {

// 1. Structure: what stopped the JSON parser.
api_error structure_error(const order_handler& handler) {
  if (const auto f = handler.overflowed()) {
    const amount_rules& rules = rules_of(*f);
    const std::string& text = handler.overflow_text();
    if (!text.empty() && text[0] == '-') {
      return make_error(rules.invalid, std::string(rules.name) + " must be positive, got " + text);
    }
    return make_error(rules.out_of_range,
                      std::string(rules.name) + " " + text + " is out of range");
  }
  if (handler.error()) return *handler.error();
  return make_error(api_errc::malformed_json, "malformed JSON");
}

std::optional<api_error> validate(const field_views& values,
                                  std::string_view header_idempotency_key,
                                  const std::vector<engine::instrument>& instruments,
                                  order_request& out) {
  engine::place_order& cmd = out.command;

  // 2. Fields, in a fixed order.
  std::optional<std::string_view> text;

  if (auto e = string_field(values, field::client_id, true, text)) return e;
  if (!valid_id(*text))
    return make_error(api_errc::invalid_client_id, id_problem("client_id", *text));
  cmd.client = engine::client_id::from(*text);

  if (auto e = instrument_field(values, instruments, cmd.instrument)) return e;
  const engine::instrument& ins = instruments[cmd.instrument];

  if (auto e = string_field(values, field::side, true, text)) return e;
  if (*text == "buy") {
    cmd.order_side = engine::side::buy;
  } else if (*text == "sell") {
    cmd.order_side = engine::side::sell;
  } else {
    return make_error(api_errc::invalid_side,
                      "side must be \"buy\" or \"sell\", got " + quoted(*text));
  }

  if (auto e = string_field(values, field::type, true, text)) return e;
  bool stop = false;  // stop_market and stop_limit: a market or limit order with a stop price
  if (*text == "limit" || *text == "stop_limit") {
    cmd.type = engine::order_type::limit;
    stop = *text == "stop_limit";
  } else if (*text == "market" || *text == "stop_market") {
    cmd.type = engine::order_type::market;
    stop = *text == "stop_market";
  } else {
    return make_error(
        api_errc::invalid_order_type,
        "type must be \"limit\", \"market\", \"stop_limit\" or \"stop_market\", got " +
            quoted(*text));
  }
  const bool market = cmd.type == engine::order_type::market;

  if (auto e = amount_field(values, field::quantity, text)) return e;
  if (!text) return make_error(api_errc::missing_field, "quantity is required");
  const auto quantity = engine::parse_quantity(ins, *text);
  if (quantity.error != engine::amount_errc::ok) {
    return amount_error(kQuantityRules, quantity.error, *text, ins);
  }
  cmd.quantity = quantity.value;

  if (stop) {
    if (auto e = amount_field(values, field::stop_price, text)) return e;
    if (!text) return make_error(api_errc::missing_field, "stop_price is required for stop orders");
    const auto stop_price = engine::parse_price(ins, *text);
    if (stop_price.error != engine::amount_errc::ok) {
      return amount_error(kStopPriceRules, stop_price.error, *text, ins);
    }
    cmd.stop_price = stop_price.value;
  } else if (values[static_cast<std::size_t>(field::stop_price)].given()) {
    return make_error(api_errc::stop_price_not_allowed,
                      "stop_price is for stop_market and stop_limit orders only");
  }

  if (market) {
    if (values[static_cast<std::size_t>(field::price)].given()) {
      return make_error(api_errc::price_not_allowed, "market orders must not have a price");
    }
  } else {
    if (auto e = amount_field(values, field::price, text)) return e;
    if (!text) return make_error(api_errc::missing_field, "price is required for limit orders");
    const auto price = engine::parse_price(ins, *text);
    if (price.error != engine::amount_errc::ok) {
      return amount_error(kPriceRules, price.error, *text, ins);
    }
    cmd.price = price.value;
  }

  if (auto e = string_field(values, field::time_in_force, false, text)) return e;
  if (market) {
    if (text && *text != "ioc") {
      return make_error(api_errc::invalid_time_in_force,
                        "market orders only allow time_in_force \"ioc\", got " + quoted(*text));
    }
    cmd.tif = engine::time_in_force::ioc;
  } else if (!text || *text == "gtc") {
    cmd.tif = engine::time_in_force::gtc;
  } else if (*text == "ioc") {
    cmd.tif = engine::time_in_force::ioc;
  } else if (*text == "fok") {
    cmd.tif = engine::time_in_force::fok;
  } else {
    return make_error(api_errc::invalid_time_in_force,
                      "time_in_force must be \"gtc\", \"ioc\" or \"fok\", got " + quoted(*text));
  }

  if (auto e = string_field(values, field::order_id, false, text)) return e;
  if (text) {
    if (!valid_id(*text))
      return make_error(api_errc::invalid_order_id, id_problem("order_id", *text));
    cmd.id = engine::order_id::from(*text);
    out.has_order_id = true;
  }

  if (auto e = order_options(values, out)) return e;

  if (auto e = string_field(values, field::idempotency_key, false, text)) return e;
  if (text && !valid_id(*text)) {
    return make_error(api_errc::invalid_idempotency_key, id_problem("idempotency_key", *text));
  }
  if (!header_idempotency_key.empty() && !valid_id(header_idempotency_key)) {
    return make_error(api_errc::invalid_idempotency_key,
                      id_problem("Idempotency-Key header", header_idempotency_key));
  }
  if (text && !header_idempotency_key.empty() && *text != header_idempotency_key) {
    return make_error(api_errc::invalid_idempotency_key,
                      "idempotency_key in the body differs from the Idempotency-Key header");
  }
  out.idempotency = idempotency_key::from(text ? *text : header_idempotency_key);

  out.fingerprint = bus::request_fingerprint(out.command, ins.symbol, out.has_order_id,
                                             out.client_order_id.view());
  return std::nullopt;
}

// The body through nlohmann's SAX parser: `sax` is `handler` itself or a tee feeding it.
template <class Sax>
std::optional<api_error> parse_with_sax(std::string_view body,
                                        std::string_view header_idempotency_key,
                                        const std::vector<engine::instrument>& instruments,
                                        order_request& out, const order_handler& handler,
                                        Sax& sax) {
  out = order_request{};
  if (body.empty()) return make_error(api_errc::malformed_json, "request body is empty");
  if (!json::sax_parse(body.data(), body.data() + body.size(), &sax)) {
    return structure_error(handler);
  }
  return validate(handler.views(), header_idempotency_key, instruments, out);
}

}  // namespace

std::optional<api_error> parse_order_request(std::string_view body,
                                             std::string_view header_idempotency_key,
                                             const std::vector<engine::instrument>& instruments,
                                             order_request& out) {
  flat_object flat;
  if (scan_flat_object(body, flat)) {
    return parse_order_request(flat, header_idempotency_key, instruments, out);
  }
  order_handler handler;
  return parse_with_sax(body, header_idempotency_key, instruments, out, handler, handler);
}

std::optional<api_error> parse_order_request(std::string_view body,
                                             std::string_view header_idempotency_key,
                                             const std::vector<engine::instrument>& instruments,
                                             order_request& out,
                                             nlohmann::json::json_sax_t& observer) {
  order_handler handler;
  tee_handler tee(handler, observer);
  return parse_with_sax(body, header_idempotency_key, instruments, out, handler, tee);
}

std::optional<api_error> parse_order_request(const flat_object& body,
                                             std::string_view header_idempotency_key,
                                             const std::vector<engine::instrument>& instruments,
                                             order_request& out) {
  out = order_request{};
  field_views values;
  for (const flat_member& m : body) {
    if (const auto f = field_named(m.key)) values[static_cast<std::size_t>(*f)] = {m.kind, m.text};
  }
  return validate(values, header_idempotency_key, instruments, out);
}

namespace {

std::optional<api_error> validate_amend(const field_views& values,
                                        const std::vector<engine::instrument>& instruments,
                                        engine::amend_order& out) {
  // A field of the order an amend cannot change is refused, not ignored: a client that
  // sends "stp" or "side" in a PATCH means to change it, and a 200 would say it did.
  // order_id names the order (the WebSocket's amend carries it in the message).
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const auto f = static_cast<field>(i);
    if (f == field::instrument || f == field::quantity || f == field::price ||
        f == field::order_id) {
      continue;
    }
    if (values[i].given()) {
      return make_error(api_errc::field_not_amendable,
                        std::string(kFieldNames[i]) +
                            " cannot be amended: an amend changes price and quantity only");
    }
  }
  std::optional<std::string_view> text;
  if (auto e = instrument_field(values, instruments, out.instrument)) return e;
  const engine::instrument& ins = instruments[out.instrument];

  if (auto e = amount_field(values, field::quantity, text)) return e;
  if (text) {
    const auto quantity = engine::parse_quantity(ins, *text);
    if (quantity.error != engine::amount_errc::ok) {
      return amount_error(kQuantityRules, quantity.error, *text, ins);
    }
    out.quantity = quantity.value;
  }
  if (auto e = amount_field(values, field::price, text)) return e;
  if (text) {
    const auto price = engine::parse_price(ins, *text);
    if (price.error != engine::amount_errc::ok) {
      return amount_error(kPriceRules, price.error, *text, ins);
    }
    out.price = price.value;
  }
  if (out.quantity.value == 0 && out.price.value == 0) {
    return make_error(api_errc::missing_field, "an amend needs a price, a quantity or both");
  }
  return std::nullopt;
}

}  // namespace

std::optional<api_error> parse_amend_request(std::string_view body,
                                             const std::vector<engine::instrument>& instruments,
                                             engine::amend_order& out) {
  out.price = engine::price_ticks{};
  out.quantity = engine::quantity_lots{};
  flat_object flat;
  if (scan_flat_object(body, flat)) {
    field_views values;
    for (const flat_member& m : flat) {
      if (const auto f = field_named(m.key))
        values[static_cast<std::size_t>(*f)] = {m.kind, m.text};
    }
    return validate_amend(values, instruments, out);
  }
  if (body.empty()) return make_error(api_errc::malformed_json, "request body is empty");
  order_handler handler;  // the views below point into it
  if (!json::sax_parse(body.data(), body.data() + body.size(), &handler)) {
    return structure_error(handler);
  }
  return validate_amend(handler.views(), instruments, out);
}

std::optional<api_error> parse_count_parameter(std::string_view name,
                                               std::optional<std::string_view> text,
                                               std::uint32_t default_value, std::uint32_t max_value,
                                               std::uint32_t& out) {
  if (!text) {
    out = default_value;
    return std::nullopt;
  }
  std::uint32_t value = 0;
  const char* end = text->data() + text->size();
  const auto r = std::from_chars(text->data(), end, value);
  const bool digits_only = !text->empty() && (*text)[0] != '-' && (*text)[0] != '+';
  if (!digits_only || r.ec != std::errc{} || r.ptr != end || value < 1 || value > max_value) {
    return make_error(api_errc::invalid_parameter,
                      std::string(name) + " must be an integer from 1 to " +
                          std::to_string(max_value) + ", got " + quoted(*text));
  }
  out = value;
  return std::nullopt;
}

std::optional<api_error> parse_cursor_parameter(std::string_view name,
                                                std::optional<std::string_view> text,
                                                std::uint64_t& out) {
  out = 0;
  if (!text) return std::nullopt;
  std::uint64_t value = 0;
  const char* end = text->data() + text->size();
  const auto r = std::from_chars(text->data(), end, value);
  const bool digits_only = !text->empty() && (*text)[0] != '-' && (*text)[0] != '+';
  if (!digits_only || r.ec != std::errc{} || r.ptr != end || value < 1 ||
      value > static_cast<std::uint64_t>(INT64_MAX)) {
    return make_error(
        api_errc::invalid_parameter,
        std::string(name) + " must be a positive integer (a next_before), got " + quoted(*text));
  }
  out = value;
  return std::nullopt;
}

std::optional<api_error> parse_status_filter(std::optional<std::string_view> text,
                                             bool& open_only) {
  if (!text || *text == "open") {
    open_only = true;
    return std::nullopt;
  }
  if (*text == "all") {
    open_only = false;
    return std::nullopt;
  }
  return make_error(api_errc::invalid_parameter,
                    "status must be open or all, got " + quoted(*text));
}

}  // namespace matchd::codec
