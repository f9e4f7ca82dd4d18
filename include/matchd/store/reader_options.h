#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace matchd::store {

// A reader thread of its own with a PostgreSQL session of its own (the history reader, the
// analytics reader).
struct reader_options {
  std::string conninfo;  // with the session settings (store/session_settings.h)
  // Reads waiting at most; beyond it a read is refused at once (503 overloaded).
  std::size_t queue_capacity = 1024;
  // A read's deadline, from when it was asked (`--db-timeout`): a read that waited or ran
  // longer is answered `unavailable`, and a call that hangs has its session cut
  // (store/call_deadline.h).
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  // The analytics reader: memory for the final candles it keeps (store/candle_cache.h).
  std::size_t candle_cache_bytes = 64U << 20;
};

}  // namespace matchd::store
