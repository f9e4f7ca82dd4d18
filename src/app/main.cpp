#include <matchd/obs/logger.h>
#include <matchd/store/migrations.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <pqxx/except>
#include <string_view>

#include "config.h"
#include "daemon.h"
#include "exit_codes.h"
#include "keys_cli.h"

namespace {

// Written to a temporary name and renamed, so a reader never sees half of it.
void write_ready_file(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content << '\n';
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

int main(int argc, char** argv) {
  // `matchd keys ...`: the offline key commands, with their own flags.
  if (argc > 1 && std::string_view(argv[1]) == "keys") return matchd::app::run_keys_cli(argc, argv);
  auto parsed = matchd::app::parse_command_line(argc, argv);
  if (!parsed.cfg) return parsed.exit_code;
  matchd::app::config cfg = std::move(*parsed.cfg);
  if (!matchd::obs::set_log_level(cfg.log_level)) {
    std::fprintf(stderr,
                 "matchd: --log-level (MATCHD_LOG_LEVEL) wants trace, debug, info, warn or error, "
                 "got '%s'\ntry 'matchd --help'\n",
                 cfg.log_level.c_str());
    return matchd::app::kExitUsage;
  }
  auto log = matchd::obs::logger("app");
  std::signal(SIGPIPE, SIG_IGN);

  try {
    if (cfg.migrate_only) {
      std::vector<int> applied;
      try {
        applied = matchd::store::apply_migrations(cfg.db);
      } catch (const pqxx::broken_connection& e) {
        matchd::app::throw_if_database_rejected(e.what());
        throw;
      }
      log->info("migrations up to date applied_now={}", applied.size());
      return 0;
    }
    if (cfg.db.empty()) {
      log->warn("no database configured: running IN MEMORY, acknowledged orders are NOT durable");
    } else {
      log->info("durable mode: every acknowledgement waits for its PostgreSQL COMMIT");
    }
    matchd::app::daemon d(cfg);
    const auto endpoint = d.start();
    // Caught from here, before the ready file: a supervisor (or a test) that sends SIGTERM as
    // soon as the file appears gets a clean stop, not the default action. While starting, the
    // default stands: nothing is acknowledged yet, and a daemon still waiting for its
    // database must stay stoppable.
    boost::asio::io_context signals_ioc;
    boost::asio::signal_set signals(signals_ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int sig) {
      log->info("signal {} received, shutting down", sig);
    });
    std::string symbols;
    for (const auto& ins : cfg.instruments) {
      symbols += (symbols.empty() ? "" : ",") + ins.symbol;
    }
    log->info("listening address={} port={} io_threads={} instruments={}",
              endpoint.address().to_string(), endpoint.port(), cfg.server.io_threads, symbols);
    if (!cfg.ready_file.empty()) {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 at -O3 reports a bogus -Wrestrict inside libstdc++'s `"literal" + std::string&&`
// (GCC bug 105651; Debian 12 ships GCC 12.2).
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
      const std::string host = endpoint.address().is_v6()
                                   ? "[" + endpoint.address().to_string() + "]"
                                   : endpoint.address().to_string();
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
      write_ready_file(cfg.ready_file, host + ":" + std::to_string(endpoint.port()));
    }

    signals_ioc.run();
    d.stop();
    if (d.exit_status() != matchd::app::kExitOk) return d.exit_status();
    log->info("stopped cleanly");
  } catch (const matchd::app::startup_error& e) {
    // Something the operator must fix, said once and plainly (not as a log record).
    std::fprintf(stderr, "matchd: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    log->critical("fatal: {}", e.what());
    return matchd::app::kExitFatal;
  }
  return matchd::app::kExitOk;
}
