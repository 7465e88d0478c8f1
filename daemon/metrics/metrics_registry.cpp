// Registration under a lock, rendering from a consistent list of families.
#include "metrics/metrics_registry.hpp"

#include <fmt/format.h>
#include <cmath>
#include <iterator>
#include <stdexcept>

namespace auditfwd {
namespace {

const char* type_name(MetricType type) {
  switch (type) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
  }
  return "untyped";
}

void append_labels(std::string& out, const Labels& labels, const std::pair<std::string, std::string>* extra = nullptr) {
  if (labels.empty() && !extra) return;
  out += '{';
  bool first = true;
  auto add = [&](const std::pair<std::string, std::string>& label) {
    if (!first) out += ',';
    first = false;
    out += label.first;
    out += "=\"";
    out += escape_label_value(label.second);
    out += '"';
  };
  for (const auto& label : labels) add(label);
  if (extra) add(*extra);
  out += '}';
}

void append_sample(std::string& out, std::string_view name, const Labels& labels, double value,
                   const std::pair<std::string, std::string>* extra = nullptr) {
  out += name;
  append_labels(out, labels, extra);
  out += ' ';
  out += format_sample_value(value);
  out += '\n';
}

void append_header(std::string& out, const std::string& name, const std::string& help, MetricType type) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name,
                 type_name(type));
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{}", static_cast<long long>(value));
  return fmt::format("{}", value);
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, const std::string& help, MetricType type) {
  auto [it, inserted] = families_.try_emplace(name, Family{help, type, {}});
  if (!inserted && (it->second.type != type || it->second.help != help))
    throw std::logic_error("metric " + name + " registered twice with another type or help");
  return it->second;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, MetricType::counter).children[labels];
  if (slot.index() != 0 || !std::get<0>(slot)) slot = std::make_unique<Counter>();
  return *std::get<0>(slot);
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, MetricType::gauge).children[labels];
  if (slot.index() != 1) slot = std::make_unique<Gauge>();
  return *std::get<1>(slot);
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<double>& upper_bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, MetricType::histogram).children[labels];
  if (slot.index() != 2) slot = std::make_unique<Histogram>(upper_bounds);
  return *std::get<2>(slot);
}

std::string MetricsRegistry::render(const std::vector<CollectedFamily>& collected) const {
  std::map<std::string, const CollectedFamily*> extra;
  for (const auto& family : collected) extra[family.name] = &family;
  std::string out;
  std::lock_guard lock(mutex_);
  auto registered = families_.begin();
  auto scraped = extra.begin();
  while (registered != families_.end() || scraped != extra.end()) {
    if (scraped == extra.end() || (registered != families_.end() && registered->first < scraped->first)) {
      const auto& [name, family] = *registered++;
      append_header(out, name, family.help, family.type);
      for (const auto& [labels, metric] : family.children) {
        if (const auto* counter = std::get_if<0>(&metric))
          append_sample(out, name, labels, static_cast<double>((*counter)->value()));
        else if (const auto* gauge = std::get_if<1>(&metric))
          append_sample(out, name, labels, static_cast<double>((*gauge)->value()));
        else {
          const auto snapshot = std::get<2>(metric)->snapshot();
          for (std::size_t i = 0; i < snapshot.cumulative.size(); ++i) {
            const std::pair<std::string, std::string> le{
                "le", i < snapshot.upper_bounds.size() ? format_sample_value(snapshot.upper_bounds[i]) : "+Inf"};
            append_sample(out, name + "_bucket", labels, static_cast<double>(snapshot.cumulative[i]), &le);
          }
          append_sample(out, name + "_sum", labels, snapshot.sum_seconds);
          append_sample(out, name + "_count", labels, static_cast<double>(snapshot.count));
        }
      }
    } else {
      const auto& family = *(scraped++)->second;
      append_header(out, family.name, family.help, family.type);
      for (const auto& sample : family.samples) append_sample(out, family.name, sample.labels, sample.value);
    }
  }
  return out;
}

}  // namespace auditfwd
