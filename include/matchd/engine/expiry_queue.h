#pragma once

#include <matchd/engine/types.h>

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace matchd::engine {

// What each stage keeps for the retention horizon (--retention): the things that may be
// forgotten once they are older than the horizon, oldest first. A stage pushes an entry
// when something becomes forgettable (a key is held, an order finishes) and pops a bounded
// number of due entries per pass (expire_due), so forgetting is never a sweep of a table.
//
// Entries live in fixed-size blocks; an emptied block is kept for reuse, so once the queue
// has reached its steady length (the horizon's worth of entries) pushing allocates
// nothing, and growing never copies what is queued.
//
// Times are the wall-clock stamps of the commands (timestamp_us). They are pushed
// nearly in order; one out of order (a clock step back) only delays the entries behind it.
//
// Single-threaded: owned by one stage.
template <class T>
class expiry_queue {
 public:
  struct entry {
    timestamp_us at;
    T value;
  };

  expiry_queue() = default;
  expiry_queue(const expiry_queue&) = delete;
  expiry_queue& operator=(const expiry_queue&) = delete;

  static constexpr std::size_t kBlockEntries = 1024;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  void push(timestamp_us at, const T& value) {
    if (blocks_.empty() || tail_ == kBlockEntries) {
      blocks_.push_back(take_spare());
      tail_ = 0;
    }
    blocks_.back()[tail_++] = entry{at, value};
    ++size_;
  }

  // The oldest entry; the queue must not be empty.
  const entry& front() const noexcept { return blocks_[first_][head_]; }

  void pop() noexcept {
    ++head_;
    --size_;
    if (size_ == 0) {
      recycle_all();
    } else if (head_ == kBlockEntries) {
      spare_.push_back(std::move(blocks_[first_]));
      ++first_;
      head_ = 0;
      compact();
    }
  }

  // Pops up to `budget` entries whose time is at or before `cutoff`, oldest first, giving
  // each to `expired(const T&)`. Returns how many it popped.
  template <class F>
  std::size_t expire_due(timestamp_us cutoff, std::size_t budget, F&& expired) {
    std::size_t n = 0;
    while (n < budget && !empty() && front().at <= cutoff) {
      expired(front().value);
      pop();
      ++n;
    }
    return n;
  }

 private:
  using block = std::unique_ptr<entry[]>;

  block take_spare() {
    if (spare_.empty()) return std::make_unique<entry[]>(kBlockEntries);
    block b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }
  void recycle_all() noexcept {
    for (std::size_t i = first_; i < blocks_.size(); ++i) spare_.push_back(std::move(blocks_[i]));
    blocks_.clear();
    first_ = head_ = tail_ = 0;
  }
  // The vector of blocks keeps its emptied front slots until they are half of it, then
  // moves the live ones down (a few pointers per block of entries).
  void compact() noexcept {
    if (first_ * 2 < blocks_.size()) return;
    std::move(blocks_.begin() + static_cast<std::ptrdiff_t>(first_), blocks_.end(),
              blocks_.begin());
    blocks_.resize(blocks_.size() - first_);
    first_ = 0;
  }

  std::vector<block> blocks_;  // [first_, end) hold entries
  std::vector<block> spare_;   // emptied blocks, for the next pushes
  std::size_t first_ = 0;
  std::size_t head_ = 0;  // next entry to pop in blocks_[first_]
  std::size_t tail_ = 0;  // next free entry in blocks_.back()
  std::size_t size_ = 0;
};

}  // namespace matchd::engine
