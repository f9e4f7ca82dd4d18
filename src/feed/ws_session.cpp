#include "ws_session.h"

#include <openssl/ssl.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace matchd::feed {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto kCloseTimeout = std::chrono::seconds(1);
constexpr const char* kUserAgent = "matchd-feed/0.1";

using plain_stream = websocket::stream<beast::tcp_stream>;
using tls_stream = websocket::stream<ssl::stream<beast::tcp_stream>>;

template <class Stream>
class basic_session final : public ws_session,
                            public std::enable_shared_from_this<basic_session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, tls_stream>;

 public:
  basic_session(feed_executor executor, session_settings settings, ssl::context* tls)
      : settings_(std::move(settings)),
        resolver_(executor),
        deadline_(executor),
        ws_(make_stream(executor, tls)) {}

  void run(std::weak_ptr<session_events> events) override {
    events_ = std::move(events);
    deadline_.expires_after(settings_.connect_timeout);
    deadline_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec == asio::error::operation_aborted || self->ended_ || self->open_) return;
      self->timed_out_ = true;
      self->abort();
    });
    resolver_.async_resolve(
        settings_.url.host, settings_.url.port,
        beast::bind_front_handler(&basic_session::on_resolve, this->shared_from_this()));
  }

  void close() override {
    if (ended_ || closing_) return;
    closing_ = true;
    if (!open_) {
      abort();
      return;
    }
    websocket::stream_base::timeout t = timeouts();
    t.handshake_timeout = kCloseTimeout;  // Beast bounds the closing handshake with it
    ws_.set_option(t);
    ws_.async_close(websocket::close_code::normal,
                    [self = this->shared_from_this()](beast::error_code ec) {
                      self->end("stopped", ec ? ec.message() : "closed by us");
                    });
  }

 private:
  static Stream make_stream(feed_executor executor, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(executor, *tls);
    } else {
      (void)tls;
      return Stream(executor);
    }
  }

  websocket::stream_base::timeout timeouts() const {
    websocket::stream_base::timeout t =
        websocket::stream_base::timeout::suggested(beast::role_type::client);
    t.handshake_timeout = settings_.connect_timeout;
    if (settings_.idle_timeout.count() > 0) {
      t.idle_timeout = settings_.idle_timeout;
      t.keep_alive_pings = true;
    }
    return t;
  }

  // Cancels whatever is pending; the pending handler then reports the end.
  void abort() {
    resolver_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  std::string describe(std::string_view stage, const beast::error_code& ec) const {
    if (timed_out_) {
      return "timed out after " + std::to_string(settings_.connect_timeout.count()) + " ms (" +
             std::string(stage) + ")";
    }
    if (closing_) return "stopped";
    return ec.message();
  }

  void end(std::string_view stage, const std::string& detail) {
    if (ended_) return;
    ended_ = true;
    deadline_.cancel();
    if (const auto events = events_.lock()) events->on_end(*this, stage, detail);
  }

  void fail(std::string_view stage, const beast::error_code& ec) {
    end(closing_ ? std::string_view("stopped") : stage, describe(stage, ec));
  }

  void on_resolve(beast::error_code ec, const tcp::resolver::results_type& results) {
    if (ec || closing_) return fail("resolve", ec);
    beast::get_lowest_layer(ws_).async_connect(
        results, beast::bind_front_handler(&basic_session::on_connect, this->shared_from_this()));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (ec || closing_) return fail("connect", ec);
    beast::error_code nodelay_ec;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), nodelay_ec);
    if constexpr (kTls) {
      auto& tls = ws_.next_layer();
      const std::string& host = settings_.url.host;
      beast::error_code not_an_address;
      asio::ip::make_address(host, not_an_address);
      // SNI carries names only (RFC 6066); an address literal is verified against the
      // certificate's IP SANs instead.
      // SSL_set_tlsext_host_name, spelled out: the macro hides a C-style cast.
      if (not_an_address &&
          SSL_ctrl(tls.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                   const_cast<char*>(host.c_str())) != 1) {
        return end("tls", "cannot set SNI host name " + host);
      }
      if (settings_.verify_peer) {
        tls.set_verify_mode(ssl::verify_peer);
        tls.set_verify_callback(ssl::host_name_verification(host));
      } else {
        tls.set_verify_mode(ssl::verify_none);
      }
      tls.async_handshake(
          ssl::stream_base::client,
          beast::bind_front_handler(&basic_session::on_tls_handshake, this->shared_from_this()));
    } else {
      do_ws_handshake();
    }
  }

  void on_tls_handshake(beast::error_code ec) {
    if (ec || closing_) return fail("tls", ec);
    do_ws_handshake();
  }

  void do_ws_handshake() {
    ws_.set_option(timeouts());
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& req) { req.set(beast::http::field::user_agent, kUserAgent); }));
    ws_.read_message_max(settings_.max_message_bytes);
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
      // Beast answers pings itself; this only counts them. Runs inside a read of ours,
      // which holds a reference to the session.
      if (kind == websocket::frame_type::ping) {
        if (const auto events = events_.lock()) events->on_ping(*this);
      }
    });
    ws_.async_handshake(
        settings_.url.host_header(), settings_.url.target,
        beast::bind_front_handler(&basic_session::on_ws_handshake, this->shared_from_this()));
  }

  void on_ws_handshake(beast::error_code ec) {
    if (ec || closing_) return fail("websocket", ec);
    open_ = true;
    deadline_.cancel();
    if (const auto events = events_.lock()) events->on_open(*this);
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_,
                   beast::bind_front_handler(&basic_session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == websocket::error::closed) {
      const websocket::close_reason& r = ws_.reason();
      return end(
          closing_ ? "stopped" : "closed",
          "close code " + std::to_string(r.code) +
              (r.reason.empty() ? std::string()
                                : " reason " + std::string(r.reason.data(), r.reason.size())));
    }
    if (ec) return fail("read", ec);
    if (const auto events = events_.lock()) {
      if (ws_.got_text()) {
        const auto data = buffer_.cdata();
        events->on_message(*this,
                           std::string_view(static_cast<const char*>(data.data()), data.size()));
      } else {
        events->on_binary(*this);
      }
    }
    buffer_.consume(buffer_.size());
    if (!ended_) do_read();
  }

  session_settings settings_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  Stream ws_;
  beast::flat_buffer buffer_;
  std::weak_ptr<session_events> events_;
  bool open_ = false;
  bool closing_ = false;
  bool ended_ = false;
  bool timed_out_ = false;
};

}  // namespace

std::shared_ptr<ws_session> ws_session::make(feed_executor executor, session_settings settings,
                                             ssl::context* tls) {
  if (settings.url.tls) {
    return std::make_shared<basic_session<tls_stream>>(executor, std::move(settings), tls);
  }
  return std::make_shared<basic_session<plain_stream>>(executor, std::move(settings), tls);
}

}  // namespace matchd::feed
