#include <gtest/gtest.h>
#include <matchd/auth/keys.h>

#include <string>

namespace matchd::auth {
namespace {

std::shared_ptr<principal> make_key(key_id id, const std::string& secret, role r = role::trader) {
  key_record rec;
  rec.id = id;
  rec.key_role = r;
  if (r != role::admin) rec.client_ids = {engine::client_id::from("c1")};
  rec.digest = digest_of(secret);
  return std::make_shared<principal>(rec, 0, 0);
}

TEST(KeyTable, FindsAKeyByItsSecretAndById) {
  key_table t;
  const std::string secret = generate_secret();
  const auto p = make_key(7, secret);
  t.add(p);
  t.add(make_key(8, generate_secret(), role::admin));
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.find(secret), p);
  EXPECT_EQ(t.find_id(7), p);
  EXPECT_EQ(t.find_id(9), nullptr);
}

TEST(KeyTable, AnUnknownSecretFindsNothing) {
  key_table t;
  const std::string secret = generate_secret();
  t.add(make_key(7, secret));
  EXPECT_EQ(t.find(generate_secret()), nullptr);
  EXPECT_EQ(t.find(""), nullptr);
  EXPECT_EQ(t.find(secret.substr(0, secret.size() - 1)), nullptr);
}

TEST(KeyTable, ARevokedKeyIsNotFoundBySecret) {
  key_table t;
  const std::string secret = generate_secret();
  const auto p = make_key(7, secret);
  t.add(p);
  ASSERT_EQ(t.find(secret), p);
  p->mark_revoked();
  EXPECT_EQ(t.find(secret), nullptr);
  EXPECT_EQ(t.find_id(7), p);  // still known, for listing and for closing its sessions
}

// Two real secrets whose digests share 8 bytes cannot be found; a record with a made-up
// digest stands for the second one.
TEST(KeyTable, KeysWhoseDigestsShareAPrefixAreToldApart) {
  const std::string secret = generate_secret();
  key_record twin;
  twin.id = 1;
  twin.key_role = role::admin;
  twin.digest = digest_of(secret);
  twin.digest[31] ^= 0x01;  // the same first 8 bytes, not the same digest
  const auto impostor = std::make_shared<principal>(twin, 0, 0);

  key_table only_twin;
  only_twin.add(impostor);
  EXPECT_EQ(only_twin.find(secret), nullptr);

  key_table both;
  both.add(impostor);  // first in the prefix's list
  const auto p = make_key(2, secret);
  both.add(p);
  EXPECT_EQ(both.find(secret), p);
}

}  // namespace
}  // namespace matchd::auth
