// The daemon's own log: stderr, one line per record, text or JSON, with journald
// priorities when journald reads the stream.
#pragma once

#include "config/config.hpp"

#include <spdlog/formatter.h>
#include <sys/types.h>
#include <memory>
#include <string>
#include <string_view>

namespace auditfwd {

// The syslog priority journald reads from a "<N>" line prefix (sd-daemon(3)):
// critical 2, error 3, warn 4, info 6, debug and trace 7.
int journal_priority(spdlog::level::level_enum level) noexcept;

// True when `journal_stream` ($JOURNAL_STREAM, "<device>:<inode>") names the
// stream whose fstat gave `device` and `inode`: systemd connected that stream to
// journald. An inherited variable over a redirected stderr does not match.
bool names_stream(std::string_view journal_stream, dev_t device, ino_t inode) noexcept;

// True when the process's stderr is the journald stream of $JOURNAL_STREAM.
bool stderr_is_journal();

// Formats one record as a line. `journal`: prefixed with "<N>" and without a
// timestamp (journald stamps it). Text: "2026-11-29T17:00:00.123 [channel] info: message"
// (no time under journald). JSON: {"time":…,"level":…,"logger":…,"message":…},
// with the time kept even under journald, for whoever parses the lines.
std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format, bool journal);

// Sets the default logger (stderr, named channels) to `log.level` and `log.format`,
// prefixing priorities when stderr is journald's (stderr_is_journal()).
void setup_logging(const LogConfig& log);

// A reload's log.level ("trace" … "critical", "off"): from the next line on,
// for every channel made from the default logger, before or after.
void set_log_level(const std::string& level);
// The level lines pass at now, by name.
std::string log_level();

}  // namespace auditfwd
