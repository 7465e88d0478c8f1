// Validation of the `http` forwarder's keys; the only place that knows their names and defaults.
#include "forwarders/http_config.hpp"

#include "forwarders/forwarder_options.hpp"
#include "forwarders/secret_redactor.hpp"

#include "config/config_reader.hpp"

#include <fmt/format.h>
#include <algorithm>
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
  if (bearer &&
      (reader.contains("basic_user") || reader.contains("basic_password") || reader.contains("basic_password_file")))
    reader.fail("bearer_token", "give either bearer_token or basic_user, not both");
  if (bearer) {
    if (bearer->empty() || bearer->find_first_of("\r\n") != std::string::npos)
      reader.fail("bearer_token", "must be non-empty and a single line");
    settings.authorization = "Bearer " + *bearer;
    settings.secrets.push_back(*bearer);
  }
  if (auto basic = read_basic_auth(reader, settings)) settings.authorization = std::move(*basic);
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

}  // namespace

const char* content_type(HttpBodyFormat format) {
  return format == HttpBodyFormat::ndjson ? "application/x-ndjson" : "application/json";
}

HttpSettings parse_http_settings(const ForwarderConfig& config) {
  return read_forwarder_options(config, [](ConfigReader& reader) {
    HttpSettings settings;
    read_destination_url(reader, settings);

    const auto format = reader.choice("format", {"json", "ndjson", "json_array"}, "json");
    settings.format = format == "ndjson"       ? HttpBodyFormat::ndjson
                      : format == "json_array" ? HttpBodyFormat::json_array
                                               : HttpBodyFormat::json;
    read_destination_batching(reader, settings, settings.format == HttpBodyFormat::json ? 1 : 100);

    parse_auth(reader, settings);
    parse_headers(reader, settings);
    parse_hmac(reader, settings);
    read_destination_transport(reader, settings);
    reader.finish();
    return settings;
  });
}

}  // namespace auditfwd
