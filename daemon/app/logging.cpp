// The daemon's log lines: spdlog on stderr, text or JSON, "<N>" priorities for journald.
#include "app/logging.hpp"

#include "common/time_format.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstdlib>

namespace auditfwd {

int journal_priority(spdlog::level::level_enum level) noexcept {
  switch (level) {
    case spdlog::level::critical: return 2;  // LOG_CRIT
    case spdlog::level::err: return 3;       // LOG_ERR
    case spdlog::level::warn: return 4;      // LOG_WARNING
    case spdlog::level::info: return 6;      // LOG_INFO
    default: return 7;                       // LOG_DEBUG
  }
}

namespace {

template <typename Number>
bool parse_number(std::string_view text, Number& out) {
  if (text.empty()) return false;
  unsigned long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return false;
  out = static_cast<Number>(value);
  return static_cast<unsigned long long>(out) == value;
}

// Prefixes another formatter's line with journald's "<N>".
class JournalPrefix final : public spdlog::formatter {
 public:
  explicit JournalPrefix(std::unique_ptr<spdlog::formatter> inner) : inner_(std::move(inner)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    dest.push_back('<');
    dest.push_back(static_cast<char>('0' + journal_priority(msg.level)));
    dest.push_back('>');
    inner_->format(msg, dest);
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JournalPrefix>(inner_->clone()); }

 private:
  std::unique_ptr<spdlog::formatter> inner_;
};

// One JSON object per line; the message is escaped by the serializer, so a
// quote or a newline in it cannot break the line.
class JsonLine final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    boost::json::object line;
    line["time"] = format_rfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(msg.time));
    const auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string_view(level.data(), level.size());
    line["logger"] = std::string_view(msg.logger_name.data(), msg.logger_name.size());
    line["message"] = std::string_view(msg.payload.data(), msg.payload.size());
    const auto text = boost::json::serialize(line);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLine>(); }
};

}  // namespace

bool names_stream(std::string_view journal_stream, dev_t device, ino_t inode) noexcept {
  const auto colon = journal_stream.find(':');
  if (colon == std::string_view::npos) return false;
  dev_t named_device{};
  ino_t named_inode{};
  return parse_number(journal_stream.substr(0, colon), named_device) &&
         parse_number(journal_stream.substr(colon + 1), named_inode) && named_device == device && named_inode == inode;
}

bool stderr_is_journal() {
  const char* journal_stream = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (!journal_stream || fstat(STDERR_FILENO, &st) != 0) return false;
  return names_stream(journal_stream, st.st_dev, st.st_ino);
}

std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format, bool journal) {
  std::unique_ptr<spdlog::formatter> line;
  if (format == LogFormat::json)
    line = std::make_unique<JsonLine>();
  else
    line = std::make_unique<spdlog::pattern_formatter>(journal ? "[%n] %l: %v" : "%Y-%m-%dT%H:%M:%S.%e [%n] %l: %v");
  if (journal) return std::make_unique<JournalPrefix>(std::move(line));
  return line;
}

void setup_logging(const LogConfig& log) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(make_log_formatter(log.format, stderr_is_journal()));
  // The level is the sink's, which every channel (a clone of this logger)
  // shares: set_log_level() then reaches them all at once.
  sink->set_level(spdlog::level::from_str(log.level));
  auto logger = std::make_shared<spdlog::logger>("auditfwd", sink);
  logger->set_level(spdlog::level::trace);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace auditfwd

namespace auditfwd {

void set_log_level(const std::string& level) {
  for (auto& sink : spdlog::default_logger()->sinks()) sink->set_level(spdlog::level::from_str(level));
}

std::string log_level() {
  const auto& sinks = spdlog::default_logger()->sinks();
  const auto level = sinks.empty() ? spdlog::default_logger()->level() : sinks.front()->level();
  const auto name = spdlog::level::to_string_view(level);
  return std::string(name.data(), name.size());
}

}  // namespace auditfwd
