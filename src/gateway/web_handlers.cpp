// The web client's files (web/, embedded in the binary by src/web): the page at `/`, its
// scripts and styles under `/ui/`. Public like the market data: the page asks for a key only
// to trade. Revalidated on every load (no-cache with an ETag, 304 when unchanged), so an
// upgraded matchd never serves a stale script next to a new page.

#include <matchd/codec/errors.h>
#include <matchd/web/assets.h>

#include "http_session.h"

namespace matchd::gateway {

namespace {

// The page runs only its own scripts and talks only to its own origin. Inline styles are
// allowed: the chart library writes some (a style cannot run code; a script could).
constexpr std::string_view kPagePolicy =
    "\r\nContent-Security-Policy: default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'";

}  // namespace

void http_session::get_page(request& req, const path_params&, std::string_view) {
  serve_asset(req, "/");
}

void http_session::get_asset(request& req, const path_params& params, std::string_view) {
  serve_asset(req, std::string("/ui/").append(params["asset"]));
}

void http_session::serve_asset(request& req, std::string_view path) {
  const web::asset* a = web::find_asset(path);
  if (a == nullptr) {
    return reply_error(codec::make_error(codec::api_errc::not_found, "no such path"));
  }
  extra_head_.assign("\r\nETag: ").append(a->etag);
  extra_head_.append("\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff");
  if (path == "/") extra_head_.append(kPagePolicy);
  if (req[http::field::if_none_match] == a->etag) {
    return send_response(304, {}, 0, false, a->content_type);
  }
  // The body is static: written from the binary's own bytes, uncopied.
  send_response(200, a->body, 0, false, a->content_type);
}

}  // namespace matchd::gateway
