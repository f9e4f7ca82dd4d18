#include <libpq-fe.h>
#include <matchd/store/session_settings.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace matchd::store {

namespace {

// key='value', with ' and \ escaped as libpq reads them.
void append_setting(std::string& out, const char* key, const std::string& value) {
  if (!out.empty()) out += ' ';
  out += key;
  out += "='";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
}

}  // namespace

std::string with_session_settings(const std::string& conninfo, std::chrono::milliseconds timeout) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
  const std::unique_ptr<char, decltype(&PQfreemem)> error_owner(error, &PQfreemem);
  if (parsed == nullptr) {
    throw std::invalid_argument("not a libpq connection string: " +
                                std::string(error != nullptr ? error : "cannot parse it"));
  }
  const std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> owner(parsed, &PQconninfoFree);
  const long long timeout_ms = std::max<long long>(1, timeout.count());
  const std::vector<std::pair<const char*, std::string>> defaults = {
      {"connect_timeout", std::to_string(std::max<long long>(2, (timeout_ms + 999) / 1000))},
      {"keepalives", "1"},
      {"keepalives_idle", "5"},
      {"keepalives_interval", "2"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", std::to_string(timeout_ms)},
      {"application_name", "matchd"},
  };
  std::string out;
  for (const PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    std::string value;
    if (o->val != nullptr) {
      value = o->val;
    } else {
      const auto d = std::find_if(defaults.begin(), defaults.end(), [&](const auto& kv) {
        return std::string_view(kv.first) == o->keyword;
      });
      if (d == defaults.end()) continue;
      value = d->second;
    }
    append_setting(out, o->keyword, value);
  }
  return out;
}

}  // namespace matchd::store
