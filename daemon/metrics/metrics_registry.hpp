// Named metric families with labels, rendered in the Prometheus text format 0.0.4.
#pragma once

#include "metrics/metric_types.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace auditfwd {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { counter, gauge, histogram };

// A value computed when scraped (jobs per state from the store, the process's RSS).
struct CollectedSample {
  Labels labels;
  double value = 0;
};
struct CollectedFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::gauge;
  std::vector<CollectedSample> samples;
};

// Owns the live metrics. Registering takes a lock and returns a reference that
// stays valid for the registry's life; the hot path keeps that reference and
// never looks anything up. The same name and labels return the same metric;
// a name registered again with another type or help throws std::logic_error.
class MetricsRegistry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const std::vector<double>& upper_bounds,
                       const Labels& labels = {});

  // Every family, registered and `collected`, sorted by name, in the text
  // format 0.0.4 (# HELP, # TYPE, one line per sample; histograms as _bucket{le}, _sum, _count).
  std::string render(const std::vector<CollectedFamily>& collected = {}) const;

 private:
  using Metric = std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>>;
  struct Family {
    std::string help;
    MetricType type;
    std::map<Labels, Metric> children;
  };
  Family& family(const std::string& name, const std::string& help, MetricType type);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

// Text format escapes: a label value escapes \ " and newline; help text \ and newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// A sample value as the text format writes it (integers without a fraction, +Inf, NaN).
std::string format_sample_value(double value);

}  // namespace auditfwd
