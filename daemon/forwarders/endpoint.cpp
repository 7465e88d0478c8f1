// Reading forwarder addresses and TLS file keys; errors name the config key.
#include "forwarders/endpoint.hpp"

#include "config/config_error.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <vector>

namespace auditfwd {

Endpoint read_endpoint(ConfigReader& reader, const std::string& key, std::initializer_list<Transport> allowed) {
  auto parsed = parse_endpoint(reader.required_string(key));
  if (!parsed.endpoint) reader.fail(key, parsed.error);
  if (std::find(allowed.begin(), allowed.end(), parsed.endpoint->transport) == allowed.end()) {
    std::vector<std::string> names;
    for (auto t : allowed) names.push_back(fmt::format("{}://", transport_name(t)));
    reader.fail(key, fmt::format("{}:// is not supported by this forwarder (use {})",
                                 transport_name(parsed.endpoint->transport), fmt::join(names, " or ")));
  }
  return *parsed.endpoint;
}

TlsClientOptions read_tls_files(ConfigReader& reader, const Endpoint& endpoint) {
  TlsClientOptions files{true, reader.optional_string("tls_ca_file"), reader.optional_string("tls_cert_file"),
                         reader.optional_string("tls_key_file")};
  if (endpoint.transport != Transport::tls) {
    for (const char* key : {"tls_ca_file", "tls_cert_file", "tls_key_file"})
      if (reader.contains(key)) reader.fail(key, "is only valid with a tls:// address");
  }
  for (const auto& [key, value] :
       {std::pair{"tls_ca_file", &files.ca_file}, std::pair{"tls_cert_file", &files.cert_file},
        std::pair{"tls_key_file", &files.key_file}})
    if (*value && (*value)->empty()) reader.fail(key, "must not be empty");
  if (files.cert_file.has_value() != files.key_file.has_value())
    reader.fail(files.cert_file ? "tls_key_file" : "tls_cert_file",
                "tls_cert_file and tls_key_file go together (client certificate and its key)");
  return files;
}

std::shared_ptr<boost::asio::ssl::context> load_tls_client_context(const ForwarderConfig& config, NetServices& net,
                                                                   const TlsClientOptions& options) {
  try {
    return net.tls_client_context(options);
  } catch (const TlsSetupError& e) {
    throw ConfigError(config.file, config.path + "." + e.key(), e.what());
  }
}

}  // namespace auditfwd
