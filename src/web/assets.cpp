#include <matchd/web/assets.h>

namespace matchd::web {

const asset* find_asset(std::string_view path) noexcept {
  for (const asset& a : assets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

}  // namespace matchd::web
