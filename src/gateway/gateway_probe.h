#pragma once

#include <matchd/obs/metrics.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <array>

#include "credentials.h"

namespace matchd::gateway {

// The gateway's metrics: connections and the answers it gives without the engine.
class gateway_probe {
 public:
  explicit gateway_probe(obs::registry& r)
      : connections_(prometheus::BuildGauge()
                         .Name("gateway_connections")
                         .Help("Open client connections (HTTP, WebSocket, SSE)")
                         .Register(r)
                         .Add({})),
        refused_(prometheus::BuildCounter()
                     .Name("gateway_connections_refused_total")
                     .Help("Connections closed at accept because of the connection limit")
                     .Register(r)
                     .Add({})),
        responses_(prometheus::BuildCounter()
                       .Name("http_responses_total")
                       .Help("HTTP responses by status class")
                       .Register(r)),
        inflight_(prometheus::BuildGauge()
                      .Name("gateway_inflight_commands")
                      .Help("Order commands admitted and not yet answered")
                      .Register(r)
                      .Add({})),
        slow_consumers_(prometheus::BuildCounter()
                            .Name("stream_slow_consumers_total")
                            .Help("Stream subscribers (WebSocket and SSE) disconnected because "
                                  "they could not keep up")
                            .Register(r)
                            .Add({})) {
    for (const char* c : {"2xx", "4xx", "5xx"}) by_class_.push_back(&responses_.Add({{"code", c}}));
    auto& failures = prometheus::BuildCounter()
                         .Name("auth_failures_total")
                         .Help("Requests and messages refused by authentication, by reason")
                         .Register(r);
    for (std::size_t i = 0; i < kAuthFailureCount; ++i) {
      auth_failures_[i] =
          &failures.Add({{"reason", std::string(to_string(static_cast<auth_failure>(i)))}});
    }
  }

  void connection_opened() { connections_.Increment(); }
  void connection_closed() { connections_.Decrement(); }
  void connection_refused() { refused_.Increment(); }
  void responded(int status) { by_class_[status >= 500 ? 2 : status >= 400 ? 1 : 0]->Increment(); }
  void set_inflight(double n) { inflight_.Set(n); }
  void slow_consumer_dropped() { slow_consumers_.Increment(); }
  void auth_failed(auth_failure f) { auth_failures_[static_cast<std::size_t>(f)]->Increment(); }

 private:
  prometheus::Gauge& connections_;
  prometheus::Counter& refused_;
  prometheus::Family<prometheus::Counter>& responses_;
  std::vector<prometheus::Counter*> by_class_;
  prometheus::Gauge& inflight_;
  prometheus::Counter& slow_consumers_;
  std::array<prometheus::Counter*, kAuthFailureCount> auth_failures_{};
};

}  // namespace matchd::gateway
