// Webhooks (docs/api.md, "Webhooks"): the real daemon with PostgreSQL, receivers on loopback
// ports (webhook_receiver.h). Signed deliveries of a client's events, in order; retries until
// a failing receiver answers, the event then received once more only by id; the dead-letter
// list past the horizon and a manual retry; a slow endpoint beside a fast one; deliveries
// that survive kill -9; and the 4xx of bad registrations.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <chrono>
#include <iomanip>
#include <set>
#include <sstream>

#include "daemon_process.h"
#include "db_state.h"
#include "durability_checks.h"
#include "http_client.h"
#include "order_builders.h"
#include "pg_server.h"
#include "wait.h"
#include "webhook_receiver.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::vector<std::string> webhook_args(const pg_server& pg, std::string horizon = "30s") {
  return durable_daemon_args(
      pg.connection_string(),
      {"--webhook-allow-http", "--webhook-allow-private", "--webhook-retry-horizon", horizon});
}

// The signature a receiver computes: HMAC-SHA256(secret, "<t>.<body>") in hex, written apart
// from matchd's (OpenSSL's one-shot HMAC).
std::string expected_v1(const std::string& secret, const std::string& t, const std::string& body) {
  const std::string signed_text = t + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &len);
  std::ostringstream hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex << std::hex << std::setw(2) << std::setfill('0') << static_cast<int>(mac[i]);
  }
  return hex.str();
}

// "t=<unix>,v1=<hex>" checked against the secret; the time within a minute of now.
::testing::AssertionResult verifies(const webhook_receiver::received& r,
                                    const std::string& secret) {
  const auto it = r.headers.find("matchd-signature");
  if (it == r.headers.end()) return ::testing::AssertionFailure() << "no Matchd-Signature";
  const std::string& h = it->second;
  const auto comma = h.find(",v1=");
  if (h.rfind("t=", 0) != 0 || comma == std::string::npos) {
    return ::testing::AssertionFailure() << "signature header " << h;
  }
  const std::string t = h.substr(2, comma - 2);
  const std::string v1 = h.substr(comma + 4);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (std::llabs(now - std::stoll(t)) > 60) {
    return ::testing::AssertionFailure() << "t=" << t << " is not now";
  }
  if (v1 != expected_v1(secret, t, r.body)) {
    return ::testing::AssertionFailure() << "v1 does not verify: " << h;
  }
  return ::testing::AssertionSuccess();
}

json register_webhook(e2e::http_client& http, const std::string& url, json events,
                      const std::string& client) {
  const e2e::http_response r = http.post_json(
      "/webhooks", {{"url", url}, {"events", std::move(events)}, {"client_id", client}});
  EXPECT_EQ(r.status, 201u) << r.describe();
  return r.json().at("webhook");
}

json deliveries(e2e::http_client& http, const std::string& webhook_id,
                const std::string& status = "") {
  const e2e::http_response r = http.get("/webhooks/" + webhook_id + "/deliveries" +
                                        (status.empty() ? "" : "?status=" + status));
  EXPECT_EQ(r.status, 200u) << r.describe();
  return r.json().at("deliveries");
}

TEST(webhooks, a_clients_events_arrive_signed_in_order_and_only_its_own) {
  pg_server pg;
  pg.start();
  webhook_receiver receiver;
  e2e::daemon_process daemon(webhook_args(pg));
  e2e::http_client http(daemon.port(), 10s);
  const json hook =
      register_webhook(http, receiver.url(), {"order.open", "order.filled", "trade"}, "alice");
  const std::string secret = hook.at("secret");
  EXPECT_EQ(secret.rfind("whsec_", 0), 0u);
  EXPECT_EQ(hook.at("client_id"), "alice");

  ASSERT_EQ(
      http.post_json("/orders", e2e::limit_order("a-1", "alice", "sell", "100.00", "1")).status,
      201u);
  ASSERT_EQ(http.post_json("/orders", e2e::limit_order("b-1", "bob", "buy", "100.00", "1")).status,
            201u);
  // alice: open, then filled and the trade; bob's own states are not hers.
  ASSERT_TRUE(test::wait_until([&] { return receiver.count() >= 3; }, 20s, 20ms));
  std::this_thread::sleep_for(500ms);  // nothing more may come
  const auto got = receiver.requests();
  ASSERT_EQ(got.size(), 3u);
  std::vector<std::string> types;
  std::int64_t previous = 0;
  for (const auto& r : got) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/hook");
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    EXPECT_TRUE(verifies(r, secret));
    const json body = json::parse(r.body);
    types.push_back(body.at("type"));
    EXPECT_EQ(r.headers.at("matchd-event-id"), body.at("id"));
    EXPECT_EQ(r.headers.at("matchd-event-type"), body.at("type"));
    const std::int64_t seq = std::stoll(body.at("id").get<std::string>().substr(4));
    EXPECT_GT(seq, previous) << "in sequence order";
    previous = seq;
    EXPECT_TRUE(body.at("created_at").is_string());
    if (body.at("type") != "trade") {
      EXPECT_EQ(body.at("data").at("client_id"), "alice");
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{"order.open", "trade", "order.filled"}))
      << "a trade comes before the states it makes (its sequence is lower)";

  const json listed = http.get("/webhooks").json().at("webhooks");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_FALSE(listed[0].contains("secret")) << "shown once, when made";
  ASSERT_TRUE(test::wait_until(
      [&] { return deliveries(http, hook.at("webhook_id"), "delivered").size() == 3; }, 10s, 50ms));
  EXPECT_EQ(deliveries(http, hook.at("webhook_id"), "pending").size(), 0u);

  // Deleted: nothing more.
  ASSERT_EQ(
      http.request("DELETE", "/webhooks/" + hook.at("webhook_id").get<std::string>(), {}).status,
      200u);
  ASSERT_EQ(
      http.post_json("/orders", e2e::limit_order("a-2", "alice", "sell", "101.00", "1")).status,
      201u);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(receiver.count(), 3u);
}

// With no webhook the dispatcher skips the journal without reading it; the first webhook
// registered later still gets an earlier order's client_order_id on that order's new states.
TEST(webhooks, an_order_placed_before_the_first_webhook_keeps_its_client_order_id) {
  pg_server pg;
  pg.start();
  webhook_receiver receiver;
  e2e::daemon_process daemon(webhook_args(pg));
  e2e::http_client http(daemon.port(), 10s);
  const std::string conninfo = pg.connection_string();
  // After the service's first look at the tables (within its 50 ms poll of starting), so
  // that only the journal could tell it this order's label.
  std::this_thread::sleep_for(300ms);
  json sell = e2e::limit_order("early-1", "carol", "sell", "100.00", "1");
  sell["client_order_id"] = "carol-7";
  const e2e::http_response placed = http.post_json("/orders", sell);
  ASSERT_EQ(placed.status, 201u);
  // The webhooks' position passes the order without reading it (one skip a second).
  const auto sequence = placed.json().at("order").at("sequence").get<std::int64_t>();
  ASSERT_TRUE(test::wait_until(
      [&] {
        return query_scalar(conninfo,
                            "SELECT sequence FROM export_progress WHERE sink = 'webhooks'") >=
               sequence;
      },
      10s, 50ms));
  register_webhook(http, receiver.url(), {"order.filled"}, "carol");
  ASSERT_EQ(
      http.post_json("/orders", e2e::limit_order("late-1", "dave", "buy", "100.00", "1")).status,
      201u);
  ASSERT_TRUE(test::wait_until([&] { return receiver.count() >= 1; }, 20s, 20ms));
  const json body = json::parse(receiver.requests().front().body);
  EXPECT_EQ(body.at("data").at("order_id"), "early-1") << body.dump();
  EXPECT_EQ(body.at("data").at("client_order_id"), "carol-7") << body.dump();
}

// A receiver that fails its first three attempts gets the event again and again until it
// answers 2xx, then never again; the same through a kill -9 of the daemon in between.
TEST(webhooks, a_failing_receiver_gets_the_event_after_retries_through_a_restart) {
  pg_server pg;
  pg.start();
  webhook_receiver receiver([](std::size_t n, const webhook_receiver::received&) {
    return webhook_receiver::reply{n < 3 ? 500u : 200u};
  });
  e2e::daemon_process daemon(webhook_args(pg));
  e2e::http_client http(daemon.port(), 10s);
  const json hook = register_webhook(http, receiver.url(), {"order.*"}, "carol");
  ASSERT_EQ(http.post_json("/orders", e2e::limit_order("c-1", "carol", "buy", "90.00", "1")).status,
            201u);
  ASSERT_TRUE(test::wait_until([&] { return receiver.count() >= 1; }, 10s, 20ms));
  daemon.kill9();
  daemon.restart();
  ASSERT_TRUE(test::wait_until([&] { return receiver.count() >= 4; }, 30s, 50ms));
  std::this_thread::sleep_for(2s);
  const auto got = receiver.requests();
  ASSERT_EQ(got.size(), 4u) << "three failures, then the one that was answered 200";
  std::set<std::string> ids;
  for (const auto& r : got) ids.insert(json::parse(r.body).at("id").get<std::string>());
  EXPECT_EQ(ids.size(), 1u) << "the same event each time: a receiver keeps it once by id";
  e2e::http_client again(daemon.port(), 10s);
  const json done = deliveries(again, hook.at("webhook_id"));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].at("status"), "delivered");
  // Four attempts reached the receiver; the first may have gone unrecorded, cut by the kill
  // -9 between its answer and its record (at least once: it was then made again).
  EXPECT_GE(done[0].at("attempts").get<int>(), 3);
  EXPECT_LE(done[0].at("attempts").get<int>(), 4);
}

// Down past the horizon: dead, listed as such; a manual retry delivers it once it is back.
TEST(webhooks, past_the_horizon_a_delivery_is_dead_and_a_manual_retry_delivers_it) {
  pg_server pg;
  pg.start();
  std::atomic<bool> up{false};
  webhook_receiver receiver([&up](std::size_t, const webhook_receiver::received&) {
    return webhook_receiver::reply{up.load() ? 200u : 503u};
  });
  e2e::daemon_process daemon(webhook_args(pg, "3s"));
  e2e::http_client http(daemon.port(), 10s);
  const json hook = register_webhook(http, receiver.url(), {"order.open"}, "dave");
  const std::string id = hook.at("webhook_id");
  ASSERT_EQ(http.post_json("/orders", e2e::limit_order("d-1", "dave", "buy", "90.00", "1")).status,
            201u);
  ASSERT_TRUE(
      test::wait_until([&] { return deliveries(http, id, "dead").size() == 1; }, 20s, 100ms));
  const json dead = deliveries(http, id, "dead")[0];
  EXPECT_GE(dead.at("attempts").get<int>(), 2) << dead.dump();
  EXPECT_EQ(dead.at("last_status"), 503);
  EXPECT_TRUE(dead.at("next_attempt_at").is_null());
  const std::size_t tried = receiver.count();

  // Only a dead one is retried; unknown ids are 404.
  EXPECT_EQ(http.post_json("/webhooks/deliveries/999999/retry", json::object()).status, 404u);
  up.store(true);
  const e2e::http_response retried =
      http.post_json("/webhooks/deliveries/" + dead.at("delivery_id").get<std::string>() + "/retry",
                     json::object());
  ASSERT_EQ(retried.status, 202u) << retried.describe();
  EXPECT_EQ(retried.json().at("delivery").at("status"), "pending");
  ASSERT_TRUE(
      test::wait_until([&] { return deliveries(http, id, "delivered").size() == 1; }, 10s, 50ms));
  EXPECT_EQ(receiver.count(), tried + 1);
  const e2e::http_response again =
      http.post_json("/webhooks/deliveries/" + dead.at("delivery_id").get<std::string>() + "/retry",
                     json::object());
  EXPECT_EQ(again.status, 409u) << again.describe();
  EXPECT_EQ(again.json().at("error").at("code"), "delivery_not_dead");
}

// A 10 s endpoint does not hold another endpoint's deliveries, nor the order path.
TEST(webhooks, a_slow_endpoint_does_not_delay_a_fast_one) {
  pg_server pg;
  pg.start();
  webhook_receiver slow([](std::size_t, const webhook_receiver::received&) {
    return webhook_receiver::reply{200, 10s};
  });
  webhook_receiver fast;
  e2e::daemon_process daemon(webhook_args(pg));
  e2e::http_client http(daemon.port(), 10s);
  register_webhook(http, slow.url(), {"order.open"}, "erin");
  register_webhook(http, fast.url(), {"order.open"}, "erin");
  for (int i = 0; i < 3; ++i) {
    const auto sent = std::chrono::steady_clock::now();
    const e2e::http_response r = http.post_json(
        "/orders", e2e::limit_order("e-" + std::to_string(i), "erin", "buy", "90.00", "1"));
    ASSERT_EQ(r.status, 201u);
    EXPECT_LT(std::chrono::steady_clock::now() - sent, 2s) << "the order path does not wait";
    ASSERT_TRUE(
        test::wait_until([&] { return fast.count() == static_cast<std::size_t>(i + 1); }, 3s, 10ms))
        << "the fast endpoint got order " << i << " while the slow one still holds the first";
  }
  EXPECT_LE(slow.count(), 1u) << "one delivery at a time per endpoint, in order";
}

TEST(webhooks, bad_registrations_are_refused_with_their_codes) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  e2e::http_client http(daemon.port(), 10s);
  const auto code = [&](const json& body) {
    const e2e::http_response r = http.post_json("/webhooks", body);
    return std::to_string(r.status) + " " +
           (r.status >= 400 ? r.json().at("error").at("code").get<std::string>() : "");
  };
  // .invalid never resolves (RFC 6761); nothing trades here, so nothing is sent anyway.
  const json base = {{"url", "https://hooks.invalid/hook"}, {"events", {"trade"}}};
  EXPECT_EQ(code(json{{"events", {"trade"}}}), "400 missing_field");
  EXPECT_EQ(code(json{{"url", "https://hooks.invalid/hook"}}), "400 missing_field");
  json b = base;
  b["url"] = "http://hooks.invalid/hook";
  EXPECT_EQ(code(b), "400 invalid_parameter") << "https only without --webhook-allow-http";
  for (const char* inside : {"https://127.0.0.1:1/hook", "https://[::1]/hook",
                             "https://169.254.169.254/latest/meta-data", "https://10.0.0.7/"}) {
    b["url"] = inside;
    EXPECT_EQ(code(b), "400 invalid_parameter") << inside << ": public addresses only";
  }
  b["url"] = "ftp://127.0.0.1/hook";
  EXPECT_EQ(code(b), "400 invalid_parameter");
  b = base;
  b["events"] = {"order.exploded"};
  EXPECT_EQ(code(b), "400 invalid_parameter");
  b["events"] = json::array();
  EXPECT_EQ(code(b), "400 invalid_field_type");
  b = base;
  b["client_id"] = "bad client";
  EXPECT_EQ(code(b), "400 invalid_client_id");
  EXPECT_EQ(http.request("DELETE", "/webhooks/12345", {}).status, 404u);
  EXPECT_EQ(http.get("/webhooks/12345/deliveries").status, 404u);
  EXPECT_EQ(http.get("/webhooks/1/deliveries?status=lost").status, 400u);
  // The per-client limit.
  for (int i = 0; i < 16; ++i) {
    b = base;
    b["client_id"] = "frank";
    ASSERT_EQ(code(b), "201 ");
  }
  EXPECT_EQ(code(b), "409 too_many_webhooks");
}

}  // namespace
}  // namespace matchd::pgtest
