#include <matchd/export/webhook_signature.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <array>
#include <memory>
#include <stdexcept>

namespace matchd::event_export {

namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::size_t kSecretBytes = 32;

struct mac_deleter {
  void operator()(EVP_MAC* mac) const noexcept { EVP_MAC_free(mac); }
};
struct mac_ctx_deleter {
  void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};

const unsigned char* bytes_of(std::string_view s) noexcept {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void append_hex(std::string& out, const unsigned char* bytes, std::size_t size) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  out.reserve(out.size() + 2 * size);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0x0f]);
  }
}

}  // namespace

std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body) {
  // EVP_MAC rather than HMAC(): the message is fed in pieces, so a large body is not copied
  // to put the time in front of it, and none of the calls is deprecated in OpenSSL 3.
  const std::unique_ptr<EVP_MAC, mac_deleter> mac(
      EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
  if (!mac) throw std::runtime_error("webhook_signature: HMAC is not available");
  const std::unique_ptr<EVP_MAC_CTX, mac_ctx_deleter> ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) throw std::runtime_error("webhook_signature: cannot allocate an HMAC context");

  char digest_name[] = "SHA256";
  const std::array<OSSL_PARAM, 2> params{
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  // EVP_MAC_init reads a null key as "keep the key already set", not as an empty one, so an
  // empty secret is passed as a valid pointer with length 0: HMAC's empty key.
  static constexpr unsigned char kEmptyKey[1] = {0};
  const unsigned char* key = secret.empty() ? kEmptyKey : bytes_of(secret);

  const std::string time = std::to_string(unix_seconds);
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t out_size = 0;
  if (EVP_MAC_init(ctx.get(), key, secret.size(), params.data()) != 1 ||
      EVP_MAC_update(ctx.get(), bytes_of(time), time.size()) != 1 ||
      EVP_MAC_update(ctx.get(), bytes_of("."), 1) != 1 ||
      EVP_MAC_update(ctx.get(), bytes_of(body), body.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &out_size, out.size()) != 1) {
    throw std::runtime_error("webhook_signature: HMAC-SHA256 failed");
  }

  std::string value = "t=" + time + ",v1=";
  append_hex(value, out.data(), out_size);
  return value;
}

std::string new_webhook_secret() {
  std::array<unsigned char, kSecretBytes> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    throw std::runtime_error("new_webhook_secret: the random number generator failed");
  }
  std::string secret(kSecretPrefix);
  append_hex(secret, random.data(), random.size());
  // The secret's only other copy is the returned string, which the caller owns.
  OPENSSL_cleanse(random.data(), random.size());
  return secret;
}

}  // namespace matchd::event_export
