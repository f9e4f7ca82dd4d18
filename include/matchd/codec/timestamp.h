#pragma once

#include <matchd/engine/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace matchd::codec {

// "2026-11-21T12:00:00.123456Z": RFC 3339, UTC, always exactly six fractional digits.
inline constexpr std::size_t kTimestampLength = 27;

// Writes exactly kTimestampLength chars (no terminator) and returns that count. Pure
// arithmetic (days -> civil date), no locale, no time zone database, no allocation.
// Times before 0000-01-01T00:00:00Z or after 9999-12-31T23:59:59.999999Z are clamped to
// those bounds, since RFC 3339 has four-digit years.
std::size_t format_timestamp(engine::timestamp_us t, char* out) noexcept;
std::string format_timestamp(engine::timestamp_us t);

// A time in a query (start_time, end_time, cutoff): RFC 3339 with a `Z` or a numeric
// offset and up to six fractional digits (more only as trailing zeros), or integer epoch
// milliseconds. Nullopt when it is neither, or names no real date (2026-02-30, 24:00).
std::optional<engine::timestamp_us> parse_query_time(std::string_view text) noexcept;

}  // namespace matchd::codec
