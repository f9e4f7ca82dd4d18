#include <gtest/gtest.h>
#include <matchd/auth/key_registry.h>
#include <wait.h>

#include <future>
#include <mutex>

namespace matchd::auth {
namespace {

using namespace std::chrono_literals;

// Lets the test change the store "from outside" (as `matchd keys` does) while the
// registry owns its own handle to the same keys.
class shared_store final : public key_store {
 public:
  explicit shared_store(std::shared_ptr<key_store> keys) : keys_(std::move(keys)) {}
  void insert(const key_record& r) override { keys_->insert(r); }
  std::optional<key_record> revoke(key_id id, engine::timestamp_us at) override {
    return keys_->revoke(id, at);
  }
  std::vector<key_record> load_all() override { return keys_->load_all(); }
  bool durable() const noexcept override { return false; }

 private:
  std::shared_ptr<key_store> keys_;
};

// What the listeners saw, from the registry's thread.
struct seen {
  std::mutex mutex;
  std::shared_ptr<const key_table> table;
  std::vector<key_id> revoked;
  int tables = 0;

  key_registry::listener listener() {
    return [this](std::shared_ptr<const key_table> t, const std::vector<key_id>& r) {
      const std::lock_guard lock(mutex);
      table = std::move(t);
      revoked.insert(revoked.end(), r.begin(), r.end());
      ++tables;
    };
  }
  std::shared_ptr<const key_table> last() {
    const std::lock_guard lock(mutex);
    return table;
  }
  std::vector<key_id> revoked_ids() {
    const std::lock_guard lock(mutex);
    return revoked;
  }
};

key_request trader_for(std::string client) {
  key_request r;
  r.key_role = role::trader;
  r.client_ids = {engine::client_id::from(client)};
  r.label = "desk " + client;
  return r;
}

created_key create(key_registry& reg, key_request request) {
  std::promise<created_key> p;
  reg.create(std::move(request), [&](std::optional<created_key> k, std::string error) {
    if (k) {
      p.set_value(std::move(*k));
    } else {
      p.set_exception(std::make_exception_ptr(std::runtime_error(error)));
    }
  });
  return p.get_future().get();
}

std::optional<key_record> revoke(key_registry& reg, key_id id) {
  std::promise<std::optional<key_record>> p;
  reg.revoke(id, [&](std::optional<key_record> r, std::string) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

std::vector<key_record> list(key_registry& reg) {
  std::promise<std::vector<key_record>> p;
  reg.list([&](std::vector<key_record> r, std::string) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

TEST(KeyRegistry, ACreatedKeyIsInTheTableTheListenersSee) {
  seen s;
  key_registry reg({}, make_memory_key_store());
  reg.add_listener(s.listener());
  reg.start();
  ASSERT_NE(s.last(), nullptr) << "no table before start() returned";
  EXPECT_EQ(s.last()->size(), 0u);

  const created_key k = create(reg, trader_for("c1"));
  EXPECT_EQ(k.secret.substr(0, 3), "mk_");
  EXPECT_EQ(k.record.digest, digest_of(k.secret));
  EXPECT_EQ(k.record.label, "desk c1");
  EXPECT_NE(k.record.created_at, 0);
  // `done` ran after the listeners saw the new table.
  const auto p = s.last()->find(k.secret);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->id(), k.record.id);
  EXPECT_EQ(p->key_role(), role::trader);
  EXPECT_TRUE(p->may_act_for(engine::client_id::from("c1")));
  EXPECT_FALSE(p->may_act_for(engine::client_id::from("c2")));
  EXPECT_EQ(reg.table()->find(k.secret), p);
}

TEST(KeyRegistry, ARevokedKeyIsReportedMarkedAndNoLongerFound) {
  seen s;
  key_registry reg({}, make_memory_key_store());
  reg.add_listener(s.listener());
  reg.start();
  const created_key k = create(reg, trader_for("c1"));
  const created_key other = create(reg, trader_for("c2"));
  const auto held = s.last()->find(k.secret);  // a session holding the key
  ASSERT_NE(held, nullptr);

  const auto r = revoke(reg, k.record.id);
  ASSERT_TRUE(r);
  EXPECT_NE(r->revoked_at, 0);
  EXPECT_EQ(s.revoked_ids(), std::vector<key_id>{k.record.id});
  EXPECT_TRUE(held->revoked());
  EXPECT_EQ(s.last()->find(k.secret), nullptr);
  EXPECT_NE(s.last()->find(other.secret), nullptr);

  const auto keys = list(reg);
  ASSERT_EQ(keys.size(), 2u);
  for (const key_record& x : keys) {
    EXPECT_EQ(x.revoked_at != 0, x.id == k.record.id) << format_key_id(x.id);
  }
  EXPECT_FALSE(revoke(reg, 12345)) << "an unknown key";
}

TEST(KeyRegistry, PrincipalsAreTheSameObjectsAcrossTables) {
  seen s;
  key_registry reg({}, make_memory_key_store());
  reg.add_listener(s.listener());
  reg.start();
  const created_key k = create(reg, trader_for("c1"));
  const auto first = s.last();
  create(reg, trader_for("c2"));
  ASSERT_NE(first, s.last());
  EXPECT_EQ(first->find(k.secret), s.last()->find(k.secret));
}

TEST(KeyRegistry, TheBootstrapKeyIsFoundButNeitherStoredNorListed) {
  const std::string secret(kMinBootstrapSecret, 'b');
  std::shared_ptr<key_store> store = make_memory_key_store();
  registry_options o;
  o.bootstrap_secret = secret;
  key_registry reg(o, std::make_unique<shared_store>(store));
  reg.start();
  const auto p = reg.table()->find(secret);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->key_role(), role::admin);
  EXPECT_EQ(p->scope(), nullptr);
  EXPECT_TRUE(p->record().bootstrap);
  EXPECT_NE(p->id(), 0u);
  EXPECT_TRUE(store->load_all().empty());
  EXPECT_TRUE(list(reg).empty());
  EXPECT_FALSE(revoke(reg, p->id()));
  EXPECT_NE(reg.table()->find(secret), nullptr);

  // The same secret is the same key_id at the next start.
  key_registry again(o, make_memory_key_store());
  again.start();
  EXPECT_EQ(again.table()->find(secret)->id(), p->id());
}

TEST(KeyRegistry, KeysAddedAndRevokedThroughTheStoreArePickedUpByThePoll) {
  std::shared_ptr<key_store> store = make_memory_key_store();
  // A key that was there at start.
  key_record old;
  old.id = 0x1111;
  old.key_role = role::viewer;
  old.client_ids = {engine::client_id::from("c1")};
  const std::string old_secret = generate_secret();
  old.digest = digest_of(old_secret);
  old.created_at = 1;
  store->insert(old);

  seen s;
  registry_options o;
  o.poll_interval = 20ms;
  key_registry reg(o, std::make_unique<shared_store>(store));
  reg.add_listener(s.listener());
  reg.start();
  const auto held = s.last()->find(old_secret);
  ASSERT_NE(held, nullptr);

  // Another process (`matchd keys create`) adds a key.
  key_record added;
  added.id = 0x2222;
  added.key_role = role::trader;
  added.client_ids = {engine::client_id::from("c2")};
  const std::string added_secret = generate_secret();
  added.digest = digest_of(added_secret);
  added.created_at = 2;
  store->insert(added);
  ASSERT_TRUE(test::wait_until([&] { return s.last()->find(added_secret) != nullptr; }, 10s))
      << "the key added to the store never reached the listeners";

  // ... and revokes the old one.
  ASSERT_TRUE(store->revoke(old.id, 3));
  // The principal is marked revoked (so find() misses it) before the listeners hear of
  // it: wait for what they hear.
  ASSERT_TRUE(test::wait_until([&] { return !s.revoked_ids().empty(); }, 10s))
      << "the key revoked in the store never reached the listeners";
  EXPECT_EQ(s.last()->find(old_secret), nullptr);
  EXPECT_TRUE(held->revoked());
  EXPECT_EQ(s.revoked_ids(), std::vector<key_id>{old.id});
  EXPECT_NE(s.last()->find(added_secret), nullptr);
}

// A store that fails, as a database that is down does.
class failing_store final : public key_store {
 public:
  void insert(const key_record&) override { throw std::runtime_error("database down"); }
  std::optional<key_record> revoke(key_id, engine::timestamp_us) override {
    throw std::runtime_error("database down");
  }
  std::vector<key_record> load_all() override {
    if (fail_load) throw std::runtime_error("database down");
    return {};
  }
  bool durable() const noexcept override { return true; }
  bool fail_load = false;
};

TEST(KeyRegistry, StoreFailuresAreReportedToTheCaller) {
  auto store = std::make_unique<failing_store>();
  store->fail_load = true;
  key_registry refused({}, std::move(store));
  EXPECT_THROW(refused.start(), std::runtime_error);

  key_registry reg({}, std::make_unique<failing_store>());
  reg.start();
  std::promise<std::string> created;
  reg.create(trader_for("c1"), [&](std::optional<created_key> k, std::string error) {
    created.set_value(k ? std::string("created") : error);
  });
  EXPECT_EQ(created.get_future().get(), "database down");
  std::promise<std::string> revoked;
  reg.revoke(1, [&](std::optional<key_record> r, std::string error) {
    revoked.set_value(r ? std::string("revoked") : error);
  });
  EXPECT_EQ(revoked.get_future().get(), "database down");
  EXPECT_EQ(reg.table()->size(), 0u);
}

}  // namespace
}  // namespace matchd::auth
