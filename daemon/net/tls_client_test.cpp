// The TLS client policy: what a context enforces, what a connection checks, how a failure reads.
#include "net/tls_client.hpp"

#include <doctest/doctest.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace auditfwd {
namespace {

std::string temp_file(const std::string& name, const std::string& content) {
  const auto path = (std::filesystem::temp_directory_path() / ("auditfwd-tls-test-" + name)).string();
  std::ofstream(path) << content;
  return path;
}

TlsClientOptions files(std::optional<std::string> ca, std::optional<std::string> cert = {},
                       std::optional<std::string> key = {}) {
  TlsClientOptions options;
  options.ca_file = std::move(ca);
  options.cert_file = std::move(cert);
  options.key_file = std::move(key);
  return options;
}

TlsClientOptions without_verification() {
  TlsClientOptions options;
  options.verify = false;
  return options;
}

std::string setup_error_key(const TlsClientOptions& options) {
  try {
    (void)make_tls_client_context(options);
  } catch (const TlsSetupError& e) {
    return e.key();
  }
  return "";
}

}  // namespace

TEST_CASE("a client context verifies by default and never speaks below TLS 1.2") {
  auto context = make_tls_client_context({});
  CHECK(SSL_CTX_get_verify_mode(context->native_handle()) == SSL_VERIFY_PEER);
  CHECK(SSL_CTX_get_min_proto_version(context->native_handle()) == TLS1_2_VERSION);

  auto unverified = make_tls_client_context(without_verification());
  CHECK(SSL_CTX_get_verify_mode(unverified->native_handle()) == SSL_VERIFY_NONE);
  CHECK(SSL_CTX_get_min_proto_version(unverified->native_handle()) == TLS1_2_VERSION);
}

TEST_CASE("every TLS file is read when the context is built, and a bad one is named") {
  CHECK(setup_error_key(files("/nonexistent/ca.pem")) == "tls_ca_file");
  CHECK(setup_error_key(files({}, "/nonexistent/cert.pem", "/nonexistent/key.pem")) == "tls_cert_file");
  const auto not_pem = temp_file("not-pem", "this is not a certificate\n");
  CHECK(setup_error_key(files(not_pem)) == "tls_ca_file");
  CHECK(setup_error_key(files({}, not_pem, not_pem)) == "tls_cert_file");
  CHECK(setup_error_key(files({}, not_pem)) == "tls_key_file");  // a certificate without its key
  try {
    (void)make_tls_client_context(files("/nonexistent/ca.pem"));
    FAIL("a missing CA file was accepted");
  } catch (const TlsSetupError& e) {
    CHECK(std::string(e.what()) == "\"/nonexistent/ca.pem\" is not a readable file");
  }
  std::remove(not_pem.c_str());
}

TEST_CASE("a connection to a name sends SNI and checks the name; to an address, checks the address") {
  auto context = make_tls_client_context({});
  {
    SSL* ssl = SSL_new(context->native_handle());
    CHECK(prepare_tls_connection(ssl, "logs.example.com", true) == "");
    CHECK(std::string(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) == "logs.example.com");
    CHECK(std::string(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0)) == "logs.example.com");
    CHECK(SSL_get_verify_mode(ssl) == SSL_VERIFY_PEER);
    SSL_free(ssl);
  }
  {
    SSL* ssl = SSL_new(context->native_handle());
    CHECK(prepare_tls_connection(ssl, "192.0.2.7", true) == "");
    CHECK(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) == nullptr);  // RFC 6066: no IP literal in SNI
    CHECK(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0) == nullptr);
    char* ip = X509_VERIFY_PARAM_get1_ip_asc(SSL_get0_param(ssl));
    CHECK(std::string(ip ? ip : "") == "192.0.2.7");
    OPENSSL_free(ip);
    SSL_free(ssl);
  }
  {
    SSL* ssl = SSL_new(context->native_handle());
    CHECK(prepare_tls_connection(ssl, "logs.example.com", false) == "");
    CHECK(SSL_get_verify_mode(ssl) == SSL_VERIFY_NONE);
    CHECK(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0) == nullptr);
    SSL_free(ssl);
  }
}

TEST_CASE("a certificate failure reads as its reason") {
  CHECK(describe_certificate_failure(X509_V_ERR_HOSTNAME_MISMATCH, 0, "CN=other.example") ==
        "certificate verify failed: hostname mismatch (server certificate CN=other.example)");
  CHECK(describe_certificate_failure(X509_V_ERR_CERT_HAS_EXPIRED, 0, "CN=localhost") ==
        "certificate verify failed: certificate has expired (server certificate CN=localhost)");
  CHECK(describe_certificate_failure(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, 1, "CN=test CA") ==
        "certificate verify failed: self-signed certificate in certificate chain (issuer certificate CN=test CA at "
        "depth 1)");
  CHECK(describe_certificate_failure(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0, "") ==
        "certificate verify failed: unable to get local issuer certificate");
}

}  // namespace auditfwd
