// Unit tests for the secret-bearing key rule: NFKC case folding, separators and controls removed.
#include "event/forbidden_keys.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace auditfwd;
using namespace std::string_literals;

TEST_CASE("normalize_key folds case and compatibility forms and drops separators and controls") {
  CHECK(normalize_key("API-Key") == "apikey");
  CHECK(normalize_key("apiKey") == "apikey");
  CHECK(normalize_key("private_key") == "privatekey");
  CHECK(normalize_key("password ") == "password");
  CHECK(normalize_key("password\0"s) == "password");
  CHECK(normalize_key("pass\tword\x7f") == "password");
  CHECK(normalize_key(
            "\xef\xbd\x90\xef\xbd\x81\xef\xbd\x93\xef\xbd\x93\xef\xbd\x97\xef\xbd\x8f\xef\xbd\x92\xef\xbd\x84") ==
        "password");  // fullwidth ｐａｓｓｗｏｒｄ
  CHECK(normalize_key("\xc5\xbf"
                      "ecret") == "secret");                   // ſecret (long s)
  CHECK(normalize_key("pass\xe2\x80\x8bword") == "password");  // a zero-width space inside
  CHECK(normalize_key("api\xe2\x80\x90key") == "apikey");      // U+2010 HYPHEN
  CHECK(normalize_key("SECRET\xc2\xa0") == "secret");          // a no-break space after it
  CHECK(normalize_key("\xc3\x9f") == "ss");                    // ß folds to ss
  CHECK(normalize_key("caf\xc3\xa9") == "caf\xc3\xa9");        // é stays composed
}

TEST_CASE("every variant of the issue is forbidden, in DESIGN.md's list") {
  const auto& keys = ForbiddenKeys::defaults();
  for (const auto& key :
       {"Authorization"s,
        "private_key"s,
        "api-key"s,
        "apiKey"s,
        "passwd"s,
        "password "s,
        "password\0"s,
        "\xef\xbd\x90\xef\xbd\x81\xef\xbd\x93\xef\xbd\x93\xef\xbd\x97\xef\xbd\x8f\xef\xbd\x92\xef\xbd\x84"s,
        "\xc5\xbf"
        "ecret"s,
        "credential"s,
        "credentials"s,
        "cookie"s,
        "Set-Cookie"s,
        "set_cookie"s,
        "password_hash"s,
        "PasswordConfirmation"s,
        "totp_code"s,
        "totp_secret"s,
        "backup_code"s,
        "session_token"s,
        "bearer_token"s,
        "token"s,
        "access_token"s,
        "refresh_token"s,
        "oauth_secret"s,
        "client_secret"s,
        "secret"s,
        "API_KEY"s,
        "__password__"s})
    CHECK_MESSAGE(keys.matches(key), key);
  for (const auto& key :
       {"token_count"s, "passwords_changed"s, "user"s, "secretary"s, "keyboard"s, ""s, "---"s, std::string(200, 'a')})
    CHECK_FALSE_MESSAGE(keys.matches(key), key);
}

TEST_CASE("ingest.forbidden_keys adds keys, compared the same way") {
  const ForbiddenKeys keys({"ssn", "Card-Number"});
  CHECK(keys.matches("SSN"));
  CHECK(keys.matches("card_number"));
  CHECK(keys.matches("cardNumber"));
  CHECK(keys.matches("\xef\xbd\x93\xef\xbd\x93\xef\xbd\x8e"));  // fullwidth ｓｓｎ
  CHECK(keys.matches("password"));                              // the list stays
  CHECK_FALSE(ForbiddenKeys::defaults().matches("ssn"));
  const ForbiddenKeys long_key({std::string(100, 'x')});
  CHECK(long_key.matches(std::string(100, 'X')));
  CHECK_FALSE(long_key.matches(std::string(101, 'x')));
}
