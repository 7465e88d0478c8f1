// Unit tests for resolving a sender and the host: this test process stands in for a client.
#include "ingest/peer_identity.hpp"

#include <doctest/doctest.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <array>
#include <climits>
#include <filesystem>
#include <fstream>

using namespace auditfwd;

namespace {
std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}
}  // namespace

TEST_CASE("a sender is resolved from its uid, gid and /proc/PID") {
  const PeerCredentials self{::getuid(), ::getgid(), ::getpid()};
  const auto sender = resolve_sender(self);
  CHECK(sender.credentials.uid == self.uid);
  CHECK(sender.credentials.pid == self.pid);
  const auto* user = ::getpwuid(self.uid);
  REQUIRE(user);
  CHECK(sender.user == user->pw_name);
  const auto* group = ::getgrgid(self.gid);
  REQUIRE(group);
  CHECK(sender.group == group->gr_name);
  CHECK(sender.exe == std::filesystem::read_symlink("/proc/self/exe").string());
  CHECK(sender.comm == first_line("/proc/self/comm"));
  CHECK_FALSE(sender.comm.empty());
}

TEST_CASE("a process name is kept as set, spaces included") {
  const auto dir = std::filesystem::temp_directory_path() / ("auditfwd-proc-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "42");
  std::ofstream(dir / "42/comm") << " my worker \n";
  std::ofstream(dir / "42/cgroup") << "0::/system.slice/worker.service\n";
  const auto sender = resolve_sender(PeerCredentials{0, 0, 42}, dir.string());
  CHECK(sender.comm == " my worker ");
  CHECK(sender.unit == "worker.service");
  CHECK(sender.exe.empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("what cannot be read stays unknown") {
  const auto gone = resolve_sender(PeerCredentials{4'000'000'000u, 4'000'000'000u, 0});
  CHECK(gone.user.empty());
  CHECK(gone.group.empty());
  CHECK(gone.exe.empty());
  CHECK(gone.comm.empty());
  CHECK(gone.unit.empty());
  const auto no_proc = resolve_sender(PeerCredentials{0, 0, ::getpid()}, "/nonexistent");
  CHECK(no_proc.user == ::getpwuid(0)->pw_name);
  CHECK(no_proc.exe.empty());
  CHECK(no_proc.unit.empty());
}

TEST_CASE("the unit comes from the systemd hierarchy of /proc/PID/cgroup") {
  CHECK(unit_from_cgroup("0::/system.slice/sshd.service\n") == "sshd.service");
  CHECK(unit_from_cgroup("0::/user.slice/user-1000.slice/session-4.scope\n") == "session-4.scope");
  CHECK(unit_from_cgroup("0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-x.scope\n") ==
        "user@1000.service");
  CHECK(unit_from_cgroup("0::/system.slice/auditfwd.service/worker\n") == "auditfwd.service");
  CHECK(unit_from_cgroup("0::/init.scope\n") == "init.scope");
  CHECK(unit_from_cgroup("0::/\n").empty());
  CHECK(unit_from_cgroup("0::/docker/0123abcd\n").empty());  // not a systemd-managed path
  CHECK(unit_from_cgroup("").empty());
  // cgroup v1 (or hybrid without a unified line): the name=systemd hierarchy.
  CHECK(unit_from_cgroup("12:cpu,cpuacct:/system.slice/x.service\n1:name=systemd:/system.slice/cron.service\n") ==
        "cron.service");
  // Hybrid: the unified line wins.
  CHECK(unit_from_cgroup("1:name=systemd:/system.slice/a.service\n0::/system.slice/b.service\n") == "b.service");
}

TEST_CASE("the host is read from gethostname, machine-id and the boot id") {
  const auto dir = std::filesystem::temp_directory_path() / ("auditfwd-host-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "etc");
  std::filesystem::create_directories(dir / "proc/sys/kernel/random");
  std::ofstream(dir / "etc/machine-id") << "0123456789abcdef0123456789abcdef\n";
  std::ofstream(dir / "proc/sys/kernel/random/boot_id") << "c0ffee00-0000-4000-8000-000000000001\n";
  const auto host = read_host_identity((dir / "etc").string(), (dir / "proc").string());
  std::array<char, 256> name{};
  REQUIRE(::gethostname(name.data(), name.size() - 1) == 0);
  CHECK(host.hostname == name.data());
  CHECK(host.machine_id == "0123456789abcdef0123456789abcdef");
  CHECK(host.boot_id == "c0ffee00-0000-4000-8000-000000000001");
  const auto missing = read_host_identity((dir / "none").string(), (dir / "none").string());
  CHECK(missing.machine_id.empty());
  CHECK(missing.boot_id.empty());
  std::filesystem::remove_all(dir);
  CHECK(local_host().boot_id == first_line("/proc/sys/kernel/random/boot_id"));
}
