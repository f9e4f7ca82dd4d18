#pragma once

#include <matchd/obs/atomic_histogram.h>
#include <matchd/obs/metrics.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <string_view>

namespace matchd::obs {

// The order-flow metrics docs/api.md names. Shared because an order is received and may be
// rejected in the gateway, and is matched, rejected or acknowledged in the publish stage.
class order_flow_metrics {
 public:
  explicit order_flow_metrics(registry& r);

  void received() { received_.Increment(); }
  // `reason` is the stable error code, or "fok_not_fillable" for a FOK order that could not
  // fill.
  void rejected(std::string_view reason);
  void matched() { matched_.Increment(); }
  void acknowledged(double latency_seconds) { latency_.observe(latency_seconds); }

 private:
  prometheus::Counter& received_;
  prometheus::Family<prometheus::Counter>& rejected_family_;
  prometheus::Counter& matched_;
  atomic_histogram& latency_;
};

}  // namespace matchd::obs
