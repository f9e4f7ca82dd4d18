#pragma once

#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>

#include <matchd/obs/metrics.h>

namespace matchd::obs {

// The order-flow metrics API.md names. Shared because an order is received and may be
// rejected in the gateway, and is matched, rejected or acknowledged in the publish stage.
class order_flow_metrics {
 public:
  explicit order_flow_metrics(registry& r);

  void received() { received_.Increment(); }
  // `reason` is the stable error code, or "rejected" for a FOK order that could not fill.
  void rejected(std::string_view reason);
  void matched() { matched_.Increment(); }
  void acknowledged(double latency_seconds) { latency_.Observe(latency_seconds); }

 private:
  prometheus::Counter& received_;
  prometheus::Family<prometheus::Counter>& rejected_family_;
  prometheus::Counter& matched_;
  prometheus::Histogram& latency_;
};

}  // namespace matchd::obs
