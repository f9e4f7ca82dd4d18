#pragma once

#include <matchd/feed/feed_client.h>
#include <matchd/feed/order_mapping.h>
#include <matchd/feed/trade_message.h>
#include <matchd/obs/metrics.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <array>
#include <string_view>

namespace matchd::feed {

// The feed's metrics. Counters are atomics: written on the feed's thread, read anywhere.
class feed_probe {
 public:
  explicit feed_probe(obs::registry& r)
      : messages_(counter(r, "feed_messages_total", "Text messages received from the feed")),
        submitted_(counter(r, "feed_orders_submitted_total",
                           "Orders from feed trades handed to the engine queue")),
        dropped_(counter(r, "feed_orders_dropped_total",
                         "Orders from feed trades dropped because the engine queue was full")),
        ignored_(counter(r, "feed_messages_ignored_total",
                         "Well-formed feed messages that are not trades")),
        reconnects_(counter(r, "feed_reconnects_total",
                            "Feed connection attempts after a failure or a close")),
        connections_(counter(r, "feed_connections_total", "Feed WebSocket handshakes completed")),
        pings_(counter(r, "feed_pings_total", "Pings received from the feed server")),
        parse_errors_(prometheus::BuildCounter()
                          .Name("feed_parse_errors_total")
                          .Help("Feed messages skipped as malformed, by reason")
                          .Register(r)),
        skipped_(prometheus::BuildCounter()
                     .Name("feed_orders_skipped_total")
                     .Help("Feed trades that could not become an order, by reason")
                     .Register(r)),
        connection_errors_(prometheus::BuildCounter()
                               .Name("feed_connection_errors_total")
                               .Help("Feed connections that failed or ended, by stage")
                               .Register(r)),
        lag_(prometheus::BuildGauge()
                 .Name("feed_lag_seconds")
                 .Help("Receipt time minus trade time (T) of the last feed trade")
                 .Register(r)
                 .Add({})),
        connected_(prometheus::BuildGauge()
                       .Name("feed_connected")
                       .Help("1 while the feed's WebSocket is open")
                       .Register(r)
                       .Add({})) {
    // Every reason exists from the start, so the totals read 0 rather than being absent.
    for (const parse_errc e :
         {parse_errc::bad_json, parse_errc::not_an_object, parse_errc::missing_field,
          parse_errc::bad_field, parse_errc::bad_decimal}) {
      parse_error(e, 0);
    }
    for (const mapping_errc e :
         {mapping_errc::unknown_symbol, mapping_errc::bad_quantity, mapping_errc::bad_price,
          mapping_errc::below_lot, mapping_errc::above_max, mapping_errc::price_out_of_range}) {
      mapping_error(e, 0);
    }
  }

  void message() { messages_.Increment(); }
  void submitted() { submitted_.Increment(); }
  void dropped() { dropped_.Increment(); }
  void ignored() { ignored_.Increment(); }
  void reconnect() { reconnects_.Increment(); }
  void connection_opened() {
    connections_.Increment();
    connected_.Set(1);
  }
  void connection_closed() { connected_.Set(0); }
  void ping() { pings_.Increment(); }
  void lag(double seconds) { lag_.Set(seconds); }
  void connection_error(std::string_view stage) {
    connection_errors_.Add({{"stage", std::string(stage)}}).Increment();
  }
  void parse_error(parse_errc e, double n = 1) {
    parse_errors_.Add({{"reason", std::string(to_string(e))}}).Increment(n);
  }
  // Malformed input is a parse error; a good trade that cannot be replayed is "skipped".
  void mapping_error(mapping_errc e, double n = 1) {
    auto& family = is_malformed(e) ? parse_errors_ : skipped_;
    family.Add({{"reason", std::string(to_string(e))}}).Increment(n);
  }

  feed_stats stats() const {
    feed_stats s;
    s.messages = count(messages_);
    s.submitted = count(submitted_);
    s.dropped = count(dropped_);
    s.ignored = count(ignored_);
    s.reconnects = count(reconnects_);
    s.connections = count(connections_);
    s.pings = count(pings_);
    s.parse_errors = total(parse_errors_);
    s.skipped = total(skipped_);
    s.connected = connected_.Value() > 0;
    return s;
  }

 private:
  static prometheus::Counter& counter(obs::registry& r, const char* name, const char* help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
  }
  static std::uint64_t count(const prometheus::Counter& c) {
    return static_cast<std::uint64_t>(c.Value());
  }
  static std::uint64_t total(const prometheus::Family<prometheus::Counter>& f) {
    double sum = 0;
    for (const auto& metric : f.Collect()) {
      for (const auto& m : metric.metric) sum += m.counter.value;
    }
    return static_cast<std::uint64_t>(sum);
  }

  prometheus::Counter& messages_;
  prometheus::Counter& submitted_;
  prometheus::Counter& dropped_;
  prometheus::Counter& ignored_;
  prometheus::Counter& reconnects_;
  prometheus::Counter& connections_;
  prometheus::Counter& pings_;
  prometheus::Family<prometheus::Counter>& parse_errors_;
  prometheus::Family<prometheus::Counter>& skipped_;
  prometheus::Family<prometheus::Counter>& connection_errors_;
  prometheus::Gauge& lag_;
  prometheus::Gauge& connected_;
};

}  // namespace matchd::feed
