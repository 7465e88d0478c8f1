// Unit tests for what the admin endpoint computes: health, rates, the scraped families.
#include "admin/admin_views.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;
using namespace std::chrono_literals;

TEST_CASE("health fails when the socket does not listen or the store's last commit failed") {
  CHECK(judge_health(true, true, true).ok);
  CHECK(judge_health(true, false, false).ok);  // no store: its health does not count
  CHECK(judge_health(false, true, true).reason == "the ingest socket is not listening");
  CHECK_FALSE(judge_health(true, true, false).ok);
  CHECK(health_json({true, {}}) == R"({"status":"ok"})");
  CHECK(health_json({false, "disk"}) == R"({"status":"failing","reason":"disk"})");
}

TEST_CASE("rates cover the last span of samples") {
  RateWindow window(10s);
  const RateWindow::clock::time_point t0{};
  CHECK(window.rate("in") == 0);
  window.add(t0, {{"in", 0}});
  CHECK(window.rate("in") == 0);  // one sample: no rate yet
  for (int second = 1; second <= 30; ++second)
    window.add(t0 + std::chrono::seconds(second),
               {{"in", static_cast<std::uint64_t>(second <= 20 ? second * 100 : 2000)}});
  // The last 10 s saw no new events; the 10 s before that, 100 a second.
  CHECK(window.rate("in") == doctest::Approx(0));
  window.add(t0 + 31s, {{"in", 2050}});
  CHECK(window.rate("in") == doctest::Approx(5));
  CHECK(window.rate("unknown") == 0);
}

TEST_CASE("the scrape adds process figures always and the store's only when enabled") {
  ScrapeInputs inputs;
  inputs.process.open_fds = 7;
  auto names = [](const std::vector<CollectedFamily>& families) {
    std::vector<std::string> out;
    for (const auto& family : families) out.push_back(family.name);
    return out;
  };
  CHECK(names(scrape_families(inputs)) == std::vector<std::string>{"process_resident_memory_bytes",
                                                                   "process_cpu_seconds_total", "process_open_fds",
                                                                   "process_start_time_seconds"});
  inputs.store_enabled = true;
  inputs.backlog = StoreBacklog{{{"siem", "available", 3}, {"siem", "discarded", 1}}, {{"siem", 1000}}};
  inputs.now_unix_ms = 61'000;
  const auto families = scrape_families(inputs);
  REQUIRE(families.size() == 8);
  CHECK(families[6].name == "auditfwd_jobs");
  CHECK(families[6].samples.size() == 2);
  CHECK(families[7].name == "auditfwd_oldest_pending_seconds");
  CHECK(families[7].samples[0].value == doctest::Approx(60.0));
}
