// The webhook routes (docs/api.md, "Webhooks"): checked here, answered by the webhook source
// (event_export::webhook_service, durable mode) on its thread and posted back to the session's.

#include <matchd/auth/keys.h>
#include <matchd/codec/errors.h>
#include <matchd/codec/order_request.h>
#include <matchd/export/webhook_destination.h>
#include <matchd/export/webhook_sender.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <charconv>
#include <nlohmann/json.hpp>

#include "http_session.h"
#include "query_string.h"

namespace matchd::gateway {

namespace {

codec::api_error invalid(std::string message) {
  return codec::make_error(codec::api_errc::invalid_parameter, std::move(message));
}

// A positive decimal id from the path, or nullopt.
std::optional<std::uint64_t> path_id(std::string_view text) {
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id == 0) return std::nullopt;
  return id;
}

std::string known_types() {
  std::string out;
  for (const std::string& t : event_export::webhook_event_types()) {
    if (!out.empty()) out += ", ";
    out += t;
  }
  return out;
}

}  // namespace

void http_session::ask_webhooks(
    const std::function<void(event_export::webhook_source&, event_export::webhook_source::done_fn)>&
        call) {
  event_export::webhook_source* source = io_.ctx().webhooks;
  if (source == nullptr) {
    return reply_error(
        codec::make_error(codec::api_errc::not_ready,
                          "webhooks are kept in the database; this matchd runs without --db"));
  }
  awaiting_delivery_ = shared_from_this();
  call(*source, [weak = weak_from_this(), &ioc = io_.context()](
                    event_export::webhook_source::status st, std::string body) {
    boost::asio::post(ioc, [weak, st, body = std::move(body)]() mutable {
      const auto self = weak.lock();
      if (!self || !self->awaiting_delivery_) return;
      const auto keep = std::move(self->awaiting_delivery_);
      using status = event_export::webhook_source::status;
      using codec::api_errc;
      switch (st) {
        case status::created:
          return self->reply(201, std::move(body));
        case status::ok:
          return self->reply(200, std::move(body));
        case status::accepted:
          return self->reply(202, std::move(body));
        case status::webhook_not_found:
          return self->reply_error(codec::make_error(api_errc::webhook_not_found, std::move(body)));
        case status::delivery_not_found:
          return self->reply_error(
              codec::make_error(api_errc::delivery_not_found, std::move(body)));
        case status::not_dead:
          return self->reply_error(codec::make_error(api_errc::delivery_not_dead, std::move(body)));
        case status::too_many:
          return self->reply_error(codec::make_error(api_errc::too_many_webhooks, std::move(body)));
        case status::overloaded:
          return self->reply_error(codec::make_error(api_errc::overloaded, std::move(body)), 1);
        case status::unavailable:
          return self->reply_error(codec::make_error(api_errc::not_ready, std::move(body)), 1);
      }
    });
  });
}

// POST /webhooks {"url","events":[...],"client_id"}
void http_session::create_webhook(request& req, const path_params&, std::string_view) {
  const nlohmann::json body = nlohmann::json::parse(req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return reply_error(codec::make_error(codec::api_errc::malformed_json,
                                         "the body must be a JSON object with url and events"));
  }
  event_export::webhook_source::registration r;
  const auto url = body.find("url");
  if (url == body.end() || url->is_null()) {
    return reply_error(codec::make_error(codec::api_errc::missing_field, "url is required"));
  }
  if (!url->is_string()) {
    return reply_error(
        codec::make_error(codec::api_errc::invalid_field_type, "url must be a string"));
  }
  r.url = url->get<std::string>();
  std::string why;
  const auto parsed = event_export::parse_webhook_url(r.url, &why);
  if (!parsed) return reply_error(invalid("url: " + why));
  // Without --db (no webhooks: 503 below) the destinations are not configured.
  if (const std::string refused =
          io_.ctx().webhooks == nullptr
              ? std::string()
              : event_export::destination_refusal(*parsed, io_.ctx().webhook_destinations);
      !refused.empty()) {
    return reply_error(invalid(refused));
  }
  const auto events = body.find("events");
  if (events == body.end() || events->is_null()) {
    return reply_error(codec::make_error(codec::api_errc::missing_field,
                                         "events is required: a list of " + known_types()));
  }
  if (!events->is_array() || events->empty()) {
    return reply_error(codec::make_error(codec::api_errc::invalid_field_type,
                                         "events must be a non-empty list of " + known_types()));
  }
  const auto& types = event_export::webhook_event_types();
  for (const nlohmann::json& e : *events) {
    if (!e.is_string() ||
        std::find(types.begin(), types.end(), e.get<std::string>()) == types.end()) {
      return reply_error(invalid("unknown event type " + e.dump() + ": one of " + known_types()));
    }
    const std::string type = e.get<std::string>();
    if (std::find(r.events.begin(), r.events.end(), type) == r.events.end()) {
      r.events.push_back(type);
    }
  }
  const auto client = body.find("client_id");
  if (client != body.end() && !client->is_null()) {
    if (!client->is_string()) {
      return reply_error(
          codec::make_error(codec::api_errc::invalid_field_type, "client_id must be a string"));
    }
    const auto permitted = permitted_client(client->get<std::string>());
    if (!permitted) return;
    r.client_id = std::string(permitted->view());
  } else if (principal_ && principal_->scope() != nullptr) {
    // A key bound to clients registers for them, one at a time; every client's events are
    // the venue's, which only an unscoped caller (admin) may have.
    return reply_error(codec::make_error(codec::api_errc::missing_field,
                                         "client_id is required: this key acts for its clients"));
  }
  if (principal_) r.created_by = auth::format_key_id(principal_->id());
  ask_webhooks([r = std::move(r)](event_export::webhook_source& s,
                                  event_export::webhook_source::done_fn done) mutable {
    s.create(std::move(r), std::move(done));
  });
}

// GET /webhooks
void http_session::list_webhooks(request&, const path_params&, std::string_view) {
  engine::client_scope scope = principal_ ? principal_->scope() : nullptr;
  ask_webhooks([scope = std::move(scope)](event_export::webhook_source& s,
                                          event_export::webhook_source::done_fn done) {
    s.list(scope, std::move(done));
  });
}

// DELETE /webhooks/{webhook_id}
void http_session::delete_webhook(request&, const path_params& params, std::string_view) {
  const auto id = path_id(params["webhook_id"]);
  if (!id) {
    return reply_error(codec::make_error(codec::api_errc::webhook_not_found,
                                         "no webhook " + std::string(params["webhook_id"])));
  }
  engine::client_scope scope = principal_ ? principal_->scope() : nullptr;
  ask_webhooks([id = *id, scope = std::move(scope)](event_export::webhook_source& s,
                                                    event_export::webhook_source::done_fn done) {
    s.remove(id, scope, std::move(done));
  });
}

// GET /webhooks/{webhook_id}/deliveries?status=pending|delivered|dead&limit=&before=
void http_session::list_webhook_deliveries(request&, const path_params& params,
                                           std::string_view query) {
  const auto id = path_id(params["webhook_id"]);
  if (!id) {
    return reply_error(codec::make_error(codec::api_errc::webhook_not_found,
                                         "no webhook " + std::string(params["webhook_id"])));
  }
  const query_params q(query);
  std::string status;
  if (const auto s = q.get("status")) {
    if (*s != "pending" && *s != "delivered" && *s != "dead") {
      return reply_error(invalid("status must be pending, delivered or dead"));
    }
    status = *s;
  }
  std::uint32_t limit = 0;
  if (auto e = codec::parse_count_parameter("limit", q.get("limit"), 100, 1000, limit)) {
    return reply_error(*e);
  }
  std::optional<std::uint64_t> before;
  if (const auto b = q.get("before")) {
    before = path_id(*b);
    if (!before) return reply_error(invalid("before must be a delivery_id"));
  }
  engine::client_scope scope = principal_ ? principal_->scope() : nullptr;
  ask_webhooks([id = *id, status = std::move(status), limit, before, scope = std::move(scope)](
                   event_export::webhook_source& s, event_export::webhook_source::done_fn done) {
    s.deliveries(id, status, limit, before, scope, std::move(done));
  });
}

// POST /webhooks/deliveries/{delivery_id}/retry
void http_session::retry_webhook_delivery(request&, const path_params& params, std::string_view) {
  const auto id = path_id(params["delivery_id"]);
  if (!id) {
    return reply_error(codec::make_error(codec::api_errc::delivery_not_found,
                                         "no delivery " + std::string(params["delivery_id"])));
  }
  engine::client_scope scope = principal_ ? principal_->scope() : nullptr;
  ask_webhooks([id = *id, scope = std::move(scope)](event_export::webhook_source& s,
                                                    event_export::webhook_source::done_fn done) {
    s.retry(id, scope, std::move(done));
  });
}

}  // namespace matchd::gateway
