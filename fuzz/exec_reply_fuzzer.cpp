// Fuzzes parse_exec_reply, which reads the exec forwarder's child's reply lines.
//
// Invariants:
//  - it agrees with a plain reading of the protocol over Boost.JSON's DOM:
//    {"ok":true} is ok; {"ok":false} is retry unless "retry":false (permanent),
//    with "error" as the text when it is a string; anything else is malformed;
//  - trailing '\r' and '\n' do not change the outcome;
//  - ok carries no text; a malformed reply's text names it as such and shows at
//    most 200 bytes of the line, so a huge line is not copied into job errors;
//  - the text is valid UTF-8 whenever the line is (it lands in JSON job errors).
#include "forwarders/exec_reply.hpp"
#include "fuzz_check.hpp"

#include <boost/json.hpp>
#include <cstdint>
#include <string>

using auditfwd::ExecReply;
using auditfwd::parse_exec_reply;
namespace json = boost::json;

namespace {

// The protocol's reading; nullopt: malformed.
std::optional<ExecReply> expected(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  json::error_code ec;
  const auto value = json::parse(line, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const auto& object = value.get_object();
  const auto* ok = object.if_contains("ok");
  if (!ok || !ok->is_bool()) return std::nullopt;
  if (ok->get_bool()) return ExecReply{ExecReply::Kind::ok, {}};
  const auto* error = object.if_contains("error");
  if (error && !error->is_string()) return std::nullopt;
  const auto* retry = object.if_contains("retry");
  if (retry && !retry->is_bool()) return std::nullopt;
  return ExecReply{retry && !retry->get_bool() ? ExecReply::Kind::permanent : ExecReply::Kind::retry,
                   error ? std::string(error->get_string()) : "the child refused the event"};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  const auto reply = parse_exec_reply(line);
  const auto model = expected(line);
  if (model) {
    FUZZ_CHECK(reply.kind == model->kind);
    FUZZ_CHECK(reply.error == model->error);
  } else {
    FUZZ_CHECK(reply.kind == ExecReply::Kind::malformed);
    FUZZ_CHECK(reply.error.rfind("malformed reply from the child (", 0) == 0);
    // The reason (at most ~40 bytes), 200 bytes of the line, the ellipsis.
    FUZZ_CHECK(reply.error.size() <= 100 + 200 + 3);
  }
  if (reply.kind == ExecReply::Kind::ok) FUZZ_CHECK(reply.error.empty());
  if (auditfwd::fuzz::is_valid_utf8(line)) FUZZ_CHECK(auditfwd::fuzz::is_valid_utf8(reply.error));

  const auto terminated = parse_exec_reply(line + "\r\n");
  FUZZ_CHECK(terminated.kind == reply.kind && terminated.error == reply.error);
  return 0;
}
