#include <matchd/auth/keys.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace matchd::auth {

namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;

std::uint64_t prefix_of(const secret_digest& d) noexcept {
  std::uint64_t p = 0;
  for (std::size_t i = 0; i < 8; ++i) p = (p << 8) | d[i];
  return p;
}

void random_bytes(unsigned char* out, int n) {
  if (RAND_bytes(out, n) != 1) throw std::runtime_error("the random number generator failed");
}

}  // namespace

std::string_view to_string(role r) noexcept {
  switch (r) {
    case role::viewer:
      return "viewer";
    case role::trader:
      return "trader";
    case role::admin:
      return "admin";
  }
  return "viewer";
}

std::optional<role> parse_role(std::string_view s) noexcept {
  if (s == "viewer") return role::viewer;
  if (s == "trader") return role::trader;
  if (s == "admin") return role::admin;
  return std::nullopt;
}

std::string_view to_string(access a) noexcept {
  switch (a) {
    case access::operational:
      return "operational";
    case access::public_read:
      return "public_read";
    case access::account_read:
      return "account_read";
    case access::trade:
      return "trade";
    case access::admin:
      return "admin";
  }
  return "admin";
}

bool allows(role r, access a) noexcept {
  switch (a) {
    case access::operational:
    case access::public_read:
      return true;
    case access::account_read:
      return true;  // viewer and up
    case access::trade:
      return r == role::trader || r == role::admin;
    case access::admin:
      return r == role::admin;
  }
  return false;
}

secret_digest digest_of(std::string_view secret) {
  secret_digest d{};
  unsigned int size = 0;
  if (EVP_Digest(secret.data(), secret.size(), d.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != d.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return d;
}

std::string generate_secret() {
  std::array<unsigned char, 32> bytes{};
  random_bytes(bytes.data(), static_cast<int>(bytes.size()));
  constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "mk_";
  s.reserve(3 + 2 * bytes.size());
  for (const unsigned char b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 0xf]);
  }
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return s;
}

key_id generate_key_id() {
  while (true) {
    std::array<unsigned char, 8> bytes{};
    random_bytes(bytes.data(), static_cast<int>(bytes.size()));
    key_id id = 0;
    for (const unsigned char b : bytes) id = (id << 8) | b;
    if (id != 0) return id;
  }
}

std::string bootstrap_secret_problem(std::string_view secret) {
  if (secret.size() < kMinBootstrapSecret) {
    return "MATCHD_ADMIN_KEY must be at least " + std::to_string(kMinBootstrapSecret) +
           " characters long";
  }
  for (const char c : secret) {
    if (c <= ' ' || c > '~') {
      return "MATCHD_ADMIN_KEY may hold only printable ASCII characters other than space";
    }
  }
  return {};
}

rate_bucket::rate_bucket(double rate, double burst) noexcept {
  if (!(rate > 0)) return;
  if (!(burst > 0)) burst = std::max(rate, 1.0);  // as --rate-burst 0: the rate
  burst = std::max(burst, 1.0);
  // A rate so low that one token takes longer than ~30 years is as good as none coming back.
  const double interval = std::min(static_cast<double>(kNsPerSecond) / rate, 1e18);
  interval_ns_ = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(interval)));
  tolerance_ns_ =
      static_cast<std::int64_t>(std::min((burst - 1.0) * static_cast<double>(interval_ns_), 1e18));
}

bool rate_bucket::enabled() const noexcept {
  return interval_ns_ > 0;
}

// GCRA: tat_ is when the bucket would be full again were every admitted request spread at
// the rate. A request at `now` is admitted when tat_ - tolerance <= now, and moves tat_ one
// interval on from max(tat_, now).
int rate_bucket::admit(std::int64_t now_ns) noexcept {
  if (!enabled()) return 0;
  std::int64_t tat = tat_.load(std::memory_order_relaxed);
  while (true) {
    const std::int64_t allowed_at = tat - tolerance_ns_;
    if (now_ns < allowed_at) {
      const std::int64_t wait = allowed_at - now_ns;
      const std::int64_t seconds = (wait + kNsPerSecond - 1) / kNsPerSecond;
      return static_cast<int>(
          std::clamp<std::int64_t>(seconds, 1, std::numeric_limits<int>::max()));
    }
    const std::int64_t next = std::max(tat, now_ns) + interval_ns_;
    if (tat_.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return 0;
  }
}

principal::principal(key_record record, double default_rate, double default_burst)
    : record_(std::move(record)),
      scope_(record_.key_role == role::admin
                 ? nullptr
                 : std::make_shared<const engine::client_set>(record_.client_ids)),
      bucket_(record_.rate_limit ? static_cast<double>(*record_.rate_limit) : default_rate,
              record_.rate_burst ? static_cast<double>(*record_.rate_burst)
                                 : (record_.rate_limit ? 0.0 : default_burst)) {}

void key_table::add(std::shared_ptr<principal> p) {
  by_prefix_[prefix_of(p->record().digest)].push_back(p);
  by_id_[p->id()] = std::move(p);
}

std::shared_ptr<principal> key_table::find(std::string_view secret) const {
  const secret_digest d = digest_of(secret);
  const auto it = by_prefix_.find(prefix_of(d));
  if (it == by_prefix_.end()) return nullptr;
  for (const auto& p : it->second) {
    if (CRYPTO_memcmp(p->record().digest.data(), d.data(), d.size()) == 0) {
      if (p->revoked() || p->record().revoked_at != 0) return nullptr;
      return p;
    }
  }
  return nullptr;
}

std::shared_ptr<principal> key_table::find_id(key_id id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

}  // namespace matchd::auth
