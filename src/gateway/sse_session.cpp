#include "sse_session.h"

#include <matchd/obs/logger.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

namespace matchd::gateway {

namespace {

constexpr std::chrono::seconds kHeartbeat{15};

}  // namespace

sse_session::sse_session(boost::asio::ip::tcp::socket&& socket, io_thread& io,
                         connection_ticket ticket)
    : socket_(std::move(socket)),
      io_(io),
      ticket_(std::move(ticket)),
      heartbeat_timer_(io.context()) {}

sse_session::~sse_session() {
  if (token_ != 0) {
    io_.unregister_session(token_);
    if (subscribed_) {
      bus::read_query q;
      q.kind = bus::query_kind::drop_subscriber;
      q.reply = {io_.index(), token_};
      q.instrument = instrument_;
      (void)io_.query(q);
    }
  }
}

void sse_session::run(const sse_subscription& sub) {
  token_ = io_.register_session(weak_from_this());
  instrument_ = sub.instrument;
  key_ = sub.key;
  io_.ctx().probe.responded(200);
  // Held back until the publish stage's first frame releases it.
  queue_.push_back(std::make_shared<const std::string>(
      "HTTP/1.1 200 OK\r\nServer: matchd\r\nContent-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n"));
  bus::read_query q;
  q.kind = bus::query_kind::subscribe;
  q.reply = {io_.index(), token_};
  q.instrument = sub.instrument;
  q.channels = sub.channels;
  q.candle_intervals = sub.candle_intervals;
  q.server_sent_events = true;
  q.scope = sub.scope;
  q.client = sub.client;
  subscribed_ = io_.query(q);
  if (!subscribed_) return close();  // the publish stage's queue is full
  heartbeat();
  // Notice a client hanging up: any read completion (EOF or data) ends the stream.
  socket_.async_read_some(
      boost::asio::buffer(read_buffer_),
      [self = shared_from_this()](boost::beast::error_code, std::size_t) { self->close(); });
}

void sse_session::shutdown() {
  close();
}

void sse_session::check_idle(std::chrono::steady_clock::time_point now) {
  if (closed_ || !writing_ || now - write_started_ <= io_.ctx().options.idle_timeout) return;
  obs::logger("gateway")->debug("sse client took no data for {} s, closing token={}",
                                io_.ctx().options.idle_timeout.count(), token_);
  close();
}

void sse_session::keys_revoked(const std::vector<auth::key_id>& ids) {
  if (key_ == 0 || closed_ || std::find(ids.begin(), ids.end(), key_) == ids.end()) return;
  io_.auth_failed(auth_failure::revoked, "event stream closed", key_);
  close();
}

void sse_session::close() {
  heartbeat_timer_.cancel();
  if (closed_) return;
  closed_ = true;
  boost::beast::error_code ec;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  socket_.close(ec);
}

void sse_session::on_delivery(bus::io_delivery&& d) {
  if (closed_) return;
  if (d.what == bus::io_delivery::kind::evict ||
      (d.what == bus::io_delivery::kind::stream &&
       queue_.size() >= io_.ctx().options.subscriber_buffer)) {
    obs::logger("gateway")->warn("sse subscriber too slow, closing token={}", token_);
    io_.ctx().probe.slow_consumer_dropped();
    return close();
  }
  if (d.what != bus::io_delivery::kind::stream || !d.body) return;
  queue_.push_back(std::move(d.body));
  if (!writing_) write_next();  // the first delivery also releases the head
}

void sse_session::heartbeat() {
  heartbeat_timer_.expires_after(kHeartbeat);
  heartbeat_timer_.async_wait([self = shared_from_this()](boost::beast::error_code ec) {
    if (ec || self->closed_) return;
    if (self->queue_.empty()) {
      self->queue_.push_back(std::make_shared<const std::string>(": keepalive\n\n"));
      if (!self->writing_) self->write_next();
    }
    self->heartbeat();
  });
}

void sse_session::write_next() {
  if (closed_ || queue_.empty()) {
    writing_ = false;
    return;
  }
  write_started_ = std::chrono::steady_clock::now();
  writing_ = true;
  auto frame = queue_.front();
  boost::asio::async_write(
      socket_, boost::asio::buffer(*frame),
      [self = shared_from_this(), frame](boost::beast::error_code ec, std::size_t) {
        if (ec) return self->close();
        self->queue_.pop_front();
        self->write_next();
      });
}

}  // namespace matchd::gateway
