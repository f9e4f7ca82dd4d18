#include "ws_connection.h"

#include <matchd/net/ws_frame.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <charconv>
#include <chrono>

#include "load_worker.h"

namespace matchd::load {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

constexpr std::uint64_t kMessageLimit = 64ull << 20;
constexpr std::size_t kReadChunk = 64 * 1024;
// Answers carry req_id and status right after "type"; no need to scan a long body.
constexpr std::size_t kHeadScan = 160;

std::uint64_t ring_size_for(unsigned max_inflight) {
  std::uint64_t n = 1;
  while (n < max_inflight) n <<= 1;
  return n;
}

// The integer after `"key":` near the start of `text`, if it is one.
template <typename T>
bool find_integer(std::string_view text, std::string_view key, T& out) {
  const std::size_t at = text.substr(0, kHeadScan).find(key);
  if (at == std::string_view::npos) return false;
  std::size_t p = at + key.size();
  while (p < text.size() && text[p] == ' ') ++p;
  const auto r = std::from_chars(text.data() + p, text.data() + text.size(), out);
  return r.ec == std::errc{};
}

}  // namespace

ws_connection::ws_connection(load_worker& owner, unsigned id) : connection(owner, id) {
  const std::uint64_t n = ring_size_for(owner.plan().config->max_inflight);
  slots_.resize(n);
  slot_mask_ = n - 1;
  message_.reserve(512);
  mask_state_ = 0x9e3779b9u ^ (id * 2654435761u);
}

void ws_connection::open() {
  ws_ = std::make_shared<stream_type>(owner_.context(), kReadChunk);
  ws_->read_message_max(kMessageLimit);
  ws_->auto_fragment(false);
  ws_->secure_prng(false);  // masking keys need not be unpredictable on loopback
  ws_->set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, "matchd-load");
  }));
  const unsigned gen = ++generation_;
  beast::get_lowest_layer(*ws_).async_connect(owner_.plan().target,
                                              [this, gen](const boost::system::error_code& ec) {
                                                if (gen == generation_) on_connect(ec);
                                              });
}

void ws_connection::on_connect(const boost::system::error_code& ec) {
  if (is_closed()) return;
  if (ec) return fail(true);
  boost::system::error_code ignored;
  beast::get_lowest_layer(*ws_).set_option(net::ip::tcp::no_delay(true), ignored);
  const unsigned gen = generation_;
  if (const std::string& key = owner_.plan().key_of(id()); !key.empty()) {
    ws_->set_option(websocket::stream_base::decorator([key](websocket::request_type& req) {
      req.set(beast::http::field::authorization, "Bearer " + key);
    }));
  }
  ws_->async_handshake(owner_.plan().host_header, owner_.plan().config->ws_path,
                       [this, gen](const boost::system::error_code& e) {
                         if (gen == generation_) on_handshake(e);
                       });
}

void ws_connection::on_handshake(const boost::system::error_code& ec) {
  if (is_closed()) return;
  if (ec) return fail(true);
  connected();
  do_read();
  pump();
}

void ws_connection::pump() {
  if (!is_connected() || writing_ || is_closed()) return;
  // The server closed (Beast has answered with a close frame): nothing may follow it.
  if (!ws_->is_open()) return;
  const std::int64_t now = clock_ns();
  while (append_next(now)) {
  }
  if (out_.empty()) return;
  writing_ = true;
  const unsigned gen = generation_;
  ws_->next_layer().async_write_owned(
      std::move(out_), [this, gen, keep = ws_](const boost::system::error_code& ec, std::size_t) {
        if (gen == generation_) on_write(ec);
      });
  out_.clear();  // moved from: valid, now empty for the next batch
}

bool ws_connection::append_next(std::int64_t now) {
  if (in_flight_ >= owner_.plan().config->max_inflight) return false;
  slot& s = slots_[next_req_id_ & slot_mask_];
  if (s.used) return false;  // an older request still holds the slot
  if (!owner_.take_request(*this, now, s.ticket)) return false;
  s.req_id = next_req_id_++;
  s.used = true;
  ++in_flight_;
  message_.clear();
  message_ += R"({"op":"place","req_id":)";
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, s.req_id);
  message_.append(digits, r.ptr);
  const std::size_t before = message_.size();
  message_ += ',';
  bool comma = true;
  owner_.plan().orders->append_members(s.ticket.index, message_, comma);
  if (!comma) message_.erase(before, 1);
  // xorshift32: masking keys need not be unpredictable on loopback, only present.
  mask_state_ ^= mask_state_ << 13;
  mask_state_ ^= mask_state_ >> 17;
  mask_state_ ^= mask_state_ << 5;
  matchd::net::append_masked_text_frame(out_, message_, mask_state_);
  return true;
}

void ws_connection::on_write(const boost::system::error_code& ec) {
  if (is_closed()) return;
  writing_ = false;
  if (ec) return fail(false);
  pump();
}

void ws_connection::do_read() {
  const unsigned gen = generation_;
  ws_->async_read(read_buffer_, [this, gen](const boost::system::error_code& ec, std::size_t) {
    if (gen == generation_) on_read(ec);
  });
}

void ws_connection::on_read(const boost::system::error_code& ec) {
  if (is_closed()) return;
  if (ec) return fail(false);
  const auto data = read_buffer_.cdata();
  handle_answer(std::string_view(static_cast<const char*>(data.data()), data.size()), clock_ns());
  read_buffer_.consume(read_buffer_.size());
  do_read();
  pump();
}

void ws_connection::handle_answer(std::string_view text, std::int64_t now) {
  std::uint64_t req_id = 0;
  int status = 0;
  if (!find_integer(text, R"("req_id":)", req_id) || !find_integer(text, R"("status":)", status)) {
    return owner_.unmatched_answer();
  }
  slot& s = slots_[req_id & slot_mask_];
  if (!s.used || s.req_id != req_id) return owner_.unmatched_answer();
  s.used = false;
  --in_flight_;
  owner_.answered(s.ticket, status, now);
}

void ws_connection::fail(bool during_connect) {
  for (slot& s : slots_) {
    if (s.used) {
      s.used = false;
      owner_.lost(s.ticket);
    }
  }
  in_flight_ = 0;
  failed(during_connect);
}

void ws_connection::drop_transport() {
  writing_ = false;
  ++generation_;
  if (ws_) {
    boost::system::error_code ignored;
    beast::get_lowest_layer(*ws_).close(ignored);
  }
  read_buffer_.clear();
}

}  // namespace matchd::load
