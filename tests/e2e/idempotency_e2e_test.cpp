// Idempotent order entry (docs/api.md, Idempotency): a retried request is answered
// from the first response and never matches twice, also when the retries race.

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace matchd::e2e {
namespace {

using nlohmann::json;

class idempotency : public ::testing::Test {
 protected:
  http_response post(const json& body, const header_list& headers = {}) {
    return http.post_json("/orders", body, headers);
  }
  json trades() { return http.get(trades_path()).json()["trades"]; }
  book_sides book() { return book_from_json(http.get(orderbook_path()).json()); }

  daemon_process daemon;
  http_client http{daemon.port()};
};

TEST_F(idempotency, same_key_and_body_replays_the_first_response_and_places_once) {
  const json body = with_key(limit_order("idem-1", "client-A", "buy", "100.00", "1"), "key-1");
  const http_response first = post(body);
  ASSERT_EQ(first.status, 201u) << first.describe();
  EXPECT_NE(first.header("Idempotent-Replayed"), "true");

  for (int i = 0; i < 3; ++i) {
    const http_response again = post(body);
    ASSERT_EQ(again.status, 200u) << again.describe();
    EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(again.json(), first.json());
  }
  EXPECT_EQ(book(), (book_sides{{{10000, 100000000, 1}}, {}}));
}

TEST_F(idempotency, replayed_crossing_order_never_trades_twice) {
  ASSERT_EQ(post(limit_order("maker", "client-M", "sell", "100.00", "5")).status, 201u);
  const json body = with_key(limit_order("", "client-A", "buy", "100.00", "1"), "key-cross");
  const http_response first = post(body);
  ASSERT_EQ(first.status, 201u) << first.describe();
  ASSERT_EQ(first.json()["trades"].size(), 1u) << first.describe();

  const http_response again = post(body);
  ASSERT_EQ(again.status, 200u) << again.describe();
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(again.json(), first.json()) << "same server-generated order_id, same trades";

  EXPECT_EQ(trades().size(), 1u);
  EXPECT_EQ(book(), (book_sides{{}, {{10000, 400000000, 1}}}));
}

TEST_F(idempotency, key_in_the_idempotency_key_header_works_the_same) {
  const json body = limit_order("idem-h", "client-A", "buy", "100.00", "1");
  const header_list key = {{"Idempotency-Key", "key-header"}};
  const http_response first = post(body, key);
  ASSERT_EQ(first.status, 201u) << first.describe();
  const http_response again = post(body, key);
  ASSERT_EQ(again.status, 200u) << again.describe();
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(again.json(), first.json());
  EXPECT_EQ(book(), (book_sides{{{10000, 100000000, 1}}, {}}));
}

TEST_F(idempotency, same_key_with_another_body_is_409_and_places_nothing) {
  const json body = with_key(limit_order("", "client-A", "buy", "100.00", "1"), "key-2");
  ASSERT_EQ(post(body).status, 201u);
  json other = body;
  other["price"] = "99.00";
  EXPECT_TRUE(is_error(post(other), 409, "idempotency_key_reused"));
  json other_side = body;
  other_side["side"] = "sell";
  EXPECT_TRUE(is_error(post(other_side), 409, "idempotency_key_reused"));
  EXPECT_EQ(book(), (book_sides{{{10000, 100000000, 1}}, {}}));
  EXPECT_EQ(trades().size(), 0u);
}

// Only accepted placements remember their key (docs/api.md): a placement refused with 4xx,
// by validation or by the engine, leaves the key free for a corrected retry.
TEST_F(idempotency, a_refused_placement_leaves_its_key_free) {
  const json bad = with_key(limit_order("retry-1", "client-A", "buy", "100.005", "1"), "key-r");
  EXPECT_TRUE(is_error(post(bad), 400, "invalid_price_tick"));
  ASSERT_EQ(post(limit_order("taken", "client-A", "buy", "99.00", "1")).status, 201u);
  const json dup = with_key(limit_order("taken", "client-A", "buy", "100.00", "1"), "key-r");
  EXPECT_TRUE(is_error(post(dup), 409, "duplicate_order_id"));

  const json good = with_key(limit_order("retry-1", "client-A", "buy", "100.00", "1"), "key-r");
  const http_response first = post(good);
  ASSERT_EQ(first.status, 201u) << first.describe();
  EXPECT_NE(first.header("Idempotent-Replayed"), "true");
  const http_response again = post(good);
  EXPECT_EQ(again.status, 200u) << again.describe();
  EXPECT_EQ(again.json(), first.json());
  EXPECT_EQ(book(), (book_sides{{{10000, 100000000, 1}, {9900, 100000000, 1}}, {}}));
}

// The same order written differently is the same body: field order, whitespace, a number
// or a string for a decimal, trailing zeros, and the key in the body or in the header.
TEST_F(idempotency, a_reencoded_body_is_the_same_body) {
  const std::string canonical =
      R"({"idempotency_key":"key-n","order_id":"norm-1","client_id":"client-A",)"
      R"("instrument":"BTC-USD","side":"buy","type":"limit","price":"100.50","quantity":"0.25"})";
  const http_response first =
      http.request("POST", "/orders", canonical, {{"Content-Type", "application/json"}});
  ASSERT_EQ(first.status, 201u) << first.describe();

  const std::string reordered =
      "{ \"quantity\": 0.250, \"price\": 100.5,\n  \"type\": \"limit\", \"side\": \"buy\","
      " \"instrument\": \"BTC-USD\", \"client_id\": \"client-A\", \"order_id\": \"norm-1\","
      " \"idempotency_key\": \"key-n\" }";
  const http_response again =
      http.request("POST", "/orders", reordered, {{"Content-Type", "application/json"}});
  EXPECT_EQ(again.status, 200u) << again.describe();
  EXPECT_EQ(again.json(), first.json());

  json in_header = json::parse(canonical);
  in_header.erase("idempotency_key");
  const http_response by_header = post(in_header, {{"Idempotency-Key", "key-n"}});
  EXPECT_EQ(by_header.status, 200u) << by_header.describe();
  EXPECT_EQ(by_header.json(), first.json());

  json both = json::parse(canonical);
  EXPECT_TRUE(
      is_error(post(both, {{"Idempotency-Key", "key-other"}}), 400, "invalid_idempotency_key"))
      << "body and header keys must agree";
  EXPECT_EQ(book(), (book_sides{{{10050, 25000000, 1}}, {}}));
}

TEST_F(idempotency, same_key_of_another_client_is_independent) {
  const http_response a =
      post(with_key(limit_order("", "client-A", "buy", "100.00", "1"), "shared-key"));
  const http_response b =
      post(with_key(limit_order("", "client-B", "buy", "100.00", "1"), "shared-key"));
  ASSERT_EQ(a.status, 201u) << a.describe();
  ASSERT_EQ(b.status, 201u) << b.describe();
  EXPECT_NE(b.header("Idempotent-Replayed"), "true");
  EXPECT_NE(a.json()["order"]["order_id"], b.json()["order"]["order_id"]);
  EXPECT_EQ(b.json()["order"]["client_id"], "client-B");
  EXPECT_EQ(book(), (book_sides{{{10000, 200000000, 2}}, {}}));
}

TEST_F(idempotency, requests_without_a_key_are_not_deduplicated) {
  const json body = limit_order("", "client-A", "buy", "100.00", "1");
  ASSERT_EQ(post(body).status, 201u);
  ASSERT_EQ(post(body).status, 201u);
  EXPECT_EQ(book(), (book_sides{{{10000, 200000000, 2}}, {}}));
}

// 16 connections send the same keyed crossing order at once: one of them places it, every
// other one gets the identical first response back, and the maker is hit exactly once.
TEST_F(idempotency, racing_retries_place_the_order_exactly_once) {
  constexpr int kThreads = 16;
  ASSERT_EQ(post(limit_order("maker", "client-M", "sell", "100.00", "10")).status, 201u);
  const json body = with_key(limit_order("", "client-A", "buy", "100.00", "1"), "race-key");

  std::vector<http_client> clients;
  for (int i = 0; i < kThreads; ++i) {
    clients.emplace_back(daemon.port());
    clients.back().connect();
  }
  std::vector<http_response> responses(kThreads);
  std::vector<std::string> errors(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      try {
        responses[i] = clients[i].post_json("/orders", body);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();

  int created = 0;
  int replayed = 0;
  json created_body;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(errors[i].empty()) << "client " << i << ": " << errors[i];
    if (responses[i].status == 201) {
      ++created;
      created_body = responses[i].json();
    } else {
      EXPECT_EQ(responses[i].status, 200u) << responses[i].describe();
      EXPECT_EQ(responses[i].header("Idempotent-Replayed"), "true");
      ++replayed;
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(replayed, kThreads - 1);
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(responses[i].json(), created_body) << "client " << i;
  }
  EXPECT_EQ(trades().size(), 1u);
  EXPECT_EQ(book(), (book_sides{{}, {{10000, 900000000, 1}}}));
}

}  // namespace
}  // namespace matchd::e2e
