// The analytics routes: GET /candles, GET /analytics/stats, and GET /trades with a time
// range or a cursor. Validated here, read by the history source (the analytics reader's
// thread, which also writes the body), answered on the session's own thread. GET
// /analytics/ticker is live: the publish stage answers it from its rolling windows.

#include <matchd/codec/errors.h>
#include <matchd/codec/order_request.h>
#include <matchd/codec/timestamp.h>

#include <boost/asio/post.hpp>

#include "http_session.h"
#include "query_string.h"

namespace matchd::gateway {

namespace {

codec::api_error invalid(std::string message) {
  return codec::make_error(codec::api_errc::invalid_parameter, std::move(message));
}

}  // namespace

bool http_session::query_range(const query_params& params,
                               std::optional<engine::timestamp_us>& start,
                               std::optional<engine::timestamp_us>& end) {
  for (auto [name, out] : {std::pair{"start_time", &start}, std::pair{"end_time", &end}}) {
    const auto text = params.get(name);
    if (!text) continue;
    *out = codec::parse_query_time(*text);
    if (!*out) {
      reply_error(invalid(std::string(name) + " must be an RFC 3339 time (2026-12-06T12:00:00Z) " +
                          "or epoch milliseconds, got '" + std::string(*text) + "'"));
      return false;
    }
  }
  if (start && end && *start > *end) {
    reply_error(invalid("start_time is after end_time"));
    return false;
  }
  return true;
}

template <class Query>
void http_session::read_history(const Query& q) {
  analytics::history_source* source = io_.ctx().history;
  if (source == nullptr) {
    return reply_error(codec::make_error(
        codec::api_errc::not_ready,
        "trade history and analytics are read from the database; this matchd runs without --db"));
  }
  awaiting_delivery_ = shared_from_this();
  // The callback runs on the reader's thread (or here, when its queue is full): the answer
  // is posted back to this session's I/O thread, which by then may have closed it.
  source->read(q, [weak = weak_from_this(), &ioc = io_.context()](
                      analytics::history_source::status st, std::string text) {
    boost::asio::post(ioc, [weak, st, text = std::move(text)]() mutable {
      const auto self = weak.lock();
      if (!self || !self->awaiting_delivery_) return;
      const auto keep = std::move(self->awaiting_delivery_);
      using status = analytics::history_source::status;
      switch (st) {
        case status::ok:
          return self->reply(200, std::move(text));
        case status::overloaded:
          return self->reply_error(codec::make_error(codec::api_errc::overloaded, std::move(text)),
                                   1);
        case status::unavailable:
          return self->reply_error(codec::make_error(codec::api_errc::not_ready, std::move(text)),
                                   1);
      }
    });
  });
}

void http_session::get_candles(request&, const path_params&, std::string_view query) {
  const query_params params(query);
  const auto ins = query_instrument(params);
  if (!ins) return;
  const auto name = params.get("interval");
  if (!name)
    return reply_error(invalid("query parameter interval is required: 1s 1m 5m 15m 1h 4h 1d"));
  const auto bucket = analytics::parse_interval(*name);
  if (!bucket) {
    return reply_error(invalid(std::string("unknown interval '").append(*name) +
                               "': one of 1s 1m 5m 15m 1h 4h 1d"));
  }
  analytics::candle_query q;
  q.instrument = *ins;
  q.bucket = *bucket;
  if (!query_range(params, q.start, q.end)) return;
  std::uint32_t limit = 0;
  if (auto e = codec::parse_count_parameter("limit", params.get("limit"), 500, 1500, limit)) {
    return reply_error(*e);
  }
  q.limit = limit;
  read_history(q);
}

void http_session::get_stats(request&, const path_params&, std::string_view query) {
  const query_params params(query);
  const auto ins = query_instrument(params);
  if (!ins) return;
  std::optional<engine::timestamp_us> start;
  std::optional<engine::timestamp_us> end;
  if (!query_range(params, start, end)) return;
  if (!start || !end) {
    return reply_error(invalid("query parameters start_time and end_time are required"));
  }
  read_history(analytics::stats_query{*ins, *start, *end});
}

void http_session::get_ticker(request&, const path_params&, std::string_view query) {
  const query_params params(query);
  const auto ins = query_instrument(params);
  if (!ins) return;
  bus::read_query q;
  q.kind = bus::query_kind::get_ticker;
  q.reply = {io_.index(), token_};
  q.instrument = *ins;
  send_query(q);
}

void http_session::read_trade_history(const query_params& params, engine::instrument_id ins,
                                      std::uint32_t limit) {
  analytics::trade_query q;
  q.instrument = ins;
  q.limit = limit;
  if (!query_range(params, q.start, q.end)) return;
  std::uint64_t before = 0;
  if (auto e = codec::parse_cursor_parameter("before", params.get("before"), before)) {
    return reply_error(*e);
  }
  if (before != 0) q.before = before;
  read_history(q);
}

}  // namespace matchd::gateway

namespace matchd::gateway {

// GET /positions/{client_id}/pnl reads history too (clearing_handlers.cpp).
template void http_session::read_history(const analytics::pnl_query& q);

}  // namespace matchd::gateway
