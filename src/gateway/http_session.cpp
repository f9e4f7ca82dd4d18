#include "http_session.h"

#include <matchd/auth/key_registry.h>
#include <matchd/codec/instrument_json.h>
#include <matchd/codec/json_writer.h>
#include <matchd/codec/key_json.h>
#include <matchd/codec/order_request.h>
#include <matchd/obs/logger.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <charconv>
#include <chrono>

#include "credentials.h"
#include "query_string.h"
#include "request_framing.h"
#include "sse_session.h"
#include "websocket_session.h"

namespace matchd::gateway {

namespace {

constexpr std::string_view kJson = "application/json";
// Read from the socket at a time while a header is incomplete.
constexpr std::size_t kReadChunk = 16 * 1024;

template <class Number>
void append_number(std::string& out, Number n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

bool is_json(std::string_view content_type) {
  // "application/json" with optional parameters such as "; charset=utf-8".
  const auto semicolon = content_type.find(';');
  std::string_view media = content_type.substr(0, semicolon);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return beast::iequals(media, kJson);
}

// GET /orders: orders per page by default (as Coinbase's lists) and at most (as Binance's).
constexpr std::uint32_t kOrderPageDefault = 100;
constexpr std::uint32_t kOrderPageMax = 1000;

// A connection in the operators' reserve (connection_limits.h) is closed when its one
// request has not come within this.
constexpr std::chrono::seconds kReserveTimeout{2};

codec::api_error recovering() {
  return codec::make_error(codec::api_errc::not_ready, "recovering the order books; retry shortly");
}

}  // namespace

http_session::http_session(boost::asio::ip::tcp::socket&& socket, io_thread& io,
                           connection_ticket ticket)
    : socket_(std::move(socket)), io_(io), ticket_(std::move(ticket)) {}

http_session::~http_session() {
  snapshot_done();
  if (token_ != 0) io_.unregister_session(token_);
}

void http_session::snapshot_done() {
  if (!snapshot_pending_) return;
  io_.ctx().snapshot_in_flight[*snapshot_pending_].store(false, std::memory_order_release);
  snapshot_pending_.reset();
}

void http_session::run() {
  token_ = io_.register_session(weak_from_this());
  do_read();
}

void http_session::shutdown() {
  close();
}

void http_session::wait_on_client() {
  waiting_on_client_since_ = std::chrono::steady_clock::now();
}

void http_session::check_idle(std::chrono::steady_clock::time_point now) {
  if (closed_ || !waiting_on_client_since_) return;
  const auto limit = ticket_.reserve_only() ? std::min<std::chrono::seconds>(
                                                  kReserveTimeout, io_.ctx().options.idle_timeout)
                                            : io_.ctx().options.idle_timeout;
  if (now - *waiting_on_client_since_ > limit) close();
}

void http_session::close() {
  awaiting_delivery_.reset();
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  socket_.close(ec);
}

void http_session::do_read() {
  if (closed_) return;
  parser_.emplace();
  parser_->body_limit(io_.ctx().options.body_limit);
  parser_->header_limit(static_cast<std::uint32_t>(io_.ctx().options.header_limit));
  header_folded_ = false;
  wait_on_client();
  parse_header();
}

// The parser takes a header's lines as they come, and joins folded lines without a trace:
// each part it takes is looked at as it was sent before it leaves the buffer.
void http_session::parse_header() {
  if (buffer_.size() != 0) {
    beast::error_code ec;
    const std::size_t used = parser_->put(buffer_.data(), ec);
    header_folded_ =
        header_folded_ || has_obs_fold({static_cast<const char*>(buffer_.data().data()), used});
    buffer_.consume(used);
    if (ec && ec != http::error::need_more) return on_parse_error(ec);
    if (parser_->is_header_done()) {
      return on_header(framing_problem(parser_->get().base(), header_folded_));
    }
  }
  socket_.async_read_some(
      buffer_.prepare(beast::read_size(buffer_, kReadChunk)),
      beast::bind_front_handler(&http_session::on_read_some, shared_from_this()));
}

void http_session::on_read_some(beast::error_code ec, std::size_t bytes) {
  buffer_.commit(bytes);
  if (ec) return close();  // end of stream, idle close or reset: no request to answer
  parse_header();
}

void http_session::on_parse_error(beast::error_code ec) {
  keep_alive_ = false;
  waiting_on_client_since_.reset();
  if (ec == http::error::body_limit) {
    return reply_error(codec::make_error(
        codec::api_errc::body_too_large,
        "request body exceeds " + std::to_string(io_.ctx().options.body_limit) + " bytes"));
  }
  if (ec == http::error::header_limit) {
    return reply_error(
        codec::make_error(codec::api_errc::headers_too_large, "request headers are too large"));
  }
  if (is_framing_error(ec)) {
    return reply_error(codec::make_error(codec::api_errc::invalid_framing,
                                         "cannot frame the request: " + ec.message()));
  }
  close();  // a malformed request line, a partial request, end of stream, a reset
}

void http_session::on_header(std::optional<std::string_view> problem) {
  request& req = parser_->get();
  version_ = req.version();
  if (problem) {
    keep_alive_ = false;
    waiting_on_client_since_.reset();
    return reply_error(codec::make_error(codec::api_errc::invalid_framing, std::string(*problem)));
  }
  keep_alive_ = req.keep_alive();
  refusal_ = route_request(req);
  if (parser_->is_done()) return respond(req);
  // RFC 9110 section 10.1.1. An HTTP/1.0 client's Expect is ignored; another expectation
  // than 100-continue is served as if it were not there.
  const bool expects_continue =
      version_ >= 11 && beast::iequals(req[http::field::expect], "100-continue");
  if (expects_continue && refusal_) {
    // Answered before the body, which is then never read: the connection ends after it.
    keep_alive_ = false;
    return respond(req);
  }
  if (!expects_continue || buffer_.size() != 0) return read_body();  // it is on its way
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  boost::asio::async_write(socket_, boost::asio::buffer(kContinue.data(), kContinue.size()),
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec) return self->close();
                             self->read_body();
                           });
}

void http_session::read_body() {
  // What the buffer already holds first: the body of a small request usually came with its
  // header, and a read of the socket would only cost a round through the I/O thread.
  while (buffer_.size() != 0 && !parser_->is_done()) {
    beast::error_code ec;
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) break;
    if (ec) return on_parse_error(ec);
    if (used == 0) break;
  }
  if (parser_->is_done()) return respond(parser_->get());
  http::async_read(socket_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     if (ec) return self->on_parse_error(ec);
                     self->respond(self->parser_->get());
                   });
}

std::optional<immediate_answer> http_session::route_request(request& req) {
  route_ = nullptr;
  const auto [path, query] = split_target(req.target());
  query_ = query;
  const route_lookup r = find_route(server_routes(), req.method(), path, params_);
  if (ticket_.reserve_only()) {
    // Above the connection cap: one answer, and only the operators' routes.
    keep_alive_ = false;
    if (r.found == nullptr || r.found->needs != access::operational) {
      return immediate_answer{codec::make_error(codec::api_errc::overloaded,
                                                "the server's connection limit is reached; only "
                                                "/healthz, /readyz and /metrics are served"),
                              1};
    }
  }
  if (!io_.ctx().accepting.load(std::memory_order_relaxed) && !served_while_recovering(r)) {
    return immediate_answer{recovering(), 1};
  }
  if (r.found != nullptr) {
    if (auto refused = authorize(req, *r.found)) return refused;
    if ((r.found->handler == &http_session::place_order ||
         r.found->handler == &http_session::amend_order ||
         r.found->handler == &http_session::create_settlement) &&
        !is_json(req[http::field::content_type])) {
      return immediate_answer{codec::make_error(codec::api_errc::unsupported_media_type,
                                                "Content-Type must be application/json")};
    }
    route_ = r.found;
    return std::nullopt;
  }
  if (!r.path_known) {
    return immediate_answer{
        codec::make_error(codec::api_errc::not_found, "no such path: " + std::string(path))};
  }
  allow_ = allowed_methods(server_routes(), path);
  return immediate_answer{codec::make_error(codec::api_errc::method_not_allowed,
                                            std::string(req.method_string()) +
                                                " is not allowed on " + std::string(path) +
                                                "; allowed: " + allow_)};
}

auth::principal* http_session::find_key(std::string_view secret) {
  if (cached_table_ != io_.keys() || secret != cached_secret_) {
    cached_table_ = io_.keys();
    cached_secret_.assign(secret);
    cached_principal_ = io_.find_key(secret);
  }
  return cached_principal_.get();
}

std::optional<immediate_answer> http_session::authorize(request& req, const route& r) {
  principal_ = nullptr;
  if (!io_.ctx().options.auth_keys || r.needs == access::operational) return std::nullopt;
  if (query_carries_key(query_)) {
    io_.auth_failed(auth_failure::query_string, "an API key in the query string");
    return immediate_answer{codec::make_error(
        codec::api_errc::key_in_query,
        "API keys are not accepted in the query string (it ends up in logs): send "
        "Authorization: Bearer <secret> or X-API-Key: <secret>, and revoke this key")};
  }
  const bool needs_key = r.needs != access::public_read;
  const bool stream =
      r.handler == &http_session::open_websocket || r.handler == &http_session::open_event_stream;
  if (!needs_key && !stream) return std::nullopt;  // market data: keys are not looked at
  const credentials c = read_credentials(req[http::field::authorization], req["X-API-Key"]);
  if (!c.present()) {
    if (!needs_key) return std::nullopt;  // a stream of public channels only
    io_.auth_failed(c.malformed ? auth_failure::malformed : auth_failure::missing,
                    c.malformed ? "a malformed Authorization or X-API-Key header" : "no API key");
    return immediate_answer{codec::make_error(
        codec::api_errc::unauthorized,
        c.malformed ? "the Authorization header must be 'Bearer <secret>'"
                    : "this route needs an API key: Authorization: Bearer <secret>")};
  }
  principal_ = find_key(c.secret);
  if (!principal_) {
    io_.auth_failed(auth_failure::unknown, "an unknown or revoked API key");
    return immediate_answer{
        codec::make_error(codec::api_errc::unauthorized, "unknown or revoked API key")};
  }
  if (!auth::allows(principal_->key_role(), r.needs)) {
    io_.auth_failed(auth_failure::forbidden, "the key's role does not allow the route",
                    principal_->id());
    return immediate_answer{codec::make_error(
        codec::api_errc::forbidden, "a " + std::string(auth::to_string(principal_->key_role())) +
                                        " key may not use this route")};
  }
  return std::nullopt;
}

void http_session::respond(request& req) {
  waiting_on_client_since_.reset();
  if (refusal_) return reply_error(refusal_->error, refusal_->retry_after);
  (this->*(route_->handler))(req, params_, query_);
}

// --- routes ---------------------------------------------------------------------------

// Its Content-Type was checked with the header (route_request).
void http_session::place_order(request& req, const path_params&, std::string_view) {
  auto refused = submit_place(io_, token_, req.body(), req["Idempotency-Key"], principal_);
  if (refused) return reply_error(refused->error, refused->retry_after);
  awaiting_delivery_ = shared_from_this();
}

void http_session::get_order(request&, const path_params& params, std::string_view) {
  const std::string_view id = params["order_id"];
  if (!codec::valid_id(id)) {
    return reply_error(
        codec::make_error(codec::api_errc::order_not_found, "no order with id " + std::string(id)));
  }
  bus::read_query q;
  q.kind = bus::query_kind::get_order;
  q.reply = {io_.index(), token_};
  q.id = engine::order_id::from(id);
  if (principal_) q.scope = principal_->scope();
  send_query(q);
}

std::optional<http_session::client_selection> http_session::query_client(
    const query_params& params) {
  const auto client = params.get("client_id");
  if (!client) {
    reply_error(codec::make_error(codec::api_errc::invalid_parameter,
                                  "query parameter client_id is required"));
    return std::nullopt;
  }
  const auto permitted = permitted_client(*client);
  if (!permitted) return std::nullopt;
  client_selection selection{*permitted, std::nullopt};
  if (const auto symbol = params.get("instrument")) {
    selection.instrument = io_.find_instrument(*symbol);
    if (!selection.instrument) {
      reply_error(codec::make_error(codec::api_errc::unknown_instrument,
                                    "unknown instrument " + std::string(*symbol)));
      return std::nullopt;
    }
  }
  return selection;
}

std::optional<engine::client_id> http_session::permitted_client(std::string_view client) {
  if (!codec::valid_id(client)) {
    reply_error(codec::make_error(codec::api_errc::invalid_client_id,
                                  "client_id must be 1-64 chars of [A-Za-z0-9._:-]"));
    return std::nullopt;
  }
  const auto id = engine::client_id::from(client);
  if (principal_ && !principal_->may_act_for(id)) {
    // As for an order or a stream of a client not the key's: 403, not 404 (the key names the
    // client itself, so nothing is learnt from the answer).
    io_.auth_failed(auth_failure::forbidden, "orders of a client not the key's", principal_->id());
    reply_error(codec::make_error(codec::api_errc::forbidden,
                                  "this key may not act for client " + std::string(client)));
    return std::nullopt;
  }
  return id;
}

// GET /orders?client_id=&instrument=&status=open|all&limit=&before=
void http_session::list_orders(request&, const path_params&, std::string_view query) {
  const query_params params(query);
  const auto selection = query_client(params);
  if (!selection) return;
  bus::read_query q;
  q.kind = bus::query_kind::list_orders;
  q.reply = {io_.index(), token_};
  q.client = selection->client;
  q.any_instrument = !selection->instrument;
  q.instrument = selection->instrument.value_or(0);
  if (auto e = codec::parse_status_filter(params.get("status"), q.open_only)) {
    return reply_error(*e);
  }
  if (auto e = codec::parse_count_parameter("limit", params.get("limit"), kOrderPageDefault,
                                            kOrderPageMax, q.limit)) {
    return reply_error(*e);
  }
  if (auto e = codec::parse_cursor_parameter("before", params.get("before"), q.before)) {
    return reply_error(*e);
  }
  if (principal_) q.scope = principal_->scope();
  send_query(q);
}

// DELETE /orders?client_id=&instrument=
void http_session::cancel_all_orders(request&, const path_params&, std::string_view query) {
  const query_params params(query);
  const auto selection = query_client(params);
  if (!selection) return;
  auto refused =
      submit_cancel_all(io_, token_, selection->client, selection->instrument, principal_);
  if (refused) return reply_error(refused->error, refused->retry_after);
  awaiting_delivery_ = shared_from_this();
}

// DELETE /orders/{order_id} and POST /orders/{order_id}/cancel.
void http_session::cancel_order(request&, const path_params& params, std::string_view) {
  auto refused = submit_cancel(io_, token_, params["order_id"], principal_);
  if (refused) return reply_error(refused->error, refused->retry_after);
  awaiting_delivery_ = shared_from_this();
}

// PATCH /orders/{order_id}. Its Content-Type was checked with the header (route_request).
void http_session::amend_order(request& req, const path_params& params, std::string_view) {
  auto refused = submit_amend(io_, token_, params["order_id"], req.body(), principal_);
  if (refused) return reply_error(refused->error, refused->retry_after);
  awaiting_delivery_ = shared_from_this();
}

void http_session::get_orderbook(request&, const path_params&, std::string_view query) {
  read_market(query, true);
}

void http_session::get_trades(request&, const path_params&, std::string_view query) {
  read_market(query, false);
}

void http_session::read_market(std::string_view query, bool book) {
  const query_params params(query);
  const auto ins = query_instrument(params);
  if (!ins) return;
  std::uint32_t limit = 0;
  if (auto e = codec::parse_count_parameter(book ? "levels" : "limit",
                                            params.get(book ? "levels" : "limit"), book ? 20 : 50,
                                            1000, limit)) {
    return reply_error(*e);
  }
  // A range or a cursor reaches past the recent trades the publish stage keeps.
  if (!book && (params.get("start_time") || params.get("end_time") || params.get("before"))) {
    return read_trade_history(params, *ins, limit);
  }
  bus::read_query q;
  q.kind = book ? bus::query_kind::get_orderbook : bus::query_kind::get_trades;
  q.reply = {io_.index(), token_};
  q.instrument = *ins;
  q.limit = limit;
  send_query(q);
}

void http_session::open_websocket(request& req, const path_params&, std::string_view query) {
  if (beast::websocket::is_upgrade(req)) {
    const query_params params(query);
    stream_delivery delivery;
    if (const auto batch = params.get("batch")) {
      if (*batch != "true" && *batch != "false") {
        return reply_error(
            codec::make_error(codec::api_errc::invalid_parameter, "batch must be true or false"));
      }
      delivery.batched = *batch == "true";
    }
    std::uint32_t interval_ms = 0;
    if (auto e = codec::parse_count_parameter("batch_interval_ms", params.get("batch_interval_ms"),
                                              0, 1000, interval_ms)) {
      return reply_error(*e);
    }
    if (interval_ms != 0 && !delivery.batched) {
      return reply_error(codec::make_error(codec::api_errc::invalid_parameter,
                                           "batch_interval_ms needs batch=true"));
    }
    delivery.interval = std::chrono::milliseconds(interval_ms);
    // Also while recovering: the WebSocket session answers each message not_ready itself.
    std::make_shared<websocket_session>(
        beast::tcp_stream(std::move(socket_)), io_, std::move(ticket_),
        principal_ != nullptr ? cached_principal_ : nullptr, delivery)
        ->run(parser_->release());
    closed_ = true;  // the socket now belongs to the websocket session
    return;
  }
  if (!io_.ctx().accepting.load(std::memory_order_relaxed)) {
    return reply_error(recovering(), 1);
  }
  reply_error(
      codec::make_error(codec::api_errc::upgrade_required, "GET /stream is a WebSocket endpoint"));
}

void http_session::open_event_stream(request&, const path_params&, std::string_view query) {
  const query_params params(query);
  const auto ins = query_instrument(params);
  if (!ins) return;
  const bool keys = io_.ctx().options.auth_keys;
  std::uint8_t channels = 0;
  // Without a key (--auth keys), the default is the public channels only.
  const std::string_view list =
      params.get("channels")
          .value_or(keys && !principal_ ? "trades,orderbook_deltas"
                                        : "trades,orderbook_deltas,orders");
  for (std::string_view name : split(list, ',')) {
    const std::uint8_t c = channel_from_name(name);
    if (c == 0) {
      return reply_error(codec::make_error(codec::api_errc::invalid_parameter,
                                           "unknown channel " + std::string(name)));
    }
    channels |= c;
  }
  std::uint8_t intervals = 0;
  if (const auto names = params.get("interval")) {
    for (std::string_view name : split(*names, ',')) {
      const std::uint8_t bit = candle_interval_bit(name);
      if (bit == 0) {
        return reply_error(codec::make_error(
            codec::api_errc::invalid_parameter,
            "unknown interval " + std::string(name) + ": one of 1s 1m 5m 15m 1h 4h 1d"));
      }
      intervals |= bit;
    }
  }
  if ((channels & bus::channel_candles) != 0 && intervals == 0) {
    return reply_error(
        codec::make_error(codec::api_errc::missing_field,
                          "the candles channel needs interval=: one of 1s 1m 5m 15m 1h 4h 1d"));
  }
  engine::client_id client;
  if (const auto wanted = params.get("client_id")) {
    if (!codec::valid_id(*wanted)) {
      return reply_error(codec::make_error(codec::api_errc::invalid_client_id,
                                           "client_id must be 1-64 chars of [A-Za-z0-9._:-]"));
    }
    client = engine::client_id::from(*wanted);
  }
  if (keys && (channels & bus::kPrivateChannels) != 0) {
    if (!principal_) {
      io_.auth_failed(auth_failure::missing, "no API key for a private channel");
      return reply_error(codec::make_error(codec::api_errc::unauthorized,
                                           "the orders and positions channels need an API key"));
    }
    if (!auth::allows(principal_->key_role(), access::account_read) ||
        (!client.empty() && !principal_->may_act_for(client))) {
      io_.auth_failed(auth_failure::forbidden, "private channel not allowed", principal_->id());
      return reply_error(
          codec::make_error(codec::api_errc::forbidden, "this key may not read that client"));
    }
  }
  sse_subscription sub;
  sub.instrument = *ins;
  sub.channels = channels;
  sub.candle_intervals = (channels & bus::channel_candles) != 0 ? intervals : 0;
  sub.client = client;
  if (principal_) {
    sub.scope = principal_->scope();
    sub.key = principal_->id();
  }
  std::make_shared<sse_session>(std::move(socket_), io_, std::move(ticket_))->run(sub);
  closed_ = true;  // the socket now belongs to the event stream
}

void http_session::get_health(request&, const path_params&, std::string_view) {
  reply(200, R"({"status":"ok"})");
}

void http_session::get_readiness(request&, const path_params&, std::string_view) {
  gateway_context& ctx = io_.ctx();
  const std::string reason = ctx.hooks.not_ready_reason ? ctx.hooks.not_ready_reason() : "";
  if (reason.empty()) return reply(200, R"({"status":"ready"})");
  std::string body = R"({"status":"not_ready","reason":)";
  codec::append_json_string(body, reason);
  body += '}';
  reply(503, std::move(body), 1);
}

void http_session::get_metrics(request&, const path_params&, std::string_view) {
  gateway_context& ctx = io_.ctx();
  ctx.probe.set_inflight(static_cast<double>(ctx.inflight.load(std::memory_order_relaxed)));
  if (ctx.hooks.before_scrape) ctx.hooks.before_scrape();
  reply(200, obs::serialize(ctx.registry), 0, false, "text/plain; version=0.0.4; charset=utf-8");
}

void http_session::create_snapshot(request& req, const path_params&, std::string_view) {
  gateway_context& ctx = io_.ctx();
  if (!req.body().empty() && !is_json(req[http::field::content_type])) {
    return reply_error(codec::make_error(codec::api_errc::unsupported_media_type,
                                         "Content-Type must be application/json"));
  }
  const auto symbol = json_string_field(req.body(), "instrument");
  if (!symbol) {
    return reply_error(codec::make_error(codec::api_errc::missing_field, "instrument is required"));
  }
  const auto ins = io_.find_instrument(*symbol);
  if (!ins) {
    return reply_error(
        codec::make_error(codec::api_errc::unknown_instrument, "unknown instrument " + *symbol));
  }
  // Refused here rather than after the engine has copied the whole book for nothing.
  if (!ctx.options.durable) {
    return reply_error(codec::make_error(codec::api_errc::not_ready,
                                         "snapshots are persisted to PostgreSQL; start with --db"));
  }
  // One at a time per instrument: a burst of requests must not become a burst of copies
  // of the whole book and of rows in the database.
  if (ctx.snapshot_in_flight[*ins].exchange(true, std::memory_order_acq_rel)) {
    return reply_error(
        codec::make_error(codec::api_errc::rate_limited,
                          "a snapshot of " + *symbol + " is being taken; retry when it is done"),
        1);
  }
  snapshot_pending_ = *ins;
  auto refused = submit_snapshot(io_, token_, *ins);
  if (refused) {
    snapshot_done();
    return reply_error(refused->error, refused->retry_after);
  }
  awaiting_delivery_ = shared_from_this();
}

void http_session::create_key(request& req, const path_params&, std::string_view) {
  auth::key_registry* keys = io_.ctx().keys;
  if (!is_json(req[http::field::content_type])) {
    return reply_error(codec::make_error(codec::api_errc::unsupported_media_type,
                                         "Content-Type must be application/json"));
  }
  auth::key_request wanted;
  if (auto e = codec::parse_key_request(req.body(), wanted)) return reply_error(*e);
  if (keys == nullptr) {
    return reply_error(codec::make_error(codec::api_errc::not_ready, "no key registry"), 1);
  }
  awaiting_delivery_ = shared_from_this();
  // The callback runs on the registry's thread: the answer is posted back to this session's
  // I/O thread, which by then may have closed it.
  keys->create(std::move(wanted), [weak = weak_from_this(), &ioc = io_.context()](
                                      std::optional<auth::created_key> key, std::string error) {
    boost::asio::post(ioc, [weak, key = std::move(key), error = std::move(error)] {
      const auto self = weak.lock();
      if (!self || !self->awaiting_delivery_) return;
      const auto keep = std::move(self->awaiting_delivery_);
      if (!key) {
        return self->reply_error(
            codec::make_error(codec::api_errc::not_ready, "cannot create the key: " + error), 1);
      }
      self->reply(201, codec::created_key_body(*key));
    });
  });
}

void http_session::list_keys(request&, const path_params&, std::string_view) {
  auth::key_registry* keys = io_.ctx().keys;
  if (keys == nullptr) return reply(200, R"({"keys":[]})");
  awaiting_delivery_ = shared_from_this();
  keys->list([weak = weak_from_this(), &ioc = io_.context()](std::vector<auth::key_record> list,
                                                             std::string error) {
    boost::asio::post(ioc, [weak, list = std::move(list), error = std::move(error)] {
      const auto self = weak.lock();
      if (!self || !self->awaiting_delivery_) return;
      const auto keep = std::move(self->awaiting_delivery_);
      if (!error.empty()) {
        return self->reply_error(
            codec::make_error(codec::api_errc::not_ready, "cannot list the keys: " + error), 1);
      }
      self->reply(200, codec::key_list_body(list));
    });
  });
}

void http_session::revoke_key(request&, const path_params& params, std::string_view) {
  auth::key_registry* keys = io_.ctx().keys;
  const std::string_view text = params["key_id"];
  const auto id = auth::parse_key_id(text);
  if (!id || keys == nullptr) {
    return reply_error(codec::make_error(codec::api_errc::key_not_found,
                                         "no API key with key_id " + std::string(text)));
  }
  awaiting_delivery_ = shared_from_this();
  keys->revoke(*id, [weak = weak_from_this(), &ioc = io_.context(), id = *id](
                        std::optional<auth::key_record> key, std::string error) {
    boost::asio::post(ioc, [weak, key = std::move(key), error = std::move(error), id] {
      const auto self = weak.lock();
      if (!self || !self->awaiting_delivery_) return;
      const auto keep = std::move(self->awaiting_delivery_);
      if (!error.empty()) {
        return self->reply_error(
            codec::make_error(codec::api_errc::not_ready, "cannot revoke the key: " + error), 1);
      }
      if (!key) {
        return self->reply_error(codec::make_error(
            codec::api_errc::key_not_found, "no API key with key_id " + auth::format_key_id(id)));
      }
      self->reply(200, codec::key_body(*key));
    });
  });
}

void http_session::get_instruments(request&, const path_params&, std::string_view) {
  bus::read_query q;
  q.kind = bus::query_kind::get_instruments;
  q.reply = {io_.index(), token_};
  q.instrument = bus::kAllInstruments;
  send_query(q);
}

void http_session::get_instrument(request&, const path_params& params, std::string_view) {
  const auto ins = path_instrument(params["symbol"]);
  if (!ins) return;
  bus::read_query q;
  q.kind = bus::query_kind::get_instruments;
  q.reply = {io_.index(), token_};
  q.instrument = *ins;
  send_query(q);
}

// An engine command too: the engine gives the id and refuses a symbol that is taken.
void http_session::create_instrument(request& req, const path_params&, std::string_view) {
  if (!is_json(req[http::field::content_type])) {
    return reply_error(codec::make_error(codec::api_errc::unsupported_media_type,
                                         "Content-Type must be application/json"));
  }
  engine::instrument ins;
  if (auto e = codec::parse_instrument_request(req.body(), ins)) return reply_error(*e);
  auto refused = submit_add_instrument(io_, token_, std::move(ins));
  if (refused) return reply_error(refused->error, refused->retry_after);
  awaiting_delivery_ = shared_from_this();
}

void http_session::halt_instrument(request&, const path_params& params, std::string_view) {
  set_trading_status(params["symbol"], true);
}

void http_session::resume_instrument(request&, const path_params& params, std::string_view) {
  set_trading_status(params["symbol"], false);
}

// A halt or resume is an engine command: ordered with the orders, answered once durable.
void http_session::set_trading_status(std::string_view symbol, bool halt) {
  const auto ins = path_instrument(symbol);
  if (!ins) return;
  auto refused = submit_trading_status(io_, token_, *ins, halt);
  if (refused) return reply_error(refused->error, refused->retry_after);
  awaiting_delivery_ = shared_from_this();
}

std::optional<engine::instrument_id> http_session::path_instrument(std::string_view symbol) {
  const auto ins = io_.find_instrument(symbol);
  if (!ins) {
    reply_error(codec::make_error(codec::api_errc::instrument_not_found,
                                  "no instrument " + std::string(symbol)));
  }
  return ins;
}

std::optional<engine::instrument_id> http_session::query_instrument(const query_params& params) {
  const auto symbol = params.get("instrument");
  if (!symbol) {
    reply_error(codec::make_error(codec::api_errc::invalid_parameter,
                                  "query parameter instrument is required"));
    return std::nullopt;
  }
  const auto ins = io_.find_instrument(*symbol);
  if (!ins) {
    reply_error(codec::make_error(codec::api_errc::unknown_instrument,
                                  "unknown instrument " + std::string(*symbol)));
  }
  return ins;
}

void http_session::send_query(const bus::read_query& q) {
  if (!io_.query(q)) {
    return reply_error(codec::make_error(codec::api_errc::overloaded, "too many reads in flight"),
                       1);
  }
  awaiting_delivery_ = shared_from_this();
}

// --- answers --------------------------------------------------------------------------

void http_session::on_delivery(bus::io_delivery&& d) {
  if (!awaiting_delivery_ || d.what != bus::io_delivery::kind::response) return;
  snapshot_done();
  const auto self = std::move(awaiting_delivery_);
  reply_shared(d.status, std::move(d.body), d.replayed);
}

void http_session::reply_error(const codec::api_error& e, int retry_after) {
  reply(e.status, codec::error_body(e), retry_after);
}

void http_session::reply(int status, std::string body, int retry_after, bool replayed,
                         std::string_view content_type) {
  response_body_ = std::move(body);
  send_response(status, response_body_, retry_after, replayed, content_type);
}

void http_session::reply_shared(int status, shared_body body, bool replayed) {
  response_shared_body_ = std::move(body);
  const std::string_view text =
      response_shared_body_ ? std::string_view(*response_shared_body_) : std::string_view();
  send_response(status, text, status == 503 ? 1 : 0, replayed, kJson);
}

void http_session::send_response(int status, std::string_view body, int retry_after, bool replayed,
                                 std::string_view content_type) {
  if (closed_) return;
  io_.ctx().probe.responded(status);
  // The head is formatted here rather than by beast's response serializer: an order's
  // answer has a handful of fixed fields, and the serializer's per-field allocations and
  // buffer sequences cost about a tenth of the I/O thread's time per order (perf, REST
  // closed loop). The connection rules are HTTP's: 1.1 stays open unless it says close,
  // 1.0 only when it asked for keep-alive.
  std::string& head = response_head_;
  head.clear();
  head.append(version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  append_number(head, status);
  head.push_back(' ');
  head.append(http::obsolete_reason(static_cast<http::status>(status)));
  head.append("\r\nServer: matchd\r\nContent-Type: ");
  head.append(content_type);
  if (status != 304) {  // a 304 has no body, and its length would be the full one's
    head.append("\r\nContent-Length: ");
    append_number(head, body.size());
  }
  if (!extra_head_.empty()) {
    head.append(extra_head_);
    extra_head_.clear();
  }
  if (retry_after > 0 || status == 429 || status == 503) {
    head.append("\r\nRetry-After: ");
    append_number(head, std::max(retry_after, 1));
  }
  if (replayed) head.append("\r\nIdempotent-Replayed: true");
  if (status == 405) {
    head.append("\r\nAllow: ");
    head.append(allow_);
  }
  if (status == 401) head.append("\r\nWWW-Authenticate: Bearer");
  if (!keep_alive_ && version_ != 10) head.append("\r\nConnection: close");
  if (keep_alive_ && version_ == 10) head.append("\r\nConnection: keep-alive");
  head.append("\r\n\r\n");

  const bool close_after = !keep_alive_;
  wait_on_client();
  const std::array<boost::asio::const_buffer, 2> buffers{boost::asio::buffer(head),
                                                         boost::asio::buffer(body)};
  boost::asio::async_write(
      socket_, buffers,
      [self = shared_from_this(), close_after](beast::error_code ec, std::size_t) {
        self->on_write(ec, close_after);
      });
}

void http_session::on_write(beast::error_code ec, bool close_after) {
  response_shared_body_.reset();
  if (ec) return close();
  if (close_after) {
    // Only a request answered before it was read whole (or one followed by more) can leave
    // unread bytes behind.
    if (parser_ && (!parser_->is_done() || buffer_.size() != 0)) return linger();
    return close();
  }
  do_read();
}

void http_session::linger() {
  if (closed_) return;
  beast::error_code ec;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) return close();
  buffer_.clear();
  // The idle sweep ends it if the client neither closes nor stops sending.
  wait_on_client();
  discard_input();
}

void http_session::discard_input() {
  socket_.async_read_some(buffer_.prepare(kReadChunk),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec) return self->close();  // the client closed too, or idle
                            self->discard_input();
                          });
}

}  // namespace matchd::gateway
