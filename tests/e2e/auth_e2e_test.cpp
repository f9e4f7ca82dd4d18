// API keys end to end (docs/api.md, "Authentication and roles"): the real daemon with
// --auth keys and a bootstrap admin key, every route for every role, the WebSocket's two
// ways to authenticate, revocation of open sessions, per-key rate limits across I/O
// threads, and what must never happen (a secret in the log, memory growing with wrong keys).
//
// Tests marked NEEDS-OWNERSHIP rely on the engine and publish stages enforcing a key's client
// scope (foreign orders 404, a foreign orders channel empty), which lands with the ownership
// work; the gateway fills the fields they read.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "durable_database.h"
#include "harness.h"
#include "routes.h"
#include "run_to_exit.h"
#include "wait.h"

namespace matchd::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kAdminSecret = "e2e-admin-secret-0123456789abcdefghijklmnop";
constexpr int kExitUsage = 2;

header_list bearer(const std::string& secret) {
  return {{"Authorization", "Bearer " + secret}};
}

std::vector<std::string> keys_args(std::vector<std::string> more = {}) {
  std::vector<std::string> args{"--auth", "keys", "--rate-limit", "0"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

struct issued_key {
  std::string secret;
  std::string id;
};

issued_key create_key(std::uint16_t port, const json& request) {
  http_client admin(port);
  const http_response r = admin.post_json("/admin/keys", request, bearer(kAdminSecret));
  EXPECT_EQ(r.status, 201u) << r.describe();
  const json body = r.json();
  return {body.value("secret", ""), body["key"].value("key_id", "")};
}

issued_key trader_key(std::uint16_t port, const std::string& client) {
  return create_key(port, {{"role", "trader"}, {"client_ids", {client}}});
}

issued_key viewer_key(std::uint16_t port, const std::string& client) {
  return create_key(port, {{"role", "viewer"}, {"client_ids", {client}}});
}

// The resident memory of `pid` in KiB (VmRSS).
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Places a resting order for `client` as the admin and returns its id.
std::string place_as_admin(http_client& admin, const std::string& client) {
  const http_response r = admin.post_json("/orders", limit_order("", client, "buy", "100.00", "1"),
                                          bearer(kAdminSecret));
  EXPECT_EQ(r.status, 201u) << r.describe();
  return r.json()["order"].value("order_id", "");
}

class Auth : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::setenv("MATCHD_ADMIN_KEY", kAdminSecret, 1); }
};

// --- every route x every role x own/foreign client ------------------------------------

enum class who { none, viewer, trader, admin };
const char* name_of(who w) {
  switch (w) {
    case who::none:
      return "no key";
    case who::viewer:
      return "viewer";
    case who::trader:
      return "trader";
    case who::admin:
      return "admin";
  }
  return "?";
}

struct route_case {
  // Sends the request as `headers` for a target of client `client` (own or foreign) and
  // returns the status.
  std::function<unsigned(http_client& c, http_client& admin, const header_list& headers,
                         const std::string& client)>
      call;
  // The expected status for (role, own client).
  std::function<unsigned(who w, bool own)> expect;
  bool needs_ownership = false;  // the foreign case relies on the engine's checks
};

unsigned status_of_sse(std::uint16_t port, const header_list& headers) {
  raw_connection raw(port);
  std::string request =
      "GET /stream/sse?instrument=BTC-USD&channels=trades HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  request += "\r\n";
  raw.send(request);
  return status_of(raw.read_until("\r\n\r\n", 5s));
}

std::map<std::string, route_case> route_cases(std::uint16_t port, bool durable) {
  const auto by_role = [](unsigned none, unsigned viewer, unsigned trader, unsigned admin) {
    return [=](who w, bool) {
      switch (w) {
        case who::none:
          return none;
        case who::viewer:
          return viewer;
        case who::trader:
          return trader;
        case who::admin:
          return admin;
      }
      return 0u;
    };
  };
  const auto get = [](std::string target) {
    return [target](http_client& c, http_client&, const header_list& h, const std::string&) {
      return c.request("GET", target, {}, h).status;
    };
  };
  std::map<std::string, route_case> cases;
  cases["POST /orders"] = {
      [](http_client& c, http_client&, const header_list& h, const std::string& client) {
        return c.post_json("/orders", limit_order("", client, "buy", "99.00", "1"), h).status;
      },
      [](who w, bool own) -> unsigned {
        if (w == who::none) return 401;
        if (w == who::viewer) return 403;
        if (w == who::trader) return own ? 201 : 403;
        return 201;
      }};
  const auto order_expect = [](unsigned ok, bool trade) {
    return [ok, trade](who w, bool own) -> unsigned {
      if (w == who::none) return 401;
      if (w == who::viewer && trade) return 403;
      if (w == who::admin) return ok;
      return own ? ok : 404;
    };
  };
  cases["GET /orders/{order_id}"] = {
      [](http_client& c, http_client& admin, const header_list& h, const std::string& client) {
        return c.request("GET", order_path(place_as_admin(admin, client)), {}, h).status;
      },
      order_expect(200, false), true};
  cases["DELETE /orders/{order_id}"] = {
      [](http_client& c, http_client& admin, const header_list& h, const std::string& client) {
        return c.request("DELETE", order_path(place_as_admin(admin, client)), {}, h).status;
      },
      order_expect(200, true), true};
  cases["POST /orders/{order_id}/cancel"] = {
      [](http_client& c, http_client& admin, const header_list& h, const std::string& client) {
        return c.request("POST", cancel_path(place_as_admin(admin, client)), {}, h).status;
      },
      order_expect(200, true), true};
  cases["PATCH /orders/{order_id}"] = {
      [](http_client& c, http_client& admin, const header_list& h, const std::string& client) {
        header_list with_type = h;
        with_type.emplace_back("Content-Type", "application/json");
        return c
            .request("PATCH", order_path(place_as_admin(admin, client)),
                     R"({"instrument":"BTC-USD","quantity":"0.5"})", with_type)
            .status;
      },
      order_expect(200, true), true};
  // A client's orders by query parameter: another client's is 403 (the key names the client
  // itself, as in POST /orders and the orders channel), never a list.
  const auto own_client_expect = [](bool trade) {
    return [trade](who w, bool own) -> unsigned {
      if (w == who::none) return 401;
      if (w == who::viewer && trade) return 403;
      if (w == who::admin) return 200;
      return own ? 200 : 403;
    };
  };
  cases["GET /orders"] = {
      [](http_client& c, http_client& admin, const header_list& h, const std::string& client) {
        place_as_admin(admin, client);
        return c.request("GET", "/orders?client_id=" + client + "&status=all", {}, h).status;
      },
      own_client_expect(false)};
  cases["DELETE /orders"] = {
      [](http_client& c, http_client& admin, const header_list& h, const std::string& client) {
        place_as_admin(admin, client);
        return c.request("DELETE", "/orders?client_id=" + client, {}, h).status;
      },
      own_client_expect(true)};
  cases["GET /positions"] = {
      [](http_client& c, http_client&, const header_list& h, const std::string& client) {
        return c.request("GET", "/positions?client_id=" + client, {}, h).status;
      },
      own_client_expect(false)};
  // PnL over time is read from the database: without --db 503 once the key is let through
  // (counted as 200 here, so the matrix is the same in both modes).
  cases["GET /positions/{client_id}/pnl"] = {
      [durable](http_client& c, http_client&, const header_list& h, const std::string& client) {
        const unsigned status =
            c.request("GET", "/positions/" + client + "/pnl?interval=1m", {}, h).status;
        return status == 503 && !durable ? 200u : status;
      },
      own_client_expect(false)};
  // Settlements are made from the database: without --db 503 after the key's check. The
  // cutoff is an hour ago: one settlement, then the same one (200) for every later call.
  const unsigned settled = durable ? 200 : 503;
  cases["POST /admin/settlements"] = {
      [](http_client& c, http_client&, const header_list& h, const std::string&) {
        static const std::int64_t hour_ago_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count() -
            3'600'000;
        const unsigned status =
            c.post_json("/admin/settlements", {{"cutoff", hour_ago_ms}}, h).status;
        return status == 201 ? 200u : status;
      },
      by_role(401, 403, 403, settled)};
  cases["GET /settlements"] = {get("/settlements"), by_role(401, settled, settled, settled)};
  // A settlement that may not exist yet: 404 from the database, 503 without one.
  cases["GET /settlements/{settlement_id}"] = {
      get("/settlements/999"),
      by_role(401, durable ? 404 : 503, durable ? 404 : 503, durable ? 404 : 503)};
  // Webhooks live in the database: without --db 503 once the key is let through (counted as
  // the durable answer, so the matrix is the same in both modes). The URL is a closed port
  // on this machine (the daemon runs with --webhook-allow-private): its deliveries fail here
  // and are retried, harmlessly.
  cases["POST /webhooks"] = {
      [durable](http_client& c, http_client&, const header_list& h, const std::string& client) {
        const unsigned s = c.post_json("/webhooks",
                                       {{"url", "https://127.0.0.1:1/hook"},
                                        {"events", {"trade"}},
                                        {"client_id", client}},
                                       h)
                               .status;
        return s == 201 || (s == 503 && !durable) ? 200u : s;
      },
      own_client_expect(true)};
  const auto webhook_read = [durable](std::string method, std::string target, unsigned absent) {
    return [durable, method, target, absent](http_client& c, http_client&, const header_list& h,
                                             const std::string&) {
      const unsigned s = c.request(method, target, {}, h).status;
      return s == 503 && !durable ? absent : s;
    };
  };
  cases["GET /webhooks"] = {webhook_read("GET", "/webhooks", 200), by_role(401, 200, 200, 200)};
  // Ids no webhook or delivery has: 404 past the key's check (viewers may not write: 403).
  cases["DELETE /webhooks/{webhook_id}"] = {webhook_read("DELETE", "/webhooks/999999", 404),
                                            by_role(401, 403, 404, 404)};
  cases["GET /webhooks/{webhook_id}/deliveries"] = {
      webhook_read("GET", "/webhooks/999999/deliveries", 404), by_role(401, 404, 404, 404)};
  cases["POST /webhooks/deliveries/{delivery_id}/retry"] = {
      webhook_read("POST", "/webhooks/deliveries/999999/retry", 404), by_role(401, 403, 404, 404)};
  cases["GET /orderbook"] = {get(orderbook_path()), by_role(200, 200, 200, 200)};
  cases["GET /trades"] = {get(trades_path()), by_role(200, 200, 200, 200)};
  cases["GET /instruments"] = {get("/instruments"), by_role(200, 200, 200, 200)};
  // Public market data, read from the database: without --db 503 for everyone alike.
  const unsigned analytics = durable ? 200 : 503;
  cases["GET /candles"] = {get("/candles?instrument=BTC-USD&interval=1m"),
                           by_role(analytics, analytics, analytics, analytics)};
  cases["GET /analytics/stats"] = {
      get("/analytics/stats?instrument=BTC-USD&start_time=0&end_time=1796515200000"),
      by_role(analytics, analytics, analytics, analytics)};
  cases["GET /analytics/ticker"] = {get("/analytics/ticker?instrument=BTC-USD"),
                                    by_role(200, 200, 200, 200)};
  cases["GET /instruments/{symbol}"] = {get("/instruments/BTC-USD"), by_role(200, 200, 200, 200)};
  // The web client: public, a key is needed only for what the page then does.
  cases["GET /"] = {get("/"), by_role(200, 200, 200, 200)};
  cases["GET /ui/{asset}"] = {get("/ui/app.js"), by_role(200, 200, 200, 200)};
  // Each admin call adds an instrument of its own.
  cases["POST /admin/instruments"] = {
      [](http_client& c, http_client&, const header_list& h, const std::string&) {
        static int next = 0;
        const nlohmann::json body = {{"symbol", "ADD-" + std::to_string(++next)},
                                     {"tick_size", "0.01"},
                                     {"lot_size", "0.001"}};
        return c.post_json("/admin/instruments", body, h).status;
      },
      by_role(401, 403, 403, 201)};
  // A halt that succeeds is undone at once, so the other routes find BTC-USD trading.
  cases["POST /admin/instruments/{symbol}/halt"] = {
      [](http_client& c, http_client& admin, const header_list& h, const std::string&) {
        const unsigned status =
            c.post_json("/admin/instruments/BTC-USD/halt", nlohmann::json::object(), h).status;
        admin.post_json("/admin/instruments/BTC-USD/resume", nlohmann::json::object(),
                        bearer(kAdminSecret));
        return status;
      },
      by_role(401, 403, 403, 200)};
  cases["POST /admin/instruments/{symbol}/resume"] = {
      [](http_client& c, http_client&, const header_list& h, const std::string&) {
        return c.post_json("/admin/instruments/BTC-USD/resume", nlohmann::json::object(), h).status;
      },
      by_role(401, 403, 403, 200)};
  cases["GET /stream"] = {get("/stream"), by_role(426, 426, 426, 426)};
  cases["GET /stream/sse"] = {[port](http_client&, http_client&, const header_list& h,
                                     const std::string&) { return status_of_sse(port, h); },
                              by_role(200, 200, 200, 200)};
  cases["GET /healthz"] = {get("/healthz"), by_role(200, 200, 200, 200)};
  cases["GET /readyz"] = {get("/readyz"), by_role(200, 200, 200, 200)};
  cases["GET /metrics"] = {get("/metrics"), by_role(200, 200, 200, 200)};
  cases["POST /admin/snapshots"] = {
      [](http_client& c, http_client&, const header_list& h, const std::string&) {
        return c.post_json("/admin/snapshots", {{"instrument", "BTC-USD"}}, h).status;
      },
      // Without --db a snapshot has nowhere to go: 503 not_ready, after the key's check.
      by_role(401, 403, 403, durable ? 201 : 503)};
  cases["POST /admin/keys"] = {
      [](http_client& c, http_client&, const header_list& h, const std::string& client) {
        return c.post_json("/admin/keys", {{"role", "viewer"}, {"client_ids", {client}}}, h).status;
      },
      by_role(401, 403, 403, 201)};
  cases["GET /admin/keys"] = {get("/admin/keys"), by_role(401, 403, 403, 200)};
  cases["DELETE /admin/keys/{key_id}"] = {
      [port](http_client& c, http_client&, const header_list& h, const std::string& client) {
        const issued_key k = viewer_key(port, client);
        return c.request("DELETE", "/admin/keys/" + k.id, {}, h).status;
      },
      by_role(401, 403, 403, 200)};
  return cases;
}

TEST_F(Auth, every_route_for_every_role_and_client) {
  // The webhook case registers a loopback URL (never anything off this machine).
  daemon_process d(keys_args({"--webhook-allow-private"}));
  const auto cases = route_cases(d.port(), durable_mode());
  // The table of the server: a route without an expectation here fails.
  for (const gateway::route& r : gateway::server_routes()) {
    const std::string name =
        std::string(boost::beast::http::to_string(r.method)) + " " + std::string(r.pattern);
    EXPECT_TRUE(cases.count(name) == 1) << name << " has no expectation in this test: add one";
  }
  http_client admin(d.port());
  const std::map<who, header_list> headers = {
      {who::none, {}},
      {who::viewer, bearer(viewer_key(d.port(), "alice").secret)},
      {who::trader, bearer(trader_key(d.port(), "alice").secret)},
      {who::admin, bearer(kAdminSecret)},
  };
  for (const auto& [name, c] : cases) {
    for (const auto& [w, h] : headers) {
      for (const bool own : {true, false}) {
        http_client client(d.port());
        const unsigned got = c.call(client, admin, h, own ? "alice" : "bob");
        EXPECT_EQ(got, c.expect(w, own))
            << name << " as " << name_of(w) << " for " << (own ? "its own" : "another") << " client"
            << (c.needs_ownership && !own ? " (NEEDS-OWNERSHIP)" : "");
      }
    }
  }
}

// --- 401s ------------------------------------------------------------------------------

void expect_unauthorized(const http_response& r) {
  EXPECT_EQ(r.status, 401u) << r.describe();
  EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer") << r.describe();
  EXPECT_EQ(r.json()["error"].value("code", ""), "unauthorized") << r.describe();
}

TEST_F(Auth, missing_unknown_malformed_and_revoked_keys_are_401) {
  daemon_process d(keys_args());
  http_client c(d.port());
  const json order = limit_order("", "alice", "buy", "100.00", "1");
  expect_unauthorized(c.post_json("/orders", order));
  expect_unauthorized(c.post_json("/orders", order, bearer("mk_" + std::string(64, '0'))));
  expect_unauthorized(c.post_json("/orders", order, {{"X-API-Key", "not-a-key"}}));
  for (const char* bad : {"Basic YWxpY2U6cHc=", "Bearer", "Bearer a b", "mk_abc"}) {
    expect_unauthorized(c.post_json("/orders", order, {{"Authorization", bad}}));
  }
  // A good key in a malformed Authorization header is still no key.
  const issued_key k = trader_key(d.port(), "alice");
  expect_unauthorized(c.post_json("/orders", order, {{"Authorization", "Token " + k.secret}}));
  EXPECT_EQ(c.post_json("/orders", order, bearer(k.secret)).status, 201u);
  EXPECT_EQ(c.post_json("/orders", order, {{"X-API-Key", k.secret}}).status, 201u);
  http_client admin(d.port());
  EXPECT_EQ(admin.request("DELETE", "/admin/keys/" + k.id, {}, bearer(kAdminSecret)).status, 200u);
  // Every I/O thread has the new table within a second.
  EXPECT_TRUE(test::wait_until(
      [&] { return c.post_json("/orders", order, bearer(k.secret)).status == 401; }, 1s));
  expect_unauthorized(c.post_json("/orders", order, bearer(k.secret)));
  const std::string metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find("auth_failures_total{reason=\"missing\"}"), std::string::npos);
  EXPECT_NE(metrics.find("auth_failures_total{reason=\"malformed\"}"), std::string::npos);
}

TEST_F(Auth, a_key_in_the_query_string_is_refused_and_never_logged) {
  daemon_process d(keys_args());
  const issued_key k = trader_key(d.port(), "alice");
  http_client c(d.port());
  for (const std::string param : {"api_key", "apikey", "key", "secret", "token", "access_token"}) {
    const http_response r =
        c.request("GET", "/orderbook?instrument=BTC-USD&" + param + "=" + k.secret);
    EXPECT_EQ(r.status, 400u) << param << " " << r.describe();
    EXPECT_EQ(r.json()["error"].value("code", ""), "key_in_query") << r.describe();
  }
  // Even next to a good header.
  const http_response r = c.request("GET", "/orders/x?token=" + k.secret, {}, bearer(k.secret));
  EXPECT_EQ(r.status, 400u) << r.describe();
  d.terminate_and_wait();
  EXPECT_EQ(d.stdout_text().find(k.secret), std::string::npos);
  EXPECT_EQ(d.stderr_text().find(k.secret), std::string::npos);
}

TEST_F(Auth, secrets_never_appear_in_the_log_or_the_metrics) {
  daemon_process d(keys_args({"--log-level", "debug"}));
  const issued_key k = trader_key(d.port(), "alice");
  http_client c(d.port());
  EXPECT_EQ(
      c.post_json("/orders", limit_order("", "alice", "buy", "1.00", "1"), bearer(k.secret)).status,
      201u);
  EXPECT_EQ(
      c.post_json("/orders", limit_order("", "bob", "buy", "1.00", "1"), bearer(k.secret)).status,
      403u);
  c.post_json("/orders", limit_order("", "alice", "buy", "1.00", "1"),
              bearer(k.secret + "x"));  // unknown
  const std::string metrics = c.get("/metrics").body;
  EXPECT_EQ(metrics.find(k.secret), std::string::npos);
  EXPECT_EQ(metrics.find(kAdminSecret), std::string::npos);
  d.terminate_and_wait();
  const std::string log = d.stdout_text() + d.stderr_text();
  EXPECT_EQ(log.find(k.secret), std::string::npos);
  EXPECT_EQ(log.find(kAdminSecret), std::string::npos);
  EXPECT_NE(log.find(k.id), std::string::npos) << "the key's id is logged when it is created";
}

TEST_F(Auth, ten_thousand_wrong_keys_are_401_and_memory_stays_flat) {
  daemon_process d(keys_args());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  // Warm up the connections' buffers first, so what is measured is the keys.
  {
    http_client c(d.port());
    for (int i = 0; i < 200; ++i)
      c.request("GET", "/orders/x", {}, bearer("mk_warm" + std::to_string(i)));
  }
  const long before = rss_kib(d.pid());
  std::atomic<int> unauthorized{0};
  std::atomic<int> other{0};
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      http_client c(d.port());
      for (int i = 0; i < kPerThread; ++i) {
        const std::string secret = "mk_wrong_" + std::to_string(t) + "_" + std::to_string(i);
        const unsigned s =
            c.post_json("/orders", limit_order("", "alice", "buy", "1.00", "1"), bearer(secret))
                .status;
        (s == 401 ? unauthorized : other).fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const long after = rss_kib(d.pid());
  EXPECT_EQ(unauthorized.load(), kThreads * kPerThread);
  EXPECT_EQ(other.load(), 0);
  EXPECT_LT(seconds, 30.0) << "10,000 refusals took " << seconds << " s";
  // Nothing is kept per wrong key: a few MiB of allocator noise at most.
  EXPECT_LT(after - before, 8 * 1024) << "RSS " << before << " KiB -> " << after << " KiB";
  http_client c(d.port());
  EXPECT_NE(c.get("/metrics").body.find("auth_failures_total{reason=\"unknown\"} 10"),
            std::string::npos);
}

// --- order entry -------------------------------------------------------------------------

TEST_F(Auth, a_trader_places_only_for_its_clients_and_a_viewer_not_at_all) {
  daemon_process d(keys_args());
  const issued_key trader = trader_key(d.port(), "alice");
  const issued_key viewer = viewer_key(d.port(), "alice");
  http_client c(d.port());
  const http_response mine =
      c.post_json("/orders", limit_order("", "alice", "buy", "100.00", "1"), bearer(trader.secret));
  ASSERT_EQ(mine.status, 201u) << mine.describe();
  const http_response theirs =
      c.post_json("/orders", limit_order("", "bob", "buy", "100.00", "1"), bearer(trader.secret));
  EXPECT_EQ(theirs.status, 403u) << theirs.describe();
  EXPECT_EQ(theirs.json()["error"].value("code", ""), "forbidden");
  const http_response viewing =
      c.post_json("/orders", limit_order("", "alice", "buy", "100.00", "1"), bearer(viewer.secret));
  EXPECT_EQ(viewing.status, 403u) << viewing.describe();
  // The viewer reads its client's order, and may not cancel it.
  const std::string id = mine.json()["order"].value("order_id", "");
  EXPECT_EQ(c.request("GET", order_path(id), {}, bearer(viewer.secret)).status, 200u);
  EXPECT_EQ(c.request("DELETE", order_path(id), {}, bearer(viewer.secret)).status, 403u);
  EXPECT_EQ(c.request("DELETE", order_path(id), {}, bearer(trader.secret)).status, 200u);
}

// GET /orders and DELETE /orders name the client: a trader or viewer key reads only its
// clients' lists, and a trader mass-cancels only its clients' orders (REST and WebSocket).
TEST_F(Auth, a_key_lists_and_mass_cancels_only_its_clients_orders) {
  daemon_process d(keys_args());
  const issued_key trader = trader_key(d.port(), "alice");
  const issued_key viewer = viewer_key(d.port(), "alice");
  http_client admin(d.port());
  const std::string mine = place_as_admin(admin, "alice");
  const std::string theirs = place_as_admin(admin, "bob");
  http_client c(d.port());

  const http_response listed =
      c.request("GET", "/orders?client_id=alice", {}, bearer(viewer.secret));
  ASSERT_EQ(listed.status, 200u) << listed.describe();
  ASSERT_EQ(listed.json()["orders"].size(), 1u) << listed.describe();
  EXPECT_EQ(listed.json()["orders"][0]["order_id"], mine);
  const http_response foreign =
      c.request("GET", "/orders?client_id=bob&status=all", {}, bearer(trader.secret));
  EXPECT_TRUE(is_error(foreign, 403, "forbidden")) << foreign.describe();
  EXPECT_EQ(c.request("GET", "/orders?client_id=alice", {}, {}).status, 401u);

  EXPECT_TRUE(is_error(c.request("DELETE", "/orders?client_id=alice", {}, bearer(viewer.secret)),
                       403, "forbidden"));
  EXPECT_TRUE(is_error(c.request("DELETE", "/orders?client_id=bob", {}, bearer(trader.secret)), 403,
                       "forbidden"));
  ws_client ws(d.port());
  ws.send_json({{"op", "auth"}, {"key", trader.secret}});
  ASSERT_TRUE(ws.read_until([](const json& m) { return m.value("type", "") == "auth"; }, 5s));
  ws.send_json({{"op", "cancel_all"}, {"req_id", 1}, {"client_id", "bob"}});
  const auto refused =
      ws.read_until([](const json& m) { return m.value("type", "") == "cancel_all"; }, 5s);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ((*refused)["status"], 403) << refused->dump();
  const json bob_order =
      admin.request("GET", order_path(theirs), {}, bearer(kAdminSecret)).json()["order"];
  EXPECT_EQ(bob_order["status"], "open");

  const http_response cancelled =
      c.request("DELETE", "/orders?client_id=alice", {}, bearer(trader.secret));
  ASSERT_EQ(cancelled.status, 200u) << cancelled.describe();
  ASSERT_EQ(cancelled.json()["orders"].size(), 1u);
  EXPECT_EQ(cancelled.json()["orders"][0]["order_id"], mine);
}

// Cancel-on-disconnect with keys: opted in with the auth message (or, for a session that
// authenticated on the upgrade, an auth message that only sets it); the session's own
// clients' open orders are cancelled when its connection drops, and only those.
TEST_F(Auth, cancel_on_disconnect_cancels_the_sessions_clients_orders) {
  daemon_process d(keys_args());
  const issued_key trader = trader_key(d.port(), "alice");
  http_client admin(d.port());
  const std::string other = place_as_admin(admin, "bob");
  const auto place_over = [](ws_client& ws, const std::string& id) {
    ws.send_json({{"op", "place"},
                  {"req_id", id},
                  {"order_id", id},
                  {"client_id", "alice"},
                  {"instrument", "BTC-USD"},
                  {"side", "buy"},
                  {"type", "limit"},
                  {"price", "100.00"},
                  {"quantity", "1"}});
    const auto r = ws.read_until([](const json& m) { return m.value("type", "") == "place"; }, 5s);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ((*r)["status"], 201) << r->dump();
  };
  const auto status_of = [&](const std::string& id) {
    return admin.request("GET", order_path(id), {}, bearer(kAdminSecret))
        .json()["order"]
        .value("status", "");
  };
  {
    ws_client ws(d.port());
    ws.send_json({{"op", "auth"}, {"key", trader.secret}, {"cancel_on_disconnect", true}});
    const auto auth =
        ws.read_until([](const json& m) { return m.value("type", "") == "auth"; }, 5s);
    ASSERT_TRUE(auth.has_value());
    EXPECT_EQ((*auth)["status"], 200) << auth->dump();
    EXPECT_EQ((*auth)["cancel_on_disconnect"], true) << auth->dump();
    place_over(ws, "cod-1");
    // Another client's order, refused: it puts bob under nothing.
    ws.send_json({{"op", "place"},
                  {"req_id", "x"},
                  {"client_id", "bob"},
                  {"instrument", "BTC-USD"},
                  {"side", "buy"},
                  {"type", "limit"},
                  {"price", "100.00"},
                  {"quantity", "1"}});
    const auto refused =
        ws.read_until([](const json& m) { return m.value("req_id", "") == "x"; }, 5s);
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ((*refused)["status"], 403) << refused->dump();
  }
  EXPECT_TRUE(test::wait_until([&] { return status_of("cod-1") == "cancelled"; }, 10s));
  EXPECT_EQ(status_of(other), "open");
  {
    ws_client::options opts;
    opts.headers = {{"Authorization", "Bearer " + trader.secret}};
    ws_client ws(d.port(), opts);
    ws.send_json({{"op", "auth"}, {"cancel_on_disconnect", true}});
    const auto auth =
        ws.read_until([](const json& m) { return m.value("type", "") == "auth"; }, 5s);
    ASSERT_TRUE(auth.has_value());
    EXPECT_EQ((*auth)["status"], 200) << auth->dump();
    place_over(ws, "cod-2");
  }
  EXPECT_TRUE(test::wait_until([&] { return status_of("cod-2") == "cancelled"; }, 10s));
}

// NEEDS-OWNERSHIP: the placing key's id on the order.
TEST_F(Auth, an_order_records_the_key_that_placed_it) {
  daemon_process d(keys_args());
  const issued_key trader = trader_key(d.port(), "alice");
  http_client c(d.port());
  const http_response r =
      c.post_json("/orders", limit_order("", "alice", "buy", "100.00", "1"), bearer(trader.secret));
  ASSERT_EQ(r.status, 201u) << r.describe();
  EXPECT_EQ(r.json()["order"].value("key_id", ""), trader.id) << r.describe();
  if (!durable_mode()) return;

  // Acknowledged means committed: a crash keeps the order and who placed it.
  const std::string id = r.json()["order"].value("order_id", "");
  d.kill9();
  d.restart();
  http_client after(d.port());
  const http_response got = after.request("GET", order_path(id), {}, bearer(trader.secret));
  ASSERT_EQ(got.status, 200u) << got.describe();
  EXPECT_EQ(got.json()["order"].value("key_id", ""), trader.id) << got.describe();
}

TEST_F(Auth, a_keys_rate_limit_holds_across_four_io_threads) {
  daemon_process d(keys_args({"--io-threads", "4"}));
  constexpr int kRate = 40;
  constexpr int kBurst = 20;
  const issued_key k = create_key(d.port(), {{"role", "trader"},
                                             {"client_ids", {"alice"}},
                                             {"rate_limit", kRate},
                                             {"rate_burst", kBurst}});
  constexpr int kConnections = 8;
  std::atomic<int> created{0};
  std::atomic<int> limited{0};
  std::atomic<int> other{0};
  std::atomic<bool> retry_after_ok{true};
  const auto started = std::chrono::steady_clock::now();
  const auto until = started + 2s;
  std::vector<std::thread> threads;
  for (int t = 0; t < kConnections; ++t) {
    threads.emplace_back([&] {
      http_client c(d.port());
      while (std::chrono::steady_clock::now() < until) {
        const http_response r = c.post_json(
            "/orders", limit_order("", "alice", "sell", "1000.00", "1"), bearer(k.secret));
        if (r.status == 201) {
          created.fetch_add(1);
        } else if (r.status == 429) {
          limited.fetch_add(1);
          const std::string ra = r.header("Retry-After");
          if (ra.empty() || ra.find_first_not_of("0123456789") != std::string::npos) {
            retry_after_ok = false;
          }
        } else {
          other.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // One bucket for the key, whichever thread serves the connection: burst + rate x time,
  // plus one rate's worth for rounding at the edges.
  EXPECT_LE(created.load(), kBurst + kRate * seconds + kRate)
      << created << " orders admitted in " << seconds << " s";
  EXPECT_GE(created.load(), kBurst);
  EXPECT_GT(limited.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_TRUE(retry_after_ok.load());
}

// --- streams -----------------------------------------------------------------------------

TEST_F(Auth, a_websocket_authenticates_by_header_or_by_its_first_message) {
  daemon_process d(keys_args());
  const issued_key k = trader_key(d.port(), "alice");
  const json place = {{"op", "place"},           {"req_id", 1},    {"client_id", "alice"},
                      {"instrument", "BTC-USD"}, {"side", "buy"},  {"type", "limit"},
                      {"price", "100.00"},       {"quantity", "1"}};
  const auto is_reply = [](const json& m) {
    return m.value("type", "") != "" && m.contains("status");
  };
  {
    // No key: order entry is 401, the connection stays open.
    ws_client ws(d.port());
    ws.send_json(place);
    const auto r = ws.read_until(is_reply, 5s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ((*r)["status"], 401) << r->dump();
    // A wrong key in the auth message is 401 too, and the connection stays open.
    ws.send_json({{"op", "auth"}, {"req_id", "a1"}, {"key", "mk_wrong"}});
    const auto bad = ws.read_until(is_reply, 5s);
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ((*bad)["type"], "auth");
    EXPECT_EQ((*bad)["status"], 401) << bad->dump();
    ws.send_json({{"op", "auth"}, {"req_id", "a2"}, {"key", k.secret}});
    const auto ok = ws.read_until(is_reply, 5s);
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ((*ok)["type"], "auth");
    EXPECT_EQ((*ok)["status"], 200) << ok->dump();
    ws.send_json(place);
    const auto placed = ws.read_until(is_reply, 5s);
    ASSERT_TRUE(placed.has_value());
    EXPECT_EQ((*placed)["status"], 201) << placed->dump();
  }
  {
    ws_client::options opts;
    opts.headers = {{"Authorization", "Bearer " + k.secret}};
    ws_client ws(d.port(), opts);
    ws.send_json(place);
    const auto placed = ws.read_until(is_reply, 5s);
    ASSERT_TRUE(placed.has_value());
    EXPECT_EQ((*placed)["status"], 201) << placed->dump();
  }
  {
    // A wrong key on the upgrade is refused before the WebSocket opens.
    ws_client::options opts;
    opts.headers = {{"X-API-Key", "mk_wrong"}};
    EXPECT_THROW(ws_client(d.port(), opts), transport_error);
  }
}

TEST_F(Auth, revocation_closes_an_open_websocket_with_1008_within_a_second) {
  daemon_process d(keys_args({"--io-threads", "2"}));
  const issued_key k = trader_key(d.port(), "alice");
  ws_client::options opts;
  opts.headers = {{"Authorization", "Bearer " + k.secret}};
  ws_client by_header(d.port(), opts);
  ws_client by_message(d.port());
  by_message.send_json({{"op", "auth"}, {"key", k.secret}});
  ASSERT_TRUE(
      by_message.read_until([](const json& m) { return m.value("type", "") == "auth"; }, 5s));
  http_client admin(d.port());
  const auto revoked_at = std::chrono::steady_clock::now();
  const http_response r = admin.request("DELETE", "/admin/keys/" + k.id, {}, bearer(kAdminSecret));
  ASSERT_EQ(r.status, 200u) << r.describe();
  EXPECT_FALSE(r.json()["key"]["revoked_at"].is_null()) << r.describe();
  for (ws_client* ws : {&by_header, &by_message}) {
    const ws_client::close_info closed = ws->drain_until_closed(2s);
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - revoked_at).count();
    EXPECT_TRUE(closed.close_frame) << closed.describe();
    EXPECT_EQ(closed.code, 1008) << closed.describe();
    EXPECT_EQ(closed.reason, "key revoked") << closed.describe();
    EXPECT_LT(waited, 1.0);
  }
  http_client c(d.port());
  expect_unauthorized(
      c.post_json("/orders", limit_order("", "alice", "buy", "1.00", "1"), bearer(k.secret)));
}

// Both private channels: orders and positions.
TEST_F(Auth, the_private_channels_need_a_key_and_the_keys_client) {
  daemon_process d(keys_args());
  const issued_key viewer = viewer_key(d.port(), "alice");
  for (const std::string channel : {"orders", "positions"}) {
    SCOPED_TRACE(channel);
    const auto is_reply = [](const json& m) { return m.contains("status"); };
    ws_client ws(d.port());
    const json subscribe = {
        {"op", "subscribe"}, {"req_id", 1}, {"instrument", "BTC-USD"}, {"channels", {channel}}};
    ws.send_json(subscribe);
    auto r = ws.read_until(is_reply, 5s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ((*r)["status"], 401) << r->dump();
    // Public channels need no key.
    ws.send_json(
        {{"op", "subscribe"}, {"req_id", 2}, {"instrument", "BTC-USD"}, {"channels", {"trades"}}});
    ws.send_json({{"op", "auth"}, {"req_id", 3}, {"key", viewer.secret}});
    r = ws.read_until([](const json& m) { return m.value("type", "") == "auth"; }, 5s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ((*r)["status"], 200) << r->dump();
    json foreign = subscribe;
    foreign["req_id"] = 4;
    foreign["client_id"] = "bob";
    ws.send_json(foreign);
    r = ws.read_until([](const json& m) { return m.value("req_id", json()) == 4; }, 5s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ((*r)["status"], 403) << r->dump();
    EXPECT_EQ((*r)["error"].value("code", ""), "forbidden") << r->dump();
    // And nothing of bob's comes.
    http_client admin(d.port());
    place_as_admin(admin, "bob");
    for (const json& m : ws.read_for(300ms)) {
      EXPECT_EQ(m.dump().find("\"bob\""), std::string::npos)
          << "a foreign client's event: " << m.dump();
    }
    // SSE: the orders channel without a key is 401, with a foreign client_id 403.
    {
      raw_connection raw(d.port());
      raw.send(get_request("/stream/sse?instrument=BTC-USD&channels=" + channel));
      EXPECT_EQ(status_of(raw.read_until("\r\n\r\n", 5s)), 401u);
    }
    {
      raw_connection raw(d.port());
      raw.send("GET /stream/sse?instrument=BTC-USD&channels=" + channel +
               "&client_id=bob HTTP/1.1\r\n"
               "Host: 127.0.0.1\r\nAuthorization: Bearer " +
               viewer.secret + "\r\n\r\n");
      EXPECT_EQ(status_of(raw.read_until("\r\n\r\n", 5s)), 403u);
    }
  }
}

// --- admin routes --------------------------------------------------------------------------

TEST_F(Auth, admin_key_routes_answer_as_documented) {
  daemon_process d(keys_args());
  http_client admin(d.port());
  const header_list h = bearer(kAdminSecret);
  const http_response created = admin.post_json("/admin/keys",
                                                {{"role", "trader"},
                                                 {"client_ids", {"alice"}},
                                                 {"label", "desk 1"},
                                                 {"rate_limit", 200},
                                                 {"rate_burst", 400}},
                                                h);
  ASSERT_EQ(created.status, 201u) << created.describe();
  const json key = created.json()["key"];
  EXPECT_EQ(key["role"], "trader");
  EXPECT_EQ(key["client_ids"], json({"alice"}));
  EXPECT_EQ(key["label"], "desk 1");
  EXPECT_EQ(key["rate_limit"], 200);
  EXPECT_EQ(key["rate_burst"], 400);
  EXPECT_TRUE(key["revoked_at"].is_null());
  EXPECT_EQ(key["key_id"].get<std::string>().size(), 16u);
  const std::string secret = created.json()["secret"];
  EXPECT_EQ(secret.rfind("mk_", 0), 0u);

  const http_response listed = admin.request("GET", "/admin/keys", {}, h);
  ASSERT_EQ(listed.status, 200u);
  EXPECT_EQ(listed.body.find(secret), std::string::npos) << "a listing never shows a secret";
  EXPECT_NE(listed.body.find(key["key_id"].get<std::string>()), std::string::npos);

  for (const json& bad :
       {json{{"client_ids", {"a"}}}, json{{"role", "king"}, {"client_ids", {"a"}}},
        json{{"role", "trader"}}, json{{"role", "trader"}, {"client_ids", {"a b"}}},
        json{{"role", "admin"}, {"client_ids", {"a"}}},
        json{{"role", "trader"}, {"client_ids", {"a"}}, {"rate_limit", -1}}, json{{"role", 1}},
        json::array()}) {
    const http_response r = admin.post_json("/admin/keys", bad, h);
    EXPECT_EQ(r.status, 400u) << bad.dump() << " " << r.describe();
  }
  EXPECT_EQ(admin.post_json("/admin/keys", json{{"role", "king"}, {"client_ids", {"a"}}}, h)
                .json()["error"]
                .value("code", ""),
            "invalid_role");
  const http_response unknown = admin.request("DELETE", "/admin/keys/0123456789abcdef", {}, h);
  EXPECT_EQ(unknown.status, 404u) << unknown.describe();
  EXPECT_EQ(unknown.json()["error"].value("code", ""), "key_not_found");
  EXPECT_EQ(admin.request("DELETE", "/admin/keys/nothex", {}, h).status, 404u);
  const http_response revoked =
      admin.request("DELETE", "/admin/keys/" + key["key_id"].get<std::string>(), {}, h);
  ASSERT_EQ(revoked.status, 200u) << revoked.describe();
  EXPECT_FALSE(revoked.json()["key"]["revoked_at"].is_null());
}

TEST_F(Auth, snapshots_are_one_at_a_time_per_instrument) {
  daemon_process d(keys_args());
  constexpr int kRequests = 16;
  std::atomic<int> created{0};
  std::atomic<int> limited{0};
  std::atomic<int> not_ready{0};
  std::atomic<int> other{0};
  std::atomic<bool> retry_after_one{true};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&] {
      http_client c(d.port());
      c.connect();
      ready.fetch_add(1);
      while (ready.load() < kRequests) std::this_thread::yield();  // all at once
      const http_response r =
          c.post_json("/admin/snapshots", {{"instrument", "BTC-USD"}}, bearer(kAdminSecret));
      if (r.status == 201) {
        created.fetch_add(1);
      } else if (r.status == 429) {
        limited.fetch_add(1);
        if (r.header("Retry-After") != "1") retry_after_one = false;
      } else if (r.status == 503) {
        not_ready.fetch_add(1);
      } else {
        other.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_TRUE(retry_after_one.load());
  if (durable_mode()) {
    EXPECT_GE(created.load(), 1);
    EXPECT_GE(limited.load(), 1) << created << " snapshots, none refused";
  } else {
    EXPECT_EQ(not_ready.load(), kRequests) << "without --db there is nowhere to write one";
  }
}

// With --db keys are in PostgreSQL and survive a restart; without it they live in memory
// only, the log says so, and a restart forgets them.
TEST_F(Auth, keys_last_as_long_as_their_store) {
  daemon_process d(keys_args());
  const issued_key k = trader_key(d.port(), "alice");
  d.restart();
  http_client c(d.port());
  const http_response r =
      c.post_json("/orders", limit_order("", "alice", "buy", "1.00", "1"), bearer(k.secret));
  if (durable_mode()) {
    EXPECT_EQ(r.status, 201u) << r.describe();
  } else {
    EXPECT_EQ(r.status, 401u) << r.describe();
    EXPECT_NE((d.stdout_text() + d.stderr_text()).find("memory only"), std::string::npos)
        << d.logs();
  }
}

// --- start-up ------------------------------------------------------------------------------

TEST(AuthStartup, no_auth_on_a_non_loopback_address_is_refused_without_the_insecure_flag) {
  const finished_run r = run_to_exit({"--auth", "none", "--listen", "0.0.0.0:0"});
  EXPECT_TRUE(r.exit.exited) << r.describe();
  EXPECT_EQ(r.exit.code, kExitUsage) << r.describe();
  EXPECT_NE(r.err.find("--insecure-no-auth"), std::string::npos) << r.describe();
}

TEST(AuthStartup, a_short_admin_key_is_refused) {
  ::setenv("MATCHD_ADMIN_KEY", "short", 1);
  const finished_run r = run_to_exit({"--auth", "keys"});
  ::unsetenv("MATCHD_ADMIN_KEY");
  EXPECT_EQ(r.exit.code, kExitUsage) << r.describe();
  EXPECT_NE(r.err.find("MATCHD_ADMIN_KEY"), std::string::npos) << r.describe();
}

TEST(AuthStartup, loopback_defaults_to_no_auth) {
  ::unsetenv("MATCHD_ADMIN_KEY");
  daemon_process d;
  http_client c(d.port());
  EXPECT_EQ(c.post_json("/orders", limit_order("", "alice", "buy", "1.00", "1")).status, 201u);
  // Keys sent anyway are ignored.
  EXPECT_EQ(
      c.post_json("/orders", limit_order("", "alice", "buy", "1.00", "1"), bearer("mk_nonsense"))
          .status,
      201u);
}

}  // namespace
}  // namespace matchd::e2e
