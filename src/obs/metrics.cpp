#include <matchd/obs/metrics.h>

#include <prometheus/text_serializer.h>

namespace matchd::obs {

std::shared_ptr<registry> make_registry() { return std::make_shared<registry>(); }

std::string serialize(registry& r) {
  const prometheus::TextSerializer serializer;
  return serializer.Serialize(r.Collect());
}

const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   10.0};
  return buckets;
}

}  // namespace matchd::obs
