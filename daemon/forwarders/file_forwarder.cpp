// Appends events to a file. Opened lazily so check-config touches nothing; reopened
// after SIGHUP so logrotate's move-and-signal works.
#include "forwarders/file_forwarder.hpp"
#include "forwarders/forwarder_options.hpp"

#include "config/config_reader.hpp"
#include "forwarders/blocking_io.hpp"
#include "forwarders/line_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace auditfwd {
namespace {

// One lock per path for every instance writing it: a reload that replaces a
// file forwarder runs the old instance (finishing its deliveries) beside the
// new one on the same file, and a batch, its undo and the torn-line check at
// open must never interleave with another instance's batch.
std::shared_ptr<std::mutex> path_lock(const std::string& path) {
  static std::mutex registry_mutex;
  static std::map<std::string, std::weak_ptr<std::mutex>> registry;
  std::lock_guard lock(registry_mutex);
  std::erase_if(registry, [](const auto& entry) { return entry.second.expired(); });
  auto& entry = registry[path];
  auto shared = entry.lock();
  if (!shared) entry = shared = std::make_shared<std::mutex>();
  return shared;
}

class FileForwarder final : public Forwarder {
 public:
  FileForwarder(std::string path, bool fsync_each_batch, boost::asio::any_io_executor blocking)
      : path_(std::move(path)), fsync_(fsync_each_batch), mutex_(path_lock(path_)), blocking_(std::move(blocking)) {}
  ~FileForwarder() override { close_file(); }

  BatchLimits batch_limits() const override { return {500, 4 * 1024 * 1024}; }

  boost::asio::awaitable<BatchOutcome> deliver(std::span<const Event> events) override {
    const auto outcome = co_await run_blocking(blocking_, [this, events] { return write(events); });
    co_return same_outcome(events.size(), outcome);
  }

  void reopen() override { reopen_requested_ = true; }
  void stop() override {
    std::lock_guard lock(*mutex_);
    close_file();
  }

 private:
  DeliveryOutcome write(std::span<const Event> events) {
    std::lock_guard lock(*mutex_);
    if (reopen_requested_.exchange(false)) close_file();
    if (fd_ < 0) {
      std::error_code ignored;
      const auto parent = std::filesystem::path(path_).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
      // O_NOFOLLOW: a symbolic link planted at the path would send audit
      // lines wherever it points.
      fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
      if (fd_ < 0 && errno == ELOOP)
        return DeliveryOutcome::permanent("open " + path_ +
                                          ": it is a symbolic link; the file forwarder does not follow one");
      if (fd_ < 0) return DeliveryOutcome::retry("open " + path_ + ": " + std::strerror(errno));
      if (auto refused = foreign_owner(); !refused.empty()) {
        close_file();
        return DeliveryOutcome::permanent(std::move(refused));
      }
      drop_torn_line();
    }
    // Whole batches or nothing: a write cut short (a full disk, a file size
    // limit) or a failed sync is undone back to the end of the last whole
    // line, so the file never keeps a torn line and a retry writes the batch
    // again from its start.
    struct stat before {};
    if (::fstat(fd_, &before) != 0) {
      const std::string error = std::strerror(errno);
      close_file();
      return DeliveryOutcome::retry("stat " + path_ + ": " + error);
    }
    if (auto error = write_event_lines(fd_, events); !error.empty()) {
      undo_batch(before.st_size);
      close_file();  // reopen next time: the file may have been replaced or the disk freed
      return DeliveryOutcome::retry("write " + path_ + ": " + error);
    }
    if (fsync_ && ::fdatasync(fd_) != 0) {
      const std::string error = std::strerror(errno);
      undo_batch(before.st_size);
      close_file();
      return DeliveryOutcome::retry("fsync " + path_ + ": " + error);
    }
    return DeliveryOutcome::success();
  }

  // A file another user created in advance could be read, truncated or faked
  // by them: write only to a file the daemon's own user owns. Empty when it does.
  std::string foreign_owner() const {
    struct stat status {};
    if (::fstat(fd_, &status) != 0) return "stat " + path_ + ": " + std::strerror(errno);
    if (status.st_uid == ::geteuid()) return {};
    return "open " + path_ + ": the file is owned by uid " + std::to_string(status.st_uid) +
           ", not by the daemon's uid " + std::to_string(::geteuid()) +
           "; refusing to write to it (remove it or give it to the daemon's user)";
  }

  // A crash mid-write (or a failed undo) can leave a last line without its
  // newline: cut it off, so every line of the file is a whole event (the
  // torn copy's job was not completed, so it is delivered again whole).
  void drop_torn_line() {
    const off_t size = ::lseek(fd_, 0, SEEK_END);
    char block[4096];
    for (off_t end = size; end > 0;) {
      const off_t start = end > static_cast<off_t>(sizeof block) ? end - static_cast<off_t>(sizeof block) : 0;
      const ssize_t got = ::pread(fd_, block, static_cast<std::size_t>(end - start), start);
      if (got != end - start) return;  // unreadable: leave it as it is
      for (ssize_t k = got; k > 0; --k)
        if (block[k - 1] == '\n') {
          const off_t whole = start + k;
          if (whole != size) (void)!::ftruncate(fd_, whole);
          return;
        }
      end = start;
    }
    if (size > 0) (void)!::ftruncate(fd_, 0);  // not one whole line in it
  }

  // Takes back what a failed batch wrote past `size`; if that fails too, the
  // torn tail is cut off when the file is next opened (drop_torn_line).
  void undo_batch(off_t size) { (void)!::ftruncate(fd_, size); }

  void close_file() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::string path_;
  bool fsync_;
  std::shared_ptr<std::mutex> mutex_;  // shared with every instance writing path_
  int fd_ = -1;
  boost::asio::any_io_executor blocking_;
  std::atomic<bool> reopen_requested_{false};
};

}  // namespace

std::unique_ptr<Forwarder> make_file_forwarder(const ForwarderConfig& config, const ForwarderContext& context) {
  auto [path, fsync] = read_forwarder_options(config, [](ConfigReader& reader) {
    auto file_path = reader.required_string("path");
    if (reader.contains("path") && reader.holds_string("path") && file_path.empty())
      reader.report("path", "must not be empty");
    const bool sync_each_batch = reader.boolean("fsync", true);
    reader.finish();
    return std::pair{std::move(file_path), sync_each_batch};
  });
  return std::make_unique<FileForwarder>(std::move(path), fsync, context.blocking);
}

}  // namespace auditfwd
