#pragma once

#include <memory>
#include <string>

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace matchd::obs {

// The process-wide Prometheus registry. Each module registers its own metrics in a
// `probe` of its own; `/metrics` serializes the registry with prometheus-cpp's text
// serializer. Counters and gauges are atomics and may be touched from any thread.
using registry = prometheus::Registry;

std::shared_ptr<registry> make_registry();

// Prometheus text exposition format (version 0.0.4).
std::string serialize(registry& r);

// Latency buckets in seconds, from 50 us to 10 s, roughly x2 apart.
const prometheus::Histogram::BucketBoundaries& latency_buckets();

}  // namespace matchd::obs
