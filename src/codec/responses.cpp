#include <matchd/codec/responses.h>
#include <matchd/codec/wire.h>

namespace matchd::codec {

std::string command_response(std::span<const engine::event> events, const engine::order_id& subject,
                             bool with_trades, const std::vector<engine::instrument>& instruments,
                             std::string_view client_order_id) {
  // The subject's final state is its last order event.
  const engine::order* state = nullptr;
  for (const engine::event& e : events) {
    if (const auto* o = std::get_if<engine::order>(&e); o != nullptr && o->id == subject) {
      state = o;
    }
  }
  std::string body = "{\"order\":";
  if (state != nullptr) {
    append_order(body, *state, instruments[state->instrument], client_order_id);
  } else {
    body += "null";
  }
  if (with_trades) {
    body += ",\"trades\":[";
    bool first = true;
    for (const engine::event& e : events) {
      // The subject's fills: a stop the command triggered trades in the same events.
      if (const auto* t = std::get_if<engine::trade>(&e);
          t != nullptr && (t->buy_order_id == subject || t->sell_order_id == subject)) {
        if (!first) body += ',';
        first = false;
        append_trade(body, *t, instruments[t->instrument]);
      }
    }
    body += ']';
  }
  body += '}';
  return body;
}

std::string cancel_all_response(
    std::span<const engine::event> events, const std::vector<engine::instrument>& instruments,
    const std::function<std::string_view(const engine::order&)>& label_of) {
  std::string body = "{\"orders\":[";
  bool first = true;
  for (const engine::event& e : events) {
    if (const auto* o = std::get_if<engine::order>(&e)) {
      if (!first) body += ',';
      first = false;
      append_order(body, *o, instruments[o->instrument], label_of(*o));
    }
  }
  body += "]}";
  return body;
}

std::string order_page_response(std::span<const labelled_order_ref> orders,
                                std::optional<engine::sequence_number> next_before,
                                const std::vector<engine::instrument>& instruments) {
  std::string body = "{\"orders\":[";
  for (std::size_t i = 0; i < orders.size(); ++i) {
    if (i > 0) body += ',';
    const engine::order& o = *orders[i].order;
    append_order(body, o, instruments[o.instrument], orders[i].client_order_id);
  }
  body += "],\"next_before\":";
  body += next_before ? std::to_string(*next_before) : std::string("null");
  body += '}';
  return body;
}

}  // namespace matchd::codec
