#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace matchd::obs {

// One logger per module ("gateway", "engine", "store", ...), all writing one line per
// event to stderr as `ts level [module] message key=value ...`. Safe to call from any
// thread; the first call per name creates the logger.
std::shared_ptr<spdlog::logger> logger(const std::string& module);

// Applies to every logger, existing and future. Accepts spdlog level names.
bool set_log_level(std::string_view level);

}  // namespace matchd::obs
