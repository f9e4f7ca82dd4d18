#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace matchd::feed_replay {

struct replay_options {
  std::vector<std::string> lines;  // the messages to serve, in order (NDJSON lines)
  // > 0: wait (T[i] - T[i-1]) / speed between messages, T being each trade's "T" (ms); 0: no
  // waiting at all.
  double speed = 1.0;
  // Start over after the last line (else the connection stays open). Each pass over the
  // file sends fresh trade ids: pass n adds n x span to every "t", span being the file's
  // largest "t" minus its smallest plus one, so a looping demo never repeats a trade id
  // (which the daemon would refuse as a duplicate order id). Pass 0 sends the file's ids.
  bool loop = false;
  // After every K lines also send one malformed message (bad JSON, a missing field, a bad
  // decimal, an unknown symbol, in turn); 0 = never.
  std::size_t inject_malformed_every = 0;
  // Drop the TCP connection (no close frame) after it has carried N messages; 0 = never.
  std::size_t drop_after = 0;
  std::size_t max_drops = 0;  // with drop_after: stop dropping after this many; 0 = no limit
  // Each connection starts at the first line. Otherwise a new connection resumes where the
  // previous one stopped (all connections share one cursor).
  bool restart_on_connect = false;
  // Stamp each trade with the time it is sent: "T" becomes now, "E" keeps its distance. Off:
  // the recorded times, the same on every pass of a loop.
  bool retime = true;
  // Accept connections but send nothing until this file exists; empty = no gate.
  std::string wait_for_file;
  // Send a ping this often (0 = never), like Binance's every 20 s.
  std::chrono::milliseconds ping_interval{0};
  // Close each connection with a normal close frame after this long (Binance does after
  // 24 h); 0 = never.
  std::chrono::milliseconds close_after{0};
};

// A WebSocket server on a local address that serves a recorded trade stream to any client
// that connects, whatever the target (/ws/btcusdt@trade, /stream?streams=...). For tests
// and local demos of the feed; plain ws:// or, with a TLS context, wss://. Runs on the
// given io_context (single-threaded). Not thread-safe except for the counters.
class replay_server {
 public:
  // Binds and listens now (throws on failure); serves after start().
  replay_server(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& listen,
                replay_options options, boost::asio::ssl::context* tls = nullptr);
  ~replay_server();
  replay_server(const replay_server&) = delete;
  replay_server& operator=(const replay_server&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  // Stops accepting and drops every connection (posted to the io_context).
  void stop();

  std::uint64_t connections() const noexcept;    // WebSocket handshakes accepted
  std::uint64_t messages_sent() const noexcept;  // including injected malformed ones
  std::uint64_t malformed_sent() const noexcept;
  std::uint64_t drops() const noexcept;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

// The non-empty lines of an NDJSON file; throws std::runtime_error if it cannot be read.
std::vector<std::string> load_ndjson(const std::string& path);

}  // namespace matchd::feed_replay
