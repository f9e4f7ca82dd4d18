#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace matchd::e2e {

// Request bodies for POST /orders (and WebSocket "place"). Prices and quantities are sent as
// decimal strings; an empty order_id is left out so the server generates one.
//   http.post_json("/orders", limit_order("o1", "client-A", "buy", "100.00", "1"));
nlohmann::json limit_order(const std::string& order_id, const std::string& client_id,
                           const std::string& side, const std::string& price,
                           const std::string& quantity, const std::string& time_in_force = "gtc",
                           const std::string& instrument = "BTC-USD");
nlohmann::json market_order(const std::string& order_id, const std::string& client_id,
                            const std::string& side, const std::string& quantity,
                            const std::string& instrument = "BTC-USD");
// The same body with an idempotency_key field.
nlohmann::json with_key(nlohmann::json body, const std::string& idempotency_key);

// "/orders/<id>", "/orders/<id>/cancel", "/orderbook?instrument=...&levels=..." and so on.
std::string order_path(const std::string& order_id);
std::string cancel_path(const std::string& order_id);
std::string orderbook_path(int levels = 1000, const std::string& instrument = "BTC-USD");
std::string trades_path(int limit = 1000, const std::string& instrument = "BTC-USD");

}  // namespace matchd::e2e
