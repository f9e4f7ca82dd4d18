#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>
#include <vector>

namespace matchd::engine {

// An append-only array, indexed like a vector, that grows a chunk at a time and never
// moves an element.
//
// The order book keeps its nodes and levels in arrays indexed by 32-bit numbers (the
// links between them), and they grow with the resting orders. A std::vector doubles by
// copying every element: past the reserved 65,536 nodes of a book (256 bytes each) that
// copied 16 MB, then 32, then 64, each inside the command that needed one node more, with
// all matching stopped. Here growth allocates one chunk of 2^kChunkLog2 elements (raw
// storage; an element is constructed when appended, so a fresh chunk's pages are touched
// as they fill, as a vector's would be) and appends its pointer to a small directory.
// Indexing costs one extra load, of a directory that stays in cache.
//
// Elements stay where they are until the container is destroyed: references survive
// growth (unlike a vector's). Single-threaded, like the book that owns it.
template <class T, unsigned kChunkLog2>
class chunked_vector {
 public:
  static constexpr std::size_t kChunk = std::size_t{1} << kChunkLog2;

  chunked_vector() = default;
  chunked_vector(const chunked_vector&) = delete;
  chunked_vector& operator=(const chunked_vector&) = delete;
  ~chunked_vector() {
    if constexpr (!std::is_trivially_destructible_v<T>) {
      for (std::size_t i = 0; i < size_; ++i) std::destroy_at(&(*this)[i]);
    }
    for (T* chunk : chunks_) std::allocator<T>{}.deallocate(chunk, kChunk);
  }

  T& operator[](std::size_t i) noexcept { return chunks_[i >> kChunkLog2][i & (kChunk - 1)]; }
  const T& operator[](std::size_t i) const noexcept {
    return chunks_[i >> kChunkLog2][i & (kChunk - 1)];
  }

  std::size_t size() const noexcept { return size_; }
  // Elements appended before the next chunk is allocated.
  std::size_t capacity() const noexcept { return chunks_.size() * kChunk; }

  // Allocates the chunks for `n` elements now (e.g. at start-up), so that appending up to
  // `n` allocates nothing.
  void reserve(std::size_t n) {
    chunks_.reserve((n + kChunk - 1) / kChunk);
    while (capacity() < n) add_chunk();
  }

  // Appends a value-initialized element and returns it.
  T& emplace_back() {
    if (size_ == capacity()) add_chunk();
    T* slot = &(*this)[size_];
    std::construct_at(slot);
    ++size_;
    return *slot;
  }

 private:
  void add_chunk() {
    T* chunk = std::allocator<T>{}.allocate(kChunk);
    try {
      chunks_.push_back(chunk);
    } catch (...) {
      std::allocator<T>{}.deallocate(chunk, kChunk);
      throw;
    }
  }

  std::vector<T*> chunks_;  // grows by doubling too, but holds one pointer per chunk
  std::size_t size_ = 0;
};

}  // namespace matchd::engine
