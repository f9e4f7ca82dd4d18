// The web client (web/, served at /) in a real browser: tests/web/page_test.mjs drives Debian's
// chromium with playwright-core (pinned in tools/browser) against the daemon started here in
// durable mode with --auth keys and two trader keys, alice's and bob's. The steps and what each
// checks are in that file; this runs it and fails with its report when any step fails.
//
// Needs node, chromium (scripts/install-deps.sh installs both) and tools/browser's modules
// (npm ci there; install-deps.sh does it too).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "child_process.h"
#include "daemon_process.h"
#include "durability_checks.h"
#include "http_client.h"
#include "pg_server.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAdminSecret = "mk_web_client_test_admin_key_0123456789";

std::string trader_key(e2e::http_client& http, const std::string& client) {
  const e2e::http_response r =
      http.post_json("/admin/keys", {{"role", "trader"}, {"client_ids", {client}}},
                     {{"Authorization", std::string("Bearer ") + kAdminSecret}});
  EXPECT_EQ(r.status, 201u) << r.describe();
  return r.json().value("secret", "");
}

TEST(web_client, a_trader_can_trade_watch_and_look_back_in_a_real_browser) {
  const std::filesystem::path tests = MATCHD_WEB_TESTS_DIR;
  const std::filesystem::path modules =
      tests.parent_path().parent_path() / "tools/browser/node_modules/playwright-core";
  ASSERT_TRUE(std::filesystem::exists(modules))
      << modules << " is missing: run `npm ci` in tools/browser (scripts/install-deps.sh does)";
  const char* chromium = std::getenv("MATCHD_CHROMIUM");
  const std::string browser = chromium != nullptr ? chromium : "/usr/bin/chromium";
  ASSERT_TRUE(std::filesystem::exists(browser))
      << browser << " is missing: apt-get install chromium (scripts/install-deps.sh does)";

  pg_server pg;
  pg.start();
  ::setenv("MATCHD_ADMIN_KEY", kAdminSecret, 1);
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string(), {"--auth", "keys"}));
  ::unsetenv("MATCHD_ADMIN_KEY");
  e2e::http_client http(daemon.port(), 10s);
  const std::string alice = trader_key(http, "alice");
  const std::string bob = trader_key(http, "bob");
  ASSERT_FALSE(alice.empty() || bob.empty());

  // The page itself: served from the binary, with its policy and a validator.
  const e2e::http_response page = http.get("/");
  ASSERT_EQ(page.status, 200u) << page.describe();
  EXPECT_NE(page.body.find("<title>matchd</title>"), std::string::npos);
  EXPECT_NE(page.header("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  const std::string etag = page.header("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(http.request("GET", "/", {}, {{"If-None-Match", etag}}).status, 304u);
  EXPECT_EQ(http.get("/ui/app.js").header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(http.get("/ui/missing.js").status, 404u);

  const std::filesystem::path dir = test::make_temp_dir("matchd-web");
  test::spawn_options options = test::logged_to(dir / "node.log");
  ::setenv("MATCHD_URL", ("http://127.0.0.1:" + std::to_string(daemon.port())).c_str(), 1);
  ::setenv("MATCHD_KEY_ALICE", alice.c_str(), 1);
  ::setenv("MATCHD_KEY_BOB", bob.c_str(), 1);
  ::setenv("MATCHD_CHROMIUM", browser.c_str(), 1);
  const pid_t node = test::spawn_child({"/usr/bin/env", "node", "--test", "--test-reporter=spec",
                                        (tests / "page_test.mjs").string()},
                                       options);
  const test::process_exit exit = test::wait_for_child(node, 150s);
  const std::string report = test::read_whole_file(dir / "node.log");
  EXPECT_TRUE(exit.clean()) << exit.describe() << "\n" << report;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace matchd::pgtest
