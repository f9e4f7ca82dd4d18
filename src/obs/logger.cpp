#include <matchd/obs/logger.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace matchd::obs {

namespace {
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
spdlog::level::level_enum& current_level() {
  static spdlog::level::level_enum level = spdlog::level::info;
  return level;
}
}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& module) {
  // Loggers are created at start-up and cached by their modules; the lock is not on a
  // hot path.
  std::lock_guard lock(registry_mutex());
  if (auto existing = spdlog::get(module)) return existing;
  auto created = spdlog::stderr_color_mt(module);
  created->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l [%n] %v", spdlog::pattern_time_type::utc);
  created->set_level(current_level());
  created->flush_on(spdlog::level::warn);
  return created;
}

bool set_log_level(std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") return false;
  std::lock_guard lock(registry_mutex());
  current_level() = parsed;
  spdlog::set_level(parsed);
  return true;
}

}  // namespace matchd::obs
