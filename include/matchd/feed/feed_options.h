#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace matchd::feed {

// Configuration of one market-data feed: a Binance-format `<symbol>@trade` WebSocket stream
// whose trades are replayed into the engine as taker orders.
struct feed_options {
  // ws:// or wss:// URL of a raw stream (/ws/<stream>) or a combined one
  // (/stream?streams=a@trade/b@trade); both message shapes are understood.
  std::string url = "wss://stream.binance.com:9443/ws/btcusdt@trade";
  // Source symbol (the trade's "s", e.g. "BTCUSDT") -> engine instrument symbol. Trades of
  // any other symbol are counted as parse errors (reason "unknown_symbol") and skipped.
  std::vector<std::pair<std::string, std::string>> symbol_map = {{"BTCUSDT", "BTC-USD"}};
  // client_id of every order the feed places (1-64 chars of [A-Za-z0-9._:-]).
  std::string client_id = "binance-feed";
  // Exact decimal multiplier applied to each trade's quantity before it is rounded down to
  // the instrument's lot ("0.001" replays a thousandth of the real volume). Never a double.
  std::string quantity_scale = "1";
  // Unset: each trade becomes a market IOC order (it takes whatever the book offers). Set
  // (basis points, exact decimal, 0 <= bps < 10000): each trade becomes a limit IOC order at
  // the trade price moved against the taker by that much (buy: price * (1 + bps/10^4)
  // rounded down to the tick; sell: price * (1 - bps/10^4) rounded up), so a thin or
  // empty book is never swept at absurd prices.
  std::optional<std::string> price_guard_bps;

  // Reconnect delays: capped exponential backoff with full jitter (bus::retry_backoff), the
  // n-th consecutive failure waits uniform [0, min(reconnect_max, reconnect_initial * 2^n)].
  // The count resets once a connection delivers a trade.
  std::chrono::milliseconds reconnect_initial{200};
  std::chrono::milliseconds reconnect_max{30'000};
  // Resolve + TCP connect + TLS handshake + WebSocket handshake, all together.
  std::chrono::milliseconds connect_timeout{10'000};
  // Transport liveness: with no frame at all for this long the connection is dropped; a
  // ping goes out after half of it (Binance pings every 20 s itself).
  std::chrono::milliseconds idle_timeout{60'000};
  // Data liveness: with no text message for this long the feed reconnects (a stream that
  // answers pings but no longer delivers trades). Zero disables it.
  std::chrono::milliseconds message_timeout{120'000};
  // Largest accepted WebSocket message; a trade is ~200 bytes.
  std::size_t max_message_bytes = 64 * 1024;

  // PEM file of trusted CA certificates for wss://; empty = the system store
  // (SSL_CTX_set_default_verify_paths, i.e. /etc/ssl/certs on Debian).
  std::string ca_file;
  // Verify the server's certificate chain and host name. Turn off only for local testing.
  bool verify_peer = true;
};

}  // namespace matchd::feed
