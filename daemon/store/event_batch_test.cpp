// Unit tests for batch blobs: round trip, compression, damage detected.
#include "store/event_batch.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace auditfwd;

TEST_CASE("a batch round-trips its jobs, ids and payloads byte for byte") {
  EventBatchWriter writer;
  writer.add(7, R"({"id":"a","action":"user.login"})");
  writer.add(9, "");
  writer.add(1'000'000'000'000, std::string("\0\xff\n", 3));
  CHECK(writer.jobs() == 3);
  CHECK(writer.first_job_id() == 7);
  CHECK(writer.last_job_id() == 1'000'000'000'000);
  const auto blob = writer.finish();
  CHECK(writer.jobs() == 0);
  const auto jobs = decode_event_batch(blob);
  REQUIRE(jobs.size() == 3);
  CHECK(jobs[0].job_id == 7);
  CHECK(jobs[0].payload == R"({"id":"a","action":"user.login"})");
  CHECK(jobs[1].job_id == 9);
  CHECK(jobs[1].payload.empty());
  CHECK(jobs[2].job_id == 1'000'000'000'000);
  CHECK(jobs[2].payload == std::string("\0\xff\n", 3));
}

TEST_CASE("similar events compress several times") {
  EventBatchWriter writer;
  for (int i = 0; i < 200; ++i)
    writer.add(i + 1, R"({"id":"0190b2a4-7c1e-7cc2-8e1d-)" + std::to_string(100000000000 + i) +
                          R"(","action":"user.login","outcome":"success","metadata":{"n":)" + std::to_string(i) + "}}");
  const auto raw = writer.raw_bytes();
  const auto blob = writer.finish();
  CHECK(blob.size() * 4 < raw);
  CHECK(decode_event_batch(blob).size() == 200);
}

TEST_CASE("a damaged blob is refused, never misread") {
  EventBatchWriter writer;
  writer.add(1, "event");
  auto blob = writer.finish();
  CHECK_THROWS_AS(decode_event_batch(""), CorruptBatch);
  CHECK_THROWS_AS(decode_event_batch("X" + blob.substr(1)), CorruptBatch);
  CHECK_THROWS_AS(decode_event_batch(blob.substr(0, blob.size() - 2)), CorruptBatch);
}
