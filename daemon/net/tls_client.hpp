// The one TLS client policy of every forwarder that speaks TLS: how a context is built, how a
// connection is checked, and how a failed handshake is explained.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace auditfwd {

// What a forwarder's config says about TLS. Verification is on unless the user
// turned it off (only `http` has a `tls_verify` key).
struct TlsClientOptions {
  bool verify = true;
  std::optional<std::string> ca_file;    // PEM CAs; replaces the system trust store
  std::optional<std::string> cert_file;  // client certificate chain (mutual TLS), with key_file
  std::optional<std::string> key_file;   // its unencrypted PEM key

  bool operator==(const TlsClientOptions&) const = default;
};

// Why a context cannot be built: the option at fault (named as the config key,
// "tls_ca_file", "tls_cert_file" or "tls_key_file") and the reason. Never
// carries key material.
class TlsSetupError : public std::runtime_error {
 public:
  TlsSetupError(std::string key, const std::string& reason) : std::runtime_error(reason), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

// Builds a client context: TLS 1.2 or later; the peer's chain verified against
// `ca_file` (else the system trust store) unless `verify` is false; the client
// certificate and key loaded and checked to match. Every file is read now, so
// a missing or bad one fails at config time (check-config), not at the first
// delivery. An encrypted key is refused, never prompted for. Throws TlsSetupError.
std::shared_ptr<boost::asio::ssl::context> make_tls_client_context(const TlsClientOptions& options);

// Prepares one connection made from such a context for `host` (a name or an
// IP literal): SNI for names (RFC 6066 forbids IP literals), and, with
// `verify`, the certificate must name the host (DNS name, no partial
// wildcards) or the IP address; a verify callback keeps the first failure so
// tls_handshake_failure can tell why. Returns an empty string, or the reason
// the connection cannot be prepared.
std::string prepare_tls_connection(SSL* ssl, const std::string& host, bool verify);

// Why the handshake on `ssl` (prepared above) failed with `error`, e.g.
// "certificate verify failed: hostname mismatch (server certificate CN=other.example)",
// or the TLS error itself when the certificates were not the cause.
std::string tls_handshake_failure(SSL* ssl, const boost::system::error_code& error);

// "certificate verify failed: <OpenSSL's text for x509_error> (<which certificate> <subject>)":
// depth 0 is the server's own certificate, deeper ones its issuers.
std::string describe_certificate_failure(long x509_error, int depth, std::string_view subject);

}  // namespace auditfwd
