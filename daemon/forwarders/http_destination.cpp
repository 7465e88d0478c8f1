// The keys every HTTP-based forwarder shares, read in one place; the client and TLS context built from them.
#include "forwarders/http_destination.hpp"

#include "forwarders/endpoint.hpp"
#include "forwarders/http_body.hpp"
#include "forwarders/secret_redactor.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <filesystem>

namespace auditfwd {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<std::string> existing_file(ConfigReader& reader, const std::string& key) {
  auto path = reader.optional_string(key);
  if (!path) return std::nullopt;
  std::error_code ec;
  if (path->empty() || !std::filesystem::is_regular_file(*path, ec))
    reader.fail(key, fmt::format("\"{}\" is not a readable file", *path));
  return path;
}

}  // namespace

void read_destination_url(ConfigReader& reader, HttpDestination& destination) {
  // The other keys are read against the URL (https-only keys): without one, stop here.
  if (!reader.contains("url")) reader.fail("url", "is required");
  if (!reader.holds_string("url")) reader.fail("url", "must be a string");
  const auto text = reader.required_string("url");
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed) reader.fail("url", "must be an absolute http:// or https:// URL");
  const auto& url = *parsed;
  const auto scheme = lower(url.scheme());
  if (scheme != "http" && scheme != "https")
    reader.fail("url", fmt::format("scheme must be http or https, not \"{}\"", std::string(url.scheme())));
  if (url.has_userinfo())
    reader.fail("url", "must not carry credentials (user:password@); use basic_user and basic_password");
  if (url.has_fragment()) reader.fail("url", "must not have a #fragment");
  if (url.host_type() == boost::urls::host_type::ipvfuture) reader.fail("url", "unsupported IP literal");
  for (const auto& param : url.params())  // "?api_key=…": the value is a secret, raw and decoded
    if (param.has_value && names_a_secret(param.key) && !param.value.empty())
      destination.secrets.push_back(param.value);
  for (const auto& param : url.encoded_params())
    if (param.has_value && names_a_secret(param.key.decode()) && !param.value.empty())
      destination.secrets.emplace_back(param.value.data(), param.value.size());
  destination.https = scheme == "https";
  destination.host = url.host_address();
  if (destination.host.empty()) reader.fail("url", "must name a host");
  const std::string default_port = destination.https ? "443" : "80";
  if (url.has_port()) {
    if (url.port().empty() || url.port_number() == 0) reader.fail("url", "port must be between 1 and 65535");
    destination.port = std::to_string(url.port_number());
  } else {
    destination.port = default_port;
  }
  const std::string host_text(url.encoded_host());  // brackets kept around IPv6
  destination.host_header = destination.port == default_port ? host_text : host_text + ":" + destination.port;
  destination.target = std::string(url.encoded_target());
  if (destination.target.empty() || destination.target.front() != '/') destination.target.insert(0, "/");
  std::string path(url.encoded_path());
  if (path.empty()) path = "/";
  destination.display_url = scheme + "://" + destination.host_header + path;
  destination.base_path = path;
  while (!destination.base_path.empty() && destination.base_path.back() == '/') destination.base_path.pop_back();
}

void read_destination_batching(ConfigReader& reader, HttpDestination& destination, std::int64_t default_events) {
  destination.batch_max_events =
      static_cast<std::size_t>(reader.integer("batch_max_events", default_events, 1, 10'000));
  destination.batch_max_bytes = reader.byte_size("batch_max_bytes", destination.batch_max_bytes);
  if (destination.batch_max_bytes < 1024 || destination.batch_max_bytes > 256ull * 1024 * 1024)
    reader.report("batch_max_bytes", "must be between 1KiB and 256MiB");
  destination.batch_timeout = reader.duration("batch_timeout", destination.batch_timeout);
  if (destination.batch_timeout > std::chrono::hours{1}) reader.report("batch_timeout", "must be at most 1h");
}

void read_destination_transport(ConfigReader& reader, HttpDestination& destination) {
  destination.gzip = reader.boolean("gzip", false);
  destination.tls_verify = reader.boolean("tls_verify", true);
  destination.tls_ca_file = existing_file(reader, "tls_ca_file");
  destination.tls_cert_file = existing_file(reader, "tls_cert_file");
  destination.tls_key_file = existing_file(reader, "tls_key_file");
  if (reader.contains("tls_cert_file") != reader.contains("tls_key_file"))
    reader.report(reader.contains("tls_cert_file") ? "tls_key_file" : "tls_cert_file",
                  "tls_cert_file and tls_key_file go together (client certificate)");
  if (!destination.https) {
    for (const char* key : {"tls_ca_file", "tls_cert_file", "tls_key_file", "tls_verify"})
      if (reader.contains(key)) reader.report(key, "only applies to an https:// url");
  }
  destination.connect_timeout = reader.duration("connect_timeout", destination.connect_timeout);
  if (destination.connect_timeout.count() <= 0) reader.report("connect_timeout", "must be greater than 0");
}

std::string basic_credentials(std::string_view user, std::string_view password) {
  const std::string bytes = std::string(user) + ":" + std::string(password);
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::optional<std::string> read_basic_auth(ConfigReader& reader, HttpDestination& destination) {
  auto user = reader.optional_string("basic_user");
  auto password = reader.secret("basic_password");
  if (password && !user) reader.fail("basic_password", "needs basic_user");
  if (!user) return std::nullopt;
  if (user->find(':') != std::string::npos) reader.fail("basic_user", "must not contain ':'");
  const auto credentials = basic_credentials(*user, password.value_or(""));
  destination.secrets.push_back(credentials);
  if (password) destination.secrets.push_back(*password);
  return "Basic " + credentials;
}

std::string api_target(const HttpDestination& destination, std::string_view suffix) {
  return destination.base_path + std::string(suffix);
}

std::string request_display(const HttpDestination& destination, std::string_view target) {
  return std::string("POST ") + (destination.https ? "https://" : "http://") + destination.host_header +
         std::string(target.substr(0, target.find('?')));
}

HttpOrigin origin_of(const HttpDestination& destination) {
  return {destination.https,       destination.host,       destination.port,
          destination.host_header, destination.tls_verify, destination.connect_timeout};
}

std::shared_ptr<boost::asio::ssl::context> destination_tls_context(const ForwarderConfig& config,
                                                                   const HttpDestination& destination,
                                                                   const ForwarderContext& context) {
  if (!destination.https) return nullptr;
  return load_tls_client_context(
      config, context.net,
      {destination.tls_verify, destination.tls_ca_file, destination.tls_cert_file, destination.tls_key_file});
}

std::unique_ptr<HttpClient> make_destination_client(const ForwarderConfig& config, const HttpDestination& destination,
                                                    const ForwarderContext& context) {
  return std::make_unique<HttpClient>(context.executor, origin_of(destination),
                                      destination_tls_context(config, destination, context), context.log);
}

std::optional<std::string> read_token_or_basic_auth(ConfigReader& reader, HttpDestination& destination,
                                                    const std::string& token_key, std::string_view scheme,
                                                    std::string_view token_hint) {
  const auto token = reader.secret(token_key);
  if (token &&
      (reader.contains("basic_user") || reader.contains("basic_password") || reader.contains("basic_password_file")))
    reader.report(token_key, fmt::format("give either {} or basic_user, not both", token_key));
  const auto basic = read_basic_auth(reader, destination);
  if (!token) return basic;
  if (token->empty() || token->find_first_of("\r\n") != std::string::npos)
    reader.report(token_key, fmt::format("must be non-empty and a single line{}", token_hint));
  destination.secrets.push_back(*token);
  return fmt::format("{} {}", scheme, *token);
}

BatchLimits destination_batch_limits(const HttpDestination& destination) {
  return {destination.batch_max_events, destination.batch_max_bytes,
          destination.batch_max_events > 1 ? destination.batch_timeout : std::chrono::milliseconds{0}};
}

HttpRequest destination_post(const HttpDestination& destination, std::string target, std::string_view content_type,
                             std::string body, bool gzip) {
  HttpRequest request;
  request.display = request_display(destination, target);
  request.target = std::move(target);
  request.headers.emplace_back("Content-Type", content_type);
  if (gzip) {
    request.headers.emplace_back("Content-Encoding", "gzip");
    body = gzip_compress(body);
  }
  request.body = std::move(body);
  return request;
}

}  // namespace auditfwd
