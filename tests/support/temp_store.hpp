// A job-store directory of its own for one unit test, removed afterwards.
#pragma once

#include "config/config.hpp"

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <string>

namespace auditfwd::testing {

struct TempStore {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("auditfwd-unit-" + std::to_string(::getpid()) + "-" + std::to_string(next_number++));
  StoreConfig config;  // durability "os": unit tests need no fsync unless they ask

  TempStore() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    config.path = (dir / "jobs.db").string();
    config.durability_fsync = false;
  }
  ~TempStore() { std::filesystem::remove_all(dir); }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

 private:
  static inline std::atomic<int> next_number{0};
};

}  // namespace auditfwd::testing
