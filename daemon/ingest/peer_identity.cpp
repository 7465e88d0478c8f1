// Resolving a connection's sender (names, executable, unit) and the host, once each.
#include "ingest/peer_identity.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <array>
#include <cerrno>
#include <climits>
#include <fstream>
#include <vector>

namespace auditfwd {
namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view space = " \t\r\n";
  while (!text.empty() && space.find(text.front()) != std::string_view::npos) text.remove_prefix(1);
  while (!text.empty() && space.find(text.back()) != std::string_view::npos) text.remove_suffix(1);
  return text;
}

// A small file's whole content; empty when it cannot be read.
std::string read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string content;
  char buffer[4096];
  while (content.size() < 64 * 1024) {
    in.read(buffer, sizeof buffer);
    if (in.gcount() <= 0) break;
    content.append(buffer, static_cast<std::size_t>(in.gcount()));
  }
  return content;
}

std::string user_name(uid_t uid) {
  std::vector<char> buffer(16 * 1024);
  passwd entry{};
  passwd* found = nullptr;
  while (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == ERANGE && buffer.size() < 1024 * 1024)
    buffer.resize(buffer.size() * 2);
  return found ? std::string(found->pw_name) : std::string();
}

std::string group_name(gid_t gid) {
  std::vector<char> buffer(16 * 1024);
  group entry{};
  group* found = nullptr;
  while (::getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found) == ERANGE && buffer.size() < 1024 * 1024)
    buffer.resize(buffer.size() * 2);
  return found ? std::string(found->gr_name) : std::string();
}

std::string read_link(const std::string& path) {
  std::array<char, PATH_MAX + 1> buffer;
  const auto size = ::readlink(path.c_str(), buffer.data(), buffer.size());
  if (size <= 0 || static_cast<std::size_t>(size) >= buffer.size()) return {};
  return std::string(buffer.data(), static_cast<std::size_t>(size));
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// A unit name systemd places processes in (slices hold units, they are not one).
bool is_process_unit(std::string_view name) {
  for (std::string_view suffix : {".service", ".scope"})
    if (ends_with(name, suffix)) return true;
  return false;
}

std::string unit_in_path(std::string_view path) {
  while (!path.empty()) {
    const auto slash = path.find('/');
    const auto component = path.substr(0, slash);
    if (is_process_unit(component)) return std::string(component);
    if (!component.empty() && !ends_with(component, ".slice")) return {};  // not a systemd-managed path
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return {};
}

}  // namespace

std::string unit_from_cgroup(std::string_view cgroup_file) {
  std::string_view v1_path;
  bool have_v1 = false;
  while (!cgroup_file.empty()) {
    const auto end = cgroup_file.find('\n');
    const auto line = cgroup_file.substr(0, end);
    cgroup_file.remove_prefix(end == std::string_view::npos ? cgroup_file.size() : end + 1);
    // hierarchy-ID:controller-list:cgroup-path
    const auto first = line.find(':');
    const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const auto hierarchy = line.substr(0, first);
    const auto controllers = line.substr(first + 1, second - first - 1);
    const auto path = line.substr(second + 1);
    if (hierarchy == "0" && controllers.empty()) return unit_in_path(path);  // cgroup v2 (unified)
    if (controllers == "name=systemd") {
      v1_path = path;
      have_v1 = true;
    }
  }
  return have_v1 ? unit_in_path(v1_path) : std::string();
}

SenderIdentity resolve_sender(const PeerCredentials& credentials, const std::string& proc) {
  SenderIdentity sender;
  sender.credentials = credentials;
  sender.user = user_name(credentials.uid);
  sender.group = group_name(credentials.gid);
  if (credentials.pid <= 0) return sender;
  const auto dir = proc + "/" + std::to_string(credentials.pid);
  sender.exe = read_link(dir + "/exe");
  sender.comm = read_small_file(dir + "/comm");  // the name as set, spaces included, less the kernel's newline
  if (!sender.comm.empty() && sender.comm.back() == '\n') sender.comm.pop_back();
  sender.unit = unit_from_cgroup(read_small_file(dir + "/cgroup"));
  return sender;
}

HostIdentity read_host_identity(const std::string& etc, const std::string& proc) {
  HostIdentity host;
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) == 0) host.hostname = name.data();
  host.machine_id = std::string(trim(read_small_file(etc + "/machine-id")));
  host.boot_id = std::string(trim(read_small_file(proc + "/sys/kernel/random/boot_id")));
  return host;
}

const HostIdentity& local_host() {
  static const HostIdentity host = read_host_identity();
  return host;
}

}  // namespace auditfwd
