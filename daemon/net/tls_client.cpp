// TLS client policy: context loading checked at config time, host checks, and handshake failures with their reason.
#include "net/tls_client.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/ip/address.hpp>
#include <filesystem>

namespace auditfwd {
namespace ssl = boost::asio::ssl;

namespace {

// The first certificate check that failed on a connection, kept in the SSL's
// ex_data (freed with the SSL) by verify_and_record.
struct VerifyRecord {
  long error = X509_V_OK;
  int depth = 0;
  std::string subject;
};

void free_record(void*, void* record, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<VerifyRecord*>(record); }

int record_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_record);
  return index;
}

std::string subject_of(X509* certificate) {
  if (!certificate) return {};
  char text[256] = {};
  X509_NAME_oneline(X509_get_subject_name(certificate), text, sizeof text);
  std::string subject = text;
  if (subject.starts_with('/')) subject.erase(0, 1);
  return subject;
}

// OpenSSL's verdict stands; the callback only remembers the first "no" and why.
int verify_and_record(int preverified, X509_STORE_CTX* store) {
  if (preverified) return preverified;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* record = ssl ? static_cast<VerifyRecord*>(SSL_get_ex_data(ssl, record_index())) : nullptr;
  if (record && record->error == X509_V_OK) {
    record->error = X509_STORE_CTX_get_error(store);
    record->depth = X509_STORE_CTX_get_error_depth(store);
    record->subject = subject_of(X509_STORE_CTX_get_current_cert(store));
  }
  return preverified;
}

bool readable_file(const std::string& path) {
  std::error_code ec;
  return !path.empty() && std::filesystem::is_regular_file(path, ec);
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_client_context(const TlsClientOptions& options) {
  for (const auto& [key, path] :
       {std::pair{"tls_ca_file", &options.ca_file}, std::pair{"tls_cert_file", &options.cert_file},
        std::pair{"tls_key_file", &options.key_file}})
    if (*path && !readable_file(**path)) throw TlsSetupError(key, fmt::format("\"{}\" is not a readable file", **path));
  if (options.cert_file.has_value() != options.key_file.has_value())
    throw TlsSetupError(options.cert_file ? "tls_key_file" : "tls_cert_file",
                        "tls_cert_file and tls_key_file go together (client certificate and its key)");

  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  // An encrypted key must never make the daemon prompt on a terminal.
  context->set_password_callback([](std::size_t, ssl::context::password_purpose) { return std::string(); });
  boost::system::error_code ec;
  if (options.ca_file) {
    context->load_verify_file(*options.ca_file, ec);
    if (ec) throw TlsSetupError("tls_ca_file", "cannot load CA certificates (PEM): " + ec.message());
  } else if (options.verify) {
    context->set_default_verify_paths(ec);
    if (ec)
      throw TlsSetupError("tls_ca_file",
                          "the system CA store cannot be loaded (" + ec.message() + "); set tls_ca_file");
  }
  if (options.cert_file) {
    context->use_certificate_chain_file(*options.cert_file, ec);
    if (ec) throw TlsSetupError("tls_cert_file", "cannot load the client certificate (PEM): " + ec.message());
    context->use_private_key_file(*options.key_file, ssl::context::pem, ec);
    if (ec) throw TlsSetupError("tls_key_file", "cannot load the client key (PEM, unencrypted): " + ec.message());
    if (SSL_CTX_check_private_key(context->native_handle()) != 1)
      throw TlsSetupError("tls_key_file", "does not match tls_cert_file");
  }
  context->set_verify_mode(options.verify ? ssl::verify_peer : ssl::verify_none);
  ERR_clear_error();
  return context;
}

std::string prepare_tls_connection(SSL* ssl, const std::string& host, bool verify) {
  boost::system::error_code not_ip;
  (void)boost::asio::ip::make_address(host, not_ip);
  const bool is_ip = !not_ip;
  // SSL_set_tlsext_host_name is a macro with a C cast; this is the call it stands for.
  if (!is_ip &&
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str())) != 1) {
    ERR_clear_error();
    return "cannot set SNI";
  }
  if (!verify) {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    return {};
  }
  auto* param = SSL_get0_param(ssl);
  const int set = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                        : (X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS),
                           SSL_set1_host(ssl, host.c_str()));
  if (set != 1) {
    ERR_clear_error();
    return fmt::format("cannot check the certificate against \"{}\"", host);
  }
  auto* previous = static_cast<VerifyRecord*>(SSL_get_ex_data(ssl, record_index()));
  delete previous;
  SSL_set_ex_data(ssl, record_index(), new VerifyRecord);
  SSL_set_verify(ssl, SSL_VERIFY_PEER, verify_and_record);
  return {};
}

std::string tls_handshake_failure(SSL* ssl, const boost::system::error_code& error) {
  if (const auto* record = static_cast<VerifyRecord*>(SSL_get_ex_data(ssl, record_index()));
      record && record->error != X509_V_OK)
    return describe_certificate_failure(record->error, record->depth, record->subject);
  if (const long verdict = SSL_get_verify_result(ssl);
      verdict != X509_V_OK && SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE)
    return describe_certificate_failure(verdict, 0, {});
  return error.message();
}

std::string describe_certificate_failure(long x509_error, int depth, std::string_view subject) {
  std::string text = fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(x509_error));
  if (subject.empty()) return text;
  if (depth == 0) return fmt::format("{} (server certificate {})", text, subject);
  return fmt::format("{} (issuer certificate {} at depth {})", text, subject, depth);
}

}  // namespace auditfwd
