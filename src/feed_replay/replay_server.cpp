#include "replay_server.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <list>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

namespace matchd::feed_replay {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {

using ordered_json = nlohmann::ordered_json;

constexpr auto kPollInterval = std::chrono::milliseconds(20);
constexpr auto kMaxGap = std::chrono::seconds(60);

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The trade payload of a line: the object itself or a combined stream's "data".
ordered_json* payload_of(ordered_json& doc) {
  if (!doc.is_object()) return nullptr;
  if (doc.contains("stream") && doc.contains("data") && doc["data"].is_object()) {
    return &doc["data"];
  }
  return &doc;
}

struct line_info {
  std::string text;
  std::int64_t trade_time_ms = -1;  // "T", or -1 when the line has none
  std::int64_t trade_id = -1;       // "t", or -1 when the line has none
};

// The integer field `key` of a line's trade payload, or -1.
std::int64_t integer_field(const std::string& text, const char* key) {
  ordered_json doc = ordered_json::parse(text, nullptr, false);
  if (doc.is_discarded()) return -1;
  const ordered_json* p = payload_of(doc);
  if (p == nullptr || !p->contains(key) || !(*p)[key].is_number_integer()) return -1;
  return (*p)[key].get<std::int64_t>();
}

// The line as sent: "E" and "T" moved by `time_offset_ms`, "t" by `id_offset`. Unchanged
// (byte for byte) when both are 0 or the line is not a JSON object.
std::string adjusted(const std::string& text, std::int64_t time_offset_ms, std::int64_t id_offset) {
  if (time_offset_ms == 0 && id_offset == 0) return text;
  ordered_json doc = ordered_json::parse(text, nullptr, false);
  if (doc.is_discarded()) return text;
  ordered_json* p = payload_of(doc);
  if (p == nullptr) return text;
  const auto shift = [p](const char* key, std::int64_t by) {
    if (by != 0 && p->contains(key) && (*p)[key].is_number_integer()) {
      (*p)[key] = (*p)[key].get<std::int64_t>() + by;
    }
  };
  shift("E", time_offset_ms);
  shift("T", time_offset_ms);
  shift("t", id_offset);
  return doc.dump();
}

// Four kinds of bad message, in turn; each is one parse error for the feed.
std::string malformed_message(std::uint64_t n) {
  const std::string t = std::to_string(900'000'000 + n);
  const std::string time = std::to_string(now_ms());
  switch (n % 4) {
    case 0:
      return R"({"e":"trade","E":)" + time + R"(,"s":"BTCUSDT","t":)" + t + R"(,"p":"7)";
    case 1:
      return R"({"e":"trade","E":)" + time + R"(,"s":"BTCUSDT","t":)" + t +
             R"(,"p":"70000.00000000","T":)" + time + R"(,"m":true,"M":true})";
    case 2:
      return R"({"e":"trade","E":)" + time + R"(,"s":"BTCUSDT","t":)" + t +
             R"(,"p":"70,000.00","q":"0.01000000","T":)" + time + R"(,"m":false,"M":true})";
    default:
      return R"({"e":"trade","E":)" + time + R"(,"s":"XYZUSDT","t":)" + t +
             R"(,"p":"1.00000000","q":"1.00000000","T":)" + time + R"(,"m":true,"M":true})";
  }
}

}  // namespace

struct replay_server::state : std::enable_shared_from_this<replay_server::state> {
  state(asio::io_context& ioc, const tcp::endpoint& listen, replay_options opts,
        ssl::context* tls_ctx)
      : executor(ioc.get_executor()), acceptor(ioc), options(std::move(opts)), tls(tls_ctx) {
    acceptor.open(listen.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(listen);
    acceptor.listen();
    std::int64_t lowest = -1;
    std::int64_t highest = -1;
    for (const std::string& l : options.lines) {
      const line_info info{l, integer_field(l, "T"), integer_field(l, "t")};
      if (info.trade_id >= 0) {
        lowest = lowest < 0 ? info.trade_id : std::min(lowest, info.trade_id);
        highest = std::max(highest, info.trade_id);
      }
      lines.push_back(info);
    }
    id_span = highest >= 0 ? highest - lowest + 1 : 0;
  }

  asio::io_context::executor_type executor;
  tcp::acceptor acceptor;
  replay_options options;
  ssl::context* tls;
  std::vector<line_info> lines;
  std::int64_t id_span = 0;      // largest "t" - smallest "t" + 1: a loop pass's id offset
  std::size_t cursor = 0;        // shared by connections unless restart_on_connect
  std::int64_t pass = 0;         // passes over the file completed, shared like the cursor
  std::uint64_t lines_sent = 0;  // real lines, for the malformed injection
  std::list<std::function<void()>> closers;  // drop each open connection, for stop()
  bool stopped = false;

  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> drops{0};

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) co_return;
        continue;
      }
      if (tls != nullptr) {
        auto ws = std::make_shared<websocket::stream<ssl::stream<beast::tcp_stream>>>(
            std::move(socket), *tls);
        asio::co_spawn(executor, serve_tls(ws), asio::detached);
      } else {
        auto ws = std::make_shared<websocket::stream<beast::tcp_stream>>(std::move(socket));
        asio::co_spawn(executor, serve(ws), asio::detached);
      }
    }
  }

  awaitable<void> serve_tls(std::shared_ptr<websocket::stream<ssl::stream<beast::tcp_stream>>> ws) {
    beast::error_code ec;
    beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(10));
    co_await ws->next_layer().async_handshake(ssl::stream_base::server,
                                              asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;  // e.g. a client that does not trust our certificate
    co_await serve(ws);
  }

  template <class Ws>
  awaitable<void> serve(std::shared_ptr<Ws> ws) {
    auto self = shared_from_this();
    beast::error_code ec;
    beast::get_lowest_layer(*ws).expires_never();
    ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    co_await ws->async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    ++connections;

    auto closed = std::make_shared<bool>(false);
    auto drop = [ws, closed] {
      *closed = true;
      beast::error_code ignored;
      beast::get_lowest_layer(*ws).socket().close(ignored);
    };
    const auto closer = closers.insert(closers.end(), drop);
    // Reads (and so answers pings and closes) while the writer below sends.
    asio::co_spawn(
        executor,
        [ws, closed]() -> awaitable<void> {
          beast::flat_buffer buffer;
          beast::error_code read_ec;
          while (!read_ec) {
            co_await ws->async_read(buffer, asio::redirect_error(use_awaitable, read_ec));
            buffer.consume(buffer.size());
          }
          *closed = true;
        },
        asio::detached);

    co_await write_loop(*ws, closed);
    closers.erase(closer);
    if (!*closed) drop();
  }

  awaitable<void> pause(std::chrono::steady_clock::duration d) {
    asio::steady_timer timer(executor);
    timer.expires_after(d);
    beast::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  }

  template <class Ws>
  awaitable<bool> send(Ws& ws, const std::string& text) {
    beast::error_code ec;
    ws.text(true);
    co_await ws.async_write(asio::buffer(text), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return false;
    ++messages;
    co_return true;
  }

  template <class Ws>
  awaitable<void> write_loop(Ws& ws, std::shared_ptr<bool> closed) {
    const auto opened = std::chrono::steady_clock::now();
    auto next_ping = opened + options.ping_interval;
    const auto due = [&] {
      return options.close_after.count() > 0 &&
             std::chrono::steady_clock::now() - opened >= options.close_after;
    };
    const auto maybe_ping = [&]() -> awaitable<bool> {
      if (options.ping_interval.count() <= 0 || std::chrono::steady_clock::now() < next_ping) {
        co_return true;
      }
      next_ping = std::chrono::steady_clock::now() + options.ping_interval;
      beast::error_code ec;
      co_await ws.async_ping({}, asio::redirect_error(use_awaitable, ec));
      co_return !ec;
    };

    while (!options.wait_for_file.empty() && !std::filesystem::exists(options.wait_for_file)) {
      if (*closed || stopped) co_return;
      if (!co_await maybe_ping()) co_return;
      co_await pause(kPollInterval);
    }

    std::size_t index = options.restart_on_connect ? 0 : cursor;
    std::int64_t this_pass = options.restart_on_connect ? 0 : pass;
    std::size_t sent_here = 0;
    std::int64_t previous_time = -1;
    while (!*closed && !stopped) {
      if (due()) {
        beast::error_code ec;
        co_await ws.async_close(websocket::close_code::going_away,
                                asio::redirect_error(use_awaitable, ec));
        co_return;
      }
      if (!co_await maybe_ping()) co_return;
      if (index >= lines.size()) {
        if (options.loop && !lines.empty()) {
          index = 0;
          ++this_pass;
          if (!options.restart_on_connect) pass = this_pass;
          previous_time = -1;
        } else {
          co_await pause(kPollInterval);  // at the end: stay connected, keep pinging
          continue;
        }
      }
      const line_info& line = lines[index];
      if (options.speed > 0 && previous_time >= 0 && line.trade_time_ms > previous_time) {
        const auto gap = std::chrono::duration<double, std::milli>(
            static_cast<double>(line.trade_time_ms - previous_time) / options.speed);
        co_await pause(std::min<std::chrono::steady_clock::duration>(
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(gap), kMaxGap));
        if (*closed || stopped) co_return;
      }
      if (line.trade_time_ms >= 0) previous_time = line.trade_time_ms;

      const std::int64_t time_offset =
          options.retime && line.trade_time_ms >= 0 ? now_ms() - line.trade_time_ms : 0;
      const std::int64_t id_offset = line.trade_id >= 0 ? this_pass * id_span : 0;
      if (!co_await send(ws, adjusted(line.text, time_offset, id_offset))) co_return;
      ++index;
      if (!options.restart_on_connect) cursor = index;
      ++lines_sent;
      ++sent_here;
      if (options.inject_malformed_every > 0 && lines_sent % options.inject_malformed_every == 0) {
        if (!co_await send(ws, malformed_message(malformed.load()))) co_return;
        ++malformed;
        ++sent_here;
      }
      if (options.drop_after > 0 && sent_here >= options.drop_after &&
          (options.max_drops == 0 || drops.load() < options.max_drops)) {
        ++drops;
        co_return;  // serve() closes the socket without a close frame
      }
    }
  }
};

replay_server::replay_server(asio::io_context& ioc, const tcp::endpoint& listen,
                             replay_options options, ssl::context* tls)
    : state_(std::make_shared<state>(ioc, listen, std::move(options), tls)) {}

replay_server::~replay_server() = default;

tcp::endpoint replay_server::local_endpoint() const {
  return state_->acceptor.local_endpoint();
}

void replay_server::start() {
  asio::co_spawn(state_->executor, state_->accept_loop(), asio::detached);
}

void replay_server::stop() {
  asio::post(state_->executor, [s = state_] {
    s->stopped = true;
    beast::error_code ignored;
    s->acceptor.close(ignored);
    const auto closers = s->closers;
    for (const auto& close : closers) close();
  });
}

std::uint64_t replay_server::connections() const noexcept {
  return state_->connections.load();
}
std::uint64_t replay_server::messages_sent() const noexcept {
  return state_->messages.load();
}
std::uint64_t replay_server::malformed_sent() const noexcept {
  return state_->malformed.load();
}
std::uint64_t replay_server::drops() const noexcept {
  return state_->drops.load();
}

std::vector<std::string> load_ndjson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

}  // namespace matchd::feed_replay
