#include "keys_cli.h"

#include <matchd/auth/keys.h>
#include <matchd/codec/json_writer.h>
#include <matchd/codec/key_json.h>
#include <matchd/store/connection_errors.h>
#include <matchd/store/migrations.h>
#include <matchd/store/pg_key_store.h>
#include <matchd/store/session_settings.h>
#include <matchd/store/store_stage.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <pqxx/except>
#include <string>
#include <string_view>
#include <vector>

#include "exit_codes.h"

namespace matchd::app {

namespace {

constexpr std::size_t kMaxLabel = 256;

constexpr const char* kUsage =
    "usage: matchd keys create --db CONNSTRING --role admin|trader|viewer [--client ID]...\n"
    "                          [--label TEXT] [--rate-limit N] [--rate-burst N]\n"
    "       matchd keys list   --db CONNSTRING\n"
    "       matchd keys revoke --db CONNSTRING KEY_ID\n"
    "\n"
    "Manages API keys in the database (migrating it first, as the daemon does); a running\n"
    "matchd on the same database notices within a second. --db defaults to $MATCHD_DB.\n"
    "create prints the key as one JSON line, then its secret alone on the next line: the\n"
    "only time it is shown. trader and viewer keys need at least one --client; admin keys\n"
    "act for every client and take none. list prints one JSON line per key (never a\n"
    "secret). revoke prints the revoked key.\n"
    "exit status: 0 done, 2 bad input or unknown key_id (nothing written), 4 --db malformed\n"
    "or refused, 1 any other database failure\n";

struct usage_problem {
  std::string message;
};

// What the command line asked for, validated before anything touches the database.
struct keys_command {
  std::string verb;
  std::string db;
  auth::key_request request;
  std::optional<auth::key_id> key;
};

std::optional<std::uint32_t> parse_count(std::string_view flag, std::string_view text,
                                         std::string& problem) {
  std::uint32_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  // An integer column in the database: 0 .. 2^31 - 1.
  if (ec != std::errc() || end != text.data() + text.size() || n > 2'147'483'647U) {
    problem = std::string(flag) + " wants a whole number from 0 to 2147483647, got '" +
              std::string(text) + "'";
    return std::nullopt;
  }
  return n;
}

// Parses and validates; `problem` says what is wrong when it returns nullopt.
std::optional<keys_command> parse(int argc, char** argv, std::string& problem) {
  keys_command cmd;
  if (argc < 3) {
    problem = "keys needs a command: create, list or revoke";
    return std::nullopt;
  }
  cmd.verb = argv[2];
  if (cmd.verb != "create" && cmd.verb != "list" && cmd.verb != "revoke") {
    problem = "unknown keys command '" + cmd.verb + "' (create, list or revoke)";
    return std::nullopt;
  }
  std::optional<std::string> db, role_text, label, rate, burst;
  std::vector<std::string> clients, positional;
  for (int i = 3; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.size() < 2 || arg.substr(0, 2) != "--") {
      positional.emplace_back(arg);
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string> value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
    }
    std::optional<std::string>* single = nullptr;
    bool is_client = false;
    if (name == "--db") {
      single = &db;
    } else if (name == "--role" && cmd.verb == "create") {
      single = &role_text;
    } else if (name == "--label" && cmd.verb == "create") {
      single = &label;
    } else if (name == "--rate-limit" && cmd.verb == "create") {
      single = &rate;
    } else if (name == "--rate-burst" && cmd.verb == "create") {
      single = &burst;
    } else if (name == "--client" && cmd.verb == "create") {
      is_client = true;
    } else {
      problem = "keys " + cmd.verb + ": unknown option '" + std::string(name) + "'";
      return std::nullopt;
    }
    if (!value) {
      if (i + 1 >= argc) {
        problem = std::string(name) + " needs a value";
        return std::nullopt;
      }
      value = argv[++i];
    }
    if (is_client) {
      clients.push_back(std::move(*value));
    } else if (*single) {
      problem = std::string(name) + " given twice";
      return std::nullopt;
    } else {
      *single = std::move(value);
    }
  }

  if (!db) {
    if (const char* env = std::getenv("MATCHD_DB"); env != nullptr && *env != '\0') db = env;
  }
  if (!db || db->empty()) {
    problem = "keys " + cmd.verb + " needs --db (or MATCHD_DB)";
    return std::nullopt;
  }
  cmd.db = *db;

  if (cmd.verb == "revoke") {
    if (positional.size() != 1) {
      problem = "keys revoke needs exactly one KEY_ID";
      return std::nullopt;
    }
    cmd.key = auth::parse_key_id(positional[0]);
    if (!cmd.key) {
      problem = "'" + positional[0] + "' is not a key_id (16 hex digits)";
      return std::nullopt;
    }
    return cmd;
  }
  if (!positional.empty()) {
    problem = "keys " + cmd.verb + ": unexpected argument '" + positional[0] + "'";
    return std::nullopt;
  }
  if (cmd.verb == "list") return cmd;

  if (!role_text) {
    problem = "keys create needs --role (admin, trader or viewer)";
    return std::nullopt;
  }
  const auto role = auth::parse_role(*role_text);
  if (!role) {
    problem = "--role wants admin, trader or viewer, got '" + *role_text + "'";
    return std::nullopt;
  }
  cmd.request.key_role = *role;
  if (*role == auth::role::admin && !clients.empty()) {
    problem = "an admin key acts for every client: it takes no --client";
    return std::nullopt;
  }
  if (*role != auth::role::admin && clients.empty()) {
    problem = "a " + *role_text + " key needs at least one --client";
    return std::nullopt;
  }
  for (const std::string& c : clients) {
    if (!engine::valid_id(c)) {
      problem = "--client '" + c + "' is not a client_id (1-64 of A-Z a-z 0-9 . _ : -)";
      return std::nullopt;
    }
    cmd.request.client_ids.push_back(engine::client_id::from(c));
  }
  if (label) {
    if (label->size() > kMaxLabel) {
      problem = "--label is longer than " + std::to_string(kMaxLabel) + " bytes";
      return std::nullopt;
    }
    for (const char ch : *label) {
      const auto u = static_cast<unsigned char>(ch);
      if (u < 0x20 || u == 0x7f) {
        problem = "--label may not hold control characters";
        return std::nullopt;
      }
    }
    cmd.request.label = *label;
  }
  if (rate) {
    cmd.request.rate_limit = parse_count("--rate-limit", *rate, problem);
    if (!cmd.request.rate_limit) return std::nullopt;
  }
  if (burst) {
    cmd.request.rate_burst = parse_count("--rate-burst", *burst, problem);
    if (!cmd.request.rate_burst) return std::nullopt;
  }
  return cmd;
}

// The key as the admin routes show it: never the secret, never its digest.
std::string key_json(const auth::key_record& r) {
  std::string out;
  codec::json_writer w(out);
  codec::append_key(w, r);
  return out;
}

engine::timestamp_us now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

int fail(int status, const std::string& message) {
  std::fprintf(stderr, "matchd: %s\n", one_line(message).c_str());
  return status;
}

int run(const keys_command& cmd) {
  std::string conninfo;
  try {
    conninfo = store::with_session_settings(cmd.db, store::kDefaultDbTimeout);
  } catch (const std::invalid_argument& e) {
    return fail(kExitDatabaseRejected, std::string("--db is malformed: ") + e.what());
  }
  try {
    store::apply_migrations(conninfo);
  } catch (const pqxx::broken_connection& e) {
    const int status = store::classify_connect_error(e.what()) == store::connect_failure::rejected
                           ? kExitDatabaseRejected
                           : kExitFatal;
    return fail(status, std::string("cannot connect to the database: ") + e.what());
  } catch (const std::exception& e) {
    return fail(kExitFatal, std::string("migrating the database failed: ") + e.what());
  }

  store::pg_key_store keys(conninfo);
  try {
    if (cmd.verb == "list") {
      for (const auth::key_record& r : keys.load_all()) std::printf("%s\n", key_json(r).c_str());
      return kExitOk;
    }
    if (cmd.verb == "revoke") {
      const auto r = keys.revoke(*cmd.key, now_us());
      if (!r) {
        return fail(kExitUsage, "no key with key_id " + auth::format_key_id(*cmd.key));
      }
      std::printf("%s\n", key_json(*r).c_str());
      return kExitOk;
    }
    auth::key_record r;
    std::string secret = auth::generate_secret();
    r.id = auth::generate_key_id();
    r.digest = auth::digest_of(secret);
    r.key_role = cmd.request.key_role;
    r.client_ids = cmd.request.client_ids;
    r.label = cmd.request.label;
    r.rate_limit = cmd.request.rate_limit;
    r.rate_burst = cmd.request.rate_burst;
    r.created_at = now_us();
    keys.insert(r);
    std::printf("%s\n%s\n", key_json(r).c_str(), secret.c_str());
    std::fflush(stdout);
    return kExitOk;
  } catch (const std::exception& e) {
    return fail(kExitFatal, e.what());
  }
}

}  // namespace

int run_keys_cli(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
  }
  std::string problem;
  const auto cmd = parse(argc, argv, problem);
  if (!cmd) {
    std::fprintf(stderr, "matchd: %s\n%s", problem.c_str(), kUsage);
    return kExitUsage;
  }
  return run(*cmd);
}

}  // namespace matchd::app
