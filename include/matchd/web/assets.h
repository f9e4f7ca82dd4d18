#pragma once

#include <span>
#include <string_view>

namespace matchd::web {

// One file of the web client, embedded at build time (src/web/embed_web.cmake).
struct asset {
  std::string_view path;          // the URL path it is served at: "/", "/ui/app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view etag;          // quoted, from the content's hash: "\"1f2e...\""
  std::string_view body;
};

std::span<const asset> assets() noexcept;

// The asset served at `path`, or null.
const asset* find_asset(std::string_view path) noexcept;

}  // namespace matchd::web
