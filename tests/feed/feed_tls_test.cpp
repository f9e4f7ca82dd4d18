// wss:// end to end on 127.0.0.1: a local TLS WebSocket server with a self-signed
// certificate made at test time; the feed completes TLS (SNI, chain and host-name
// verification) and the WebSocket handshake when it trusts that certificate, and counts a
// failed handshake as a reconnect when it does not.

#include <gtest/gtest.h>
#include <matchd/feed/order_mapping.h>
#include <matchd/feed/trade_message.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "feed_harness.h"
#include "test_certificate.h"

namespace matchd::feed::test {
namespace {

using namespace std::chrono_literals;

// The SNI host names the server saw, one per TLS handshake (empty: none sent).
struct sni_log {
  std::mutex mutex;
  std::vector<std::string> names;

  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return names;
  }
};

int record_sni(SSL* ssl, int*, void* arg) {
  auto* log = static_cast<sni_log*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  std::lock_guard lock(log->mutex);
  log->names.emplace_back(name != nullptr ? name : "");
  return SSL_TLSEXT_ERR_OK;
}

class feed_tls : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "matchd-feed-tls-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    cert_ = make_self_signed_certificate(dir_, "localhost");
    server_tls_.use_certificate_chain_file(cert_.cert_file.string());
    server_tls_.use_private_key_file(cert_.key_file.string(), boost::asio::ssl::context::pem);
    // SSL_CTX_set_tlsext_servername_callback/_arg, spelled out: the macros hide C casts.
    SSL_CTX* ctx = server_tls_.native_handle();
    SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                          reinterpret_cast<void (*)()>(&record_sni));
    SSL_CTX_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG, 0, &sni_);
    feed_replay::replay_options r;
    r.lines = fixture_lines();
    r.speed = 0;
    replay_ = std::make_unique<local_replay>(std::move(r), &server_tls_);
  }

  void TearDown() override {
    replay_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string url(const std::string& host) const {
    return "wss://" + host + ":" + std::to_string(replay_->port()) + "/ws/btcusdt@trade";
  }

  std::filesystem::path dir_;
  test_certificate cert_;
  sni_log sni_;
  boost::asio::ssl::context server_tls_{boost::asio::ssl::context::tls_server};
  std::unique_ptr<local_replay> replay_;
};

TEST_F(feed_tls, trusts_the_local_ca_and_receives_trades_over_wss) {
  feed_options o = test_options(url("localhost"));
  o.ca_file = cert_.cert_file.string();
  local_feed feed(o);
  feed.start();
  ASSERT_TRUE(wait_until([&] { return feed.accepted_count() >= fixture_lines().size(); }, 5s))
      << "accepted " << feed.accepted_count() << "\n"
      << feed.metrics();
  const auto first = parse_trade_message(fixture_lines().front());
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(feed.accepted().front().place.id.view(), feed_order_id(first->symbol, first->trade_id));
  const feed_stats s = feed.stats();
  EXPECT_EQ(s.connections, 1u);
  EXPECT_EQ(s.reconnects, 0u);
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(replay_->server().connections(), 1u);
  EXPECT_EQ(sni_.snapshot(), std::vector<std::string>{"localhost"}) << "SNI names the host";
}

TEST_F(feed_tls, without_the_ca_the_handshake_fails_and_is_retried) {
  feed_options o = test_options(url("localhost"));  // verify on, system store only
  local_feed feed(o);
  feed.start();
  ASSERT_TRUE(wait_until([&] { return feed.stats().reconnects >= 1; }, 5s));
  const feed_stats s = feed.stats();
  EXPECT_EQ(s.connections, 0u);
  EXPECT_EQ(s.messages, 0u);
  EXPECT_EQ(feed.accepted_count(), 0u);
  EXPECT_FALSE(s.connected);
  EXPECT_EQ(replay_->server().connections(), 0u);
  EXPECT_NE(feed.metrics().find("feed_connection_errors_total{stage=\"tls\"}"), std::string::npos)
      << feed.metrics();
}

TEST_F(feed_tls, refuses_a_certificate_for_another_host_name) {
  // Trusted chain, but the certificate names "localhost" and we asked for 127.0.0.1.
  feed_options o = test_options(url("127.0.0.1"));
  o.ca_file = cert_.cert_file.string();
  local_feed feed(o);
  feed.start();
  ASSERT_TRUE(wait_until([&] { return feed.stats().reconnects >= 1; }, 5s));
  EXPECT_EQ(feed.stats().connections, 0u);
  EXPECT_EQ(feed.accepted_count(), 0u);
  // No SNI for an address literal (RFC 6066); the failure is the host-name check.
  ASSERT_FALSE(sni_.snapshot().empty());
  EXPECT_EQ(sni_.snapshot().front(), "");
}

TEST_F(feed_tls, connects_without_verification_only_when_told_to) {
  feed_options o = test_options(url("localhost"));
  o.verify_peer = false;
  local_feed feed(o);
  feed.start();
  EXPECT_TRUE(wait_until([&] { return feed.accepted_count() >= fixture_lines().size(); }, 5s));
}

}  // namespace
}  // namespace matchd::feed::test
