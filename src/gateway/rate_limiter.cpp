#include "rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace matchd::gateway {

namespace {
constexpr std::int64_t kSweepEveryNs = 60'000'000'000;
}

rate_limiter::rate_limiter(double rate, double burst)
    : rate_(rate), burst_(burst > 0 ? burst : std::max(rate, 1.0)) {}

int rate_limiter::admit(std::string_view client, std::int64_t now_ns) {
  if (!enabled()) return 0;
  if (now_ns - last_sweep_ns_ > kSweepEveryNs) sweep(now_ns);
  auto it = buckets_.find(std::string(client));
  if (it == buckets_.end()) {
    it = buckets_.emplace(std::string(client), bucket{burst_, now_ns}).first;
  }
  bucket& b = it->second;
  const double elapsed = static_cast<double>(now_ns - b.updated_ns) * 1e-9;
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.updated_ns = now_ns;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate_)));
}

void rate_limiter::sweep(std::int64_t now_ns) {
  last_sweep_ns_ = now_ns;
  // A bucket idle long enough to have refilled completely is the same as no bucket.
  const double refill_s = burst_ / rate_;
  boost::unordered::erase_if(buckets_, [&](const auto& kv) {
    return static_cast<double>(now_ns - kv.second.updated_ns) * 1e-9 > refill_s;
  });
}

}  // namespace matchd::gateway
