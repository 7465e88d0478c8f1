// The parts of the HTTP client that need no connection: reading a response's headers.
#include "net/http_client.hpp"

#include <doctest/doctest.h>

namespace auditfwd {

TEST_CASE("a response header is found by its name in any case, the first of several") {
  HttpResponse response;
  response.headers = {{"Content-Type", "application/json"}, {"Retry-After", "120"}, {"retry-after", "5"}};
  CHECK(response.header("retry-after") == "120");
  CHECK(response.header("RETRY-AFTER") == "120");
  CHECK(response.header("content-type") == "application/json");
  CHECK_FALSE(response.header("Retry").has_value());
  CHECK_FALSE(response.header("Content-Length").has_value());
}

}  // namespace auditfwd
