#include <gtest/gtest.h>
#include <matchd/store/connection_errors.h>
#include <matchd/store/session_settings.h>

#include <stdexcept>
#include <string>

namespace matchd::store {
namespace {

using namespace std::chrono_literals;

bool has(const std::string& conninfo, const std::string& setting) {
  return (" " + conninfo + " ").find(" " + setting + " ") != std::string::npos;
}

TEST(session_settings, adds_the_deadlines_and_keepalives_to_a_key_value_string) {
  const std::string c = with_session_settings("host=127.0.0.1 port=5432 dbname=matchd", 5000ms);
  EXPECT_TRUE(has(c, "host='127.0.0.1'")) << c;
  EXPECT_TRUE(has(c, "port='5432'")) << c;
  EXPECT_TRUE(has(c, "dbname='matchd'")) << c;
  EXPECT_TRUE(has(c, "connect_timeout='5'")) << c;
  EXPECT_TRUE(has(c, "tcp_user_timeout='5000'")) << c;
  EXPECT_TRUE(has(c, "keepalives='1'")) << c;
  EXPECT_TRUE(has(c, "keepalives_idle='5'")) << c;
  EXPECT_TRUE(has(c, "keepalives_interval='2'")) << c;
  EXPECT_TRUE(has(c, "keepalives_count='3'")) << c;
  EXPECT_TRUE(has(c, "application_name='matchd'")) << c;
  EXPECT_EQ(conninfo_syntax_error(c), "") << c;
}

TEST(session_settings, reads_a_uri_too) {
  const std::string c = with_session_settings("postgresql://u@db.example:6543/orders", 2000ms);
  EXPECT_TRUE(has(c, "host='db.example'")) << c;
  EXPECT_TRUE(has(c, "port='6543'")) << c;
  EXPECT_TRUE(has(c, "user='u'")) << c;
  EXPECT_TRUE(has(c, "dbname='orders'")) << c;
  EXPECT_TRUE(has(c, "connect_timeout='2'")) << c;
}

TEST(session_settings, what_the_operator_set_is_kept) {
  const std::string c = with_session_settings(
      "dbname=matchd connect_timeout=30 keepalives=0 application_name=desk-7", 5000ms);
  EXPECT_TRUE(has(c, "connect_timeout='30'")) << c;
  EXPECT_TRUE(has(c, "keepalives='0'")) << c;
  EXPECT_TRUE(has(c, "application_name='desk-7'")) << c;
  EXPECT_FALSE(has(c, "connect_timeout='5'")) << c;
}

TEST(session_settings, connect_timeout_is_whole_seconds_and_at_least_libpqs_minimum) {
  EXPECT_TRUE(has(with_session_settings("dbname=m", 1000ms), "connect_timeout='2'"));
  EXPECT_TRUE(has(with_session_settings("dbname=m", 2500ms), "connect_timeout='3'"));
}

TEST(session_settings, quotes_and_backslashes_survive) {
  const std::string c = with_session_settings(R"(dbname=m password='it\'s \\x')", 5000ms);
  EXPECT_TRUE(has(c, R"(password='it\'s \\x')")) << c;
  EXPECT_EQ(conninfo_syntax_error(c), "") << c;
}

TEST(session_settings, an_unparsable_string_throws) {
  EXPECT_THROW((void)with_session_settings("dbname", 5000ms), std::invalid_argument);
}

}  // namespace
}  // namespace matchd::store
