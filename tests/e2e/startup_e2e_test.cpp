// What a newcomer meets when matchd cannot start as asked: a one-line error with a hint
// instead of the whole help, a port in use named with the flag and the variable that change
// it, a malformed --db refused before anything starts, `--version`, and `--help` examples
// that match the quick start's own database. Each exit status is the documented one.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "run_to_exit.h"

namespace matchd::e2e {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitCannotListen = 3;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A usage error: exactly "matchd: <error>" and the hint, on stderr; nothing on stdout.
void expect_one_line_usage_error(const finished_run& r, const std::string& mentions) {
  EXPECT_TRUE(r.exit.exited) << r.describe();
  EXPECT_EQ(r.exit.code, kExitUsage) << r.describe();
  const auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.describe();
  EXPECT_EQ(lines[0].rfind("matchd: ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(mentions), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1], "try 'matchd --help'");
  EXPECT_EQ(r.out, "");
}

TEST(startup, version_prints_the_project_version) {
  const finished_run r = run_to_exit({"--version"});
  EXPECT_TRUE(r.exit.clean()) << r.describe();
  EXPECT_EQ(r.out, std::string("matchd ") + MATCHD_EXPECTED_VERSION + "\n");
}

TEST(startup, an_unknown_flag_is_one_line_and_a_hint) {
  expect_one_line_usage_error(run_to_exit({"--no-such-flag"}), "no-such-flag");
}

TEST(startup, a_bad_value_is_one_line_and_a_hint) {
  expect_one_line_usage_error(run_to_exit({"--io-threads", "many"}), "io-threads");
  expect_one_line_usage_error(run_to_exit({"--io-threads", "0"}), "--io-threads");
  expect_one_line_usage_error(run_to_exit({"--listen", "8080"}), "MATCHD_LISTEN");
  expect_one_line_usage_error(run_to_exit({"--listen", "localhost:8080"}), "--listen");
  expect_one_line_usage_error(run_to_exit({"--log-level", "loud"}), "--log-level");
  // The export reads the journal: no --db, no export.
  expect_one_line_usage_error(run_to_exit({"--nats-url", "nats://127.0.0.1:4222"}), "--db");
  expect_one_line_usage_error(run_to_exit({"--db", "host=127.0.0.1", "--nats-url",
                                           "nats://127.0.0.1:4222", "--nats-stream", "a.b"}),
                              "--nats-stream");
  expect_one_line_usage_error(run_to_exit({"--db", "host=127.0.0.1", "--nats-url",
                                           "nats://127.0.0.1:4222", "--nats-subjects", "some"}),
                              "--nats-subjects");
}

// The price band and max notional ride on --instrument (docs/api.md, Price bands).
TEST(startup, a_bad_instrument_rule_is_one_line_and_a_hint) {
  for (const char* spec :
       {"BTC-USD:0.01:0.00000001:band_bps=0", "BTC-USD:0.01:0.00000001:max_notional=0.001",
        "BTC-USD:0.01:0.00000001:collar=5"}) {
    expect_one_line_usage_error(run_to_exit({"--instrument", spec}), "band_bps");
  }
}

TEST(startup, a_malformed_db_connection_string_is_refused_before_starting) {
  for (const char* conninfo : {"garbage", "host=127.0.0.1 no_such_keyword=1", "dbname='open"}) {
    const finished_run r = run_to_exit({"--db", conninfo, "--listen", "127.0.0.1:0"});
    expect_one_line_usage_error(r, "--db (MATCHD_DB)");
  }
}

TEST(startup, a_port_in_use_names_the_address_the_flag_and_the_variable) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor taken(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const std::string address = "127.0.0.1:" + std::to_string(taken.local_endpoint().port());

  const finished_run r = run_to_exit({"--listen", address});
  EXPECT_TRUE(r.exit.exited) << r.describe();
  EXPECT_EQ(r.exit.code, kExitCannotListen) << r.describe();
  for (const std::string& word :
       {address, std::string("in use"), std::string("--listen"), std::string("MATCHD_LISTEN")}) {
    EXPECT_NE(r.err.find(word), std::string::npos) << word << " missing from:\n" << r.err;
  }
}

TEST(startup, help_shows_the_exit_codes_and_the_quick_start_database) {
  const finished_run r = run_to_exit({"--help"});
  EXPECT_TRUE(r.exit.clean()) << r.describe();
  EXPECT_NE(r.out.find("--version"), std::string::npos);
  EXPECT_NE(r.out.find("Exit status"), std::string::npos);
  // The example connection string is the one scripts/dev-postgres.sh prints by default.
  std::ifstream script(MATCHD_SOURCE_DIR "/scripts/dev-postgres.sh");
  ASSERT_TRUE(script) << "cannot read scripts/dev-postgres.sh";
  std::stringstream text;
  text << script.rdbuf();
  EXPECT_NE(text.str().find("port=${MATCHD_PG_PORT:-55432}"), std::string::npos)
      << "dev-postgres.sh's default port moved: update --help's examples";
  EXPECT_NE(text.str().find("conninfo=\"host=127.0.0.1 port=$port user=postgres dbname=matchd\""),
            std::string::npos)
      << "dev-postgres.sh's connection string changed: update --help's examples";
  EXPECT_NE(r.out.find("host=127.0.0.1 port=55432 user=postgres dbname=matchd"), std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace matchd::e2e
