// How a request's body is delimited (docs/api.md, Request framing): a request whose framing
// two readers could read differently is refused with 400 invalid_framing and its connection
// closed, so that no request can hide another in its body (request smuggling); and
// `Expect: 100-continue` is answered before the body is sent.

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness.h"

namespace matchd::e2e {
namespace {

using namespace std::chrono_literals;

constexpr auto kWait = 5s;

std::string hex(std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[n % 16]);
    n /= 16;
  } while (n != 0);
  return out;
}

std::string order_body(const std::string& order_id) {
  return limit_order(order_id, "client-smuggler", "buy", "100.00", "0.01").dump();
}

// A complete POST /orders for `order_id`, as a smuggler hides it in another request's body.
std::string order_request(const std::string& order_id) {
  const std::string body = order_body(order_id);
  return "POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// `payload` as one chunk and the last chunk.
std::string chunked(const std::string& payload) {
  return hex(payload.size()) + "\r\n" + payload + "\r\n0\r\n\r\n";
}

// Expects the answer to a refused request on `c`: 400 invalid_framing, Connection: close
// (HTTP/1.1; an HTTP/1.0 answer closes without saying so), then the server closes the
// connection.
void expect_refused_and_closed(raw_connection& c, const std::string& what, bool http10 = false) {
  const std::optional<http_response> r = c.read_response(kWait);
  ASSERT_TRUE(r.has_value()) << what << ": no response (connection closed: " << c.peer_closed()
                             << ", received: \"" << c.unread() << "\")";
  EXPECT_TRUE(is_error(*r, 400, "invalid_framing")) << what << ": " << r->describe();
  if (!http10) {
    EXPECT_EQ(r->header("Connection"), "close") << what;
  }
  EXPECT_TRUE(c.wait_closed(kWait)) << what << ": the connection stayed open";
  // Nothing after the refusal: above all no answer to a request hidden in the body.
  EXPECT_EQ(c.unread(), "") << what << ": more was answered after the refusal";
}

void expect_no_order(http_client& http, const std::string& order_id, const std::string& what) {
  EXPECT_TRUE(is_error(http.get(order_path(order_id)), 404, "order_not_found"))
      << what << ": order " << order_id << " was placed";
}

// The reproduction: a request whose Transfer-Encoding does not end in chunked was
// taken as bodiless, so its body was read as the next request and placed a hidden order.
TEST(request_smuggling, transfer_encoding_gzip_cannot_hide_an_order_in_the_body) {
  daemon_process daemon;
  raw_connection c(daemon.port());
  c.send("POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n" +
         order_request("hidden-order"));
  expect_refused_and_closed(c, "Transfer-Encoding: gzip");
  http_client http(daemon.port());
  expect_no_order(http, "hidden-order", "Transfer-Encoding: gzip");
  EXPECT_EQ(http.get("/healthz").status, 200u);
}

struct framing_case {
  std::string name;
  // Header lines (each ending in \r\n) after Host and Content-Type.
  std::string headers;
  // The body as sent, `outer` standing for the outer order's JSON.
  enum class body_kind { plain, chunked } body = body_kind::plain;
  std::string version = "HTTP/1.1";
};

// Every framing ambiguity of RFC 9112 sections 5.2, 6.1 and 6.3: each request carries an
// order of its own and, right behind it, a whole hidden order request. Whatever reading a
// server might pick, it must answer 400, close, and place neither.
TEST(request_smuggling, every_ambiguous_framing_is_400_and_close_without_side_effect) {
  daemon_process daemon;
  http_client http(daemon.port());
  using k = framing_case::body_kind;
  const std::vector<framing_case> cases = {
      {"te_gzip", "Transfer-Encoding: gzip\r\n"},
      {"te_chunked_then_gzip", "Transfer-Encoding: chunked, gzip\r\n", k::chunked},
      {"te_gzip_then_chunked", "Transfer-Encoding: gzip, chunked\r\n", k::chunked},
      {"te_chunked_chunked", "Transfer-Encoding: chunked, chunked\r\n", k::chunked},
      {"te_twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", k::chunked},
      {"te_identity", "Transfer-Encoding: identity\r\n"},
      {"te_chunked_and_cl", "Transfer-Encoding: chunked\r\nContent-Length: {len}\r\n", k::chunked},
      {"cl_and_te_chunked", "Content-Length: {len}\r\nTransfer-Encoding: chunked\r\n", k::chunked},
      {"te_gzip_and_cl", "Transfer-Encoding: gzip\r\nContent-Length: {len}\r\n"},
      {"cl_different_values", "Content-Length: 0\r\nContent-Length: {len}\r\n"},
      {"cl_same_value_twice", "Content-Length: {len}\r\nContent-Length: {len}\r\n"},
      {"cl_list", "Content-Length: {len}, {len}\r\n"},
      {"cl_negative", "Content-Length: -1\r\n"},
      {"cl_plus_sign", "Content-Length: +{len}\r\n"},
      {"cl_not_a_number", "Content-Length: ten\r\n"},
      {"cl_hex", "Content-Length: 0x10\r\n"},
      {"obs_fold", "Content-Length: {len}\r\nX-Note: first\r\n second\r\n"},
      {"obs_fold_tab", "Content-Length: {len}\r\nX-Note: first\r\n\tsecond\r\n"},
      // Folded into the Content-Type line before it.
      {"obs_fold_into_content_type", " charset=utf-8\r\nContent-Length: {len}\r\n"},
      {"unreadable_header_line", "No Colon Here\r\nContent-Length: {len}\r\n"},
      {"http10_te_chunked", "Transfer-Encoding: chunked\r\n", k::chunked, "HTTP/1.0"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const framing_case& fc = cases[i];
    SCOPED_TRACE(fc.name);
    const std::string outer_id = "outer-" + fc.name;
    const std::string hidden_id = "hidden-" + fc.name;
    const std::string outer = order_body(outer_id);
    std::string headers = fc.headers;
    for (std::size_t at; (at = headers.find("{len}")) != std::string::npos;) {
      headers.replace(at, 5, std::to_string(outer.size()));
    }
    const std::string body = fc.body == k::chunked ? chunked(outer) : outer;
    raw_connection c(daemon.port());
    c.send("POST /orders " + fc.version +
           "\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + headers + "\r\n" + body +
           order_request(hidden_id));
    expect_refused_and_closed(c, fc.name, fc.version == "HTTP/1.0");
    expect_no_order(http, outer_id, fc.name);
    expect_no_order(http, hidden_id, fc.name);
  }
  EXPECT_EQ(http.get("/healthz").status, 200u);
}

// A fold in a part of the header that arrives before the rest is seen too: the parser takes
// the complete lines of a partial header as they come.
TEST(request_smuggling, a_fold_in_the_first_part_of_a_split_header_is_refused) {
  daemon_process daemon;
  http_client http(daemon.port());
  const std::string outer = order_body("outer-split");
  raw_connection c(daemon.port());
  c.send("POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: first\r\n second\r\nX-Other: 1\r\n");
  // Nothing answers a partial header; the pause lets the server read the first part alone.
  std::this_thread::sleep_for(300ms);
  c.send("Content-Type: application/json\r\nContent-Length: " + std::to_string(outer.size()) +
         "\r\n\r\n" + outer);
  expect_refused_and_closed(c, "split header");
  expect_no_order(http, "outer-split", "split header");
}

// Chunked alone, the one transfer coding matchd decodes, stays accepted, and the
// connection stays open for the next request.
TEST(request_framing, chunked_alone_is_accepted_and_keeps_the_connection) {
  daemon_process daemon;
  raw_connection c(daemon.port());
  c.send(
      "POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n" +
      chunked(order_body("chunked-1")) + order_request("pipelined-1"));
  const std::optional<http_response> first = c.read_response(kWait);
  ASSERT_TRUE(first.has_value()) << c.unread();
  EXPECT_EQ(first->status, 201u) << first->describe();
  const std::optional<http_response> second = c.read_response(kWait);
  ASSERT_TRUE(second.has_value()) << c.unread();
  EXPECT_EQ(second->status, 201u) << second->describe();
}

// --- Expect: 100-continue -------------------------------------------------------------

std::string expect_head(std::string_view target, std::string_view content_type,
                        std::size_t length) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + std::string(content_type) +
         "\r\nContent-Length: " + std::to_string(length) + "\r\nExpect: 100-continue\r\n\r\n";
}

// A client that asks to be told before it sends its body (curl does for large bodies) gets
// 100 Continue at once, then the final answer once the body is sent.
TEST(expect_continue, is_answered_100_before_the_body_then_201) {
  daemon_process daemon;
  raw_connection c(daemon.port());
  const std::string body = order_body("expect-1");
  c.send(expect_head("/orders", "application/json", body.size()));
  // curl waits 1 s for it before sending the body anyway.
  const std::optional<http_response> interim = c.read_response(900ms);
  ASSERT_TRUE(interim.has_value())
      << "no interim response within 900 ms; received \"" << c.unread() << "\"";
  EXPECT_EQ(interim->status, 100u) << interim->describe();
  c.send(body);
  const std::optional<http_response> final_answer = c.read_response(kWait);
  ASSERT_TRUE(final_answer.has_value()) << c.unread();
  EXPECT_EQ(final_answer->status, 201u) << final_answer->describe();
  EXPECT_EQ(final_answer->json()["order"]["order_id"], "expect-1") << final_answer->describe();

  // The connection goes on; a request without Expect gets no interim response.
  c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const std::optional<http_response> health = c.read_response(kWait);
  ASSERT_TRUE(health.has_value()) << c.unread();
  EXPECT_EQ(health->status, 200u) << health->describe();
}

// A request refused whatever its body gets its final answer at once instead of 100, and
// the connection closes since the body is never read; the body is never sent.
TEST(expect_continue, a_refused_request_gets_its_final_status_at_once_and_close) {
  daemon_process daemon;
  struct refused_case {
    std::string name;
    std::string head;
    unsigned status;
    std::string code;
  };
  const std::vector<refused_case> cases = {
      {"too_large", expect_head("/orders", "application/json", 10u << 20), 413, "body_too_large"},
      {"unknown_path", expect_head("/nowhere", "application/json", 100), 404, "not_found"},
      {"wrong_method", expect_head("/healthz", "application/json", 100), 405, "method_not_allowed"},
      {"not_json", expect_head("/orders", "text/plain", 100), 415, "unsupported_media_type"},
  };
  for (const refused_case& rc : cases) {
    SCOPED_TRACE(rc.name);
    raw_connection c(daemon.port());
    c.send(rc.head);
    const std::optional<http_response> r = c.read_response(kWait);
    ASSERT_TRUE(r.has_value()) << "no answer without the body; received \"" << c.unread() << "\"";
    EXPECT_TRUE(is_error(*r, rc.status, rc.code)) << r->describe();
    EXPECT_EQ(r->header("Connection"), "close") << r->describe();
    EXPECT_TRUE(c.wait_closed(kWait)) << "the connection stayed open";
  }
}

}  // namespace
}  // namespace matchd::e2e
