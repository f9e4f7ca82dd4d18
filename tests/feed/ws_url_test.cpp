#include <gtest/gtest.h>
#include <matchd/feed/ws_url.h>

namespace matchd::feed {
namespace {

TEST(parse_ws_url, splits_the_binance_raw_stream_url) {
  const auto u = parse_ws_url("wss://stream.binance.com:9443/ws/btcusdt@trade");
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "stream.binance.com");
  EXPECT_EQ(u->port, "9443");
  EXPECT_EQ(u->target, "/ws/btcusdt@trade");
  EXPECT_EQ(u->host_header(), "stream.binance.com:9443");
}

TEST(parse_ws_url, keeps_the_query_of_a_combined_stream) {
  const auto u =
      parse_ws_url("wss://stream.binance.com/stream?streams=btcusdt@trade/ethusdt@trade");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/stream?streams=btcusdt@trade/ethusdt@trade");
  EXPECT_EQ(u->host_header(), "stream.binance.com");
}

TEST(parse_ws_url, defaults_port_and_target) {
  const auto plain = parse_ws_url("ws://127.0.0.1");
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->port, "80");
  EXPECT_EQ(plain->target, "/");
  EXPECT_EQ(plain->host_header(), "127.0.0.1");
  EXPECT_EQ(parse_ws_url("ws://localhost:8080?x=1")->target, "/?x=1");
  EXPECT_EQ(parse_ws_url("WSS://Example.COM/x")->host, "Example.COM");
  EXPECT_TRUE(parse_ws_url("WSS://Example.COM/x")->tls);
}

TEST(parse_ws_url, reads_bracketed_ipv6_addresses) {
  const auto u = parse_ws_url("ws://[::1]:9000/ws/x");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "9000");
  EXPECT_EQ(u->host_header(), "[::1]:9000");
  EXPECT_EQ(parse_ws_url("ws://[::1]/")->host_header(), "[::1]");
}

TEST(parse_ws_url, refuses_anything_else) {
  for (const char* bad :
       {"", "http://stream.binance.com/ws/x", "stream.binance.com:9443/ws/x", "wss://",
        "wss:///ws/x", "wss://host:/x", "wss://host:0/x", "wss://host:65536/x", "wss://host:9a/x",
        "wss://user@host/x", "wss://host/x#frag", "ws://[::1/x", "ws://[]/x", "ws://[::1]x/",
        "ws://ho st/x", "ws://host/a b"}) {
    EXPECT_FALSE(parse_ws_url(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace matchd::feed
