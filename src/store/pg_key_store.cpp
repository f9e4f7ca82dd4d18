#include <matchd/store/pg_key_store.h>

#include <pqxx/pqxx>
#include <stdexcept>
#include <string_view>

#include "call_deadline.h"
#include "db_connection.h"

namespace matchd::store {

namespace {

// Times cross as whole microseconds since the Unix epoch both ways, exactly.
constexpr const char* kColumns =
    "key_id, secret_sha256, role, client_ids, label, rate_limit, rate_burst,"
    " (extract(epoch FROM created_at) * 1000000)::bigint,"
    " (extract(epoch FROM revoked_at) * 1000000)::bigint";

// A text[] literal: every element quoted, `"` and `\` escaped.
std::string array_literal(const std::vector<engine::client_id>& ids) {
  std::string s = "{";
  for (const auto& id : ids) {
    if (s.size() > 1) s.push_back(',');
    s.push_back('"');
    for (const char c : id.view()) {
      if (c == '"' || c == '\\') s.push_back('\\');
      s.push_back(c);
    }
    s.push_back('"');
  }
  s.push_back('}');
  return s;
}

std::vector<engine::client_id> parse_array(const pqxx::field& f) {
  std::vector<engine::client_id> ids;
  pqxx::array_parser parser = f.as_array();
  while (true) {
    const auto [juncture, value] = parser.get_next();
    if (juncture == pqxx::array_parser::done) break;
    if (juncture == pqxx::array_parser::string_value) ids.push_back(engine::client_id::from(value));
  }
  return ids;
}

std::optional<std::uint32_t> optional_count(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::uint32_t>();
}

auth::key_record record_of(const pqxx::row& row) {
  auth::key_record r;
  const auto id = auth::parse_key_id(row[0].c_str());
  if (!id) throw std::runtime_error("api_keys holds a malformed key_id");
  r.id = *id;
  const pqxx::binarystring digest(row[1]);
  if (digest.size() != r.digest.size()) {
    throw std::runtime_error("api_keys holds a digest that is not 32 bytes");
  }
  std::copy(digest.begin(), digest.end(), r.digest.begin());
  const auto role = auth::parse_role(row[2].c_str());
  if (!role) throw std::runtime_error("api_keys holds an unknown role");
  r.key_role = *role;
  r.client_ids = parse_array(row[3]);
  r.label = row[4].c_str();
  r.rate_limit = optional_count(row[5]);
  r.rate_burst = optional_count(row[6]);
  r.created_at = row[7].as<engine::timestamp_us>();
  r.revoked_at = row[8].is_null() ? 0 : row[8].as<engine::timestamp_us>();
  return r;
}

// A parameter that is NULL when the value is absent.
const char* or_null(const std::optional<std::string>& s) {
  return s ? s->c_str() : nullptr;
}

std::optional<std::string> text_of(const std::optional<std::uint32_t>& n) {
  if (!n) return std::nullopt;
  return std::to_string(*n);
}

}  // namespace

pg_key_store::pg_key_store(std::string conninfo, std::chrono::milliseconds timeout)
    : conninfo_(std::move(conninfo)),
      timeout_(timeout),
      deadline_(std::make_unique<call_deadline>()) {}

pg_key_store::~pg_key_store() = default;

template <class Work>
auto pg_key_store::run(const char* what, Work&& work) {
  try {
    // Bounded by libpq's connect_timeout, which the session settings set from the timeout.
    if (!connection_) connection_ = std::make_unique<db_connection>(conninfo_);
    const auto window = deadline_->arm(connection_->c.sock(), timeout_);
    // One statement, one round trip: no BEGIN/COMMIT around it.
    pqxx::nontransaction tx(connection_->c);
    return work(tx);
  } catch (const pqxx::unique_violation&) {
    throw std::runtime_error(std::string(what) + ": a key with this key_id or secret exists");
  } catch (const std::exception& e) {
    const bool cut = deadline_->take_expired();
    // The next call opens a new session.
    connection_.reset();
    std::string message = std::string(what) + ": ";
    if (cut) message += "no answer within " + std::to_string(timeout_.count()) + " ms; ";
    message += e.what();
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    throw std::runtime_error(message);
  }
}

void pg_key_store::insert(const auth::key_record& r) {
  run("storing the key", [&](pqxx::nontransaction& tx) {
    const std::optional<std::string> rate = text_of(r.rate_limit);
    const std::optional<std::string> burst = text_of(r.rate_burst);
    tx.exec_params(
        "INSERT INTO api_keys (key_id, secret_sha256, role, client_ids, label, rate_limit,"
        " rate_burst, created_at) VALUES ($1, $2, $3, $4::text[], $5, $6::integer, $7::integer,"
        " timestamptz 'epoch' + $8::bigint * interval '1 microsecond')",
        auth::format_key_id(r.id), pqxx::binarystring(r.digest.data(), r.digest.size()),
        std::string(auth::to_string(r.key_role)), array_literal(r.client_ids), r.label,
        or_null(rate), or_null(burst), r.created_at);
    return 0;
  });
}

std::optional<auth::key_record> pg_key_store::revoke(auth::key_id id, engine::timestamp_us at) {
  return run("revoking the key", [&](pqxx::nontransaction& tx) -> std::optional<auth::key_record> {
    // One statement: sets revoked_at if the key is live, and returns the key as it stands.
    const pqxx::result rows =
        tx.exec_params(std::string("UPDATE api_keys SET revoked_at = coalesce(revoked_at,"
                                   " timestamptz 'epoch' + $2::bigint * interval '1 microsecond')"
                                   " WHERE key_id = $1 RETURNING ") +
                           kColumns,
                       auth::format_key_id(id), at);
    if (rows.empty()) return std::nullopt;
    return record_of(rows[0]);
  });
}

std::vector<auth::key_record> pg_key_store::load_all() {
  return run("loading the keys", [&](pqxx::nontransaction& tx) {
    const pqxx::result rows =
        tx.exec(std::string("SELECT ") + kColumns + " FROM api_keys ORDER BY created_at, key_id");
    std::vector<auth::key_record> keys;
    keys.reserve(rows.size());
    for (const auto& row : rows) keys.push_back(record_of(row));
    return keys;
  });
}

}  // namespace matchd::store
