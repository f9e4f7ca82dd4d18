#include <matchd/codec/json_writer.h>
#include <matchd/codec/key_json.h>

#include <limits>
#include <nlohmann/json.hpp>

namespace matchd::codec {

void append_key(json_writer& w, const auth::key_record& r) {
  w.begin_object();
  w.key("key_id");
  w.plain_string_value(auth::format_key_id(r.id));
  w.key("role");
  w.plain_string_value(auth::to_string(r.key_role));
  w.key("client_ids");
  w.begin_array();
  for (const engine::client_id& c : r.client_ids) w.string_value(c.view());
  w.end_array();
  w.key("label");
  w.string_value(r.label);
  w.key("rate_limit");
  if (r.rate_limit) {
    w.uint_value(*r.rate_limit);
  } else {
    w.null_value();
  }
  w.key("rate_burst");
  if (r.rate_burst) {
    w.uint_value(*r.rate_burst);
  } else {
    w.null_value();
  }
  w.key("created_at");
  w.timestamp_value(r.created_at);
  w.key("revoked_at");
  if (r.revoked_at != 0) {
    w.timestamp_value(r.revoked_at);
  } else {
    w.null_value();
  }
  w.end_object();
}

std::string key_body(const auth::key_record& r) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("key");
  append_key(w, r);
  w.end_object();
  return out;
}

std::string created_key_body(const auth::created_key& k) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("key");
  append_key(w, k.record);
  w.key("secret");
  w.string_value(k.secret);
  w.end_object();
  return out;
}

std::string key_list_body(const std::vector<auth::key_record>& keys) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("keys");
  w.begin_array();
  for (const auth::key_record& r : keys) {
    if (!r.bootstrap) append_key(w, r);
  }
  w.end_array();
  w.end_object();
  return out;
}

namespace {

// A non-negative integer that fits 32 bits, or null (nullopt), into `out`.
std::optional<api_error> read_rate(const nlohmann::json& doc, const char* name,
                                   std::optional<std::uint32_t>& out) {
  const auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) {
    return make_error(api_errc::invalid_field_type,
                      std::string(name) + " must be a non-negative integer or null");
  }
  if (it->is_number_unsigned() &&
      it->get<std::uint64_t>() <= std::numeric_limits<std::uint32_t>::max()) {
    out = static_cast<std::uint32_t>(it->get<std::uint64_t>());
    return std::nullopt;
  }
  if (it->is_number_unsigned()) {
    return make_error(api_errc::invalid_parameter, std::string(name) + " is too large");
  }
  const std::int64_t v = it->get<std::int64_t>();
  if (v < 0) {
    return make_error(api_errc::invalid_parameter, std::string(name) + " must not be negative");
  }
  out = static_cast<std::uint32_t>(v);
  return std::nullopt;
}

}  // namespace

std::optional<api_error> parse_key_request(std::string_view body, auth::key_request& out) {
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(api_errc::malformed_json, "the body must be one JSON object");
  }
  const auto role_it = doc.find("role");
  if (role_it == doc.end() || role_it->is_null()) {
    return make_error(api_errc::missing_field, "role is required");
  }
  if (!role_it->is_string()) {
    return make_error(api_errc::invalid_field_type, "role must be a string");
  }
  const auto role = auth::parse_role(role_it->get<std::string>());
  if (!role) {
    return make_error(api_errc::invalid_role, "role must be admin, trader or viewer");
  }
  out = auth::key_request{};
  out.key_role = *role;

  const auto clients_it = doc.find("client_ids");
  const bool has_clients = clients_it != doc.end() && !clients_it->is_null();
  if (has_clients && !clients_it->is_array()) {
    return make_error(api_errc::invalid_field_type, "client_ids must be an array of strings");
  }
  if (has_clients) {
    if (clients_it->size() > kMaxKeyClients) {
      return make_error(api_errc::invalid_parameter,
                        "a key is bound to at most " + std::to_string(kMaxKeyClients) + " clients");
    }
    for (const auto& c : *clients_it) {
      if (!c.is_string()) {
        return make_error(api_errc::invalid_field_type, "client_ids must be an array of strings");
      }
      const std::string& id = c.get_ref<const std::string&>();
      if (!engine::valid_id(id)) {
        return make_error(api_errc::invalid_client_id,
                          "client_id must be 1-64 chars of [A-Za-z0-9._:-]");
      }
      out.client_ids.push_back(engine::client_id::from(id));
    }
  }
  if (*role == auth::role::admin && !out.client_ids.empty()) {
    return make_error(api_errc::invalid_parameter,
                      "an admin key acts for every client: client_ids must be empty");
  }
  if (*role != auth::role::admin && out.client_ids.empty()) {
    return make_error(api_errc::missing_field,
                      "client_ids is required (at least one) for a trader or viewer key");
  }

  if (const auto label_it = doc.find("label"); label_it != doc.end() && !label_it->is_null()) {
    if (!label_it->is_string()) {
      return make_error(api_errc::invalid_field_type, "label must be a string");
    }
    out.label = label_it->get<std::string>();
    if (out.label.size() > kMaxKeyLabel) {
      return make_error(api_errc::invalid_parameter,
                        "label is longer than " + std::to_string(kMaxKeyLabel) + " bytes");
    }
  }
  if (auto e = read_rate(doc, "rate_limit", out.rate_limit)) return e;
  if (auto e = read_rate(doc, "rate_burst", out.rate_burst)) return e;
  return std::nullopt;
}

}  // namespace matchd::codec
