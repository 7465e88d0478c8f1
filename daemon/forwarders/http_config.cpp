// Validation of the `http` forwarder's keys; the only place that knows their names and defaults.
#include "forwarders/http_config.hpp"

#include "forwarders/forwarder_options.hpp"
#include "forwarders/secret_redactor.hpp"

#include "config/config_reader.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <algorithm>
#include <boost/url/parse.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace auditfwd {
namespace {

// Headers the forwarder owns: a configured value would break framing, auth or signing.
constexpr std::string_view reserved_headers[] = {
    "host",
    "content-length",
    "content-type",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "idempotency-key",
    "x-auditfwd-timestamp",
    "x-auditfwd-signature",
};

bool is_token_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

void parse_url(ConfigReader& reader, HttpSettings& settings) {
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
    if (param.has_value && names_a_secret(param.key) && !param.value.empty()) settings.secrets.push_back(param.value);
  for (const auto& param : url.encoded_params())
    if (param.has_value && names_a_secret(param.key.decode()) && !param.value.empty())
      settings.secrets.emplace_back(param.value.data(), param.value.size());
  settings.https = scheme == "https";
  settings.host = url.host_address();
  if (settings.host.empty()) reader.fail("url", "must name a host");
  const std::string default_port = settings.https ? "443" : "80";
  if (url.has_port()) {
    if (url.port().empty() || url.port_number() == 0) reader.fail("url", "port must be between 1 and 65535");
    settings.port = std::to_string(url.port_number());
  } else {
    settings.port = default_port;
  }
  const std::string host_text(url.encoded_host());  // brackets kept around IPv6
  settings.host_header = settings.port == default_port ? host_text : host_text + ":" + settings.port;
  settings.target = std::string(url.encoded_target());
  if (settings.target.empty() || settings.target.front() != '/') settings.target.insert(0, "/");
  std::string path(url.encoded_path());
  if (path.empty()) path = "/";
  settings.display_url = scheme + "://" + settings.host_header + path;
}

void parse_headers(ConfigReader& reader, HttpSettings& settings) {
  for (const auto& [name, value] : reader.table("headers")) {
    const auto key = "headers." + std::string(name);
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
      reader.fail(key, "is not a valid header name");
    if (!value.is_string()) reader.fail(key, "must be a string");
    const auto text = std::string(value.get_string());
    if (text.find_first_of("\r\n", 0) != std::string::npos || text.find('\0') != std::string::npos)
      reader.fail(key, "must not contain line breaks or NUL");
    const auto lowered = lower(name);
    if (std::find(std::begin(reserved_headers), std::end(reserved_headers), lowered) != std::end(reserved_headers))
      reader.fail(key, "is set by the forwarder and cannot be configured");
    if (lowered == "authorization" && settings.authorization)
      reader.fail(key, "conflicts with bearer_token / basic_user");
    if (names_a_secret(name)) settings.secrets.push_back(text);
    settings.headers.emplace_back(std::string(name), text);
  }
}

void parse_auth(ConfigReader& reader, HttpSettings& settings) {
  auto bearer = reader.secret("bearer_token");
  auto user = reader.optional_string("basic_user");
  auto password = reader.secret("basic_password");
  if (bearer && (user || password)) reader.fail("bearer_token", "give either bearer_token or basic_user, not both");
  if (password && !user) reader.fail("basic_password", "needs basic_user");
  if (bearer) {
    if (bearer->empty() || bearer->find_first_of("\r\n") != std::string::npos)
      reader.fail("bearer_token", "must be non-empty and a single line");
    settings.authorization = "Bearer " + *bearer;
    settings.secrets.push_back(*bearer);
  }
  if (user) {
    if (user->find(':') != std::string::npos) reader.fail("basic_user", "must not contain ':'");
    const auto credentials = base64(*user + ":" + password.value_or(""));
    settings.authorization = "Basic " + credentials;
    settings.secrets.push_back(credentials);
    if (password) settings.secrets.push_back(*password);
  }
}

void parse_hmac(ConfigReader& reader, HttpSettings& settings) {
  settings.hmac_secrets = reader.string_list("hmac_secrets");
  if (auto file = reader.optional_string("hmac_secrets_file")) {
    if (!settings.hmac_secrets.empty())
      reader.fail("hmac_secrets", "give either hmac_secrets or hmac_secrets_file, not both");
    std::ifstream in(*file, std::ios::binary);
    if (!in) reader.fail("hmac_secrets_file", fmt::format("cannot read \"{}\"", *file));
    std::string line;
    while (std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
      if (!line.empty()) settings.hmac_secrets.push_back(line);
    }
    if (settings.hmac_secrets.empty()) reader.fail("hmac_secrets_file", "holds no secret (one per line)");
  }
  for (const auto& secret : settings.hmac_secrets)
    if (secret.empty()) reader.fail("hmac_secrets", "must not contain an empty secret");
  settings.secrets.insert(settings.secrets.end(), settings.hmac_secrets.begin(), settings.hmac_secrets.end());
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

const char* content_type(HttpBodyFormat format) {
  return format == HttpBodyFormat::ndjson ? "application/x-ndjson" : "application/json";
}

HttpSettings parse_http_settings(const ForwarderConfig& config) {
  return read_forwarder_options(config, [](ConfigReader& reader) {
    HttpSettings settings;
    parse_url(reader, settings);

    const auto format = reader.choice("format", {"json", "ndjson", "json_array"}, "json");
    settings.format = format == "ndjson"       ? HttpBodyFormat::ndjson
                      : format == "json_array" ? HttpBodyFormat::json_array
                                               : HttpBodyFormat::json;
    const std::int64_t default_events = settings.format == HttpBodyFormat::json ? 1 : 100;
    settings.batch_max_events = static_cast<std::size_t>(reader.integer("batch_max_events", default_events, 1, 10'000));
    settings.batch_max_bytes = reader.byte_size("batch_max_bytes", settings.batch_max_bytes);
    if (settings.batch_max_bytes < 1024 || settings.batch_max_bytes > 256ull * 1024 * 1024)
      reader.report("batch_max_bytes", "must be between 1KiB and 256MiB");
    settings.batch_timeout = reader.duration("batch_timeout", settings.batch_timeout);
    if (settings.batch_timeout > std::chrono::hours{1}) reader.report("batch_timeout", "must be at most 1h");
    settings.gzip = reader.boolean("gzip", false);

    parse_auth(reader, settings);
    parse_headers(reader, settings);
    parse_hmac(reader, settings);

    settings.tls_verify = reader.boolean("tls_verify", true);
    settings.tls_ca_file = existing_file(reader, "tls_ca_file");
    settings.tls_cert_file = existing_file(reader, "tls_cert_file");
    settings.tls_key_file = existing_file(reader, "tls_key_file");
    if (reader.contains("tls_cert_file") != reader.contains("tls_key_file"))
      reader.report(reader.contains("tls_cert_file") ? "tls_key_file" : "tls_cert_file",
                    "tls_cert_file and tls_key_file go together (client certificate)");
    if (!settings.https) {
      for (const char* key : {"tls_ca_file", "tls_cert_file", "tls_key_file", "tls_verify"})
        if (reader.contains(key)) reader.report(key, "only applies to an https:// url");
    }

    settings.connect_timeout = reader.duration("connect_timeout", settings.connect_timeout);
    if (settings.connect_timeout.count() <= 0) reader.report("connect_timeout", "must be greater than 0");
    reader.finish();
    return settings;
  });
}

}  // namespace auditfwd
