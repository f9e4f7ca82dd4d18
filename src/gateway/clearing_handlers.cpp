// The clearing routes. GET /positions is live: the publish stage answers from the positions it
// keeps as committed trades go by. GET /positions/{client_id}/pnl is history: the history
// source reads it from the tables (store::analytics_reader). Settlements are made and read by the
// settlement source (store::settlement_worker, durable mode), answered on the session's own thread.

#include <matchd/bus/clock.h>
#include <matchd/codec/errors.h>
#include <matchd/codec/order_request.h>
#include <matchd/codec/timestamp.h>

#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>
#include <charconv>
#include <nlohmann/json.hpp>

#include "http_session.h"
#include "query_string.h"

namespace matchd::gateway {

namespace {

codec::api_error invalid(std::string message) {
  return codec::make_error(codec::api_errc::invalid_parameter, std::move(message));
}

const std::string kPnlIntervals = "1m 5m 15m 1h 4h 1d";

// Whether the client asked for CSV (Accept: text/csv); JSON otherwise.
bool wants_csv(std::string_view accept) {
  for (std::size_t i = 0; i + 8 <= accept.size(); ++i) {
    if (boost::beast::iequals(accept.substr(i, 8), "text/csv")) return true;
  }
  return false;
}

}  // namespace

// GET /positions?client_id=&instrument=
void http_session::get_positions(request&, const path_params&, std::string_view query) {
  const query_params params(query);
  const auto selection = query_client(params);
  if (!selection) return;
  bus::read_query q;
  q.kind = bus::query_kind::get_positions;
  q.reply = {io_.index(), token_};
  q.client = selection->client;
  q.any_instrument = !selection->instrument;
  q.instrument = selection->instrument.value_or(0);
  send_query(q);
}

// GET /positions/{client_id}/pnl?interval=&limit=
void http_session::get_pnl(request&, const path_params& path, std::string_view query) {
  const auto client = permitted_client(path["client_id"]);
  if (!client) return;
  const query_params params(query);
  analytics::pnl_query q;
  q.client = *client;
  const auto name = params.get("interval");
  if (!name) return reply_error(invalid("query parameter interval is required: " + kPnlIntervals));
  const auto bucket = analytics::parse_interval(*name);
  // The history is kept per minute: 1 s buckets have no positions at their ends.
  if (!bucket || *bucket == analytics::interval::s1) {
    return reply_error(
        invalid(std::string("unknown interval '").append(*name) + "': one of " + kPnlIntervals));
  }
  q.bucket = *bucket;
  std::uint32_t limit = 0;
  if (auto e = codec::parse_count_parameter("limit", params.get("limit"), 20, 1000, limit)) {
    return reply_error(*e);
  }
  q.limit = limit;
  read_history(q);
}

void http_session::ask_settlements(
    const std::function<void(clearing::settlement_source&, clearing::settlement_source::done_fn)>&
        call,
    bool csv) {
  clearing::settlement_source* source = io_.ctx().settlements;
  if (source == nullptr) {
    return reply_error(
        codec::make_error(codec::api_errc::not_ready,
                          "settlements are made from the database; this matchd runs without --db"));
  }
  awaiting_delivery_ = shared_from_this();
  // The callback runs on the settlement thread (or here, when its queue is full): the answer
  // is posted back to this session's I/O thread, which by then may have closed it.
  call(*source, [weak = weak_from_this(), &ioc = io_.context(), csv](
                    clearing::settlement_source::status st, std::string body) {
    boost::asio::post(ioc, [weak, st, csv, body = std::move(body)]() mutable {
      const auto self = weak.lock();
      if (!self || !self->awaiting_delivery_) return;
      const auto keep = std::move(self->awaiting_delivery_);
      using status = clearing::settlement_source::status;
      switch (st) {
        case status::created:
          return self->reply(201, std::move(body));
        case status::existing:
          return self->reply(200, std::move(body), 0, false,
                             csv ? "text/csv; charset=utf-8" : "application/json");
        case status::out_of_order:
          return self->reply_error(
              codec::make_error(codec::api_errc::settlement_out_of_order, std::move(body)));
        case status::not_found:
          return self->reply_error(
              codec::make_error(codec::api_errc::settlement_not_found, std::move(body)));
        case status::overloaded:
          return self->reply_error(codec::make_error(codec::api_errc::overloaded, std::move(body)),
                                   1);
        case status::unavailable:
          return self->reply_error(codec::make_error(codec::api_errc::not_ready, std::move(body)),
                                   1);
      }
    });
  });
}

// POST /admin/settlements {"cutoff": RFC 3339 or epoch milliseconds}
void http_session::create_settlement(request& req, const path_params&, std::string_view) {
  const nlohmann::json body = nlohmann::json::parse(req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return reply_error(codec::make_error(codec::api_errc::malformed_json,
                                         "the body must be a JSON object with a cutoff"));
  }
  const auto it = body.find("cutoff");
  if (it == body.end() || it->is_null()) {
    return reply_error(codec::make_error(codec::api_errc::missing_field, "cutoff is required"));
  }
  std::optional<engine::timestamp_us> cutoff;
  if (it->is_string()) {
    cutoff = codec::parse_query_time(it->get<std::string>());
  } else if (it->is_number_integer()) {
    cutoff = codec::parse_query_time(std::to_string(it->get<std::int64_t>()));
  }
  if (!cutoff) {
    return reply_error(
        invalid("cutoff must be an RFC 3339 time (2026-12-06T00:00:00Z) or epoch milliseconds"));
  }
  if (*cutoff > bus::wall_us()) {
    return reply_error(invalid("cutoff " + codec::format_timestamp(*cutoff) +
                               " is in the future: a settlement nets trades that happened"));
  }
  ask_settlements(
      [c = *cutoff](clearing::settlement_source& s, clearing::settlement_source::done_fn done) {
        s.settle(c, std::move(done));
      });
}

// GET /settlements?limit=
void http_session::list_settlements(request&, const path_params&, std::string_view query) {
  const query_params params(query);
  std::uint32_t limit = 0;
  if (auto e = codec::parse_count_parameter("limit", params.get("limit"), 100, 1000, limit)) {
    return reply_error(*e);
  }
  ask_settlements(
      [limit](clearing::settlement_source& s, clearing::settlement_source::done_fn done) {
        s.list(limit, std::move(done));
      });
}

// GET /settlements/{settlement_id}: JSON, or CSV with Accept: text/csv. A trader or viewer
// sees only its clients' entries.
void http_session::get_settlement(request& req, const path_params& params, std::string_view) {
  const std::string_view text = params["settlement_id"];
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id == 0) {
    return reply_error(codec::make_error(codec::api_errc::settlement_not_found,
                                         "no settlement " + std::string(text)));
  }
  const bool csv = wants_csv(req[http::field::accept]);
  engine::client_scope scope = principal_ ? principal_->scope() : nullptr;
  ask_settlements(
      [id, csv, scope = std::move(scope)](clearing::settlement_source& s,
                                          clearing::settlement_source::done_fn done) {
        s.get(id, csv, scope, std::move(done));
      },
      csv);
}

}  // namespace matchd::gateway
