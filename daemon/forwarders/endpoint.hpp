// Reading the `address` and `tls_*` keys of the socket-based forwarders (the parsing itself is net/endpoint).
#pragma once

#include "config/config.hpp"
#include "config/config_reader.hpp"
#include "net/endpoint.hpp"
#include "net/net_services.hpp"
#include "net/tls_client.hpp"

#include <initializer_list>
#include <string>

namespace auditfwd {

// Reads the required key `key` as an endpoint whose transport is one of
// `allowed`; throws ConfigError naming the key otherwise.
Endpoint read_endpoint(ConfigReader& reader, const std::string& key, std::initializer_list<Transport> allowed);

// Reads `tls_ca_file`, `tls_cert_file`, `tls_key_file` (verification always
// on). They are an error unless `endpoint` uses TLS, and the certificate and
// key go together.
TlsClientOptions read_tls_files(ConfigReader& reader, const Endpoint& endpoint);

// The TLS client context for the forwarder `config` (NetServices::tls_client_context):
// a file that is missing, unreadable or wrong throws ConfigError naming the
// file, the key and the reason.
std::shared_ptr<boost::asio::ssl::context> load_tls_client_context(const ForwarderConfig& config, NetServices& net,
                                                                   const TlsClientOptions& options);

}  // namespace auditfwd
