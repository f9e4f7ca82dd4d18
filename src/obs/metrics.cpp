#include <matchd/obs/atomic_histogram.h>
#include <matchd/obs/metrics.h>
#include <prometheus/text_serializer.h>

namespace matchd::obs {

atomic_histogram& registry::add_histogram(std::string name, std::string help,
                                          std::vector<double> upper_bounds) {
  histograms_.push_back(std::make_unique<atomic_histogram>(std::move(name), std::move(help),
                                                           std::move(upper_bounds)));
  return *histograms_.back();
}

std::vector<prometheus::MetricFamily> registry::Collect() const {
  std::vector<prometheus::MetricFamily> families = prometheus::Registry::Collect();
  for (const auto& h : histograms_) {
    for (prometheus::MetricFamily& f : h->Collect()) families.push_back(std::move(f));
  }
  return families;
}

std::shared_ptr<registry> make_registry() {
  return std::make_shared<registry>();
}

std::string serialize(registry& r) {
  const prometheus::TextSerializer serializer;
  return serializer.Serialize(r.Collect());
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> buckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                              0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                              0.5,     1.0,    2.5,     10.0};
  return buckets;
}

}  // namespace matchd::obs
