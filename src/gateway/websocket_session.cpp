#include "websocket_session.h"

#include <matchd/bus/clock.h>
#include <matchd/codec/flat_object.h>
#include <matchd/codec/json_writer.h>
#include <matchd/net/ws_frame.h>
#include <matchd/obs/logger.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>

#include "credentials.h"
#include "order_entry.h"
#include "query_string.h"

namespace matchd::gateway {

namespace {

constexpr std::size_t kMaxReqIdLength = 128;
// Read from the socket at a time: about 90 pipelined orders, 16 KiB per connection.
constexpr std::size_t kReadChunk = 16 * 1024;
// Bytes of frames a session holds (waiting and on the wire) before it is closed as too
// slow, next to the subscriber buffer's count of frames: each session copies the frames
// it is sent, so the count alone would let large book frames pile up per subscriber. A
// single frame larger than this still goes out when nothing else is held.
constexpr std::size_t kMaxHeldBytes = 32u << 20;
// The opening handshake's answer and the closing handshake must be done within this.
constexpr std::chrono::seconds kHandshakeTimeout{10};
// Bytes of whole frames handed to the socket in one write (a larger frame goes alone). What
// is handed over goes out whole, so this is also how much a slow subscriber still has to
// read, beyond what the kernel holds, before its close frame.
constexpr std::size_t kMaxWriteBytes = 64u << 10;
// From the moment a subscriber is found too slow, how long it has to read what is already on
// its way and the close frame (docs/api.md); then the connection is closed without it.
constexpr std::chrono::seconds kSlowCloseDeadline{10};
// The clients one session's cancel-on-disconnect covers at most (one mass cancel each at
// its end): a place for one more is refused while it is on.
constexpr std::size_t kMaxDisconnectClients = 64;

// The size of the unmasked frame at the front of `frames`, as net::append_text_frame
// writes it.
std::size_t frame_size(std::string_view frames) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(frames[i]); };
  const std::size_t length = byte(1) & 0x7f;
  if (length < 126) return 2 + length;
  if (length == 126) return 4 + (std::size_t{byte(2)} << 8 | byte(3));
  std::size_t n = 0;
  for (std::size_t i = 2; i < 10; ++i) n = n << 8 | byte(i);
  return 10 + n;
}

// The envelope of a message: its top-level "op" and "req_id", from the flat scan of an
// order-shaped message, or read by SAX while the order parser reads the same pass
// (complete() says whether the pass reached the end), or alone.
// A place message (the hot path) never builds a DOM; other ops parse one.
class envelope_reader : public nlohmann::json::json_sax_t {
 public:
  using json = nlohmann::json;

  enum class req_state : std::uint8_t { absent, ok, wrong_type };

  bool null() override { return value(nullptr); }
  bool boolean(bool v) override { return value(v); }
  bool number_integer(json::number_integer_t v) override { return value(v); }
  bool number_unsigned(json::number_unsigned_t v) override { return value(v); }
  bool number_float(json::number_float_t v, const json::string_t&) override { return value(v); }
  bool string(json::string_t& v) override { return value(v); }
  bool binary(json::binary_t&) override { return value(nullptr); }  // not in JSON text
  bool start_object(std::size_t) override { return open(); }
  bool start_array(std::size_t) override { return depth_ == 0 ? false : open(); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(json::string_t& k) override {
    if (depth_ != 1) return true;
    current_ = k == "op" ? field::op : k == "req_id" ? field::req_id : field::other;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    failed_ = true;
    return false;
  }

  // The envelope of a message the flat scan read (instead of the SAX events), with the same
  // results: a number is a valid req_id only when integral, as in the SAX path.
  void read(const codec::flat_object& msg) {
    for (const codec::flat_member& m : msg) {
      if (m.key == "op") {
        if (m.kind == codec::json_kind::string) {
          op_.emplace(m.text);
        } else {
          op_.reset();
        }
      } else if (m.key == "req_id") {
        const bool integral =
            m.kind == codec::json_kind::number && m.text.find('.') == std::string_view::npos;
        if (m.kind == codec::json_kind::string) {
          req_ = req_state::ok;
          req_id_.assign("\"").append(m.text).append("\"");  // no escapes in flat strings
        } else if (integral) {
          req_ = req_state::ok;
          req_id_.assign(m.text);
        } else {
          req_ = req_state::wrong_type;
          req_id_ = "null";
        }
      }
    }
    finished_ = true;
  }

  // The whole text was read, as one JSON object.
  [[nodiscard]] bool complete() const noexcept { return finished_ && !failed_; }

  // Last wins for a repeated key, as in a parsed document.
  [[nodiscard]] const std::optional<std::string>& op() const noexcept { return op_; }
  [[nodiscard]] req_state req() const noexcept { return req_; }
  // The req_id as JSON text (a string with its quotes and escapes, or digits); "null"
  // unless req() is ok.
  [[nodiscard]] const std::string& req_id() const noexcept { return req_id_; }

 private:
  enum class field : std::uint8_t { other, op, req_id };

  template <class T>
  bool value(const T& v) {
    if (depth_ == 0) return false;  // a scalar at the top is not an object
    if (depth_ != 1) return true;
    if (current_ == field::op) {
      if constexpr (std::is_same_v<T, json::string_t>) {
        op_ = v;
      } else {
        op_.reset();
      }
    } else if (current_ == field::req_id) {
      if constexpr (std::is_same_v<T, json::string_t> ||
                    std::is_same_v<T, json::number_integer_t> ||
                    std::is_same_v<T, json::number_unsigned_t>) {
        req_ = req_state::ok;
        req_id_ = json(v).dump();
      } else {
        req_ = req_state::wrong_type;
        req_id_ = "null";
      }
    }
    return true;
  }
  bool open() {
    if (depth_ == 1 && current_ != field::other) {
      // An object or array where op or req_id should be.
      if (current_ == field::op) op_.reset();
      if (current_ == field::req_id) {
        req_ = req_state::wrong_type;
        req_id_ = "null";
      }
    }
    ++depth_;
    return true;
  }
  bool close() {
    if (--depth_ == 0) finished_ = true;
    return true;
  }

  std::size_t depth_ = 0;
  field current_ = field::other;
  std::optional<std::string> op_;
  req_state req_ = req_state::absent;
  std::string req_id_ = "null";
  bool finished_ = false;
  bool failed_ = false;
};

}  // namespace

websocket_session::websocket_session(beast::tcp_stream&& stream, io_thread& io,
                                     connection_ticket ticket, std::shared_ptr<auth::principal> key,
                                     stream_delivery delivery)
    : ws_(std::move(stream), kReadChunk),
      io_(io),
      ticket_(std::move(ticket)),
      close_timer_(io.context()),
      delivery_(delivery),
      pace_timer_(io.context()),
      key_(std::move(key)) {}

websocket_session::~websocket_session() {
  cancel_on_disconnect();
  if (token_ != 0) {
    io_.unregister_session(token_);
    for (engine::instrument_id ins : subscribed_) {
      bus::read_query q;
      q.kind = bus::query_kind::drop_subscriber;
      q.reply = {io_.index(), token_};
      q.instrument = ins;
      (void)io_.query(q);
    }
  }
}

void websocket_session::run(beast::http::request<beast::http::string_body> upgrade) {
  token_ = io_.register_session(weak_from_this());
  // Beast pings a peer silent for half the idle timeout and closes it if nothing (a pong or
  // anything else) has come by the end of it.
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = kHandshakeTimeout;
  timeouts.idle_timeout = io_.ctx().options.ws_idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.read_message_max(io_.ctx().options.body_limit);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "matchd"); }));
  ws_.async_accept(upgrade,
                   beast::bind_front_handler(&websocket_session::on_accept, shared_from_this()));
}

void websocket_session::on_accept(beast::error_code ec) {
  if (ec) return hard_close();
  do_read();
}

void websocket_session::shutdown() {
  close_with(websocket::close_code::going_away, std::chrono::seconds(1));
}

void websocket_session::check_idle(std::chrono::steady_clock::time_point now) {
  if (closing_ || ws_.is_message_done()) {
    unfinished_since_.reset();
    return;
  }
  if (!unfinished_since_ || unfinished_after_ != messages_read_) {
    unfinished_since_ = now;
    unfinished_after_ = messages_read_;
    return;
  }
  if (now - *unfinished_since_ < io_.ctx().options.ws_message_timeout) return;
  obs::logger("gateway")->debug("websocket message unfinished after {} s, closing token={}",
                                io_.ctx().options.ws_message_timeout.count(), token_);
  close_with(websocket::close_reason(websocket::close_code::policy_error, "message timeout"),
             std::chrono::seconds(1));
}

void websocket_session::keys_revoked(const std::vector<auth::key_id>& ids) {
  if (!key_ || closing_ || std::find(ids.begin(), ids.end(), key_->id()) == ids.end()) return;
  io_.auth_failed(auth_failure::revoked, "websocket closed with 1008", key_->id());
  close_with(websocket::close_reason(websocket::close_code::policy_error, "key revoked"),
             std::chrono::seconds(1));
}

void websocket_session::close_with(websocket::close_reason reason, std::chrono::seconds grace) {
  if (closing_) return;
  closing_ = true;
  pace_timer_.cancel();
  // Frames not yet handed to the socket are dropped; the write on the wire (whole frames,
  // kMaxWriteBytes at most) finishes, and the close frame goes out after it. The peer gets
  // `grace` for all of it and its answer.
  drop_unsent();
  ws_.async_close(reason, [self = shared_from_this()](beast::error_code ec) {
    self->close_timer_.cancel();
    if (!self->evicted_ || self->close_reported_) return;
    self->close_reported_ = true;
    if (!ec) {
      obs::logger("gateway")->info("websocket slow subscriber closed with 1008 token={}",
                                   self->token_);
    } else {
      obs::logger("gateway")->warn(
          "websocket slow subscriber ended before the close handshake completed ({}) token={}",
          ec.message(), self->token_);
    }
  });
  close_timer_.expires_after(grace);
  close_timer_.async_wait([self = shared_from_this(), grace](beast::error_code ec) {
    if (ec) return;
    if (self->evicted_ && !self->close_reported_) {
      self->close_reported_ = true;
      // The close frame is the last write queued: while any write is pending, it is not out.
      if (self->ws_.next_layer().writes_pending() != 0) {
        obs::logger("gateway")->warn(
            "websocket slow subscriber read nothing for {}s; connection closed without the "
            "close frame token={}",
            grace.count(), self->token_);
      } else {
        obs::logger("gateway")->warn(
            "websocket slow subscriber sent 1008 but did not complete the close handshake in "
            "{}s; connection closed token={}",
            grace.count(), self->token_);
      }
    }
    self->hard_close();
  });
}

void websocket_session::hard_close() {
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().close(ec);
}

void websocket_session::do_read() {
  ws_.async_read(buffer_,
                 beast::bind_front_handler(&websocket_session::on_read, shared_from_this()));
}

void websocket_session::on_read(beast::error_code ec, std::size_t) {
  if (ec) return;  // closed by the peer, timed out, or too large: the session ends
  ++messages_read_;
  const auto data = buffer_.cdata();
  handle(std::string_view(static_cast<const char*>(data.data()), data.size()));
  buffer_.consume(buffer_.size());
  if (!closing_) do_read();
}

void websocket_session::handle(std::string_view text) {
  // Most messages are orders: one pass reads the order and the envelope together, the flat
  // scan when the text is plain, nlohmann's SAX parser otherwise. If the SAX pass stopped
  // early (malformed JSON, a repeated order field), the envelope is read alone and a place
  // message is parsed again, for the same answers as always.
  envelope_reader envelope;
  codec::order_request order;
  std::optional<codec::api_error> order_error;
  bool order_parsed = true;
  codec::flat_object flat;
  if (codec::scan_flat_object(text, flat)) {
    envelope.read(flat);
    order_error = codec::parse_order_request(flat, {}, io_.instruments(), order);
  } else {
    order_error = codec::parse_order_request(text, {}, io_.instruments(), order, envelope);
    order_parsed = envelope.complete();
  }
  if (!order_parsed) {
    envelope = envelope_reader{};
    if (!nlohmann::json::sax_parse(text.begin(), text.end(), &envelope)) {
      return send_error(
          "error", "null",
          codec::make_error(codec::api_errc::malformed_json, "messages must be JSON objects"));
    }
  }
  if (envelope.req() == envelope_reader::req_state::wrong_type) {
    return send_error("error", "null",
                      codec::make_error(codec::api_errc::invalid_field_type,
                                        "req_id must be a string or an integer"));
  }
  std::string req_id = envelope.req_id();
  if (req_id.size() > kMaxReqIdLength) {
    return send_error("error", "null",
                      codec::make_error(codec::api_errc::invalid_parameter, "req_id is too long"));
  }
  if (!envelope.op()) {
    return send_error("error", req_id,
                      codec::make_error(codec::api_errc::missing_field, "op is required"));
  }
  const std::string& op = *envelope.op();
  if (op == "auth") {
    return authenticate(nlohmann::json::parse(text, nullptr, false), req_id);
  }
  if (!io_.ctx().accepting.load(std::memory_order_relaxed)) {
    return send_error(
        op == "place" || op == "cancel" || op == "amend" || op == "cancel_all" ? op : "error",
        req_id,
        codec::make_error(codec::api_errc::not_ready, "recovering the order books; retry shortly"),
        1);
  }

  if (op == "place") {
    if (!permitted(auth::access::trade, "place", req_id)) return;
    bool cover = false;
    if (cancel_on_disconnect_) {
      // The client is needed here: a message the single pass did not read is read again.
      if (!order_parsed) {
        order = codec::order_request{};
        order_error = codec::parse_order_request(text, {}, io_.ctx().instruments, order);
        order_parsed = true;
      }
      cover = !order_error;
      if (cover && !room_on_disconnect(order.command.client, req_id)) return;
    }
    auto refused = order_parsed
                       ? submit_parsed_place(io_, token_, std::move(order_error), order, key_.get())
                       : submit_place(io_, token_, text, {}, key_.get());
    if (refused) return send_error("place", req_id, refused->error, refused->retry_after);
    // Only once admitted: a refused order (another client's, with a key) covers nothing.
    if (cover) cover_on_disconnect(order.command.client);
    pending_.push_back({"place", std::move(req_id)});
    return;
  }
  // The rarer ops read their fields from a document; the text is valid JSON by now.
  const auto msg = nlohmann::json::parse(text, nullptr, false);
  if (op == "subscribe" || op == "unsubscribe") {
    const auto ins_it = msg.find("instrument");
    if (ins_it == msg.end() || !ins_it->is_string()) {
      return send_error(
          "error", req_id,
          codec::make_error(codec::api_errc::missing_field, "instrument is required"));
    }
    const auto ins = io_.find_instrument(ins_it->get<std::string>());
    if (!ins) {
      return send_error("error", req_id,
                        codec::make_error(codec::api_errc::unknown_instrument,
                                          "unknown instrument " + ins_it->get<std::string>()));
    }
    std::uint8_t channels = 0;
    const auto ch_it = msg.find("channels");
    if (ch_it == msg.end() || !ch_it->is_array() || ch_it->empty()) {
      return send_error(
          "error", req_id,
          codec::make_error(codec::api_errc::missing_field, "channels must be a non-empty array"));
    }
    for (const auto& c : *ch_it) {
      const std::uint8_t bit = c.is_string() ? channel_from_name(c.get<std::string>()) : 0;
      if (bit == 0) {
        return send_error(
            "error", req_id,
            codec::make_error(codec::api_errc::invalid_parameter, "unknown channel " + c.dump()));
      }
      channels |= bit;
    }
    // The candles channel's intervals: "interval":"1m", or a list of them.
    std::uint8_t intervals = 0;
    if (const auto iv_it = msg.find("interval"); iv_it != msg.end()) {
      const auto names = iv_it->is_array() ? *iv_it : nlohmann::json::array({*iv_it});
      for (const auto& n : names) {
        const std::uint8_t bit = n.is_string() ? candle_interval_bit(n.get<std::string>()) : 0;
        if (bit == 0) {
          return send_error(
              "error", req_id,
              codec::make_error(codec::api_errc::invalid_parameter,
                                "unknown interval " + n.dump() + ": one of 1s 1m 5m 15m 1h 4h 1d"));
        }
        intervals |= bit;
      }
    }
    if (op == "subscribe" && (channels & bus::channel_candles) != 0 && intervals == 0) {
      return send_error("error", req_id,
                        codec::make_error(codec::api_errc::missing_field,
                                          "the candles channel needs an interval: one of 1s 1m "
                                          "5m 15m 1h 4h 1d"));
    }
    engine::client_id client;
    if (const auto client_it = msg.find("client_id");
        client_it != msg.end() && !client_it->is_null()) {
      if (!client_it->is_string() || !codec::valid_id(client_it->get<std::string>())) {
        return send_error("error", req_id,
                          codec::make_error(codec::api_errc::invalid_client_id,
                                            "client_id must be 1-64 chars of [A-Za-z0-9._:-]"));
      }
      client = engine::client_id::from(client_it->get<std::string>());
    }
    if (op == "subscribe" && (channels & bus::kPrivateChannels) != 0) {
      if (!permitted(auth::access::account_read, "error", req_id)) return;
      if (key_ && !client.empty() && !key_->may_act_for(client)) {
        io_.auth_failed(auth_failure::forbidden, "private channel of a client not the key's",
                        key_->id());
        return send_error(
            "error", req_id,
            codec::make_error(codec::api_errc::forbidden,
                              "this key may not read client " + std::string(client.view())));
      }
    }
    bus::read_query q;
    q.kind = op == "subscribe" ? bus::query_kind::subscribe : bus::query_kind::unsubscribe;
    q.reply = {io_.index(), token_};
    q.instrument = *ins;
    q.channels = channels;
    q.candle_intervals = (channels & bus::channel_candles) != 0 ? intervals : 0;
    q.client = client;
    if (key_ && io_.ctx().options.auth_keys) q.scope = key_->scope();
    if (!io_.query(q)) {
      return send_error("error", req_id,
                        codec::make_error(codec::api_errc::overloaded, "try again shortly"), 1);
    }
    if (op == "subscribe" &&
        std::find(subscribed_.begin(), subscribed_.end(), *ins) == subscribed_.end()) {
      subscribed_.push_back(*ins);
    }
    return;
  }
  if (op == "cancel_all") return cancel_all(msg, std::move(req_id));
  if (op == "cancel") {
    if (!permitted(auth::access::trade, "cancel", req_id)) return;
    const auto id_it = msg.find("order_id");
    if (id_it == msg.end() || !id_it->is_string()) {
      return send_error("cancel", req_id,
                        codec::make_error(codec::api_errc::missing_field, "order_id is required"));
    }
    auto refused = submit_cancel(io_, token_, id_it->get<std::string>(), key_.get());
    if (refused) return send_error("cancel", req_id, refused->error, refused->retry_after);
    pending_.push_back({"cancel", std::move(req_id)});
    return;
  }
  if (op == "amend") {
    if (!permitted(auth::access::trade, "amend", req_id)) return;
    const auto id_it = msg.find("order_id");
    if (id_it == msg.end() || !id_it->is_string()) {
      return send_error("amend", req_id,
                        codec::make_error(codec::api_errc::missing_field, "order_id is required"));
    }
    // The message's own fields are ignored by the amend body's parser: op and req_id are
    // unknown to it, and order_id names the order.
    auto refused = submit_amend(io_, token_, id_it->get<std::string>(), text, key_.get());
    if (refused) return send_error("amend", req_id, refused->error, refused->retry_after);
    pending_.push_back({"amend", std::move(req_id)});
    return;
  }
  send_error("error", req_id,
             codec::make_error(codec::api_errc::invalid_parameter, "unknown op " + op));
}

void websocket_session::cancel_all(const nlohmann::json& msg, std::string req_id) {
  if (!permitted(auth::access::trade, "cancel_all", req_id)) return;
  const auto client_it = msg.find("client_id");
  if (client_it == msg.end() || client_it->is_null()) {
    return send_error("cancel_all", req_id,
                      codec::make_error(codec::api_errc::missing_field, "client_id is required"));
  }
  if (!client_it->is_string() || !codec::valid_id(client_it->get_ref<const std::string&>())) {
    return send_error("cancel_all", req_id,
                      codec::make_error(codec::api_errc::invalid_client_id,
                                        "client_id must be 1-64 chars of [A-Za-z0-9._:-]"));
  }
  std::optional<engine::instrument_id> instrument;
  if (const auto ins_it = msg.find("instrument"); ins_it != msg.end() && !ins_it->is_null()) {
    if (!ins_it->is_string()) {
      return send_error(
          "cancel_all", req_id,
          codec::make_error(codec::api_errc::invalid_field_type, "instrument must be a string"));
    }
    instrument = io_.find_instrument(ins_it->get_ref<const std::string&>());
    if (!instrument) {
      return send_error("cancel_all", req_id,
                        codec::make_error(codec::api_errc::unknown_instrument,
                                          "unknown instrument " + ins_it->get<std::string>()));
    }
  }
  const auto client = engine::client_id::from(client_it->get_ref<const std::string&>());
  auto refused = submit_cancel_all(io_, token_, client, instrument, key_.get());
  if (refused) return send_error("cancel_all", req_id, refused->error, refused->retry_after);
  pending_.push_back({"cancel_all", std::move(req_id)});
}

bool websocket_session::room_on_disconnect(const engine::client_id& client,
                                           const std::string& req_id) {
  if (disconnect_clients_.size() < kMaxDisconnectClients ||
      std::find(disconnect_clients_.begin(), disconnect_clients_.end(), client) !=
          disconnect_clients_.end()) {
    return true;
  }
  send_error(
      "place", req_id,
      codec::make_error(codec::api_errc::invalid_parameter,
                        "cancel_on_disconnect covers at most " +
                            std::to_string(kMaxDisconnectClients) + " clients per connection"));
  return false;
}

void websocket_session::cover_on_disconnect(const engine::client_id& client) {
  if (std::find(disconnect_clients_.begin(), disconnect_clients_.end(), client) ==
      disconnect_clients_.end()) {
    disconnect_clients_.push_back(client);
  }
}

void websocket_session::cancel_on_disconnect() {
  // The server's own stop is no disconnect of the client's: its orders stay, as after a
  // crash, and are recovered.
  if (!cancel_on_disconnect_ || disconnect_clients_.empty() ||
      io_.ctx().stopping.load(std::memory_order_relaxed)) {
    return;
  }
  for (const engine::client_id& client : disconnect_clients_) {
    // Behind this session's own commands in the same queue: every order it placed is in
    // the book (or finished) when the mass cancel runs.
    bus::engine_request r;
    r.kind = bus::request_kind::cancel_all;
    r.received_ns = bus::steady_ns();
    r.cancel_all.client = client;
    r.cancel_all.received_at = bus::wall_us();
    io_.submit_unanswered(std::move(r));
  }
  io_.disconnect_cancelled(token_, key_ ? key_->id() : 0, disconnect_clients_.size());
}

void websocket_session::authenticate(const nlohmann::json& msg, const std::string& req_id) {
  // {"cancel_on_disconnect": true|false}, when given, takes effect with the auth.
  std::optional<bool> on_disconnect;
  if (const auto it = msg.find("cancel_on_disconnect"); it != msg.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return send_error("auth", req_id,
                        codec::make_error(codec::api_errc::invalid_field_type,
                                          "cancel_on_disconnect must be true or false"));
    }
    on_disconnect = it->get<bool>();
  }
  const auto set_on_disconnect = [&] {
    if (!on_disconnect) return;
    if (*on_disconnect != cancel_on_disconnect_) disconnect_clients_.clear();
    cancel_on_disconnect_ = *on_disconnect;
    reply_.append(R"(,"cancel_on_disconnect":)").append(*on_disconnect ? "true" : "false");
  };
  if (!io_.ctx().options.auth_keys) {
    // --auth none: keys are ignored; only the option is taken.
    reply_.assign(R"({"type":"auth","req_id":)").append(req_id).append(R"(,"status":200)");
    set_on_disconnect();
    reply_ += '}';
    return send(reply_);
  }
  const auto key_it = msg.find("key");
  if (key_it == msg.end() && key_ && on_disconnect) {
    // Authenticated by the upgrade's headers: the message only sets the option.
    reply_.assign(R"({"type":"auth","req_id":)").append(req_id);
    reply_.append(R"(,"status":200,"key_id":")").append(auth::format_key_id(key_->id()));
    reply_.append(R"(","role":")").append(auth::to_string(key_->key_role())).append("\"");
    set_on_disconnect();
    reply_ += '}';
    return send(reply_);
  }
  if (key_it == msg.end() || !key_it->is_string()) {
    io_.auth_failed(auth_failure::missing, "websocket auth message without a key");
    return send_error("auth", req_id,
                      codec::make_error(codec::api_errc::unauthorized, "key is required"));
  }
  // The same rules as the headers': a secret is one token.
  const credentials c = read_credentials({}, key_it->get_ref<const std::string&>());
  auto found = c.present() ? io_.find_key(c.secret) : nullptr;
  if (!found) {
    io_.auth_failed(auth_failure::unknown, "websocket auth with an unknown or revoked key");
    return send_error(
        "auth", req_id,
        codec::make_error(codec::api_errc::unauthorized, "unknown or revoked API key"));
  }
  key_ = std::move(found);
  reply_.assign(R"({"type":"auth","req_id":)").append(req_id);
  reply_.append(R"(,"status":200,"key_id":")").append(auth::format_key_id(key_->id()));
  reply_.append(R"(","role":")").append(auth::to_string(key_->key_role())).append("\"");
  set_on_disconnect();
  reply_ += '}';
  send(reply_);
}

bool websocket_session::permitted(auth::access needs, std::string_view type,
                                  const std::string& req_id) {
  if (!io_.ctx().options.auth_keys) return true;
  if (!key_) {
    io_.auth_failed(auth_failure::missing, "websocket message that needs a key");
    send_error(
        type, req_id,
        codec::make_error(codec::api_errc::unauthorized,
                          "this needs an API key: send {\"op\":\"auth\",\"key\":...} first"));
    return false;
  }
  if (!auth::allows(key_->key_role(), needs)) {
    io_.auth_failed(auth_failure::forbidden, "websocket message the key's role does not allow",
                    key_->id());
    send_error(type, req_id,
               codec::make_error(
                   codec::api_errc::forbidden,
                   "a " + std::string(auth::to_string(key_->key_role())) + " key may not do this"));
    return false;
  }
  return true;
}

void websocket_session::on_delivery(bus::io_delivery&& d) {
  if (d.what == bus::io_delivery::kind::evict) return close_slow();
  if (d.what == bus::io_delivery::kind::stream) {
    if (d.body) send(*d.body);
    return;
  }
  // Answers come back in the order the commands were queued.
  if (pending_.empty() || !d.body) return;
  pending_reply p = std::move(pending_.front());
  pending_.pop_front();
  reply_.clear();
  reply_.append("{\"type\":\"").append(p.type).append("\",\"req_id\":").append(p.req_id);
  reply_.append(",\"status\":").append(std::to_string(d.status));
  if (d.replayed) reply_ += ",\"replayed\":true";
  if (d.status >= 200 && d.status < 300) {
    reply_ += ",\"data\":";
    reply_ += *d.body;
    reply_ += '}';
  } else {
    // The error body is an object: splice its members ("error", maybe "order") in.
    reply_ += ',';
    reply_.append(*d.body, 1);
  }
  send(reply_);
}

void websocket_session::send_error(std::string_view type, const std::string& req_id,
                                   const codec::api_error& e, int retry_after) {
  reply_.assign("{\"type\":\"").append(type);
  reply_.append("\",\"req_id\":").append(req_id);
  reply_.append(",\"status\":").append(std::to_string(e.status));
  if (retry_after > 0) reply_.append(",\"retry_after\":").append(std::to_string(retry_after));
  reply_ += ',';
  reply_.append(codec::error_body(e), 1);
  send(reply_);
}

void websocket_session::send(std::string_view message) {
  if (closing_) return;
  const std::size_t held = waiting_bytes() + bytes_on_the_wire_;
  if (outbox_messages_ + messages_on_the_wire_ >= io_.ctx().options.subscriber_buffer ||
      (held != 0 && held + message.size() > kMaxHeldBytes)) {
    return close_slow();
  }
  if (delivery_.batched) {
    if (!open_batch_.empty() && open_batch_.size() + message.size() >= kMaxWriteBytes) {
      seal_batch();
    }
    open_batch_ += open_batch_.empty() ? '[' : ',';
    open_batch_ += message;
    ++open_batch_messages_;
  } else {
    net::append_text_frame(outbox_, message);
  }
  ++outbox_messages_;
  if (!writing_ && !flush_posted_ && (!pace_armed_ || waiting_bytes() >= kMaxWriteBytes)) {
    // After the current handler: an I/O thread's drain delivers every ready answer first.
    flush_posted_ = true;
    boost::asio::post(ws_.get_executor(), [self = shared_from_this()] { self->flush(); });
  }
}

void websocket_session::seal_batch() {
  open_batch_ += ']';
  net::append_text_frame(outbox_, open_batch_);
  sealed_messages_.push_back(open_batch_messages_);
  open_batch_.clear();
  open_batch_messages_ = 0;
}

std::size_t websocket_session::take_messages(std::size_t frames) {
  if (!delivery_.batched) return frames;
  std::size_t messages = 0;
  for (; frames > 0; --frames) {
    messages += sealed_messages_.front();
    sealed_messages_.pop_front();
  }
  return messages;
}

void websocket_session::drop_unsent() {
  outbox_.clear();
  outbox_head_ = 0;
  outbox_messages_ = 0;
  open_batch_.clear();
  open_batch_messages_ = 0;
  sealed_messages_.clear();
}

bool websocket_session::held_back() {
  if (delivery_.interval.count() == 0) return false;
  if (waiting_bytes() >= kMaxWriteBytes) return false;
  const auto due = last_write_ + delivery_.interval;
  if (std::chrono::steady_clock::now() >= due) return false;
  if (!pace_armed_) {
    pace_armed_ = true;
    pace_timer_.expires_at(due);
    // A weak reference: a pending pace must not keep an ended session (and its
    // cancel-on-disconnect) waiting; the timer dies with the session.
    pace_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      const auto self = weak.lock();
      if (!self) return;
      self->pace_armed_ = false;
      if (!ec) self->flush();
    });
  }
  return true;
}

void websocket_session::flush() {
  flush_posted_ = false;
  if (writing_) return;
  if (waiting_bytes() == 0) return;
  if (closing_ || !ws_.is_open()) {
    // A close frame went out (ours or the answer to the peer's): nothing may follow it.
    return drop_unsent();
  }
  if (held_back()) return;
  if (!open_batch_.empty()) seal_batch();
  std::string batch;
  std::size_t messages = outbox_messages_;
  if (outbox_head_ == 0 && outbox_.size() <= kMaxWriteBytes) {
    batch.swap(outbox_);  // the usual case: everything, uncopied
    sealed_messages_.clear();
  } else {
    // A backlog goes out kMaxWriteBytes of whole frames at a time, so that a close for a
    // slow subscriber waits behind no more than that.
    const std::string_view waiting = std::string_view(outbox_).substr(outbox_head_);
    std::size_t end = frame_size(waiting);
    std::size_t frames = 1;
    while (end < waiting.size() && end + frame_size(waiting.substr(end)) <= kMaxWriteBytes) {
      end += frame_size(waiting.substr(end));
      ++frames;
    }
    messages = take_messages(frames);
    batch.assign(waiting.substr(0, end));
    outbox_head_ += end;
    if (outbox_head_ == outbox_.size()) {
      outbox_.clear();
      outbox_head_ = 0;
    } else if (outbox_head_ >= outbox_.size() / 2) {
      outbox_.erase(0, outbox_head_);  // amortized: at most as much as was sent
      outbox_head_ = 0;
    }
  }
  const std::size_t bytes = batch.size();
  ws_.next_layer().async_write_owned(
      std::move(batch), [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->writing_ = false;
        self->messages_on_the_wire_ = 0;
        self->bytes_on_the_wire_ = 0;
        if (ec) return self->hard_close();
        self->flush();
      });
  writing_ = true;
  last_write_ = std::chrono::steady_clock::now();
  messages_on_the_wire_ = messages;
  bytes_on_the_wire_ = bytes;
  outbox_messages_ -= messages;
}

void websocket_session::close_slow() {
  if (closing_) return;
  evicted_ = true;
  obs::logger("gateway")->warn(
      "websocket subscriber too slow: dropping {} unsent messages, sending 1008 after the {} "
      "bytes on their way, within {}s token={}",
      outbox_messages_, bytes_on_the_wire_, kSlowCloseDeadline.count(), token_);
  io_.ctx().probe.slow_consumer_dropped();
  close_with(websocket::close_reason(websocket::close_code::policy_error, "slow consumer"),
             kSlowCloseDeadline);
}

}  // namespace matchd::gateway
