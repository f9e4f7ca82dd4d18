// The idempotency rules (bus/idempotency.h): the engine stage's decisions, which outcomes
// hold their key, and the persisted fingerprint encoding.
#include <gtest/gtest.h>
#include <matchd/bus/idempotency.h>
#include <matchd/bus/messages.h>

#include <limits>
#include <string>
#include <vector>

namespace matchd::bus {
namespace {

using engine::client_id;
using engine::errc;

idempotency_key key(std::string_view k) {
  return idempotency_key::from(k);
}

const client_id kClientA = client_id::from("client-A");
const client_id kClientB = client_id::from("client-B");

// What the table says about key "k" of `client` used with a request of fingerprint `fp`.
idempotency_verdict use(idempotency_table& t, const client_id& client, std::uint64_t fp) {
  return t.decide(client, key("k"), fp).verdict;
}

// Key "k" of `client` is held by command `sequence` for requests of fingerprint `fp`: the
// same request replays it, another one conflicts.
void expect_held(idempotency_table& t, const client_id& client, std::uint64_t fp,
                 engine::sequence_number sequence) {
  const idempotency_decision replay = t.decide(client, key("k"), fp);
  EXPECT_EQ(replay.verdict, idempotency_verdict::replay);
  EXPECT_EQ(replay.replay_of, sequence);
  EXPECT_EQ(use(t, client, fp + 1), idempotency_verdict::conflict);
}

TEST(idempotency_table, first_use_then_pending_until_settled) {
  idempotency_table t;
  EXPECT_EQ(use(t, kClientA, 1), idempotency_verdict::first_use);
  // A retry racing its original waits for it, whatever its body.
  EXPECT_EQ(use(t, kClientA, 1), idempotency_verdict::pending);
  EXPECT_EQ(use(t, kClientA, 2), idempotency_verdict::pending);
  t.settle(kClientA, key("k"), errc::ok, 42);
  expect_held(t, kClientA, 1, 42);
}

TEST(idempotency_table, a_rejected_first_use_releases_the_key) {
  idempotency_table t;
  EXPECT_EQ(use(t, kClientA, 1), idempotency_verdict::first_use);
  t.settle(kClientA, key("k"), errc::duplicate_order_id, 0);
  // A corrected retry, with another body, runs as a first use.
  EXPECT_EQ(use(t, kClientA, 2), idempotency_verdict::first_use);
}

TEST(idempotency_table, keys_are_scoped_by_client) {
  idempotency_table t;
  EXPECT_EQ(use(t, kClientA, 1), idempotency_verdict::first_use);
  t.settle(kClientA, key("k"), errc::ok, 7);
  EXPECT_EQ(use(t, kClientB, 2), idempotency_verdict::first_use);
}

TEST(idempotency_table, restored_keys_replay_and_conflict) {
  idempotency_table t;
  t.restore(kClientA, key("k"), 5, 99);
  expect_held(t, kClientA, 5, 99);
}

// The retention horizon: keys first used at `at` are forgotten at `at + horizon`, not before.
constexpr engine::timestamp_us kHorizon = 1'000'000;

TEST(idempotency_table, a_key_is_held_for_the_horizon_then_forgotten) {
  idempotency_table t(kHorizon);
  ASSERT_EQ(use(t, kClientA, 1), idempotency_verdict::first_use);
  t.settle(kClientA, key("k"), errc::ok, 42, /*at=*/5'000'000);
  std::vector<engine::sequence_number> forgotten;
  const auto note = [&](engine::sequence_number s) { forgotten.push_back(s); };
  t.expire(5'000'000 + kHorizon - 1, 16, note);
  EXPECT_TRUE(forgotten.empty());
  expect_held(t, kClientA, 1, 42);
  t.expire(5'000'000 + kHorizon, 16, note);
  EXPECT_EQ(forgotten, std::vector<engine::sequence_number>{42});
  EXPECT_EQ(t.size(), 0U);
  // The same key, even with another request, is a new first use.
  EXPECT_EQ(use(t, kClientA, 2), idempotency_verdict::first_use);
}

TEST(idempotency_table, expiry_forgets_oldest_first_within_its_budget) {
  idempotency_table t(kHorizon);
  for (engine::sequence_number s = 1; s <= 5; ++s) {
    const auto k = key("k" + std::to_string(s));
    ASSERT_EQ(t.decide(kClientA, k, 1).verdict, idempotency_verdict::first_use);
    t.settle(kClientA, k, errc::ok, s, static_cast<engine::timestamp_us>(s));
  }
  std::vector<engine::sequence_number> forgotten;
  const auto note = [&](engine::sequence_number s) { forgotten.push_back(s); };
  EXPECT_EQ(t.expire(kHorizon + 100, 2, note), 2U);
  EXPECT_EQ(forgotten, (std::vector<engine::sequence_number>{1, 2}));
  t.expire(kHorizon + 4, 100, note);  // only those first used at 4 or before
  EXPECT_EQ(forgotten, (std::vector<engine::sequence_number>{1, 2, 3, 4}));
  EXPECT_EQ(t.size(), 1U);
}

TEST(idempotency_table, a_key_used_again_after_expiry_keeps_its_new_use) {
  idempotency_table t(kHorizon);
  ASSERT_EQ(use(t, kClientA, 1), idempotency_verdict::first_use);
  t.settle(kClientA, key("k"), errc::ok, 1, 0);
  std::vector<engine::sequence_number> forgotten;
  const auto note = [&](engine::sequence_number s) { forgotten.push_back(s); };
  t.expire(kHorizon, 16, note);
  ASSERT_EQ(use(t, kClientA, 2), idempotency_verdict::first_use);
  t.settle(kClientA, key("k"), errc::ok, 9, kHorizon);
  t.expire(2 * kHorizon - 1, 16, note);
  EXPECT_EQ(forgotten, std::vector<engine::sequence_number>{1});
  expect_held(t, kClientA, 2, 9);
}

TEST(idempotency_table, restored_keys_expire_from_their_first_use) {
  idempotency_table t(kHorizon);
  t.restore(kClientA, key("k"), 5, 99, 10);
  std::vector<engine::sequence_number> forgotten;
  t.expire(10 + kHorizon, 16, [&](engine::sequence_number s) { forgotten.push_back(s); });
  EXPECT_EQ(forgotten, std::vector<engine::sequence_number>{99});
  EXPECT_EQ(use(t, kClientA, 5), idempotency_verdict::first_use);
}

TEST(idempotency_table, without_a_horizon_keys_are_kept) {
  idempotency_table t;
  ASSERT_EQ(use(t, kClientA, 1), idempotency_verdict::first_use);
  t.settle(kClientA, key("k"), errc::ok, 42, 0);
  EXPECT_EQ(t.expire(std::numeric_limits<engine::timestamp_us>::max() / 2, 16,
                     [](engine::sequence_number) {}),
            0U);
  expect_held(t, kClientA, 1, 42);
}

TEST(idempotency, only_keyed_placements_that_took_effect_hold_their_key) {
  // Whether a keyed placement executed without error still holds its key after `change`.
  const auto holds_after = [](auto change) {
    command_outcome c;
    c.kind = request_kind::place;
    c.idempotency = key("k");
    change(c);
    return holds_key(c);
  };
  EXPECT_TRUE(holds_after([](command_outcome&) {}));
  EXPECT_FALSE(holds_after([](command_outcome& c) { c.idempotency = {}; }));
  EXPECT_FALSE(holds_after([](command_outcome& c) { c.error = errc::duplicate_order_id; }));
  EXPECT_FALSE(holds_after([](command_outcome& c) { c.outcome = outcome_kind::replay; }));
  EXPECT_FALSE(
      holds_after([](command_outcome& c) { c.outcome = outcome_kind::idempotency_conflict; }));
  EXPECT_FALSE(holds_after([](command_outcome& c) { c.kind = request_kind::cancel; }));
}

// Fingerprints are stored with the keys and compared after a restart: these values were
// produced by the encoding as it first shipped and must never change.
TEST(idempotency, fingerprint_encoding_is_frozen) {
  engine::place_order o;
  o.client = client_id::from("client-A");
  o.order_side = engine::side::buy;
  o.type = engine::order_type::limit;
  o.tif = engine::time_in_force::gtc;
  o.price = engine::price_ticks{7'015'050};
  o.quantity = engine::quantity_lots{25'000'000};
  EXPECT_EQ(request_fingerprint(o, "BTC-USD", false), 0x5d45013ec379bc1aULL);

  engine::place_order m;
  m.id = engine::order_id::from("order-1");
  m.client = client_id::from("c-9");
  m.order_side = engine::side::sell;
  m.type = engine::order_type::market;
  m.tif = engine::time_in_force::ioc;
  m.quantity = engine::quantity_lots{100'000'000};
  EXPECT_EQ(request_fingerprint(m, "BTC-USD", true), 0x9d0165e9a281ace6ULL);

  engine::place_order f;
  f.client = client_id::from("k");
  f.order_side = engine::side::sell;
  f.type = engine::order_type::limit;
  f.tif = engine::time_in_force::fok;
  f.price = engine::price_ticks{100};
  f.quantity = engine::quantity_lots{300'000'000};
  EXPECT_EQ(request_fingerprint(f, "BTC-USD", false), 0xf52725d7db143314ULL);
  // A server-assigned order_id is not part of the request.
  f.id = engine::order_id::from("assigned");
  EXPECT_EQ(request_fingerprint(f, "BTC-USD", false), 0xf52725d7db143314ULL);
}

TEST(idempotency, reused_key_message_names_the_key) {
  EXPECT_EQ(reused_key_message("abc"),
            "idempotency key abc was already used with a different request");
}

}  // namespace
}  // namespace matchd::bus
