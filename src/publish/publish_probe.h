#pragma once

#include <matchd/engine/instrument.h>
#include <matchd/obs/metrics.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <string_view>

namespace matchd::publish {

// The publish stage's own metrics: trades, book depth and stream subscribers. Order-flow
// metrics are shared with the gateway (obs::order_flow_metrics).
class publish_probe {
 public:
  publish_probe(obs::registry& r, const std::vector<engine::instrument>& instruments);

  void trade_published() { trades_.Increment(); }
  void set_depth(engine::instrument_id ins, engine::side s, double levels, double orders);
  void set_subscribers(double n) { subscribers_.Set(n); }
  void stream_frames_dropped() { dropped_.Increment(); }
  // The gauges of an instrument added at runtime (the next id).
  void add_instrument(const engine::instrument& ins);

 private:
  prometheus::Counter& trades_;
  prometheus::Family<prometheus::Gauge>* depth_family_;
  prometheus::Family<prometheus::Gauge>* resting_family_;
  std::vector<prometheus::Gauge*> depth_;    // [instrument * 2 + side]
  std::vector<prometheus::Gauge*> resting_;  // [instrument * 2 + side]
  prometheus::Gauge& subscribers_;
  prometheus::Counter& dropped_;
};

}  // namespace matchd::publish
