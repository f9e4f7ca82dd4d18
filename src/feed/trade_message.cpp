#include <matchd/feed/order_mapping.h>
#include <matchd/feed/trade_message.h>

#include <limits>
#include <nlohmann/json.hpp>

namespace matchd::feed {

namespace {

using json = nlohmann::json;

feed_message malformed(parse_errc e, std::string_view detail) {
  feed_message m;
  m.kind = message_kind::malformed;
  m.error = e;
  m.detail = detail;
  return m;
}

feed_message of_kind(message_kind k, std::string_view detail) {
  feed_message m;
  m.kind = k;
  m.detail = detail;
  return m;
}

// JSON integers: nlohmann keeps non-negative ones as unsigned, negative ones as signed.
std::optional<std::int64_t> as_int64(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return std::nullopt;
}

bool is_server_shutdown(const json& object) {
  const auto is_event = [](const json& o) {
    const auto e = o.find("e");
    return e != o.end() && e->is_string() && e->get_ref<const std::string&>() == "serverShutdown";
  };
  if (is_event(object)) return true;
  // The WebSocket API wraps connection events as {"event": {...}}.
  const auto event = object.find("event");
  return event != object.end() && event->is_object() && is_event(*event);
}

feed_message parse_payload(const json& payload) {
  if (!payload.is_object()) return malformed(parse_errc::not_an_object, "payload is not an object");
  if (is_server_shutdown(payload)) return of_kind(message_kind::server_shutdown, "serverShutdown");

  const auto e = payload.find("e");
  if (e == payload.end()) {
    // Replies to SUBSCRIBE/LIST_SUBSCRIPTIONS requests: {"result": ..., "id": 1}.
    if (payload.contains("id")) return of_kind(message_kind::ignored, "request reply");
    return malformed(parse_errc::missing_field, "no \"e\" (event type)");
  }
  if (!e->is_string()) return malformed(parse_errc::bad_field, "\"e\" is not a string");
  if (e->get_ref<const std::string&>() != "trade") {
    return of_kind(message_kind::ignored, "event is not a trade");
  }

  const auto field = [&payload](const char* name) -> const json* {
    const auto it = payload.find(name);
    return it == payload.end() ? nullptr : &*it;
  };
  const json* s = field("s");
  const json* t = field("t");
  const json* p = field("p");
  const json* q = field("q");
  const json* event_time = field("E");
  const json* trade_time = field("T");
  const json* m = field("m");
  if (s == nullptr) return malformed(parse_errc::missing_field, "no \"s\" (symbol)");
  if (t == nullptr) return malformed(parse_errc::missing_field, "no \"t\" (trade id)");
  if (p == nullptr) return malformed(parse_errc::missing_field, "no \"p\" (price)");
  if (q == nullptr) return malformed(parse_errc::missing_field, "no \"q\" (quantity)");
  if (event_time == nullptr) return malformed(parse_errc::missing_field, "no \"E\" (event time)");
  if (trade_time == nullptr) return malformed(parse_errc::missing_field, "no \"T\" (trade time)");
  if (m == nullptr) return malformed(parse_errc::missing_field, "no \"m\" (buyer is maker)");

  feed_message out;
  out.kind = message_kind::trade;
  parsed_trade& trade = out.trade;
  if (!s->is_string() || s->get_ref<const std::string&>().empty()) {
    return malformed(parse_errc::bad_field, "\"s\" is not a non-empty string");
  }
  trade.symbol = s->get<std::string>();
  if (!t->is_number_unsigned()) {
    return malformed(parse_errc::bad_field, "\"t\" is not a non-negative integer");
  }
  trade.trade_id = t->get<std::uint64_t>();
  // Prices and quantities arrive as strings so that they stay exact; a JSON number would
  // already have gone through a double, so it is refused rather than trusted.
  if (!p->is_string()) return malformed(parse_errc::bad_field, "\"p\" is not a string");
  if (!q->is_string()) return malformed(parse_errc::bad_field, "\"q\" is not a string");
  trade.price = p->get<std::string>();
  trade.quantity = q->get<std::string>();
  if (!parse_exact_decimal(trade.price)) {
    return malformed(parse_errc::bad_decimal, "\"p\" is not a decimal");
  }
  if (!parse_exact_decimal(trade.quantity)) {
    return malformed(parse_errc::bad_decimal, "\"q\" is not a decimal");
  }
  const auto event_ms = as_int64(*event_time);
  const auto trade_ms = as_int64(*trade_time);
  if (!event_ms || *event_ms < 0) return malformed(parse_errc::bad_field, "\"E\" is not a time");
  if (!trade_ms || *trade_ms < 0) return malformed(parse_errc::bad_field, "\"T\" is not a time");
  trade.event_time_ms = *event_ms;
  trade.trade_time_ms = *trade_ms;
  if (!m->is_boolean()) return malformed(parse_errc::bad_field, "\"m\" is not a boolean");
  trade.buyer_is_maker = m->get<bool>();
  return out;
}

}  // namespace

std::string_view to_string(parse_errc e) noexcept {
  switch (e) {
    case parse_errc::ok:
      return "ok";
    case parse_errc::bad_json:
      return "bad_json";
    case parse_errc::not_an_object:
      return "not_an_object";
    case parse_errc::missing_field:
      return "missing_field";
    case parse_errc::bad_field:
      return "bad_field";
    case parse_errc::bad_decimal:
      return "bad_decimal";
  }
  return "unknown";
}

feed_message parse_feed_message(std::string_view text) {
  const json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return malformed(parse_errc::bad_json, "not JSON");
  if (!doc.is_object()) return malformed(parse_errc::not_an_object, "not a JSON object");
  // Combined streams (/stream?streams=...) wrap each event as {"stream": ..., "data": ...}.
  const auto data = doc.find("data");
  if (doc.contains("stream") && data != doc.end()) return parse_payload(*data);
  return parse_payload(doc);
}

std::optional<parsed_trade> parse_trade_message(std::string_view text) {
  feed_message m = parse_feed_message(text);
  if (m.kind != message_kind::trade) return std::nullopt;
  return std::move(m.trade);
}

}  // namespace matchd::feed
