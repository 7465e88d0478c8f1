// Unit tests for redacting configured secrets and for which names hold one.
#include "forwarders/secret_redactor.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;

TEST_CASE("every occurrence of every secret is replaced") {
  const SecretRedactor redactor({"s3cret", "tok", ""});
  CHECK_FALSE(redactor.empty());
  CHECK(redactor.redact("a s3cret and tok, tok again") == "a [REDACTED] and [REDACTED], [REDACTED] again");
  CHECK(redactor.redact("nothing here") == "nothing here");
  CHECK(redactor.redact("") == "");
  CHECK(SecretRedactor().empty());
  CHECK(SecretRedactor().redact("s3cret") == "s3cret");
  CHECK(SecretRedactor({""}).empty());
}

TEST_CASE("the longer secret wins, and a replacement is not searched again") {
  const SecretRedactor redactor({"abc", "abcdef", "RED"});
  CHECK(redactor.redact("xabcdefx") == "x[REDACTED]x");
  CHECK(redactor.redact("abcabc RED") == "[REDACTED][REDACTED] [REDACTED]");
}

TEST_CASE("a secret is found JSON-escaped too") {
  const SecretRedactor redactor({"a\"b/c\\d"});
  CHECK(redactor.redact(R"({"echo":"a\"b/c\\d"})") == R"({"echo":"[REDACTED]"})");
  CHECK(redactor.redact(R"({"echo":"a\"b\/c\\d"})") == R"({"echo":"[REDACTED]"})");
  CHECK(redactor.redact("raw a\"b/c\\d") == "raw [REDACTED]");
}

TEST_CASE("names that hold a secret") {
  for (const char* name : {"Authorization", "X-API-Key", "api_key", "TOKEN", "DB_PASSWORD", "Cookie", "X-Signature",
                           "client_secret", "SESSION_ID", "credentials"})
    CHECK_MESSAGE(names_a_secret(name), name);
  for (const char* name : {"X-Tenant", "Content-Language", "PATH", "LANG", "tenant"})
    CHECK_FALSE_MESSAGE(names_a_secret(name), name);
}
