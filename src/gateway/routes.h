#pragma once

#include <matchd/auth/keys.h>

#include <array>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace matchd::gateway {

class http_session;
class path_params;

// Who may call a route: auth::access (operational, public_read, account_read, trade,
// admin). Every request is checked against its route's before the handler runs
// (http_session::route_request): a key is needed above public_read, and its role must
// allow the route (auth::allows). While the books are being recovered only `operational`
// routes are served and every other one answers 503 not_ready.
using access = auth::access;

using http_request = boost::beast::http::request<boost::beast::http::string_body>;

// A route's handler: a member of http_session, given the request, the path's parameters
// and the raw query string (after '?').
using route_handler = void (http_session::*)(http_request& req, const path_params& params,
                                             std::string_view query);

// How many "{name}" parameters a pattern has.
constexpr std::size_t count_parameters(std::string_view pattern) noexcept {
  std::size_t n = 0;
  for (const char c : pattern) n += c == '{' ? 1 : 0;
  return n;
}

// One line of the route table. `pattern` is in OpenAPI path-template syntax: literal
// segments and whole-segment parameters, "/orders/{order_id}/cancel". A parameter matches
// one non-empty segment; literals match exactly (case-sensitive, not percent-decoded).
struct route {
  boost::beast::http::verb method;
  std::string_view pattern;
  access needs;
  route_handler handler;
  // The handler answers 503 not_ready by itself while recovering, so the route is not
  // refused for it (the WebSocket session answers each message).
  bool answers_not_ready_itself = false;
  // Computed, not written in the table: a pattern without parameters is one comparison.
  std::size_t parameters = count_parameters(pattern);
};

// The server's routes, tried in order; POST /orders, the hot path, first. docs/openapi.yaml
// lists the same (method, path) pairs (tests/gateway/route_table_test.cpp checks it).
std::span<const route> server_routes() noexcept;

// The parameters of a matched path, percent-decoded ("%2F" -> "/"; '+' stays '+', as in a
// path). Values are views into the matched path, or into this object's own buffer when a
// value had to be decoded: valid until the next match and while the path lives. Matching
// allocates only when a value contains '%' and the buffer is smaller than the path.
class path_params {
 public:
  static constexpr std::size_t kMax = 4;

  path_params() = default;
  // A copy's views would point into the original's buffer.
  path_params(const path_params&) = delete;
  path_params& operator=(const path_params&) = delete;

  // The value of {name}; nullopt when the matched pattern has no such parameter.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const noexcept;
  // The value of {name}, which the matched pattern must have.
  [[nodiscard]] std::string_view operator[](std::string_view name) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  void clear() noexcept { size_ = 0; }

 private:
  friend bool match_path(std::string_view pattern, std::string_view path, path_params& out);

  struct param {
    std::string_view name;
    std::string_view value;
  };
  std::array<param, kMax> params_{};
  std::size_t size_ = 0;
  std::string decoded_;
};

// Whether `path` fits `pattern`; if so, `out` holds the pattern's parameters.
bool match_path(std::string_view pattern, std::string_view path, path_params& out);

struct route_lookup {
  const route* found = nullptr;  // the route of this method and path
  bool path_known = false;       // some route has this path; !found then means 405
  // The most open access among the routes of this path, when path_known.
  access needs = access::admin;
};

// The first route whose pattern fits `path` and whose method is `method`. No allocation
// unless a parameter has to be percent-decoded (see path_params).
route_lookup find_route(std::span<const route> table, boost::beast::http::verb method,
                        std::string_view path, path_params& params);

// Whether the request is served while the books are being recovered: the path is an
// operational route's, or its route answers not_ready by itself. Everything else, unknown
// paths included, is 503 not_ready until recovery ends.
bool served_while_recovering(const route_lookup& r) noexcept;

// The Allow header of a 405: the methods of every route whose pattern fits `path`, sorted
// by name, each once ("DELETE, GET"); empty when none does.
std::string allowed_methods(std::span<const route> table, std::string_view path);

}  // namespace matchd::gateway
