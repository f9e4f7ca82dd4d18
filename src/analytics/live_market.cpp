#include <matchd/analytics/live_market.h>

#include <iterator>

namespace matchd::analytics {

void rolling_window::add(engine::timestamp_us t, const trade_summary& s) {
  const engine::timestamp_us start = bucket_start(bucket_, t);
  // Trades come in time order, so the place is nearly always the back.
  auto it = buckets_.end();
  while (it != buckets_.begin() && std::prev(it)->open_time > start) --it;
  if (it != buckets_.begin() && std::prev(it)->open_time == start) {
    std::prev(it)->summary.merge(s);
  } else {
    buckets_.insert(it, candle{start, s});
  }
  if (cached_for_ != kNoCache && start < cached_for_) cached_for_ = kNoCache;
  forget_before(buckets_.back().open_time -
                static_cast<std::int64_t>(count_ - 1) * length_us(bucket_));
}

void rolling_window::forget_before(engine::timestamp_us first_kept) {
  while (!buckets_.empty() && buckets_.front().open_time < first_kept) buckets_.pop_front();
}

trade_summary rolling_window::total(engine::timestamp_us now) {
  const engine::timestamp_us current = bucket_start(bucket_, now);
  forget_before(current - static_cast<std::int64_t>(count_ - 1) * length_us(bucket_));
  if (cached_for_ != current) {
    cached_ = {};
    for (const candle& c : buckets_) {
      if (c.open_time >= current) break;
      cached_.merge(c.summary);
    }
    cached_for_ = current;
  }
  trade_summary sum = cached_;
  for (auto it = buckets_.rbegin(); it != buckets_.rend() && it->open_time >= current; ++it) {
    if (it->open_time == current) sum.merge(it->summary);
  }
  return sum;
}

live_market::live_market()
    : day_(interval::m1, 1440), minute_(interval::s1, 60), five_minutes_(interval::s1, 300) {}

void live_market::add(engine::timestamp_us t, const trade_summary& s) {
  if (s.empty()) return;
  for (const interval iv : kIntervals) {
    series& x = series_[static_cast<std::size_t>(iv)];
    const engine::timestamp_us start = bucket_start(iv, t);
    if (x.newest.summary.empty() || start == x.newest.open_time) {
      x.newest.open_time = start;
      x.newest.summary.merge(s);
      x.changed = true;
      // A bucket sent closed learns nothing more (times never go back), but were one to,
      // it is sent again rather than kept wrong.
      x.closed_sent = false;
    } else if (start > x.newest.open_time) {
      if (!x.closed_sent) x.closing = x.newest;
      x.newest = candle{start, s};
      x.changed = true;
      x.closed_sent = false;
    }
    // An older bucket than the newest: only a replayed backlog could bring one, and the
    // stream has moved past it; the candles table counts it.
  }
  day_.add(t, s);
  minute_.add(t, s);
  five_minutes_.add(t, s);
  traded_ = true;
}

void live_market::seed(interval iv, const candle& c, engine::timestamp_us now) {
  if (c.summary.empty()) return;
  series& x = series_[static_cast<std::size_t>(iv)];
  if (c.open_time == bucket_start(iv, now)) {
    x.newest = c;
    x.changed = false;
    x.closed_sent = false;
  }
  if (iv == interval::m1) day_.add(c.open_time, c.summary);
  if (iv == interval::s1) {
    minute_.add(c.open_time, c.summary);
    five_minutes_.add(c.open_time, c.summary);
  }
}

std::optional<candle_message> live_market::next_message(interval iv, engine::timestamp_us horizon) {
  series& x = series_[static_cast<std::size_t>(iv)];
  if (x.closing) {
    candle_message m{*x.closing, true};
    x.closing.reset();
    return m;
  }
  if (x.newest.summary.empty() || x.closed_sent) return std::nullopt;
  const bool ended = x.newest.open_time + length_us(iv) <= horizon;
  if (!x.changed && !ended) return std::nullopt;
  x.changed = false;
  x.closed_sent = ended;
  return candle_message{x.newest, ended};
}

std::optional<candle> live_market::open_candle(interval iv) const {
  const series& x = series_[static_cast<std::size_t>(iv)];
  if (x.newest.summary.empty() || x.closed_sent) return std::nullopt;
  return x.newest;
}

live_market::ticker_windows live_market::windows(engine::timestamp_us now) {
  return {day_.total(now), minute_.total(now), five_minutes_.total(now)};
}

}  // namespace matchd::analytics
