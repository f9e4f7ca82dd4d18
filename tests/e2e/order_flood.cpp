#include "order_flood.h"

#include <exception>

#include "http_client.h"
#include "order_builders.h"

namespace matchd::e2e {

order_flood::order_flood(std::uint16_t port) {
  for (std::size_t p = 0; p < errors_.size(); ++p) {
    producers_.emplace_back([this, port, p] { produce(port, p); });
  }
}

void order_flood::stop() {
  stop_ = true;
  for (std::thread& t : producers_) {
    if (t.joinable()) t.join();
  }
}

void order_flood::produce(std::uint16_t port, std::size_t p) {
  try {
    http_client client(port);
    const std::string pad(40, 'x');
    const std::string client_id = "client-flood-" + std::to_string(p);
    for (long i = 0; i < 200000 && !stop_; ++i) {
      const std::string base = "p" + std::to_string(p) + "-" + std::to_string(i) + "-" + pad;
      const http_response s =
          client.post_json("/orders", limit_order(base + "s", client_id, "sell", "100.00", "0.01"));
      const http_response b =
          client.post_json("/orders", limit_order(base + "b", client_id, "buy", "100.00", "0.01"));
      if (s.status != 201 || b.status != 201) {
        errors_[p] = s.describe() + " / " + b.describe();
        return;
      }
      posted_ += 2;
    }
  } catch (const std::exception& e) {
    errors_[p] = e.what();
  }
}

}  // namespace matchd::e2e
