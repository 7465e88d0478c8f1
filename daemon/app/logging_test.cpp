// Unit tests for the log line formats: journald priorities, JSON lines, JOURNAL_STREAM matching.
#include "app/logging.hpp"

#include <doctest/doctest.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>
#include <string>

using namespace auditfwd;

namespace {
std::string line_of(LogFormat format, bool journal, spdlog::level::level_enum level, std::string_view text,
                    std::string_view channel = "daemon") {
  spdlog::details::log_msg msg(spdlog::string_view_t(channel.data(), channel.size()), level,
                               spdlog::string_view_t(text.data(), text.size()));
  spdlog::memory_buf_t out;
  make_log_formatter(format, journal)->format(msg, out);
  return {out.data(), out.size()};
}
}  // namespace

TEST_CASE("journald priorities: critical 2, error 3, warn 4, info 6, debug 7") {
  CHECK(journal_priority(spdlog::level::critical) == 2);
  CHECK(journal_priority(spdlog::level::err) == 3);
  CHECK(journal_priority(spdlog::level::warn) == 4);
  CHECK(journal_priority(spdlog::level::info) == 6);
  CHECK(journal_priority(spdlog::level::debug) == 7);
  CHECK(journal_priority(spdlog::level::trace) == 7);
}

TEST_CASE("text lines: a timestamp outside journald, a <N> prefix and no timestamp under it") {
  CHECK(line_of(LogFormat::text, true, spdlog::level::err, "store failed") == "<3>[daemon] error: store failed\n");
  CHECK(line_of(LogFormat::text, true, spdlog::level::info, "ready") == "<6>[daemon] info: ready\n");
  const auto plain = line_of(LogFormat::text, false, spdlog::level::warn, "slow");
  CHECK(plain.find(" [daemon] warning: slow\n") == 23);  // after "YYYY-MM-DDTHH:MM:SS.mmm"
  CHECK(plain.front() == '2');
}

TEST_CASE("json lines: one object per line, the message escaped, <N> before it under journald") {
  const auto line = line_of(LogFormat::json, false, spdlog::level::err, "bad \"quote\"\nnext", "forwarder.f");
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  const auto object = boost::json::parse(line).as_object();
  CHECK(object.at("level") == "error");
  CHECK(object.at("logger") == "forwarder.f");
  CHECK(object.at("message") == "bad \"quote\"\nnext");
  CHECK(object.at("time").as_string().size() == std::string("2026-11-29T17:00:00.123456Z").size());
  const auto journal = line_of(LogFormat::json, true, spdlog::level::critical, "down");
  REQUIRE(journal.substr(0, 3) == "<2>");
  CHECK(boost::json::parse(journal.substr(3)).as_object().at("message") == "down");
}

TEST_CASE("JOURNAL_STREAM must name the stream itself") {
  CHECK(names_stream("64769:1234", 64769, 1234));
  CHECK_FALSE(names_stream("64769:1234", 64769, 1235));
  CHECK_FALSE(names_stream("64770:1234", 64769, 1234));
  CHECK_FALSE(names_stream("", 0, 0));
  CHECK_FALSE(names_stream("64769", 64769, 0));
  CHECK_FALSE(names_stream("64769:1234x", 64769, 1234));
  CHECK_FALSE(names_stream(":1234", 0, 1234));
}

TEST_CASE("set_log_level reaches channels made before it, and the next line") {
  auto previous = spdlog::default_logger();
  setup_logging(LogConfig{"info", LogFormat::text});
  auto channel = spdlog::default_logger()->clone("forwarder.x");
  CHECK_FALSE(channel->sinks().front()->should_log(spdlog::level::debug));
  set_log_level("debug");
  CHECK(log_level() == "debug");
  CHECK(channel->sinks().front()->should_log(spdlog::level::debug));
  set_log_level("warn");  // as log.level spells it
  CHECK(log_level() == "warning");
  CHECK_FALSE(channel->sinks().front()->should_log(spdlog::level::info));
  spdlog::set_default_logger(previous);
}
