// Reading the `address` and `tls_*` keys of the socket-based forwarders (the parsing itself is net/endpoint).
#pragma once

#include "config/config_reader.hpp"
#include "net/endpoint.hpp"

#include <initializer_list>
#include <string>

namespace auditfwd {

// Reads the required key `key` as an endpoint whose transport is one of
// `allowed`; throws ConfigError naming the key otherwise.
Endpoint read_endpoint(ConfigReader& reader, const std::string& key, std::initializer_list<Transport> allowed);

// Reads `tls_ca_file`, `tls_cert_file`, `tls_key_file`. They are an error
// unless `endpoint` uses TLS, and the certificate and key go together.
TlsFiles read_tls_files(ConfigReader& reader, const Endpoint& endpoint);

}  // namespace auditfwd
