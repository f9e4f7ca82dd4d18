#pragma once

#include <filesystem>
#include <string>

namespace matchd::feed::test {

// A self-signed certificate (EC P-256, SHA-256, valid one day) written as PEM into `dir`,
// made with the OpenSSL API: the equivalent of
//   openssl req -x509 -newkey ec -nodes -days 1 -subj /CN=<name> -addext subjectAltName=DNS:<name>
// It is its own CA, so a client trusts it by loading cert_file as its CA file.
struct test_certificate {
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
};

// Throws std::runtime_error when OpenSSL fails.
test_certificate make_self_signed_certificate(const std::filesystem::path& dir,
                                              const std::string& dns_name = "localhost");

}  // namespace matchd::feed::test
