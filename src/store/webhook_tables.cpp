#include <matchd/codec/json_writer.h>
#include <matchd/store/webhook_tables.h>

#include <pqxx/pqxx>

namespace matchd::store {

namespace {

constexpr const char* kWebhookColumns =
    "webhook_id, url, events, client_id, created_at_us, deleted_at_us";
constexpr const char* kDeliveryColumns =
    "delivery_id, webhook_id, event_id, event_type, status, attempts, created_at_us, "
    "next_attempt_us, last_attempt_us, last_status, last_error, delivered_at_us";

// A text[] column as strings (PostgreSQL's array syntax; event types need no quoting, but
// the parser handles quoted elements too).
std::vector<std::string> text_array(const pqxx::field& f) {
  std::vector<std::string> out;
  auto parser = f.as_array();
  for (auto [kind, value] = parser.get_next(); kind != pqxx::array_parser::done;
       std::tie(kind, value) = parser.get_next()) {
    if (kind == pqxx::array_parser::string_value) out.push_back(value);
  }
  return out;
}

std::string text_array_literal(pqxx::transaction_base& tx, const std::vector<std::string>& v) {
  std::string out = "ARRAY[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    out += tx.quote(v[i]);
  }
  out += "]::text[]";
  return out;
}

bool visible(const engine::client_scope& scope, const pqxx::field& client) {
  if (scope == nullptr) return true;
  return !client.is_null() && engine::in_scope(scope, engine::client_id::from(client.c_str()));
}

void optional_timestamp(codec::json_writer& w, const pqxx::field& f) {
  if (f.is_null()) {
    w.null_value();
  } else {
    w.timestamp_value(f.as<std::int64_t>());
  }
}

void write_webhook(codec::json_writer& w, const pqxx::row& r, const std::string* secret) {
  w.begin_object();
  w.key("webhook_id");
  w.string_value(r[0].c_str());
  w.key("url");
  w.string_value(r[1].c_str());
  w.key("events");
  w.begin_array();
  for (const std::string& e : text_array(r[2])) w.string_value(e);
  w.end_array();
  w.key("client_id");
  if (r[3].is_null()) {
    w.null_value();
  } else {
    w.string_value(r[3].c_str());
  }
  w.key("created_at");
  w.timestamp_value(r[4].as<std::int64_t>());
  if (secret != nullptr) {
    w.key("secret");
    w.string_value(*secret);
  }
  w.end_object();
}

void write_delivery(codec::json_writer& w, const pqxx::row& r) {
  w.begin_object();
  w.key("delivery_id");
  w.string_value(r[0].c_str());
  w.key("webhook_id");
  w.string_value(r[1].c_str());
  w.key("event_id");
  w.string_value(r[2].c_str());
  w.key("type");
  w.string_value(r[3].c_str());
  w.key("status");
  w.string_value(r[4].c_str());
  w.key("attempts");
  w.int_value(r[5].as<std::int64_t>());
  w.key("created_at");
  w.timestamp_value(r[6].as<std::int64_t>());
  w.key("next_attempt_at");
  if (std::string_view(r[4].c_str()) == "pending") {
    w.timestamp_value(r[7].as<std::int64_t>());
  } else {
    w.null_value();
  }
  w.key("last_attempt_at");
  optional_timestamp(w, r[8]);
  w.key("last_status");
  if (r[9].is_null()) {
    w.null_value();
  } else {
    w.int_value(r[9].as<std::int64_t>());
  }
  w.key("last_error");
  if (r[10].is_null()) {
    w.null_value();
  } else {
    w.string_value(r[10].c_str());
  }
  w.key("delivered_at");
  optional_timestamp(w, r[11]);
  w.end_object();
}

std::string one(const char* name, const pqxx::row& r,
                void (*write)(codec::json_writer&, const pqxx::row&)) {
  std::string body;
  codec::json_writer w(body);
  w.begin_object();
  w.key(name);
  write(w, r);
  w.end_object();
  return body;
}

void write_webhook_without_secret(codec::json_writer& w, const pqxx::row& r) {
  write_webhook(w, r, nullptr);
}

}  // namespace

std::string create_webhook(pqxx::transaction_base& tx, const new_webhook& hook) {
  const pqxx::row r = tx.exec1(
      "INSERT INTO webhooks (url, events, client_id, secret, created_by, created_at_us) VALUES (" +
      tx.quote(hook.url) + ", " + text_array_literal(tx, hook.events) + ", " +
      (hook.client_id ? tx.quote(*hook.client_id) : std::string("NULL")) + ", " +
      tx.quote(hook.secret) + ", " +
      (hook.created_by.empty() ? std::string("NULL") : tx.quote(hook.created_by)) + ", " +
      std::to_string(hook.now) + ") RETURNING " + kWebhookColumns);
  std::string body;
  codec::json_writer w(body);
  w.begin_object();
  w.key("webhook");
  write_webhook(w, r, &hook.secret);
  w.end_object();
  return body;
}

webhook_counts count_webhooks(pqxx::transaction_base& tx,
                              const std::optional<std::string>& client) {
  const pqxx::row r = tx.exec1("SELECT count(*), count(*) FILTER (WHERE client_id = " +
                               (client ? tx.quote(*client) : std::string("NULL")) +
                               ") FROM webhooks WHERE deleted_at_us IS NULL");
  return {r[0].as<std::int64_t>(), r[1].as<std::int64_t>()};
}

std::string list_webhooks(pqxx::transaction_base& tx, const engine::client_scope& scope) {
  std::string body;
  codec::json_writer w(body);
  w.begin_object();
  w.key("webhooks");
  w.begin_array();
  for (const pqxx::row& r : tx.exec(std::string("SELECT ") + kWebhookColumns +
                                    " FROM webhooks WHERE deleted_at_us IS NULL"
                                    " ORDER BY webhook_id")) {
    if (visible(scope, r[3])) write_webhook(w, r, nullptr);
  }
  w.end_array();
  w.end_object();
  return body;
}

std::optional<std::string> delete_webhook(pqxx::transaction_base& tx, std::uint64_t webhook_id,
                                          const engine::client_scope& scope,
                                          engine::timestamp_us now) {
  const pqxx::result found = tx.exec(
      std::string("SELECT ") + kWebhookColumns +
      " FROM webhooks WHERE deleted_at_us IS NULL AND webhook_id = " + std::to_string(webhook_id) +
      " FOR UPDATE");
  if (found.empty() || !visible(scope, found[0][3])) return std::nullopt;
  const std::string id = std::to_string(webhook_id);
  tx.exec0("UPDATE webhooks SET deleted_at_us = " + std::to_string(now) +
           " WHERE webhook_id = " + id);
  tx.exec0(
      "UPDATE webhook_deliveries SET status = 'dead', last_error = 'webhook deleted'"
      " WHERE status = 'pending' AND webhook_id = " +
      id);
  return one("webhook", found[0], &write_webhook_without_secret);
}

std::optional<std::string> list_deliveries(pqxx::transaction_base& tx, std::uint64_t webhook_id,
                                           std::string_view status, std::size_t limit,
                                           std::optional<std::uint64_t> before,
                                           const engine::client_scope& scope) {
  const pqxx::result hook =
      tx.exec("SELECT client_id FROM webhooks WHERE webhook_id = " + std::to_string(webhook_id));
  if (hook.empty() || !visible(scope, hook[0][0])) return std::nullopt;
  std::string sql = std::string("SELECT ") + kDeliveryColumns +
                    " FROM webhook_deliveries WHERE webhook_id = " + std::to_string(webhook_id);
  if (!status.empty()) sql += " AND status = " + tx.quote(std::string(status));
  if (before) sql += " AND delivery_id < " + std::to_string(*before);
  sql += " ORDER BY delivery_id DESC LIMIT " + std::to_string(limit);
  std::string body;
  codec::json_writer w(body);
  w.begin_object();
  w.key("deliveries");
  w.begin_array();
  for (const pqxx::row& r : tx.exec(sql)) write_delivery(w, r);
  w.end_array();
  w.end_object();
  return body;
}

retry_outcome retry_delivery(pqxx::transaction_base& tx, std::uint64_t delivery_id,
                             const engine::client_scope& scope, engine::timestamp_us now) {
  const pqxx::result found = tx.exec(
      "SELECT d.status, w.client_id, w.deleted_at_us FROM webhook_deliveries d"
      " JOIN webhooks w USING (webhook_id) WHERE d.delivery_id = " +
      std::to_string(delivery_id) + " FOR UPDATE OF d");
  if (found.empty() || !visible(scope, found[0][1])) return {};
  if (std::string_view(found[0][0].c_str()) != "dead" || !found[0][2].is_null()) {
    return {retry_outcome::kind::not_dead, {}};
  }
  const std::string t = std::to_string(now);
  const pqxx::row r =
      tx.exec1("UPDATE webhook_deliveries SET status = 'pending', horizon_from_us = " + t +
               ", next_attempt_us = " + t + " WHERE delivery_id = " + std::to_string(delivery_id) +
               " RETURNING " + kDeliveryColumns);
  return {retry_outcome::kind::retried, one("delivery", r, &write_delivery)};
}

std::vector<webhook_subscription> live_webhooks(pqxx::transaction_base& tx) {
  std::vector<webhook_subscription> out;
  for (const pqxx::row& r : tx.exec("SELECT webhook_id, events, client_id FROM webhooks"
                                    " WHERE deleted_at_us IS NULL ORDER BY webhook_id")) {
    webhook_subscription s;
    s.webhook_id = r[0].as<std::uint64_t>();
    s.events = text_array(r[1]);
    if (!r[2].is_null()) s.client_id = r[2].c_str();
    out.push_back(std::move(s));
  }
  return out;
}

void insert_deliveries(pqxx::transaction_base& tx, const std::vector<new_delivery>& deliveries,
                       engine::timestamp_us now) {
  if (deliveries.empty()) return;
  const std::string t = std::to_string(now);
  std::string sql =
      "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, body, status,"
      " created_at_us, horizon_from_us, next_attempt_us) VALUES ";
  for (std::size_t i = 0; i < deliveries.size(); ++i) {
    const new_delivery& d = deliveries[i];
    if (i > 0) sql += ", ";
    sql += "(" + std::to_string(d.webhook_id) + ", " + tx.quote(d.event_id) + ", " +
           tx.quote(d.event_type) + ", " + tx.quote(d.body) + ", 'pending', " + t + ", " + t +
           ", " + t + ")";
  }
  sql += " ON CONFLICT (webhook_id, event_id) DO NOTHING";
  tx.exec0(sql);
}

std::vector<due_delivery> due_deliveries(pqxx::transaction_base& tx, engine::timestamp_us now,
                                         const std::vector<std::uint64_t>& busy, std::size_t max) {
  std::string skip;
  for (const std::uint64_t id : busy) {
    skip += skip.empty() ? " AND w.webhook_id NOT IN (" : ", ";
    skip += std::to_string(id);
  }
  if (!skip.empty()) skip += ")";
  // Each webhook's oldest pending delivery (its order), if it is due: one LATERAL probe of
  // the partial index per live webhook.
  const pqxx::result rows = tx.exec(
      "SELECT d.delivery_id, w.webhook_id, w.url, w.secret, d.event_id, d.event_type, d.body,"
      " d.attempts, d.horizon_from_us FROM webhooks w CROSS JOIN LATERAL ("
      "SELECT * FROM webhook_deliveries x WHERE x.webhook_id = w.webhook_id"
      " AND x.status = 'pending' ORDER BY x.delivery_id LIMIT 1) d"
      " WHERE w.deleted_at_us IS NULL AND d.next_attempt_us <= " +
      std::to_string(now) + skip + " ORDER BY d.next_attempt_us LIMIT " + std::to_string(max));
  std::vector<due_delivery> out;
  out.reserve(rows.size());
  for (const pqxx::row& r : rows) {
    due_delivery d;
    d.delivery_id = r[0].as<std::uint64_t>();
    d.webhook_id = r[1].as<std::uint64_t>();
    d.url = r[2].c_str();
    d.secret = r[3].c_str();
    d.event_id = r[4].c_str();
    d.event_type = r[5].c_str();
    d.body = r[6].c_str();
    d.attempts = r[7].as<std::int32_t>();
    d.horizon_from = r[8].as<std::int64_t>();
    out.push_back(std::move(d));
  }
  return out;
}

void record_attempt(pqxx::transaction_base& tx, const attempt_record& a) {
  std::string set = "attempts = attempts + 1, last_attempt_us = " + std::to_string(a.at) +
                    ", last_status = " + (a.status != 0 ? std::to_string(a.status) : "NULL") +
                    ", last_error = " + (a.error.empty() ? std::string("NULL") : tx.quote(a.error));
  switch (a.what) {
    case attempt_record::kind::delivered:
      set += ", status = 'delivered', delivered_at_us = " + std::to_string(a.at);
      break;
    case attempt_record::kind::retry:
      set += ", next_attempt_us = " + std::to_string(a.next_attempt);
      break;
    case attempt_record::kind::dead:
      set += ", status = 'dead'";
      break;
  }
  // Only a pending delivery: a webhook deleted meanwhile made it dead, and stays so.
  tx.exec0("UPDATE webhook_deliveries SET " + set +
           " WHERE status = 'pending' AND delivery_id = " + std::to_string(a.delivery_id));
}

}  // namespace matchd::store
