#include <matchd/bus/backoff.h>
#include <matchd/bus/clock.h>
#include <matchd/feed/feed_client.h>
#include <matchd/feed/order_mapping.h>
#include <matchd/feed/trade_message.h>
#include <matchd/feed/ws_url.h>
#include <matchd/obs/log_throttle.h>
#include <matchd/obs/logger.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <random>
#include <stdexcept>

#include "feed_probe.h"
#include "ws_session.h"

namespace matchd::feed {

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using std::chrono::milliseconds;

constexpr auto kWarnInterval = std::chrono::seconds(10);

ws_url checked_url(const std::string& text) {
  std::string why;
  auto url = parse_ws_url(text, &why);
  if (!url) {
    throw std::invalid_argument("feed: bad URL \"" + text + "\": " + why +
                                " (expected ws://host[:port]/path or wss://...)");
  }
  return std::move(*url);
}

std::unique_ptr<ssl::context> make_tls_context(const feed_options& options) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (options.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) throw std::invalid_argument("feed: cannot load the system CA store: " + ec.message());
  } else {
    ctx->load_verify_file(options.ca_file, ec);
    if (ec) {
      throw std::invalid_argument("feed: cannot load CA file " + options.ca_file + ": " +
                                  ec.message());
    }
  }
  ctx->set_verify_mode(options.verify_peer ? ssl::verify_peer : ssl::verify_none);
  return ctx;
}

}  // namespace

// The client's state, shared with its handlers so that queued ones stay valid after the
// feed_client is gone. Everything but start/stop/stats runs on the strand.
class feed_client::core final : public session_events,
                                public std::enable_shared_from_this<feed_client::core> {
 public:
  core(asio::io_context& ioc, feed_options options,
       const std::vector<engine::instrument>& instruments, submit_function submit,
       obs::registry& registry)
      : options_(std::move(options)),
        url_(checked_url(options_.url)),
        mapping_(trade_mapping::make(options_, instruments)),
        submit_(std::move(submit)),
        strand_(asio::make_strand(ioc)),
        reconnect_timer_(strand_),
        message_timer_(strand_),
        backoff_(options_.reconnect_initial, options_.reconnect_max, bus::jitter::full,
                 std::random_device{}()),
        probe_(registry),
        log_(obs::logger("feed")) {
    if (!submit_) throw std::invalid_argument("feed: no submit function");
    if (url_.tls) tls_ = make_tls_context(options_);
  }

  void start() {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->stopped_ || self->started_) return;
      self->started_ = true;
      self->log_->info(
          "starting url={} symbols={} client_id={} quantity_scale={} mode={}", self->options_.url,
          self->mapping_.routes.size(), self->options_.client_id, self->options_.quantity_scale,
          self->options_.price_guard_bps ? "limit-ioc guard_bps=" + *self->options_.price_guard_bps
                                         : std::string("market"));
      self->connect();
    });
  }

  void stop() {
    stopping_.store(true, std::memory_order_relaxed);
    asio::post(strand_, [self = shared_from_this()] {
      if (self->stopped_) return;
      self->stopped_ = true;
      self->reconnect_timer_.cancel();
      self->message_timer_.cancel();
      if (self->session_) self->session_->close();
    });
  }

  feed_stats stats() const { return probe_.stats(); }

  // session_events
  void on_open(ws_session& s) override {
    if (&s != session_.get()) return;
    connected_ = true;
    probe_.connection_opened();
    log_->info("connected url={}", options_.url);
    last_message_ = std::chrono::steady_clock::now();
    arm_message_timer();
  }

  void on_message(ws_session& s, std::string_view text) override {
    if (&s != session_.get() || stopped_ || stopping_.load(std::memory_order_relaxed)) return;
    probe_.message();
    last_message_ = std::chrono::steady_clock::now();
    feed_message m = parse_feed_message(text);
    switch (m.kind) {
      case message_kind::trade:
        return on_trade(m.trade);
      case message_kind::server_shutdown:
        log_->info("server announced a shutdown; reconnecting now");
        close_for("server_shutdown");
        return;
      case message_kind::ignored:
        probe_.ignored();
        log_->debug("ignored message why=\"{}\"", m.detail);
        return;
      case message_kind::malformed:
        probe_.parse_error(m.error);
        warn_bad_message(to_string(m.error), m.detail, text);
        return;
    }
  }

  void on_binary(ws_session& s) override {
    if (&s != session_.get()) return;
    probe_.message();
    probe_.ignored();
    log_->debug("ignored a binary message");
  }

  void on_ping(ws_session& s) override {
    if (&s == session_.get()) probe_.ping();
  }

  void on_end(ws_session& s, std::string_view stage, const std::string& detail) override {
    if (&s != session_.get()) return;
    const std::shared_ptr<ws_session> ended = std::move(session_);
    message_timer_.cancel();
    if (connected_) probe_.connection_closed();
    const bool was_connected = std::exchange(connected_, false);
    if (stopped_) {
      log_->info("stopped");
      return;
    }
    // A close we asked for is reported as "stopped" by the session; say why instead.
    const std::string why = std::exchange(close_reason_, std::string());
    if (!why.empty()) stage = why;
    probe_.connection_error(stage);
    // serverShutdown asks for a new connection as soon as possible.
    const milliseconds delay = why == "server_shutdown" ? milliseconds(0) : backoff_.next();
    probe_.reconnect();
    if (stage == "closed" || why == "server_shutdown") {
      // Binance closes every connection after 24 hours: an ordinary reconnect.
      log_->info("connection ended stage={} {} reconnect_in_ms={}", stage, detail, delay.count());
    } else {
      log_->warn("connection {} stage={} error=\"{}\" connected_before={} reconnect_in_ms={}",
                 was_connected ? "lost" : "failed", stage, detail, was_connected, delay.count());
    }
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped_) return;
      self->connect();
    });
  }

 private:
  void connect() {
    session_settings settings;
    settings.url = url_;
    settings.connect_timeout = options_.connect_timeout;
    settings.idle_timeout = options_.idle_timeout;
    settings.max_message_bytes = options_.max_message_bytes;
    settings.verify_peer = options_.verify_peer;
    healthy_ = false;
    session_ = ws_session::make(strand_, std::move(settings), tls_.get());
    session_->run(weak_from_this());
  }

  void on_trade(const parsed_trade& trade) {
    const std::int64_t now_us = bus::wall_us();
    probe_.lag(static_cast<double>(now_us - trade.trade_time_ms * 1000) / 1e6);
    mapping_errc why = mapping_errc::ok;
    const auto order = to_market_order(trade, mapping_, now_us, &why);
    if (!order) {
      probe_.mapping_error(why);
      if (is_malformed(why)) {
        warn_bad_message(to_string(why), "trade cannot be mapped", trade.symbol);
      } else {
        log_->debug("skipped trade symbol={} trade_id={} q={} reason={}", trade.symbol,
                    trade.trade_id, trade.quantity, to_string(why));
      }
      return;
    }
    if (!healthy_) {
      // A connection that delivers trades is a good one: start the backoff over.
      healthy_ = true;
      backoff_.reset();
    }
    bus::engine_request r;
    r.kind = bus::request_kind::place;
    r.received_ns = bus::steady_ns();
    r.place = *order;
    if (submit_(std::move(r))) {
      probe_.submitted();
      return;
    }
    probe_.dropped();
    std::uint64_t suppressed = 0;
    if (drop_warnings_.allow(suppressed)) {
      log_->warn("engine queue full: dropped the order of trade_id={} suppressed={}",
                 trade.trade_id, suppressed);
    }
  }

  void warn_bad_message(std::string_view reason, std::string_view detail, std::string_view text) {
    constexpr std::size_t kExcerpt = 200;
    const std::string_view excerpt = text.substr(0, kExcerpt);
    log_->debug("skipped malformed message reason={} why=\"{}\" text={}", reason, detail, excerpt);
    std::uint64_t suppressed = 0;
    if (parse_warnings_.allow(suppressed)) {
      log_->warn("skipped malformed message reason={} why=\"{}\" text={} suppressed={}", reason,
                 detail, excerpt, suppressed);
    }
  }

  // Ends the current connection on purpose; on_end then reconnects, labelled `why`.
  void close_for(const char* why) {
    close_reason_ = why;
    session_->close();
  }

  void arm_message_timer() {
    if (options_.message_timeout.count() <= 0) return;
    message_timer_.expires_at(last_message_ + options_.message_timeout);
    message_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped_ || !self->session_ || !self->connected_) return;
      if (std::chrono::steady_clock::now() - self->last_message_ < self->options_.message_timeout) {
        self->arm_message_timer();
        return;
      }
      self->log_->warn("no message for {} ms; reconnecting",
                       self->options_.message_timeout.count());
      self->close_for("message_timeout");
    });
  }

  const feed_options options_;
  const ws_url url_;
  const trade_mapping mapping_;
  const submit_function submit_;
  feed_executor strand_;
  std::unique_ptr<ssl::context> tls_;
  asio::steady_timer reconnect_timer_;
  asio::steady_timer message_timer_;
  bus::retry_backoff backoff_;
  feed_probe probe_;
  std::shared_ptr<spdlog::logger> log_;
  obs::log_throttle parse_warnings_{kWarnInterval};
  obs::log_throttle drop_warnings_{kWarnInterval};

  std::shared_ptr<ws_session> session_;
  std::chrono::steady_clock::time_point last_message_{};
  std::atomic<bool> stopping_{false};  // set by stop() on any thread
  bool stopped_ = false;
  bool started_ = false;
  bool connected_ = false;
  bool healthy_ = false;
  std::string close_reason_;  // set while we close a connection to replace it
};

feed_client::feed_client(boost::asio::io_context& ioc, feed_options options,
                         const std::vector<engine::instrument>& instruments, submit_function submit,
                         obs::registry& registry)
    : core_(std::make_shared<core>(ioc, std::move(options), instruments, std::move(submit),
                                   registry)) {}

feed_client::~feed_client() {
  stop();
}

void feed_client::start() {
  core_->start();
}

void feed_client::stop() {
  core_->stop();
}

feed_stats feed_client::stats() const {
  return core_->stats();
}

}  // namespace matchd::feed
