#pragma once

#include <matchd/net/url.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace matchd::event_export {

// Where a delivery goes, ready for the resolver and the request line (tls: https).
using webhook_url = net::url;

inline constexpr std::size_t kMaxWebhookUrlBytes = 2048;

// Parses an absolute http:// or https:// URL by net::parse_url's rules, and refuses one
// longer than 2048 bytes. Thread-safe.
std::optional<webhook_url> parse_webhook_url(std::string_view url, std::string* why);

struct webhook_request {
  std::uint64_t delivery_id = 0;
  std::string url;         // as registered; parsed again here
  std::string body;        // JSON bytes, POSTed as they are
  std::string secret;      // signs the body at send time
  std::string event_id;    // Matchd-Event-Id header
  std::string event_type;  // Matchd-Event-Type header
};

struct webhook_result {
  std::uint64_t delivery_id = 0;
  bool delivered = false;  // a 2xx answer within the timeout
  int status = 0;          // the HTTP status, 0 when none came (connect/TLS/timeout/parse error)
  std::string error;       // one line, empty when delivered
  std::chrono::milliseconds took{0};  // from send() to the result
};

// Sends webhook deliveries over HTTP/1.1 (TLS 1.2 or later for https, verified against the
// system's CA store with SNI and host name verification) on its own thread, named
// "matchd-webhook" (Linux refuses names over 15 bytes), with asynchronous operations, so one
// slow endpoint never holds another's delivery. Each send:
// resolve, connect, (TLS handshake), write, read the response (body limit 64 KiB, ignored),
// close; the whole exchange bounded by `timeout`. Redirects are not followed (a 3xx is not
// delivered). A status counts once the response's header is read: a body cut short or too
// large afterwards does not undo the delivery.
//
// Requests carry Host, Content-Type: application/json, User-Agent: matchd-webhooks/1,
// Content-Length, Matchd-Signature (webhook_signature(secret, now in unix seconds, body)),
// Matchd-Event-Id, Matchd-Event-Type and Connection: close.
//
// Thread-safety: send() and in_flight() from any thread. start() and stop() from the
// owner's thread, not concurrently with each other, and stop() never from a `done`.
class webhook_sender {
 public:
  // `allow_private`: also to loopback, private and reserved addresses (webhook_destination.h);
  // without it a name resolving only to such addresses fails the attempt, "refused: ...".
  explicit webhook_sender(std::chrono::milliseconds timeout = std::chrono::seconds(10),
                          bool allow_private = false);
  ~webhook_sender();  // stop()
  webhook_sender(const webhook_sender&) = delete;
  webhook_sender& operator=(const webhook_sender&) = delete;

  // Starts the sender's thread. Does nothing while started; a stopped sender starts again.
  void start();
  // Cancels what is in flight (each still gets its `done`, delivered = false, error
  // "stopped") and joins the thread. Idempotent. A host name lookup already under way is
  // not interruptible (getaddrinfo), so stop() may wait for it; its `done` comes at once.
  void stop();
  // Any thread. `done` runs exactly once, on the sender's thread (or inline with an error
  // if the sender is stopped or the URL does not parse). `done` must not throw.
  void send(webhook_request request, std::function<void(webhook_result)> done);
  // Sends accepted whose `done` has not run yet.
  [[nodiscard]] std::size_t in_flight() const noexcept;

 private:
  class state;
  std::unique_ptr<state> state_;
};

}  // namespace matchd::event_export
