#include "config.h"

#include <matchd/auth/keys.h>
#include <matchd/store/connection_errors.h>

#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string_view>

#include "exit_codes.h"

namespace matchd::app {

namespace po = boost::program_options;

namespace {

// --listen HOST:PORT, with [v6]:port for IPv6; HOST is an IP address (no name lookup).
bool parse_listen(const std::string& text, gateway::server_options& out) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const int value = std::stoi(port);
  if (value > 65535) return false;
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec) return false;
  out.host = host;
  out.port = static_cast<std::uint16_t>(value);
  return true;
}

// --retention: a whole number and a unit (ms, s, m, h, d; none = seconds), e.g. 24h, 90m.
// Microseconds, or 0 when unreadable or not positive.
std::int64_t parse_duration_us(const std::string& text) {
  const auto digits = text.find_first_not_of("0123456789");
  if (digits == 0 || digits > 12) return 0;
  const std::int64_t n = std::stoll(text.substr(0, digits));
  const std::string unit = digits == std::string::npos ? "s" : text.substr(digits);
  std::int64_t us_per_unit = 0;
  if (unit == "ms") us_per_unit = 1'000;
  if (unit == "s") us_per_unit = 1'000'000;
  if (unit == "m") us_per_unit = 60'000'000;
  if (unit == "h") us_per_unit = 3'600'000'000;
  if (unit == "d") us_per_unit = 86'400'000'000;
  if (us_per_unit == 0 || n > std::numeric_limits<std::int64_t>::max() / us_per_unit) return 0;
  return n * us_per_unit;
}

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// One line naming the problem and one pointing to --help: the whole help would scroll the
// error out of sight.
parse_outcome usage_error(const std::string& message) {
  std::cerr << "matchd: " << message << "\ntry 'matchd --help'\n";
  return {std::nullopt, kExitUsage};
}

constexpr const char* kExitStatusHelp =
    "Exit status: 0 stopped cleanly (or --help, --version); 1 fatal error while running;\n"
    "2 unknown flag or bad value; 3 cannot listen on the --listen address (in use, not\n"
    "local); 4 the database refused --db (authentication failed, no such role or database);\n"
    "5 another matchd holds the database (at start, or found on a reconnect).\n"
    "A database that cannot be reached is waited for (/readyz: 503 database unavailable).";

}  // namespace

parse_outcome parse_command_line(int argc, char** argv) {
  config cfg;
  std::string listen;
  std::vector<std::string> instrument_specs;
  std::string feed_url;
  std::vector<std::string> feed_symbols;
  feed::feed_options feed_opts;
  std::string feed_guard;
  std::string retention;
  std::string auth_mode;
  std::string fees;
  std::string settlement_time;
  std::string nats_subjects;
  std::string webhook_horizon;
  po::options_description desc(
      "matchd: an exchange matching-engine daemon\n\n"
      "Usage: matchd [options]\n"
      "       matchd migrate --db CONNSTRING   (apply migrations, exit)\n"
      "       matchd keys create|list|revoke --db CONNSTRING ...   (API keys offline; matchd keys "
      "--help)\n\n"
      "Examples (the database is the one scripts/dev-postgres.sh starts and prints):\n"
      "  matchd                                    in memory on 127.0.0.1:8080\n"
      "  matchd --db \"host=127.0.0.1 port=55432 user=postgres dbname=matchd\"\n"
      "  matchd --listen 127.0.0.1:9090 --instrument BTC-USD:0.01:0.00000001\n\n"
      "Options (environment variable in brackets)");
  // clang-format off
  desc.add_options()
    ("help,h", "print this help and exit")
    ("version", "print the version and exit")
    ("listen", po::value(&listen)->default_value(env_or("MATCHD_LISTEN", "127.0.0.1:8080")),
     "HOST:PORT to serve HTTP and WebSocket on; port 0 picks a free port [MATCHD_LISTEN]")
    ("instrument", po::value(&instrument_specs)->composing(),
     "SYMBOL:TICK:LOT[:band_bps=N][:max_notional=X], repeatable (default "
     "BTC-USD:0.01:0.00000001) [MATCHD_INSTRUMENTS, comma-separated]")
    ("fees", po::value(&fees)->default_value(env_or("MATCHD_FEES", "0,0")),
     "MAKER_BPS,TAKER_BPS: what each side of a trade pays, in whole basis points (0 to 1000) "
     "of its notional, in quote rounded half up to the price precision [MATCHD_FEES]")
    ("settlement-time", po::value(&settlement_time)->default_value(env_or("MATCHD_SETTLEMENT_TIME", ""), ""),
     "HH:MM (UTC): make a settlement with that cutoff every day (with --db) "
     "[MATCHD_SETTLEMENT_TIME]")
    ("io-threads", po::value(&cfg.server.io_threads)->default_value(1),
     "I/O (network) threads")
    ("max-connections", po::value(&cfg.server.max_connections)->default_value(10000),
     "open connections at most, lowered to what the file descriptor limit allows; 16 more "
     "serve /healthz, /readyz and /metrics only; beyond them 503 overloaded and closed")
    ("max-connections-per-address", po::value(&cfg.server.max_connections_per_address)->default_value(0),
     "open connections from one client address at most; beyond it 503 overloaded and closed; "
     "0 = a quarter of the connection cap")
    ("queue-capacity", po::value(&cfg.server.inflight_budget)->default_value(8192),
     "order commands in flight at most; beyond it orders get 503 overloaded")
    ("auth", po::value(&auth_mode)->default_value(env_or("MATCHD_AUTH", ""), ""),
     "keys: every route but health, metrics and public market data needs an API key "
     "(Authorization: Bearer or X-API-Key); none: no keys (refused on a non-loopback "
     "--listen without --insecure-no-auth). Default: none on loopback, keys otherwise "
     "[MATCHD_AUTH]. MATCHD_ADMIN_KEY (32+ characters) is an admin key, never stored")
    ("insecure-no-auth", "allow --auth none on a non-loopback --listen address")
    ("rate-limit", po::value(&cfg.server.rate_limit_per_client)->default_value(0),
     "orders per second per API key without its own limit (--auth keys), or per client_id "
     "(--auth none); 0 disables the limit")
    ("rate-burst", po::value(&cfg.server.rate_burst_per_client)->default_value(0),
     "burst size of that limit; 0 = the rate")
    ("subscriber-buffer", po::value(&cfg.server.subscriber_buffer)->default_value(4096),
     "frames queued per stream subscriber before it is closed as too slow (1008)")
    ("idle-timeout", po::value<int>()->default_value(60),
     "seconds an idle HTTP connection is kept, and an SSE stream whose write waits")
    ("ws-idle-timeout", po::value<int>()->default_value(60),
     "seconds a WebSocket may stay silent: pinged after half, closed after all of it")
    ("ws-message-timeout", po::value<int>()->default_value(10),
     "seconds a WebSocket message may take from its first frame to its last")
    ("expected-orders", po::value(&cfg.expected_orders)->default_value(1 << 16),
     "orders per book to preallocate for (id index, book nodes, order view); beyond it they "
     "grow incrementally, without pausing matching")
    ("retention", po::value(&retention)->default_value(env_or("MATCHD_RETENTION", "24h")),
     "retention horizon (e.g. 24h, 90m, 30s): idempotency keys are honoured and finished "
     "orders kept in memory (GET /orders/{id}, duplicate order_id) this long after they "
     "finished, then forgotten; recovery loads no more than this [MATCHD_RETENTION]")
    ("journal-max-lag", po::value(&cfg.journal_max_lag)->default_value(cfg.journal_max_lag),
     "sequence numbers the tables may trail the journal by while orders keep coming; beyond "
     "it the applier stops yielding to the commit path (with --db)")
    ("db", po::value(&cfg.db)->default_value(env_or("MATCHD_DB", ""), ""),
     "PostgreSQL connection string (libpq), e.g. \"host=127.0.0.1 port=55432 user=postgres "
     "dbname=matchd\"; without it matchd runs in memory [MATCHD_DB]")
    ("db-timeout", po::value<int>()->default_value(5),
     "seconds a commit, a database health check or a connection attempt may take; past it the "
     "database counts as unavailable and the session is replaced (with --db)")
    ("snapshot-interval", po::value(&cfg.snapshot_interval_s)->default_value(300),
     "seconds between persisted book snapshots with --db; 0 disables them")
    ("feed-url", po::value(&feed_url)->default_value(env_or("MATCHD_FEED_URL", ""), ""),
     "Binance-format trade stream to ingest as market orders, e.g. "
     "wss://stream.binance.com:9443/ws/btcusdt@trade (ws:// for a local replay) [MATCHD_FEED_URL]")
    ("feed-symbol", po::value(&feed_symbols)->composing(),
     "STREAMSYMBOL=INSTRUMENT, repeatable (default BTCUSDT=BTC-USD)")
    ("feed-client-id", po::value(&feed_opts.client_id)->default_value("binance-feed"),
     "client_id of the feed's orders")
    ("feed-quantity-scale", po::value(&feed_opts.quantity_scale)->default_value("1"),
     "exact decimal factor applied to each trade's quantity before rounding down to the lot")
    ("feed-price-guard-bps", po::value(&feed_guard),
     "submit IOC limits at the trade price +/- this many basis points instead of market orders")
    ("feed-ca-file", po::value(&feed_opts.ca_file),
     "PEM CA bundle for wss:// (default: the system store)")
    ("nats-url", po::value(&cfg.nats_url)->default_value(env_or("MATCHD_NATS_URL", ""), ""),
     "NATS server to export every committed event to, through JetStream, e.g. "
     "nats://127.0.0.1:4222 (with --db) [MATCHD_NATS_URL]")
    ("nats-stream", po::value(&cfg.nats_stream)->default_value(env_or("MATCHD_NATS_STREAM", "MATCHD")),
     "JetStream stream of the export, created if missing [MATCHD_NATS_STREAM]")
    ("nats-subjects", po::value(&nats_subjects)->default_value(env_or("MATCHD_NATS_SUBJECTS", "all")),
     "the stream's subjects: all (matchd.>) or instruments (matchd.*.<symbol> for each "
     "instrument: several instances, each with its own stream, on one JetStream) "
     "[MATCHD_NATS_SUBJECTS]")
    ("webhook-retry-horizon", po::value(&webhook_horizon)->default_value("24h"),
     "how long a webhook delivery is retried (exponential backoff) before it is dead, e.g. "
     "24h, 30m, 5s (with --db)")
    ("webhook-allow-http", "accept http:// webhook URLs too (tests, a private network); "
     "otherwise https:// only")
    ("webhook-allow-private", "let webhooks reach loopback, private and reserved addresses "
     "too (tests, a private network); otherwise public addresses only")
    ("ready-file", po::value(&cfg.ready_file),
     "write HOST:PORT here once listening (for scripts and tests)")
    ("log-level", po::value(&cfg.log_level)->default_value(env_or("MATCHD_LOG_LEVEL", "info")),
     "trace, debug, info, warn, error [MATCHD_LOG_LEVEL]");
  // clang-format on

  if (argc > 1 && std::string_view(argv[1]) == "migrate") {
    cfg.migrate_only = true;
    --argc;
    ++argv;  // program_options skips argv[0]: "migrate" stands in for it
  }
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (vm.count("help") != 0) {
    std::cout << desc << '\n' << kExitStatusHelp << '\n';
    return {std::nullopt, kExitOk};
  }
  if (vm.count("version") != 0) {
    std::cout << "matchd " << MATCHD_VERSION << '\n';
    return {std::nullopt, kExitOk};
  }
  if (!parse_listen(listen, cfg.server)) {
    return usage_error(
        "--listen (MATCHD_LISTEN) wants IP:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, got '" +
        listen + "'");
  }
  if (!cfg.db.empty()) {
    if (const std::string problem = store::conninfo_syntax_error(cfg.db); !problem.empty()) {
      return usage_error("--db (MATCHD_DB) is not a libpq connection string: " + problem);
    }
  }
  if (!cfg.nats_url.empty() && cfg.db.empty()) {
    return usage_error(
        "--nats-url (MATCHD_NATS_URL) needs --db: the export reads the committed journal");
  }
  if (cfg.nats_stream.empty() || cfg.nats_stream.find_first_of(" \t.*>/\\") != std::string::npos) {
    return usage_error(
        "--nats-stream (MATCHD_NATS_STREAM) wants a JetStream stream name (no "
        "spaces, '.', '*', '>', '/' or '\\'), got '" +
        cfg.nats_stream + "'");
  }
  if (nats_subjects != "all" && nats_subjects != "instruments") {
    return usage_error("--nats-subjects (MATCHD_NATS_SUBJECTS) wants all or instruments, got '" +
                       nats_subjects + "'");
  }
  cfg.nats_subjects_per_instrument = nats_subjects == "instruments";
  if (instrument_specs.empty()) {
    std::string env = env_or("MATCHD_INSTRUMENTS", "BTC-USD:0.01:0.00000001");
    std::size_t start = 0;
    while (start <= env.size()) {
      const auto comma = env.find(',', start);
      instrument_specs.push_back(env.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  for (const std::string& spec : instrument_specs) {
    auto ins = engine::instrument::parse_spec(spec);
    if (!ins) {
      return usage_error(
          "--instrument wants SYMBOL:TICK:LOT[:band_bps=N][:max_notional=X] (e.g. "
          "BTC-USD:0.01:0.00000001:band_bps=500:max_notional=1000000), got '" +
          spec + "'");
    }
    for (const auto& existing : cfg.instruments) {
      if (existing.symbol == ins->symbol) {
        return usage_error("instrument " + ins->symbol + " given twice");
      }
    }
    cfg.instruments.push_back(std::move(*ins));
  }
  if (const auto schedule = engine::fee_schedule::parse(fees)) {
    cfg.fees = *schedule;
  } else {
    return usage_error(
        "--fees (MATCHD_FEES) wants MAKER_BPS,TAKER_BPS, whole basis points from 0 to " +
        std::to_string(engine::kMaxFeeBps) + " (e.g. 2,5), got '" + fees + "'");
  }
  if (!settlement_time.empty()) {
    const bool shaped = settlement_time.size() == 5 && settlement_time[2] == ':' &&
                        std::isdigit(static_cast<unsigned char>(settlement_time[0])) &&
                        std::isdigit(static_cast<unsigned char>(settlement_time[1])) &&
                        std::isdigit(static_cast<unsigned char>(settlement_time[3])) &&
                        std::isdigit(static_cast<unsigned char>(settlement_time[4]));
    const int hours = shaped ? std::stoi(settlement_time.substr(0, 2)) : -1;
    const int minutes = shaped ? std::stoi(settlement_time.substr(3, 2)) : -1;
    if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) {
      return usage_error(
          "--settlement-time (MATCHD_SETTLEMENT_TIME) wants HH:MM in UTC (e.g. 00:00), got '" +
          settlement_time + "'");
    }
    cfg.settlement_minute = hours * 60 + minutes;
  }
  if (cfg.server.io_threads == 0 || cfg.server.io_threads > 64) {
    return usage_error("--io-threads must be between 1 and 64");
  }
  if (cfg.server.inflight_budget == 0) {
    return usage_error("--queue-capacity must be positive");
  }
  if (cfg.server.rate_limit_per_client < 0 || cfg.server.rate_burst_per_client < 0) {
    return usage_error("--rate-limit and --rate-burst must not be negative");
  }
  if (cfg.snapshot_interval_s < 0) {
    return usage_error("--snapshot-interval must not be negative");
  }
  if (cfg.migrate_only && cfg.db.empty()) {
    return usage_error("migrate needs --db (or MATCHD_DB)");
  }
  if (vm["db-timeout"].as<int>() < 1) {
    return usage_error("--db-timeout must be at least 1 second");
  }
  cfg.db_timeout = std::chrono::seconds(vm["db-timeout"].as<int>());
  cfg.retention_us = parse_duration_us(retention);
  if (cfg.retention_us <= 0) {
    return usage_error(
        "--retention (MATCHD_RETENTION) wants a positive duration such as 24h, "
        "90m or 30s, got '" +
        retention + "'");
  }
  const std::int64_t horizon_us = parse_duration_us(webhook_horizon);
  if (horizon_us < 1000) {
    return usage_error(
        "--webhook-retry-horizon wants a positive duration such as 24h, 30m or 5s, got '" +
        webhook_horizon + "'");
  }
  cfg.webhook_retry_horizon = std::chrono::milliseconds(horizon_us / 1000);
  cfg.webhook_destinations.allow_http = vm.count("webhook-allow-http") != 0;
  cfg.webhook_destinations.allow_private = vm.count("webhook-allow-private") != 0;
  cfg.server.idle_timeout = std::chrono::seconds(std::max(1, vm["idle-timeout"].as<int>()));
  cfg.server.ws_idle_timeout = std::chrono::seconds(std::max(1, vm["ws-idle-timeout"].as<int>()));
  cfg.server.ws_message_timeout =
      std::chrono::seconds(std::max(1, vm["ws-message-timeout"].as<int>()));
  cfg.server.durable = !cfg.db.empty();
  {
    boost::system::error_code ec;
    const bool loopback = boost::asio::ip::make_address(cfg.server.host, ec).is_loopback();
    if (auth_mode.empty()) auth_mode = loopback ? "none" : "keys";
    if (auth_mode != "keys" && auth_mode != "none") {
      return usage_error("--auth (MATCHD_AUTH) wants keys or none, got '" + auth_mode + "'");
    }
    cfg.server.auth_keys = auth_mode == "keys";
    if (!cfg.server.auth_keys && !loopback && vm.count("insecure-no-auth") == 0) {
      return usage_error("--auth none on " + listen +
                         ", which is not a loopback address, would let anyone who can reach it "
                         "trade for every client: use --auth keys, or add --insecure-no-auth");
    }
    if (const char* key = std::getenv("MATCHD_ADMIN_KEY"); key != nullptr && *key != '\0') {
      if (const std::string problem = auth::bootstrap_secret_problem(key); !problem.empty()) {
        return usage_error(problem);
      }
      cfg.admin_key = key;
    }
  }
  if (!feed_url.empty()) {
    feed_opts.url = feed_url;
    if (!feed_guard.empty()) feed_opts.price_guard_bps = feed_guard;
    if (!feed_symbols.empty()) {
      feed_opts.symbol_map.clear();
      for (const std::string& m : feed_symbols) {
        const auto eq = m.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) {
          return usage_error("--feed-symbol wants STREAMSYMBOL=INSTRUMENT, got '" + m + "'");
        }
        feed_opts.symbol_map.emplace_back(m.substr(0, eq), m.substr(eq + 1));
      }
    }
    cfg.feed = std::move(feed_opts);
  }
  return {std::move(cfg), kExitOk};
}

}  // namespace matchd::app
