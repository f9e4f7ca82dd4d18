#pragma once

#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

namespace matchd::obs {

class atomic_histogram;

// The process-wide Prometheus registry. Each module registers its own metrics in a
// `probe` of its own; `/metrics` serializes the registry with prometheus-cpp's text
// serializer. Counters and gauges are atomics and may be touched from any thread;
// histograms on the order path are atomic_histograms, made here.
class registry : public prometheus::Registry {
 public:
  // Registered like any other metric; lives as long as the registry.
  atomic_histogram& add_histogram(std::string name, std::string help,
                                  std::vector<double> upper_bounds);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::vector<std::unique_ptr<atomic_histogram>> histograms_;  // set up before serving
};

std::shared_ptr<registry> make_registry();

// Prometheus text exposition format (version 0.0.4).
std::string serialize(registry& r);

// Latency buckets in seconds, from 50 us to 10 s, roughly x2 apart.
const std::vector<double>& latency_buckets();

}  // namespace matchd::obs
