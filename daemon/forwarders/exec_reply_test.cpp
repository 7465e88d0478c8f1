// Reply lines: the three answers, and the malformed lines that force a restart.
#include "forwarders/exec_reply.hpp"

#include <doctest/doctest.h>

using namespace auditfwd;
using Kind = ExecReply::Kind;

TEST_CASE("exec replies: ok, retry, permanent") {
  CHECK(parse_exec_reply("{\"ok\":true}\n").kind == Kind::ok);
  CHECK(parse_exec_reply("{\"ok\":true,\"extra\":1}\r\n").kind == Kind::ok);

  auto reply = parse_exec_reply(R"({"ok":false,"retry":true,"error":"SIEM returned 503"})");
  CHECK(reply.kind == Kind::retry);
  CHECK(reply.error == "SIEM returned 503");

  reply = parse_exec_reply(R"({"ok":false,"retry":false,"error":"schema rejected"})");
  CHECK(reply.kind == Kind::permanent);
  CHECK(reply.error == "schema rejected");

  CHECK(parse_exec_reply(R"({"ok":false})").kind == Kind::retry);  // only an explicit retry:false cancels
}

TEST_CASE("exec replies: malformed lines say why") {
  CHECK(parse_exec_reply("OK").kind == Kind::malformed);
  CHECK(parse_exec_reply("OK").error.find("not JSON") != std::string::npos);
  CHECK(parse_exec_reply("[true]").error.find("not a JSON object") != std::string::npos);
  CHECK(parse_exec_reply(R"({"ok":"yes"})").kind == Kind::malformed);
  CHECK(parse_exec_reply(R"({"status":"ok"})").kind == Kind::malformed);
  CHECK(parse_exec_reply(R"({"ok":false,"retry":"no"})").kind == Kind::malformed);
  CHECK(parse_exec_reply(R"({"ok":false,"error":5})").kind == Kind::malformed);
  CHECK(parse_exec_reply("").kind == Kind::malformed);
  CHECK(parse_exec_reply(std::string(1000, 'x')).error.size() < 300);
}

TEST_CASE("exec replies: a malformed line is shown as at most 200 bytes on one line") {
  // 5,000 UTF-8 continuation bytes: no code point, so a cut counting code points kept them all.
  const auto continuation = parse_exec_reply(std::string(5000, '\x80'));
  CHECK(continuation.kind == Kind::malformed);
  CHECK(continuation.error.size() <= 60 + 200 + 3);
  const auto long_line = parse_exec_reply(std::string(5000, 'x'));
  CHECK(long_line.error.find(std::string(200, 'x') + "…") != std::string::npos);
  CHECK(long_line.error.find(std::string(201, 'x')) == std::string::npos);
  CHECK(parse_exec_reply("bad\treply\x01").error.find("bad reply?") != std::string::npos);
}
