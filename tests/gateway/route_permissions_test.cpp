// Who may call each route: every route of the table has an expected permission here, so a
// new route without one fails, and each permission answers each role as docs/api.md says.

#include <gtest/gtest.h>
#include <matchd/auth/keys.h>

#include <boost/beast/http/verb.hpp>
#include <map>
#include <string>

#include "routes.h"

namespace matchd::gateway {
namespace {

namespace http = boost::beast::http;

std::string name_of(const route& r) {
  return std::string(http::to_string(r.method)) + " " + std::string(r.pattern);
}

const std::map<std::string, access>& expected_permissions() {
  static const std::map<std::string, access> kExpected = {
      {"POST /orders", access::trade},
      {"GET /orders", access::account_read},
      {"DELETE /orders", access::trade},
      {"GET /orders/{order_id}", access::account_read},
      {"DELETE /orders/{order_id}", access::trade},
      {"PATCH /orders/{order_id}", access::trade},
      {"POST /orders/{order_id}/cancel", access::trade},
      {"GET /orderbook", access::public_read},
      {"GET /trades", access::public_read},
      {"GET /candles", access::public_read},
      {"GET /analytics/stats", access::public_read},
      {"GET /analytics/ticker", access::public_read},
      {"GET /", access::public_read},
      {"GET /ui/{asset}", access::public_read},
      {"GET /positions", access::account_read},
      {"GET /positions/{client_id}/pnl", access::account_read},
      {"POST /admin/settlements", access::admin},
      {"GET /settlements", access::account_read},
      {"GET /settlements/{settlement_id}", access::account_read},
      {"GET /stream", access::public_read},
      {"GET /stream/sse", access::public_read},
      {"GET /healthz", access::operational},
      {"GET /readyz", access::operational},
      {"GET /metrics", access::operational},
      {"POST /admin/snapshots", access::admin},
      {"POST /admin/keys", access::admin},
      {"GET /admin/keys", access::admin},
      {"DELETE /admin/keys/{key_id}", access::admin},
      {"POST /webhooks", access::trade},
      {"GET /webhooks", access::account_read},
      {"DELETE /webhooks/{webhook_id}", access::trade},
      {"GET /webhooks/{webhook_id}/deliveries", access::account_read},
      {"POST /webhooks/deliveries/{delivery_id}/retry", access::trade},
      {"GET /instruments", access::public_read},
      {"GET /instruments/{symbol}", access::public_read},
      {"POST /admin/instruments", access::admin},
      {"POST /admin/instruments/{symbol}/halt", access::admin},
      {"POST /admin/instruments/{symbol}/resume", access::admin},
  };
  return kExpected;
}

TEST(RoutePermissions, EveryRouteHasItsExpectedPermission) {
  std::size_t seen = 0;
  for (const route& r : server_routes()) {
    const auto it = expected_permissions().find(name_of(r));
    ASSERT_NE(it, expected_permissions().end())
        << name_of(r) << " has no expected permission in this test: add it";
    EXPECT_EQ(r.needs, it->second) << name_of(r);
    ++seen;
  }
  EXPECT_EQ(seen, expected_permissions().size()) << "a route of this test left the table";
}

TEST(RoutePermissions, RolesAgainstPermissions) {
  using auth::role;
  // {permission, viewer, trader, admin}
  struct row {
    access needs;
    bool viewer, trader, admin;
  };
  const row matrix[] = {
      {access::operational, true, true, true},  {access::public_read, true, true, true},
      {access::account_read, true, true, true}, {access::trade, false, true, true},
      {access::admin, false, false, true},
  };
  for (const row& r : matrix) {
    EXPECT_EQ(auth::allows(role::viewer, r.needs), r.viewer) << auth::to_string(r.needs);
    EXPECT_EQ(auth::allows(role::trader, r.needs), r.trader) << auth::to_string(r.needs);
    EXPECT_EQ(auth::allows(role::admin, r.needs), r.admin) << auth::to_string(r.needs);
  }
}

TEST(RoutePermissions, EveryRouteForEveryRole) {
  for (const route& r : server_routes()) {
    const bool open = r.needs == access::operational || r.needs == access::public_read;
    EXPECT_EQ(auth::allows(auth::role::viewer, r.needs), open || r.needs == access::account_read)
        << name_of(r);
    EXPECT_EQ(auth::allows(auth::role::trader, r.needs), r.needs != access::admin) << name_of(r);
    EXPECT_TRUE(auth::allows(auth::role::admin, r.needs)) << name_of(r);
  }
}

}  // namespace
}  // namespace matchd::gateway
