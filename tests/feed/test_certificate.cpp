#include "test_certificate.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace matchd::feed::test {

namespace {

struct key_deleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct x509_deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct extension_deleter {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("openssl: ") + what + " failed");
}

void add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, extension_deleter> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  check(X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext");
}

std::unique_ptr<std::FILE, file_closer> open_for_writing(const std::filesystem::path& p) {
  std::unique_ptr<std::FILE, file_closer> f(std::fopen(p.c_str(), "w"));
  if (!f) throw std::runtime_error("cannot write " + p.string());
  return f;
}

}  // namespace

test_certificate make_self_signed_certificate(const std::filesystem::path& dir,
                                              const std::string& dns_name) {
  std::unique_ptr<EVP_PKEY, key_deleter> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  check(key != nullptr, "EVP_PKEY_Q_keygen");

  std::unique_ptr<X509, x509_deleter> cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");  // v3
  check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) == 1, "serial");
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) != nullptr, "notAfter");
  check(X509_set_pubkey(cert.get(), key.get()) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1, -1,
                                   0) == 1,
        "subject");
  check(X509_set_issuer_name(cert.get(), name) == 1, "issuer");
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), NID_subject_key_identifier, "hash");
  add_extension(cert.get(), NID_subject_alt_name, "DNS:" + dns_name);
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");

  test_certificate out{dir / "cert.pem", dir / "key.pem"};
  {
    auto f = open_for_writing(out.key_file);
    check(PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM_write_PrivateKey");
  }
  {
    auto f = open_for_writing(out.cert_file);
    check(PEM_write_X509(f.get(), cert.get()) == 1, "PEM_write_X509");
  }
  return out;
}

}  // namespace matchd::feed::test
