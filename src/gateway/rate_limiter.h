#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace matchd::gateway {

// Token bucket per client_id: `rate` orders per second, bursts up to `burst`. Owned by
// one I/O thread, so a client spread over several I/O threads gets the rate on each
// (with the default of one I/O thread the limit is exact). Idle buckets are swept so the
// table stays bounded by the clients active within the last minute.
class rate_limiter {
 public:
  rate_limiter(double rate, double burst);

  bool enabled() const { return rate_ > 0; }
  // 0 when admitted; otherwise the whole seconds to wait (>= 1) for the Retry-After header.
  int admit(std::string_view client, std::int64_t now_ns);

 private:
  struct bucket {
    double tokens;
    std::int64_t updated_ns;
  };

  void sweep(std::int64_t now_ns);

  double rate_;
  double burst_;
  boost::unordered_flat_map<std::string, bucket> buckets_;
  std::int64_t last_sweep_ns_ = 0;
};

}  // namespace matchd::gateway
