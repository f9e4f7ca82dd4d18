#include <gtest/gtest.h>
#include <matchd/export/webhook_sender.h>
#include <matchd/export/webhook_signature.h>

#include <string>

namespace matchd::event_export {
namespace {

// Expected values from the command line, independent of this code:
//   printf '%s' '1700000000.{"event":"trade.executed","id":42}' |
//     openssl dgst -sha256 -hmac 'whsec_0123456789abcdef'
TEST(WebhookSignature, MatchesAnIndependentHmac) {
  EXPECT_EQ(webhook_signature("whsec_0123456789abcdef", 1700000000,
                              R"({"event":"trade.executed","id":42})"),
            "t=1700000000,v1=c5956377fe80ed826847fe7219e662e0a90bbe3cead127d3b6ed370eac46f3a5");
}

// printf '%s' '0.' | openssl dgst -sha256 -hmac 'k'
TEST(WebhookSignature, EmptyBody) {
  EXPECT_EQ(webhook_signature("k", 0, ""),
            "t=0,v1=6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2ac1df1c93dfe336f329167641e7");
}

// printf '%s' '5.' | openssl dgst -sha256 -hmac ''
TEST(WebhookSignature, EmptySecretIsHmacsEmptyKey) {
  EXPECT_EQ(webhook_signature("", 5, ""),
            "t=5,v1=fc5b077a9ffe9bf9c7d09305686b503e0f5d0897b494e81318228250335b17ee");
}

TEST(WebhookSignature, DependsOnTimeSecretAndBody) {
  const std::string base = webhook_signature("s", 100, "{}");
  EXPECT_NE(webhook_signature("s", 101, "{}").substr(8), base.substr(8));
  EXPECT_NE(webhook_signature("t", 100, "{}"), base);
  EXPECT_NE(webhook_signature("s", 100, "{ }"), base);
}

TEST(WebhookSecret, ShapeAndUniqueness) {
  const std::string a = new_webhook_secret();
  const std::string b = new_webhook_secret();
  ASSERT_EQ(a.size(), 6u + 64u);
  EXPECT_EQ(a.substr(0, 6), "whsec_");
  for (const char c : a.substr(6)) {
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << a;
  }
  EXPECT_NE(a, b);
}

webhook_url parsed(std::string_view url) {
  std::string why;
  const auto out = parse_webhook_url(url, &why);
  EXPECT_TRUE(out.has_value()) << url << ": " << why;
  return out.value_or(webhook_url{});
}

TEST(ParseWebhookUrl, Accepts) {
  webhook_url u = parsed("https://hooks.example.com/matchd/events?x=1&y=2");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "hooks.example.com");
  EXPECT_EQ(u.port, "443");
  EXPECT_EQ(u.target, "/matchd/events?x=1&y=2");

  u = parsed("http://example.com");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.port, "80");
  EXPECT_EQ(u.target, "/");

  u = parsed("HTTP://127.0.0.1:8080");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "8080");
  EXPECT_EQ(u.target, "/");

  u = parsed("https://[::1]:9443/hook");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "9443");
  EXPECT_EQ(u.target, "/hook");

  u = parsed("http://[2001:db8::7]");
  EXPECT_EQ(u.host, "2001:db8::7");
  EXPECT_EQ(u.port, "80");

  u = parsed("http://example.com?only=query");
  EXPECT_EQ(u.target, "/?only=query");

  u = parsed("http://my_host.internal:65535/a%20b");
  EXPECT_EQ(u.host, "my_host.internal");
  EXPECT_EQ(u.port, "65535");
  EXPECT_EQ(u.target, "/a%20b");

  u = parsed("http://example.com:00080/");
  EXPECT_EQ(u.port, "80");

  EXPECT_TRUE(parse_webhook_url("http://example.com/", nullptr).has_value());
}

void expect_refused(std::string_view url) {
  std::string why;
  EXPECT_FALSE(parse_webhook_url(url, &why).has_value()) << url;
  EXPECT_FALSE(why.empty()) << url;
  EXPECT_EQ(why.find('\n'), std::string::npos) << why;
}

TEST(ParseWebhookUrl, Refuses) {
  expect_refused("");
  expect_refused("example.com/hook");
  expect_refused("/hook");
  expect_refused("ftp://example.com/");
  expect_refused("ws://example.com/");
  expect_refused("httpx://example.com/");
  expect_refused("https://user:pass@example.com/");
  expect_refused("https://user@example.com/");
  expect_refused("https://example.com/hook#frag");
  expect_refused("https://example.com#");
  expect_refused("https:///hook");
  expect_refused("https://:443/hook");
  expect_refused("https://example.com:/");
  expect_refused("https://example.com:0/");
  expect_refused("https://example.com:65536/");
  expect_refused("https://example.com:123456/");
  expect_refused("https://example.com:-1/");
  expect_refused("https://example.com:80a/");
  expect_refused("https://example.com/a b");
  expect_refused("https://example.com/\ta");
  expect_refused(std::string_view("https://example.com/\0", 21));
  expect_refused("https://example.com/\x7f");
  expect_refused("https://example.com/\xc3\xa9");
  expect_refused("https://exa$mple.com/");
  expect_refused("https://300.1.2.3/");
  expect_refused("https://[::1/");
  expect_refused("https://[]/");
  expect_refused("https://[not-v6]/");
  expect_refused("https://[::1]x/");
  expect_refused("https://[fe80::1%25eth0]/");
  expect_refused("https://::1/");

  const std::string longest = "https://example.com/" + std::string(2048 - 20, 'a');
  ASSERT_EQ(longest.size(), 2048u);
  EXPECT_TRUE(parse_webhook_url(longest, nullptr).has_value());
  expect_refused(longest + "a");
}

}  // namespace
}  // namespace matchd::event_export
