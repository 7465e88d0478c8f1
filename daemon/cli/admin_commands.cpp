// `auditfwd status` and `auditfwd tap`: the admin endpoint, read by an operator.
#include "cli/admin_client.hpp"
#include "cli/commands.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>
#include <cmath>
#include <iostream>

namespace auditfwd {
namespace {

std::string format_age(double seconds) {
  if (seconds < 0) return "-";
  const auto whole = static_cast<long long>(seconds);
  if (whole < 60) return fmt::format("{:.1f}s", seconds);
  if (whole < 3600) return fmt::format("{}m {:02}s", whole / 60, whole % 60);
  if (whole < 86400) return fmt::format("{}h {:02}m", whole / 3600, whole % 3600 / 60);
  return fmt::format("{}d {:02}h", whole / 86400, whole % 86400 / 3600);
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[unit]);
}

double number(const boost::json::value* value) {
  if (!value) return 0;
  if (value->is_double()) return value->get_double();
  if (value->is_int64()) return static_cast<double>(value->get_int64());
  if (value->is_uint64()) return static_cast<double>(value->get_uint64());
  return 0;
}

std::string percent_encoded(std::string_view text) {
  std::string out;
  for (const char byte : text) {
    const auto c = static_cast<unsigned char>(byte);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '*')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace

StatusScreen render_status(const boost::json::object& status, const std::string& where) {
  StatusScreen screen;
  std::string& out = screen.text;
  const auto& health = status.at("health").as_object();
  const bool healthy = health.at("status").as_string() == "ok";
  out += fmt::format("auditfwd {} at {}, up {}\n", std::string(status.at("version").as_string()), where,
                     format_age(number(status.if_contains("uptime_seconds"))));
  out += healthy ? std::string("health: ok\n")
                 : fmt::format("health: FAILING: {}\n", std::string(health.at("reason").as_string()));
  const auto& rates = status.at("events_per_second").as_object();
  out += fmt::format("events/s over the last 10 s: in {:.1f}, accepted {:.1f}, delivered {:.1f} (all forwarders)\n",
                     number(rates.if_contains("received")), number(rates.if_contains("accepted")),
                     number(rates.if_contains("delivered")));
  out += fmt::format("connections: {}\n", static_cast<long long>(number(status.if_contains("connections"))));
  if (const auto* store = status.if_contains("store"); store && store->is_object()) {
    const auto& s = store->as_object();
    const double limit = number(s.if_contains("limit_bytes"));
    out += fmt::format("store: {}{}, {} pending job(s){}\n", format_bytes(number(s.if_contains("bytes"))),
                       limit > 0 ? " of " + format_bytes(limit) : std::string(),
                       static_cast<long long>(number(s.if_contains("pending_jobs"))),
                       s.at("full").as_bool() ? ", FULL" : "");
  } else {
    out += "store: disabled\n";
  }
  bool degraded = !healthy;
  out += fmt::format("\n{:<20} {:>12} {:>9} {:>15}  {}\n", "FORWARDER", "DELIVERED/S", "BACKLOG", "OLDEST PENDING",
                     "LAST ERROR");
  for (const auto& item : status.at("forwarders").as_array()) {
    const auto& f = item.as_object();
    const bool failing = f.at("failing").as_bool();
    degraded = degraded || failing;
    const auto* backlog = f.if_contains("backlog");
    const auto* oldest = f.if_contains("oldest_pending_seconds");
    std::string last_error = "-";
    if (const auto* error = f.if_contains("last_error"); error && error->is_string())
      last_error = fmt::format("{}{}: {}", failing ? "FAILING since " : "at ",
                               std::string(f.at("last_error_at").as_string()), std::string(error->as_string()));
    out += fmt::format("{:<20} {:>12.1f} {:>9} {:>15}  {}\n", std::string(f.at("id").as_string()),
                       number(f.if_contains("delivered_per_second")),
                       backlog && !backlog->is_null() ? std::to_string(static_cast<long long>(number(backlog))) : "?",
                       oldest && !oldest->is_null() ? format_age(number(oldest)) : "-", last_error);
  }
  screen.exit_code = degraded ? 1 : 0;
  return screen;
}

int status_command(const AdminAddress& address, bool json) {
  std::string error;
  const auto response = admin_get(address, "/status", std::chrono::seconds(5), error);
  if (!response) {
    std::cerr << "auditfwd status: " << error << "\n";
    return 2;
  }
  boost::system::error_code parse_error;
  auto parsed = boost::json::parse(response->body, parse_error);
  if (response->status != 200 || parse_error || !parsed.is_object()) {
    std::cerr << "auditfwd status: " << address.describe() << " answered " << response->status
              << " without a status object: is it an auditfwd admin endpoint?\n";
    return 2;
  }
  try {
    const auto screen = render_status(parsed.as_object(), address.describe());
    if (json)
      std::cout << response->body;
    else
      std::cout << screen.text;
    return screen.exit_code;
  } catch (const std::exception& e) {
    std::cerr << "auditfwd status: " << address.describe() << " answered a status object of another shape: " << e.what()
              << "\n";
    return 2;
  }
}

int tap_command(const AdminAddress& address, const std::string& action, const std::string& forwarder) {
  std::string target = "/tap";
  std::string separator = "?";
  if (!action.empty()) {
    target += separator + "action=" + percent_encoded(action);
    separator = "&";
  }
  if (!forwarder.empty()) target += separator + "forwarder=" + percent_encoded(forwarder);
  std::string pending, error, error_body;
  const auto status = admin_stream(
      address, target,
      [&] {
        std::cerr << "auditfwd tap: streaming accepted events from " << address.describe() << " (Ctrl-C to stop)"
                  << std::endl;
      },
      [&](std::string_view data) {
        pending.append(data);
        std::size_t start = 0;
        for (auto newline = pending.find('\n'); newline != std::string::npos; newline = pending.find('\n', start)) {
          const std::string_view line(pending.data() + start, newline - start);
          start = newline + 1;
          if (line.rfind("{\"tap_dropped\":", 0) == 0) {
            std::cerr << "auditfwd tap: this tap read too slowly and missed events: " << line << "\n";
            continue;
          }
          std::cout << line << '\n';
        }
        std::cout.flush();
        pending.erase(0, start);
      },
      error, error_body);
  if (!status) {
    std::cerr << "auditfwd tap: " << error << "\n";
    return 2;
  }
  if (*status != 200) {
    std::cerr << "auditfwd tap: refused (" << *status << "): " << error_body;
    return *status == 400 ? 64 : 2;
  }
  std::cerr << "auditfwd tap: the daemon ended the stream\n";
  return 0;
}

}  // namespace auditfwd
