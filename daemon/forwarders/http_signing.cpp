// HMAC-SHA256 request signatures with OpenSSL's one-shot HMAC().
#include "forwarders/http_signing.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdexcept>

namespace auditfwd {

std::string hmac_sha256_hex(std::string_view secret, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length))
    throw std::runtime_error("HMAC-SHA256 failed");  // only on OpenSSL misconfiguration
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0x0f]);
  }
  return out;
}

std::string signature_header(std::span<const std::string> secrets, std::string_view idempotency_key,
                             std::string_view timestamp, std::string_view body) {
  std::string message;
  message.reserve(idempotency_key.size() + timestamp.size() + body.size() + 2);
  message.append(idempotency_key).append(".").append(timestamp).append(".").append(body);
  std::string header;
  for (const auto& secret : secrets) {
    if (!header.empty()) header += ',';
    header += "v1=" + hmac_sha256_hex(secret, message);
  }
  return header;
}

}  // namespace auditfwd
