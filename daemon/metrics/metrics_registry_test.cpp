// Unit tests for the metric types and the Prometheus text rendering.
#include "metrics/metrics_registry.hpp"

#include <doctest/doctest.h>
#include <cmath>
#include <limits>

using namespace auditfwd;
using namespace std::chrono_literals;

TEST_CASE("counters and gauges render with HELP, TYPE and their labels, families sorted by name") {
  MetricsRegistry registry;
  auto& refused = registry.counter("x_refused_total", "Refused.", {{"error", "invalid_json"}});
  registry.counter("x_refused_total", "Refused.", {{"error", "too_large"}});
  auto& open = registry.gauge("x_connections", "Open.");
  refused.add(3);
  open.add(2);
  open.add(-1);
  CHECK(&registry.counter("x_refused_total", "Refused.", {{"error", "invalid_json"}}) == &refused);
  CHECK(registry.render() ==
        "# HELP x_connections Open.\n# TYPE x_connections gauge\nx_connections 1\n"
        "# HELP x_refused_total Refused.\n# TYPE x_refused_total counter\n"
        "x_refused_total{error=\"invalid_json\"} 3\nx_refused_total{error=\"too_large\"} 0\n");
}

TEST_CASE("a name registered again with another type is a programming error") {
  MetricsRegistry registry;
  registry.counter("x_total", "Help.");
  CHECK_THROWS_AS(registry.gauge("x_total", "Help."), std::logic_error);
}

TEST_CASE("a histogram renders cumulative buckets, +Inf, sum and count") {
  MetricsRegistry registry;
  auto& histogram = registry.histogram("x_seconds", "Latency.", {0.001, 0.01});
  histogram.observe(500us);
  histogram.observe(5ms, 2);
  histogram.observe(2s);
  CHECK(registry.render() ==
        "# HELP x_seconds Latency.\n# TYPE x_seconds histogram\n"
        "x_seconds_bucket{le=\"0.001\"} 1\nx_seconds_bucket{le=\"0.01\"} 3\nx_seconds_bucket{le=\"+Inf\"} 4\n"
        "x_seconds_sum 2.0105\nx_seconds_count 4\n");
}

TEST_CASE("an observation exactly on a bound falls in that bucket (le is inclusive)") {
  Histogram histogram({0.001});
  histogram.observe(1ms);
  CHECK(histogram.snapshot().cumulative == std::vector<std::uint64_t>{1, 1});
}

TEST_CASE("label values and help text are escaped as the text format requires") {
  CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(escape_help("a\\b\nc \"q\"") == "a\\\\b\\nc \"q\"");
  MetricsRegistry registry;
  registry.gauge("x", "H.", {{"id", "we\"ird"}}).set(1);
  CHECK(registry.render().find("x{id=\"we\\\"ird\"} 1\n") != std::string::npos);
}

TEST_CASE("collected families are merged in name order with the registered ones") {
  MetricsRegistry registry;
  registry.counter("b_total", "B.").add();
  const auto text = registry.render(
      {{"a_gauge", "A.", MetricType::gauge, {{{{"k", "v"}}, 1.5}}}, {"c_gauge", "C.", MetricType::gauge, {{{}, 0}}}});
  CHECK(text ==
        "# HELP a_gauge A.\n# TYPE a_gauge gauge\na_gauge{k=\"v\"} 1.5\n"
        "# HELP b_total B.\n# TYPE b_total counter\nb_total 1\n"
        "# HELP c_gauge C.\n# TYPE c_gauge gauge\nc_gauge 0\n");
}

TEST_CASE("sample values: integers without a fraction, infinities and NaN as the format spells them") {
  CHECK(format_sample_value(42) == "42");
  CHECK(format_sample_value(0.25) == "0.25");
  CHECK(format_sample_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_sample_value(std::nan("")) == "NaN");
}
