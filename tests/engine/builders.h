#pragma once

// Short builders and readable printers for the engine tests, so a scenario reads like
// `place(sell_limit("a", px("100.00"), qty("1")))`. Test-only; not part of the engine.

#include <gtest/gtest.h>
#include <matchd/engine/command.h>
#include <matchd/engine/decimal.h>
#include <matchd/engine/errc.h>
#include <matchd/engine/event.h>
#include <matchd/engine/instrument.h>
#include <matchd/engine/matching_engine.h>
#include <matchd/engine/order.h>
#include <matchd/engine/types.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace matchd::engine {

// gtest finds these by argument-dependent lookup, so failures print "10000 ticks" and
// "filled" instead of raw bytes.
inline void PrintTo(price_ticks p, std::ostream* os) {
  *os << p.value << " ticks";
}
inline void PrintTo(quantity_lots q, std::ostream* os) {
  *os << q.value << " lots";
}
inline void PrintTo(side s, std::ostream* os) {
  *os << (s == side::buy ? "buy" : "sell");
}
inline void PrintTo(order_status s, std::ostream* os) {
  constexpr const char* kNames[] = {"open", "partially_filled", "filled", "cancelled", "rejected"};
  *os << kNames[static_cast<int>(s)];
}
inline void PrintTo(errc e, std::ostream* os) {
  *os << "errc::" << to_code(e);
}
inline void PrintTo(decimal_errc e, std::ostream* os) {
  constexpr const char* kNames[] = {
      "ok",          "empty", "malformed", "negative", "not_representable", "too_many_decimals",
      "out_of_range"};
  *os << "decimal_errc::" << kNames[static_cast<int>(e)];
}
inline void PrintTo(amount_errc e, std::ostream* os) {
  constexpr const char* kNames[] = {
      "ok", "malformed", "not_positive", "not_on_increment", "too_many_decimals", "out_of_range"};
  *os << "amount_errc::" << kNames[static_cast<int>(e)];
}

}  // namespace matchd::engine

namespace matchd::engine::test_support {

inline const instrument& btc_usd() {
  static const instrument kBtcUsd = instrument::btc_usd();
  return kBtcUsd;
}

// Decimal text -> ticks/lots of BTC-USD (tick 0.01, lot 0.00000001).
inline price_ticks px(std::string_view text) {
  const price_parse_result r = parse_price(btc_usd(), text);
  if (r.error != amount_errc::ok) ADD_FAILURE() << "bad price literal in test: " << text;
  return r.value;
}
inline quantity_lots qty(std::string_view text) {
  const quantity_parse_result r = parse_quantity(btc_usd(), text);
  if (r.error != amount_errc::ok) ADD_FAILURE() << "bad quantity literal in test: " << text;
  return r.value;
}
inline quantity_lots lots(std::int64_t n) {
  return quantity_lots{n};
}
inline price_ticks ticks(std::int64_t n) {
  return price_ticks{n};
}

inline place_order limit(std::string_view id, side s, price_ticks price, quantity_lots quantity,
                         time_in_force tif = time_in_force::gtc) {
  place_order cmd;
  cmd.id = order_id::from(id);
  cmd.client = client_id::from(std::string("client-") + std::string(id));
  cmd.order_side = s;
  cmd.type = order_type::limit;
  cmd.tif = tif;
  cmd.price = price;
  cmd.quantity = quantity;
  return cmd;
}
inline place_order buy_limit(std::string_view id, price_ticks price, quantity_lots quantity) {
  return limit(id, side::buy, price, quantity);
}
inline place_order sell_limit(std::string_view id, price_ticks price, quantity_lots quantity) {
  return limit(id, side::sell, price, quantity);
}
inline place_order market(std::string_view id, side s, quantity_lots quantity) {
  place_order cmd;
  cmd.id = order_id::from(id);
  cmd.client = client_id::from(std::string("client-") + std::string(id));
  cmd.order_side = s;
  cmd.type = order_type::market;
  cmd.quantity = quantity;
  return cmd;
}
inline cancel_order cancel_of(std::string_view id) {
  cancel_order cmd;
  cmd.id = order_id::from(id);
  return cmd;
}
// The same order with another owner, self-trade prevention mode or post_only flag.
inline place_order of_client(place_order cmd, std::string_view client) {
  cmd.client = client_id::from(client);
  return cmd;
}
inline place_order with_stp(place_order cmd, stp_mode mode) {
  cmd.stp = mode;
  return cmd;
}
inline place_order post_only(place_order cmd) {
  cmd.post_only = true;
  return cmd;
}
// PATCH /orders/{id} of a BTC-USD order; zero leaves price or quantity as it is.
inline amend_order amend_of(std::string_view id, price_ticks price, quantity_lots quantity) {
  amend_order cmd;
  cmd.id = order_id::from(id);
  cmd.price = price;
  cmd.quantity = quantity;
  return cmd;
}
// The clients a caller may act for (engine/client_scope.h).
inline client_scope scope_of(std::initializer_list<std::string_view> clients) {
  std::vector<client_id> ids;
  for (const std::string_view c : clients) ids.push_back(client_id::from(c));
  return std::make_shared<const client_set>(std::move(ids));
}
inline cancel_order cancel_of(std::string_view id, client_scope scope) {
  cancel_order cmd = cancel_of(id);
  cmd.scope = std::move(scope);
  return cmd;
}

inline std::string to_decimal_string(int128 v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  std::string digits;
  while (v != 0) {
    const int digit = static_cast<int>(v % 10);
    digits.insert(digits.begin(), static_cast<char>('0' + (negative ? -digit : digit)));
    v /= 10;
  }
  return negative ? "-" + digits : digits;
}

// One line holding every field, so two events compare (and diff) as strings.
inline std::string describe(const order& o) {
  return "order " + std::string(o.id.view()) + " client=" + std::string(o.client.view()) +
         " key=" + std::to_string(o.key) + " ins=" + std::to_string(o.instrument) + " " +
         std::string(to_string(o.order_side)) + " " + std::string(to_string(o.type)) + " " +
         std::string(to_string(o.tif)) + " " + std::string(to_string(o.status)) +
         " price=" + std::to_string(o.price.value) + " qty=" + std::to_string(o.quantity.value) +
         " filled=" + std::to_string(o.filled.value) +
         " notional=" + to_decimal_string(o.notional) +
         " created_at=" + std::to_string(o.created_at) +
         " updated_at=" + std::to_string(o.updated_at) +
         " created_seq=" + std::to_string(o.created_sequence) +
         " seq=" + std::to_string(o.sequence) + " stp=" + std::string(to_string(o.stp)) +
         (o.post_only ? " post_only" : "") + (o.amended ? " amended" : "") +
         (o.is_stop() ? " stop=" + std::to_string(o.stop_price.value) : "") +
         (o.triggered ? " triggered" : "") +
         (o.reason != end_reason::none ? " reason=" + std::string(to_string(o.reason)) : "");
}
inline std::string describe(const trade& t) {
  return "trade #" + std::to_string(t.id) + " ins=" + std::to_string(t.instrument) +
         " price=" + std::to_string(t.price.value) + " qty=" + std::to_string(t.quantity.value) +
         " aggressor=" + std::string(to_string(t.aggressor)) +
         " buy=" + std::string(t.buy_order_id.view()) +
         " sell=" + std::string(t.sell_order_id.view()) + " at=" + std::to_string(t.executed_at) +
         " seq=" + std::to_string(t.sequence);
}
inline std::string describe(const level_delta& d) {
  return "delta ins=" + std::to_string(d.instrument) + " " + std::string(to_string(d.level_side)) +
         " price=" + std::to_string(d.price.value) + " qty=" + std::to_string(d.quantity.value) +
         " orders=" + std::to_string(d.orders) + " seq=" + std::to_string(d.sequence);
}
inline std::string describe(const event& e) {
  return std::visit([](const auto& v) { return describe(v); }, e);
}
inline std::vector<std::string> describe_all(const event_buffer& events) {
  std::vector<std::string> lines;
  for (const event& e : events) lines.push_back(describe(e));
  return lines;
}

// The events of one command, split by kind and kept in emission order.
struct split_events {
  std::vector<trade> trades;
  std::vector<order> orders;
  std::vector<level_delta> deltas;
};
inline split_events split(const event_buffer& events) {
  split_events s;
  for (const event& e : events) {
    if (const auto* t = std::get_if<trade>(&e)) s.trades.push_back(*t);
    if (const auto* o = std::get_if<order>(&e)) s.orders.push_back(*o);
    if (const auto* d = std::get_if<level_delta>(&e)) s.deltas.push_back(*d);
  }
  return s;
}

struct level_snapshot {
  std::int64_t price;
  std::int64_t quantity;
  std::uint32_t orders;
  friend bool operator==(const level_snapshot&, const level_snapshot&) = default;
  friend void PrintTo(const level_snapshot& l, std::ostream* os) {
    *os << "{" << l.price << " ticks, " << l.quantity << " lots, " << l.orders << " orders}";
  }
};

// Every level of one side, best first.
inline std::vector<level_snapshot> levels_of(const order_book& book, side s) {
  std::vector<level_snapshot> levels;
  book.for_each_level(s, SIZE_MAX, [&](const order_book::level_view& l) {
    levels.push_back({l.price.value, l.quantity.value, l.orders});
    return true;
  });
  return levels;
}

// Every resting order of one side in priority order, as ids.
inline std::vector<std::string> queue_of(const order_book& book, side s) {
  std::vector<std::string> ids;
  book.for_each_order(s, [&](const order& o) { ids.emplace_back(o.id.view()); });
  return ids;
}

}  // namespace matchd::engine::test_support
