#pragma once

#include <matchd/analytics/candle.h>
#include <matchd/engine/types.h>

#include <array>
#include <cstddef>
#include <deque>
#include <limits>
#include <optional>

namespace matchd::analytics {

// The sum of the last `count` buckets of one interval, the current one included: the
// rolling windows of the ticker (1,440 one-minute buckets for 24 h, 60 and 300 one-second
// ones for 1 m and 5 m). The window moves in whole buckets, so it covers between
// (count - 1) and count bucket lengths of time.
class rolling_window {
 public:
  rolling_window(interval bucket, std::size_t count) noexcept : bucket_(bucket), count_(count) {}

  // Trades whose time `t` falls in a bucket (any time in it).
  void add(engine::timestamp_us t, const trade_summary& s);
  // The buckets whose open_time is in (bucket_start(now) - count x length, bucket_start(now)].
  // Forgets the older ones.
  trade_summary total(engine::timestamp_us now);

 private:
  void forget_before(engine::timestamp_us first_kept);

  interval bucket_;
  std::size_t count_;
  std::deque<candle> buckets_;  // ascending open_time, one per bucket that had trades
  // The window's buckets before the current one, summed once per bucket_start(now): a
  // window of 1,440 buckets is asked for every second and each GET of the ticker.
  static constexpr engine::timestamp_us kNoCache = std::numeric_limits<engine::timestamp_us>::min();
  engine::timestamp_us cached_for_ = kNoCache;
  trade_summary cached_;
};

// One candle series' messages for the `candles` stream: the newest bucket as it changes, and
// once no committed trade can fall into it any more, the bucket closed.
struct candle_message {
  candle bucket;
  bool closed = false;
};

// What one instrument's committed trades add up to, live: the newest candle of every
// interval and the ticker's rolling windows. Owned by the publish stage; fed the trades in
// sequence order (their times never go back in it: matching_engine::stamp).
class live_market {
 public:
  live_market();

  // A committed trade, or during recovery the trades of one second the tables do not hold
  // yet (the journal's backlog), `t` being any time in that second.
  void add(engine::timestamp_us t, const trade_summary& s);
  // Recovery at `now`: a candle of the candles table. The 1 s and 1 m ones fill the
  // windows; the bucket of `iv` that holds `now` (still open) starts that series.
  void seed(interval iv, const candle& c, engine::timestamp_us now);

  // The next message of `iv`'s series, if there is one: a bucket that ended (closed), else
  // the newest bucket if it changed since the last message or has just ended. `horizon`:
  // every trade still to come is at this time or later (bus::engine_batch::clock), so a
  // bucket that ends by then is complete. At most one per call, so calling it at most ten
  // times a second keeps a subscription to ten messages a second.
  std::optional<candle_message> next_message(interval iv, engine::timestamp_us horizon);
  // The newest bucket of `iv` while it has not been sent closed: what a new subscriber
  // starts from.
  std::optional<candle> open_candle(interval iv) const;

  struct ticker_windows {
    trade_summary day;  // the last 1,440 minutes
    trade_summary minute;
    trade_summary five_minutes;
  };
  ticker_windows windows(engine::timestamp_us now);
  // Whether a trade came since the last call: the ticker stream speaks only then.
  bool take_traded() noexcept {
    const bool was = traded_;
    traded_ = false;
    return was;
  }

 private:
  struct series {
    candle newest;  // empty summary: none yet
    bool changed = false;
    bool closed_sent = false;
    std::optional<candle> closing;  // the bucket before `newest`, not yet sent closed
  };
  std::array<series, kIntervals.size()> series_;
  rolling_window day_;
  rolling_window minute_;
  rolling_window five_minutes_;
  bool traded_ = false;
};

}  // namespace matchd::analytics
