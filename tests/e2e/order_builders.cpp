#include "order_builders.h"

namespace matchd::e2e {

nlohmann::json limit_order(const std::string& order_id, const std::string& client_id,
                           const std::string& side, const std::string& price,
                           const std::string& quantity, const std::string& time_in_force,
                           const std::string& instrument) {
  nlohmann::json body = {{"client_id", client_id},
                         {"instrument", instrument},
                         {"side", side},
                         {"type", "limit"},
                         {"price", price},
                         {"quantity", quantity},
                         {"time_in_force", time_in_force}};
  if (!order_id.empty()) body["order_id"] = order_id;
  return body;
}

nlohmann::json market_order(const std::string& order_id, const std::string& client_id,
                            const std::string& side, const std::string& quantity,
                            const std::string& instrument) {
  nlohmann::json body = {{"client_id", client_id},
                         {"instrument", instrument},
                         {"side", side},
                         {"type", "market"},
                         {"quantity", quantity}};
  if (!order_id.empty()) body["order_id"] = order_id;
  return body;
}

nlohmann::json with_key(nlohmann::json body, const std::string& idempotency_key) {
  body["idempotency_key"] = idempotency_key;
  return body;
}

std::string order_path(const std::string& order_id) {
  return "/orders/" + order_id;
}

std::string cancel_path(const std::string& order_id) {
  return "/orders/" + order_id + "/cancel";
}

std::string orderbook_path(int levels, const std::string& instrument) {
  return "/orderbook?instrument=" + instrument + "&levels=" + std::to_string(levels);
}

std::string trades_path(int limit, const std::string& instrument) {
  return "/trades?instrument=" + instrument + "&limit=" + std::to_string(limit);
}

}  // namespace matchd::e2e
