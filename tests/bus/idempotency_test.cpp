// The idempotency rules (bus/idempotency.h): the engine stage's decisions, which outcomes
// hold their key, and the persisted fingerprint encoding.
#include <gtest/gtest.h>
#include <matchd/bus/idempotency.h>
#include <matchd/bus/messages.h>

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
