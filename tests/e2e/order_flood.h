#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace matchd::e2e {

// Two clients sending crossing orders as fast as the daemon answers them, from construction
// until stop(): each round is a resting sell and the buy that fills it, six events. For the
// tests of subscribers that cannot keep up.
class order_flood {
 public:
  explicit order_flood(std::uint16_t port);
  ~order_flood() { stop(); }
  order_flood(const order_flood&) = delete;
  order_flood& operator=(const order_flood&) = delete;

  void stop();
  [[nodiscard]] long posted() const { return posted_; }
  // Why a producer gave up early, one entry per producer ("" when it did not); read after
  // stop().
  [[nodiscard]] const std::array<std::string, 2>& errors() const { return errors_; }

 private:
  void produce(std::uint16_t port, std::size_t p);

  std::atomic<bool> stop_{false};
  std::atomic<long> posted_{0};
  std::array<std::string, 2> errors_;
  std::vector<std::thread> producers_;
};

}  // namespace matchd::e2e
