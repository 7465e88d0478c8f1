// Config validation of the `http` forwarder: defaults, URL parts, and errors that name the key.
#include "forwarders/http_config.hpp"
#include "config/config_error.hpp"

#include "support/forwarder_config.hpp"

#include <doctest/doctest.h>
#include <unistd.h>
#include <boost/json/parse.hpp>
#include <cstdio>
#include <fstream>
#include <string>

using namespace auditfwd;

namespace {
ForwarderConfig config_with(const std::string& options_json) { return testing::forwarder_config("http", options_json); }

std::string error_of(const std::string& options_json) {
  return testing::config_error(parse_http_settings, "http", options_json);
}
}  // namespace

TEST_CASE("defaults and URL parts") {
  const auto s = parse_http_settings(config_with(R"({"url":"https://example.com/hook?token=abc"})"));
  CHECK(s.https);
  CHECK(s.host == "example.com");
  CHECK(s.port == "443");
  CHECK(s.host_header == "example.com");
  CHECK(s.target == "/hook?token=abc");
  CHECK(s.display_url == "https://example.com/hook");  // the query may hold a secret
  CHECK(s.format == HttpBodyFormat::json);
  CHECK(s.batch_max_events == 1);
  CHECK(s.batch_max_bytes == 1024 * 1024);
  CHECK(s.tls_verify);
  CHECK(s.connect_timeout == std::chrono::seconds(5));
  CHECK_FALSE(s.gzip);
  CHECK_FALSE(s.authorization);

  const auto v6 = parse_http_settings(config_with(R"({"url":"http://[::1]:8080","format":"ndjson"})"));
  CHECK(v6.host == "::1");
  CHECK(v6.port == "8080");
  CHECK(v6.host_header == "[::1]:8080");
  CHECK(v6.target == "/");
  CHECK(v6.batch_max_events == 100);
}

TEST_CASE("authorization values") {
  CHECK(parse_http_settings(config_with(R"({"url":"http://h","bearer_token":"t0k"})")).authorization == "Bearer t0k");
  // base64("alice:s3cret")
  CHECK(parse_http_settings(config_with(R"({"url":"http://h","basic_user":"alice","basic_password":"s3cret"})"))
            .authorization == "Basic YWxpY2U6czNjcmV0");
}

TEST_CASE("errors name the key") {
  CHECK(error_of(R"({})") == "test.toml: forwarders[0].url: is required");
  CHECK(error_of(R"({"url":"ftp://h/"})").find("forwarders[0].url: scheme must be http or https") != std::string::npos);
  CHECK(error_of(R"({"url":"not a url"})").find("forwarders[0].url:") != std::string::npos);
  CHECK(error_of(R"({"url":"https://u:p@h/"})").find("forwarders[0].url: must not carry credentials") !=
        std::string::npos);
  CHECK(error_of(R"({"url":"http://h","formt":"json"})") == "test.toml: forwarders[0].formt: unknown key");
  CHECK(error_of(R"({"url":"http://h","format":"xml"})").find("forwarders[0].format: must be one of") !=
        std::string::npos);
  CHECK(error_of(R"({"url":"http://h","gzip":"yes"})") == "test.toml: forwarders[0].gzip: must be true or false");
  CHECK(error_of(R"({"url":"http://h","batch_max_events":0})").find("forwarders[0].batch_max_events:") !=
        std::string::npos);
  CHECK(error_of(R"({"url":"http://h","batch_max_bytes":"1B"})").find("forwarders[0].batch_max_bytes:") !=
        std::string::npos);
  CHECK(error_of(R"({"url":"http://h","connect_timeout":"soon"})").find("forwarders[0].connect_timeout:") !=
        std::string::npos);
  CHECK(error_of(R"({"url":"http://h","hmac_secrets":"one"})") ==
        "test.toml: forwarders[0].hmac_secrets: must be a list of strings");
  CHECK(error_of(R"({"url":"http://h","headers":{"X-Ok":1}})") ==
        "test.toml: forwarders[0].headers.X-Ok: must be a string");
  CHECK(error_of(R"({"url":"http://h","headers":{"Content-Length":"1"}})").find("headers.Content-Length") !=
        std::string::npos);
  CHECK(error_of(R"({"url":"http://h","headers":{"Bad Name":"1"}})").find("headers.Bad Name") != std::string::npos);
  CHECK(error_of(R"({"url":"http://h","bearer_token":"a","basic_user":"u"})").find("forwarders[0].bearer_token:") !=
        std::string::npos);
  CHECK(error_of(R"({"url":"https://h","tls_ca_file":"/nonexistent/ca.pem"})")
            .find("forwarders[0].tls_ca_file: \"/nonexistent/ca.pem\" is not a readable file") != std::string::npos);
  CHECK(error_of(R"({"url":"http://h","tls_verify":false})").find("forwarders[0].tls_verify: only applies") !=
        std::string::npos);
  CHECK(error_of(R"({"url":"https://h","tls_cert_file":"/etc/hostname"})").find("forwarders[0].tls_key_file:") !=
        std::string::npos);
}

TEST_CASE("secrets never appear in an error") {
  const auto message = error_of(R"({"url":"http://h","bearer_token":"sup3r-secret","basic_user":"u"})");
  CHECK_FALSE(message.empty());
  CHECK(message.find("sup3r-secret") == std::string::npos);
}

TEST_CASE("hmac_secrets_file: one secret per line") {
  const std::string path = "/tmp/auditfwd-http-config-test-" + std::to_string(::getpid());
  {
    std::ofstream out(path);
    out << "first\n\nsecond\n";
  }
  const auto s = parse_http_settings(config_with(R"({"url":"http://h","hmac_secrets_file":")" + path + "\"}"));
  CHECK(s.hmac_secrets == std::vector<std::string>{"first", "second"});
  std::remove(path.c_str());
}

TEST_CASE("every configured secret is listed for redaction, and nothing else") {
  using Secrets = std::vector<std::string>;
  CHECK(parse_http_settings(config_with(R"({"url":"http://h","bearer_token":"t0k"})")).secrets == Secrets{"t0k"});
  CHECK(parse_http_settings(config_with(R"({"url":"http://h","basic_user":"alice","basic_password":"s3cret"})"))
            .secrets == Secrets{"YWxpY2U6czNjcmV0", "s3cret"});
  const auto settings = parse_http_settings(config_with(
      R"({"url":"http://h/in?api_key=q%2Fk&tenant=t1","headers":{"X-API-Key":"hk","X-Tenant":"blue"},"hmac_secrets":["s1","s2"]})"));
  CHECK(settings.secrets == Secrets{"q/k", "q%2Fk", "hk", "s1", "s2"});
  CHECK(parse_http_settings(config_with(R"({"url":"http://h"})")).secrets.empty());
}
