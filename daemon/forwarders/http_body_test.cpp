// Body formats and gzip of the `http` forwarder.
#include "forwarders/http_body.hpp"

#include <doctest/doctest.h>
#include <zlib.h>
#include <vector>

using namespace auditfwd;

namespace {
std::vector<Event> two_events() {
  Event a, b;
  a.id = "a";
  a.json = R"({"id":"a"})";
  b.id = "b";
  b.json = R"({"id":"b"})";
  return {a, b};
}

std::string gunzip(const std::string& data) {
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  std::string out(1 << 16, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = inflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  REQUIRE(result == Z_STREAM_END);
  return out;
}
}  // namespace

TEST_CASE("body formats") {
  const auto events = two_events();
  CHECK(build_body(HttpBodyFormat::json, std::span(events).first(1)) == R"({"id":"a"})");
  CHECK(build_body(HttpBodyFormat::ndjson, events) == "{\"id\":\"a\"}\n{\"id\":\"b\"}\n");
  CHECK(build_body(HttpBodyFormat::json_array, events) == R"([{"id":"a"},{"id":"b"}])");
  CHECK(build_body(HttpBodyFormat::json_array, {}) == "[]");
}

TEST_CASE("gzip round-trips and is a gzip member") {
  const std::string text(10000, 'z');
  const auto packed = gzip_compress(text);
  REQUIRE(packed.size() > 2);
  CHECK(static_cast<unsigned char>(packed[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(packed[1]) == 0x8b);
  CHECK(packed.size() < text.size());
  CHECK(gunzip(packed) == text);
  CHECK(gunzip(gzip_compress("")) == "");
}
