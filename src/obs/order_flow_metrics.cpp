#include <matchd/obs/order_flow_metrics.h>

#include <string>

namespace matchd::obs {

order_flow_metrics::order_flow_metrics(registry& r)
    : received_(prometheus::BuildCounter()
                    .Name("orders_received_total")
                    .Help("Order placements received over REST, WebSocket and the feed")
                    .Register(r)
                    .Add({})),
      rejected_family_(prometheus::BuildCounter()
                           .Name("orders_rejected_total")
                           .Help("Order placements refused, by reason (error code)")
                           .Register(r)),
      matched_(prometheus::BuildCounter()
                   .Name("orders_matched_total")
                   .Help("Incoming orders that traded at least once as taker")
                   .Register(r)
                   .Add({})),
      latency_(r.add_histogram("order_latency_seconds",
                               "Receipt of an order command to its durable acknowledgement",
                               latency_buckets())) {
  // Present from the start at zero, so rates and alerts have a series to work on.
  for (const char* reason : {"duplicate_order_id", "fok_not_fillable", "overloaded", "rate_limited",
                             "idempotency_key_reused"}) {
    rejected_family_.Add({{"reason", reason}});
  }
}

void order_flow_metrics::rejected(std::string_view reason) {
  // Family::Add returns the existing child for known labels; rejects are off the hot path.
  rejected_family_.Add({{"reason", std::string(reason)}}).Increment();
}

}  // namespace matchd::obs
