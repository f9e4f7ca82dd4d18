// How a request's API key is read from its headers, and which query strings carry one.

#include "credentials.h"

#include <gtest/gtest.h>

namespace matchd::gateway {
namespace {

TEST(Credentials, BearerHeader) {
  const credentials c = read_credentials("Bearer mk_abc123", "");
  EXPECT_EQ(c.secret, "mk_abc123");
  EXPECT_FALSE(c.malformed);
}

TEST(Credentials, SchemeIsCaseInsensitiveAndSpacesAreTrimmed) {
  EXPECT_EQ(read_credentials("bearer mk_x", "").secret, "mk_x");
  EXPECT_EQ(read_credentials("BEARER   mk_x  ", "").secret, "mk_x");
  EXPECT_EQ(read_credentials(" Bearer\tmk_x", "").secret, "mk_x");
}

TEST(Credentials, ApiKeyHeader) {
  EXPECT_EQ(read_credentials("", "mk_abc").secret, "mk_abc");
  EXPECT_EQ(read_credentials("", "  mk_abc ").secret, "mk_abc");
}

TEST(Credentials, NoHeaderIsNoKey) {
  const credentials c = read_credentials("", "");
  EXPECT_FALSE(c.present());
  EXPECT_FALSE(c.malformed);
}

TEST(Credentials, MalformedAuthorizationCountsAsNoKey) {
  for (const char* bad : {"Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b", "mk_abc",
                          "Bearermk_abc", "Token mk_abc", "Bearer mk\x01x"}) {
    const credentials c = read_credentials(bad, "");
    EXPECT_FALSE(c.present()) << bad;
    EXPECT_TRUE(c.malformed) << bad;
  }
}

TEST(Credentials, AMalformedAuthorizationIsNotRescuedByXApiKey) {
  const credentials c = read_credentials("Basic abc", "mk_good");
  EXPECT_FALSE(c.present());
  EXPECT_TRUE(c.malformed);
}

TEST(Credentials, AuthorizationWinsOverXApiKey) {
  EXPECT_EQ(read_credentials("Bearer mk_a", "mk_b").secret, "mk_a");
}

TEST(Credentials, AnyVisibleAsciiIsPartOfASecret) {
  // MATCHD_ADMIN_KEY may hold any printable ASCII but space.
  EXPECT_EQ(read_credentials("Bearer a!#$%&'*+,-./:;<=>?@[]^_`{|}~z", "").secret,
            "a!#$%&'*+,-./:;<=>?@[]^_`{|}~z");
  EXPECT_TRUE(read_credentials("", "a b").malformed);
}

TEST(QueryKey, EveryNameClientsUseForKeysIsSeen) {
  for (const char* q : {"api_key=x", "apikey=x", "key=x", "secret=x", "token=x", "access_token=x",
                        "instrument=BTC-USD&token=x", "TOKEN=x", "Api_Key=x", "api%5Fkey=x", "key",
                        "a=1&key=&b=2"}) {
    EXPECT_TRUE(query_carries_key(q)) << q;
  }
}

TEST(QueryKey, OtherParametersAreNot) {
  for (const char* q : {"", "instrument=BTC-USD", "levels=5&instrument=x", "keys=1", "tokens=2",
                        "monkey=x", "instrument=key", "x=token", "a_very_long_parameter_name=1"}) {
    EXPECT_FALSE(query_carries_key(q)) << q;
  }
}

TEST(AuthFailure, EveryReasonHasALabel) {
  for (std::size_t i = 0; i < kAuthFailureCount; ++i) {
    EXPECT_FALSE(to_string(static_cast<auth_failure>(i)).empty());
  }
  EXPECT_EQ(to_string(auth_failure::query_string), "query_string");
}

}  // namespace
}  // namespace matchd::gateway
