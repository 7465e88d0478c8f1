// What the network layer shares between forwarders: TLS client contexts, loaded once per distinct set of files.
#pragma once

#include "net/tls_client.hpp"

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace auditfwd {

class NetServices {
 public:
  NetServices() = default;
  NetServices(const NetServices&) = delete;
  NetServices& operator=(const NetServices&) = delete;

  // make_tls_client_context(options), built on the first request and shared by
  // every later one with equal options (a context is safe to share between
  // connections and threads). Throws TlsSetupError. Thread-safe.
  std::shared_ptr<boost::asio::ssl::context> tls_client_context(const TlsClientOptions& options) {
    std::lock_guard lock(mutex_);
    for (const auto& [known, context] : tls_contexts_)
      if (known == options) return context;
    auto context = make_tls_client_context(options);
    tls_contexts_.emplace_back(options, context);
    return context;
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<TlsClientOptions, std::shared_ptr<boost::asio::ssl::context>>> tls_contexts_;
};

}  // namespace auditfwd
