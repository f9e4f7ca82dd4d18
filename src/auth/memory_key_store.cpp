#include <matchd/auth/key_registry.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>

namespace matchd::auth {

namespace {

// Keys kept only in this process (memory mode): lost when it stops. Safe to share between
// threads, so a test can change it "from outside" while a registry polls it.
class memory_key_store final : public key_store {
 public:
  void insert(const key_record& r) override {
    const std::lock_guard lock(mutex_);
    for (const key_record& k : keys_) {
      if (k.id == r.id) throw std::runtime_error("a key with this key_id exists");
      if (k.digest == r.digest) throw std::runtime_error("a key with this secret exists");
    }
    keys_.push_back(r);
  }

  std::optional<key_record> revoke(key_id id, engine::timestamp_us at) override {
    const std::lock_guard lock(mutex_);
    const auto it =
        std::find_if(keys_.begin(), keys_.end(), [&](const key_record& k) { return k.id == id; });
    if (it == keys_.end()) return std::nullopt;
    if (it->revoked_at == 0) it->revoked_at = at;
    return *it;
  }

  std::vector<key_record> load_all() override {
    const std::lock_guard lock(mutex_);
    return keys_;
  }

  bool durable() const noexcept override { return false; }

 private:
  std::mutex mutex_;
  std::vector<key_record> keys_;
};

}  // namespace

std::unique_ptr<key_store> make_memory_key_store() {
  return std::make_unique<memory_key_store>();
}

}  // namespace matchd::auth
