// Swapping the [ingest] section and its policy under one lock.
#include "ingest/ingest_settings.hpp"

namespace auditfwd {

IngestSettings::IngestSettings(IngestConfig config) { replace(std::move(config)); }

void IngestSettings::replace(IngestConfig config) {
  auto policy = std::make_shared<IngestPolicy>(config.allow);
  auto section = std::make_shared<const IngestConfig>(std::move(config));
  std::lock_guard lock(mutex_);
  config_.swap(section);
  policy_.swap(policy);
}

std::shared_ptr<const IngestConfig> IngestSettings::config() const {
  std::lock_guard lock(mutex_);
  return config_;
}

std::shared_ptr<IngestPolicy> IngestSettings::policy() const {
  std::lock_guard lock(mutex_);
  return policy_;
}

}  // namespace auditfwd
