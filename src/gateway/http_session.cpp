#include "http_session.h"

#include <array>
#include <charconv>
#include <chrono>

#include <boost/beast/websocket/rfc6455.hpp>

#include <matchd/codec/json_writer.h>
#include <matchd/codec/order_request.h>
#include <matchd/obs/logger.h>

#include "order_entry.h"
#include "query_string.h"
#include "websocket_session.h"

namespace matchd::gateway {

namespace {

constexpr std::string_view kJson = "application/json";

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

}  // namespace

http_session::http_session(boost::asio::ip::tcp::socket&& socket, io_thread& io)
    : socket_(std::move(socket)), io_(io) {
  io_.ctx().connections.fetch_add(1, std::memory_order_relaxed);
  io_.ctx().probe.connection_opened();
}

http_session::~http_session() {
  if (token_ != 0) {
    io_.unregister_session(token_);
    if (sse_) {
      bus::read_query q;
      q.kind = bus::query_kind::drop_subscriber;
      q.reply = {io_.index(), token_};
      q.instrument = sse_instrument_;
      (void)io_.query(q);
    }
  }
  io_.ctx().connections.fetch_sub(1, std::memory_order_relaxed);
  io_.ctx().probe.connection_closed();
}

void http_session::run() {
  token_ = io_.register_session(weak_from_this());
  do_read();
}

void http_session::shutdown() { close(); }

void http_session::wait_on_client() { waiting_on_client_since_ = std::chrono::steady_clock::now(); }

void http_session::check_idle(std::chrono::steady_clock::time_point now) {
  // An event stream is kept open by its heartbeat; its reader is bounded by the
  // subscriber buffer instead.
  if (closed_ || sse_ || !waiting_on_client_since_) return;
  if (now - *waiting_on_client_since_ > io_.ctx().options.idle_timeout) close();
}

void http_session::close() {
  awaiting_delivery_.reset();
  if (sse_timer_) sse_timer_->cancel();
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
  wait_on_client();
  http::async_read(socket_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::body_limit) {
    keep_alive_ = false;
    reply_error(codec::make_error(codec::api_errc::body_too_large,
                                  "request body exceeds " +
                                      std::to_string(io_.ctx().options.body_limit) + " bytes"));
    return;
  }
  if (ec == http::error::header_limit) {
    keep_alive_ = false;
    reply(431, codec::error_body({431, "headers_too_large", "request headers are too large"}));
    return;
  }
  if (ec) return close();  // end of stream, idle close, reset or a malformed request line

  waiting_on_client_since_.reset();
  request& req = parser_->get();
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  if (beast::websocket::is_upgrade(req)) {
    if (split_target(req.target()).first == "/stream") {
      std::make_shared<websocket_session>(beast::tcp_stream(std::move(socket_)), io_)
          ->run(parser_->release());
      closed_ = true;  // the socket now belongs to the websocket session
      return;
    }
  }
  handle(req);
}

void http_session::handle(request& req) {
  const auto [path, query] = split_target(req.target());
  route(req, path, query);
}

void http_session::route(request& req, std::string_view path, std::string_view query) {
  gateway_context& ctx = io_.ctx();
  const http::verb method = req.method();
  auto method_not_allowed = [&](std::string_view allowed) {
    allow_ = allowed;
    reply_error(codec::make_error(codec::api_errc::method_not_allowed,
                                  std::string(req.method_string()) + " is not allowed on " +
                                      std::string(path) + "; allowed: " + std::string(allowed)));
  };
  const bool operational = path == "/healthz" || path == "/readyz" || path == "/metrics";
  if (!operational && !ctx.accepting.load(std::memory_order_relaxed)) {
    return reply_error(codec::make_error(codec::api_errc::not_ready,
                                         "recovering the order books; retry shortly"),
                       1);
  }
  auto query_instrument = [&](const query_params& params) -> std::optional<engine::instrument_id> {
    const auto symbol = params.get("instrument");
    if (!symbol) {
      reply_error(codec::make_error(codec::api_errc::invalid_parameter,
                                    "query parameter instrument is required"));
      return std::nullopt;
    }
    const auto ins = ctx.find_instrument(*symbol);
    if (!ins) {
      reply_error(codec::make_error(codec::api_errc::unknown_instrument,
                                    "unknown instrument " + std::string(*symbol)));
    }
    return ins;
  };
  auto send_query = [&](const bus::read_query& q) {
    if (!io_.query(q)) {
      reply_error(codec::make_error(codec::api_errc::overloaded, "too many reads in flight"), 1);
      return;
    }
    awaiting_delivery_ = shared_from_this();
  };

  if (path == "/orders") {
    if (method != http::verb::post) return method_not_allowed("POST");
    if (!is_json(req[http::field::content_type])) {
      return reply_error(codec::make_error(codec::api_errc::unsupported_media_type,
                                           "Content-Type must be application/json"));
    }
    auto refused = submit_place(io_, token_, req.body(), req["Idempotency-Key"]);
    if (refused) return reply_error(refused->error, refused->retry_after);
    awaiting_delivery_ = shared_from_this();
    return;
  }
  if (path.starts_with("/orders/")) {
    std::string_view rest = path.substr(8);
    const bool cancel_suffix = rest.ends_with("/cancel");
    if (cancel_suffix) rest.remove_suffix(7);
    if (rest.empty() || rest.find('/') != std::string_view::npos) {
      return reply_error(codec::make_error(codec::api_errc::not_found, "no such path"));
    }
    const std::string id = percent_decode(rest);
    if (cancel_suffix) {
      if (method != http::verb::post) return method_not_allowed("POST");
    } else if (method == http::verb::get) {
      if (!codec::valid_id(id)) {
        return reply_error(
            codec::make_error(codec::api_errc::order_not_found, "no order with id " + id));
      }
      bus::read_query q;
      q.kind = bus::query_kind::get_order;
      q.reply = {io_.index(), token_};
      q.id = engine::order_id::from(id);
      return send_query(q);
    } else if (method != http::verb::delete_) {
      return method_not_allowed("GET, DELETE");
    }
    auto refused = submit_cancel(io_, token_, id);
    if (refused) return reply_error(refused->error, refused->retry_after);
    awaiting_delivery_ = shared_from_this();
    return;
  }
  if (path == "/orderbook" || path == "/trades") {
    if (method != http::verb::get) return method_not_allowed("GET");
    const query_params params(query);
    const auto ins = query_instrument(params);
    if (!ins) return;
    const bool book = path == "/orderbook";
    std::uint32_t limit = 0;
    if (auto e = codec::parse_count_parameter(book ? "levels" : "limit",
                                              params.get(book ? "levels" : "limit"),
                                              book ? 20 : 50, 1000, limit)) {
      return reply_error(*e);
    }
    bus::read_query q;
    q.kind = book ? bus::query_kind::get_orderbook : bus::query_kind::get_trades;
    q.reply = {io_.index(), token_};
    q.instrument = *ins;
    q.limit = limit;
    return send_query(q);
  }
  if (path == "/stream/sse") {
    if (method != http::verb::get) return method_not_allowed("GET");
    const query_params params(query);
    const auto ins = query_instrument(params);
    if (!ins) return;
    std::uint8_t channels = 0;
    const std::string_view list = params.get("channels").value_or("trades,orderbook_deltas,orders");
    for (std::string_view name : split(list, ',')) {
      const std::uint8_t c = channel_from_name(name);
      if (c == 0) {
        return reply_error(codec::make_error(codec::api_errc::invalid_parameter,
                                             "unknown channel " + std::string(name)));
      }
      channels |= c;
    }
    return start_sse(*ins, channels);
  }
  if (path == "/stream") {
    return reply(426, codec::error_body({426, "upgrade_required",
                                         "GET /stream is a WebSocket endpoint"}));
  }
  if (path == "/healthz") {
    if (method != http::verb::get) return method_not_allowed("GET");
    return reply(200, R"({"status":"ok"})");
  }
  if (path == "/readyz") {
    if (method != http::verb::get) return method_not_allowed("GET");
    const std::string reason = ctx.hooks.not_ready_reason ? ctx.hooks.not_ready_reason() : "";
    if (reason.empty()) return reply(200, R"({"status":"ready"})");
    std::string body = R"({"status":"not_ready","reason":)";
    codec::append_json_string(body, reason);
    body += '}';
    return reply(503, std::move(body), 1);
  }
  if (path == "/metrics") {
    if (method != http::verb::get) return method_not_allowed("GET");
    ctx.probe.set_inflight(static_cast<double>(ctx.inflight.load(std::memory_order_relaxed)));
    if (ctx.hooks.before_scrape) ctx.hooks.before_scrape();
    return reply(200, obs::serialize(ctx.registry), 0, false,
                 "text/plain; version=0.0.4; charset=utf-8");
  }
  if (path == "/admin/snapshots") {
    if (method != http::verb::post) return method_not_allowed("POST");
    if (!req.body().empty() && !is_json(req[http::field::content_type])) {
      return reply_error(codec::make_error(codec::api_errc::unsupported_media_type,
                                           "Content-Type must be application/json"));
    }
    const auto symbol = json_string_field(req.body(), "instrument");
    if (!symbol) {
      return reply_error(codec::make_error(codec::api_errc::missing_field,
                                           "instrument is required"));
    }
    const auto ins = ctx.find_instrument(*symbol);
    if (!ins) {
      return reply_error(codec::make_error(codec::api_errc::unknown_instrument,
                                           "unknown instrument " + *symbol));
    }
    // Refused here rather than after the engine has copied the whole book for nothing.
    if (!ctx.options.durable) {
      return reply_error(codec::make_error(
          codec::api_errc::not_ready, "snapshots are persisted to PostgreSQL; start with --db"));
    }
    auto refused = submit_snapshot(io_, token_, *ins);
    if (refused) return reply_error(refused->error, refused->retry_after);
    awaiting_delivery_ = shared_from_this();
    return;
  }
  reply_error(codec::make_error(codec::api_errc::not_found, "no such path: " + std::string(path)));
}

void http_session::on_delivery(bus::io_delivery&& d) {
  if (sse_) {
    if (closed_) return;
    if (d.what == bus::io_delivery::kind::evict ||
        (d.what == bus::io_delivery::kind::stream &&
         sse_queue_.size() >= io_.ctx().options.subscriber_buffer)) {
      obs::logger("gateway")->warn("sse subscriber too slow, closing token={}", token_);
      io_.ctx().probe.slow_consumer_dropped();
      return close();
    }
    if (d.what != bus::io_delivery::kind::stream || !d.body) return;
    sse_queue_.push_back(std::move(d.body));
    if (!sse_writing_) sse_write_next();  // the first delivery also releases the head
    return;
  }
  if (!awaiting_delivery_ || d.what != bus::io_delivery::kind::response) return;
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

void http_session::send_response(int status, std::string_view body, int retry_after,
                                 bool replayed, std::string_view content_type) {
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
  head.append("\r\nContent-Length: ");
  append_number(head, body.size());
  if (retry_after > 0 || status == 429 || status == 503) {
    head.append("\r\nRetry-After: ");
    append_number(head, std::max(retry_after, 1));
  }
  if (replayed) head.append("\r\nIdempotent-Replayed: true");
  if (status == 405) {
    head.append("\r\nAllow: ");
    head.append(allow_);
  }
  if (!keep_alive_ && version_ != 10) head.append("\r\nConnection: close");
  if (keep_alive_ && version_ == 10) head.append("\r\nConnection: keep-alive");
  head.append("\r\n\r\n");

  const bool close_after = !keep_alive_;
  wait_on_client();
  const std::array<boost::asio::const_buffer, 2> buffers{boost::asio::buffer(head),
                                                         boost::asio::buffer(body)};
  boost::asio::async_write(socket_, buffers,
                           [self = shared_from_this(), close_after](beast::error_code ec,
                                                                    std::size_t) {
                             self->on_write(ec, close_after);
                           });
}

void http_session::on_write(beast::error_code ec, bool close_after) {
  response_shared_body_.reset();
  if (ec || close_after) return close();
  do_read();
}

void http_session::start_sse(engine::instrument_id ins, std::uint8_t channels) {
  sse_ = true;
  sse_instrument_ = ins;
  io_.ctx().probe.responded(200);
  // The head is written when the publish stage confirms the subscription (its first
  // frame), so every event after the 200 reaches this client.
  sse_queue_.push_back(std::make_shared<const std::string>(
      "HTTP/1.1 200 OK\r\nServer: matchd\r\nContent-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n"));
  bus::read_query q;
  q.kind = bus::query_kind::subscribe;
  q.reply = {io_.index(), token_};
  q.instrument = ins;
  q.channels = channels;
  q.server_sent_events = true;
  if (!io_.query(q)) close();
  sse_timer_.emplace(socket_.get_executor());
  sse_heartbeat();
  // Notice a client hanging up: any read completion (EOF or data) ends the stream.
  buffer_.clear();
  socket_.async_read_some(buffer_.prepare(512),
                          [self = shared_from_this()](beast::error_code, std::size_t) {
                            self->close();
                          });
}

void http_session::sse_heartbeat() {
  // A comment line every 15 s keeps proxies and load balancers from closing a quiet stream.
  sse_timer_->expires_after(std::chrono::seconds(15));
  sse_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->closed_) return;
    if (self->sse_queue_.empty()) {
      self->sse_queue_.push_back(std::make_shared<const std::string>(": keepalive\n\n"));
      if (!self->sse_writing_) self->sse_write_next();
    }
    self->sse_heartbeat();
  });
}

void http_session::sse_write_next() {
  if (closed_ || sse_queue_.empty()) {
    sse_writing_ = false;
    return;
  }
  sse_writing_ = true;
  auto frame = sse_queue_.front();
  boost::asio::async_write(socket_, boost::asio::buffer(*frame),
                           [self = shared_from_this(), frame](beast::error_code ec, std::size_t) {
                             if (ec) return self->close();
                             self->sse_queue_.pop_front();
                             self->sse_write_next();
                           });
}

}  // namespace matchd::gateway
