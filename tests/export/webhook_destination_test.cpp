#include <gtest/gtest.h>
#include <matchd/export/webhook_destination.h>

#include <boost/asio/ip/address.hpp>
#include <string>

namespace matchd::event_export {
namespace {

bool is_public(const std::string& text) {
  return is_public_address(boost::asio::ip::make_address(text));
}

TEST(WebhookDestination, PublicAddressesAreAllowed) {
  for (const char* a :
       {"1.1.1.1", "8.8.8.8", "93.184.216.34", "172.15.255.255", "172.32.0.1", "100.63.255.255",
        "100.128.0.1", "169.253.0.1", "192.169.0.1", "2606:4700:4700::1111",
        "2a00:1450:4001:800::200e", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
    EXPECT_TRUE(is_public(a)) << a;
  }
}

TEST(WebhookDestination, LoopbackPrivateAndReservedAddressesAreNot) {
  for (const char* a : {"0.0.0.0",
                        "0.1.2.3",
                        "10.0.0.1",
                        "10.255.255.255",
                        "100.64.0.1",
                        "100.127.255.255",
                        "127.0.0.1",
                        "127.255.0.9",
                        "169.254.169.254",
                        "172.16.0.1",
                        "172.31.255.255",
                        "192.0.0.8",
                        "192.0.2.1",
                        "192.168.1.1",
                        "198.18.0.1",
                        "198.19.255.255",
                        "198.51.100.7",
                        "203.0.113.9",
                        "224.0.0.1",
                        "239.255.255.250",
                        "240.0.0.1",
                        "255.255.255.255",
                        "::",
                        "::1",
                        "::ffff:127.0.0.1",
                        "::ffff:10.1.2.3",
                        "::ffff:169.254.169.254",
                        "64:ff9b::7f00:1",
                        "fc00::1",
                        "fd12:3456::1",
                        "fe80::1",
                        "febf::1",
                        "ff02::1",
                        "2001:db8::1",
                        "::127.0.0.1"}) {
    EXPECT_FALSE(is_public(a)) << a;
  }
}

TEST(WebhookDestination, RegistrationRefusesHttpAndPrivateLiteralsUnlessAllowed) {
  const auto url = [](const std::string& text) {
    std::string why;
    const auto parsed = parse_webhook_url(text, &why);
    EXPECT_TRUE(parsed.has_value()) << text << ": " << why;
    return parsed.value_or(webhook_url{});
  };
  const webhook_destinations strict;
  EXPECT_EQ(destination_refusal(url("https://hooks.example.com/x"), strict), "");
  EXPECT_EQ(destination_refusal(url("https://8.8.8.8/x"), strict), "");
  EXPECT_NE(destination_refusal(url("http://hooks.example.com/x"), strict), "");
  for (const char* refused :
       {"https://127.0.0.1/x", "https://[::1]:8443/x", "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/x", "https://[fd00::5]/x"}) {
    EXPECT_NE(destination_refusal(url(refused), strict).find("--webhook-allow-private"),
              std::string::npos)
        << refused;
  }
  // A name is judged when it is resolved, at each delivery (the sender's test).
  EXPECT_EQ(destination_refusal(url("https://localhost/x"), strict), "");

  webhook_destinations open;
  open.allow_http = true;
  open.allow_private = true;
  EXPECT_EQ(destination_refusal(url("http://127.0.0.1:9000/x"), open), "");
  EXPECT_EQ(destination_refusal(url("https://[::1]/x"), open), "");
}

}  // namespace
}  // namespace matchd::event_export
