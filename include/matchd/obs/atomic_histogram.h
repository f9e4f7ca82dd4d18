#pragma once

#include <prometheus/collectable.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace matchd::obs {

// A Prometheus histogram whose observe() is a few relaxed atomic increments: no lock, no
// allocation. prometheus::Histogram takes a mutex on every Observe, and these histograms
// are observed on the order path (engine -> store -> publish), where the only wait allowed
// is the one for the database. Scrapes read the counters without stopping the writer, so
// a scrape may see an observation's bucket before its sum: harmless for rates.
class atomic_histogram final : public prometheus::Collectable {
 public:
  // `upper_bounds` ascending; a +Inf bucket is implied.
  atomic_histogram(std::string name, std::string help, std::vector<double> upper_bounds);

  void observe(double value) noexcept;

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string name_;
  std::string help_;
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, +Inf last
  std::atomic<double> sum_{0};
};

}  // namespace matchd::obs
