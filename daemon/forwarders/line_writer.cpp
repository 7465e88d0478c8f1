// JSON-lines output with writev: one system call per batch when the kernel takes it all.
#include "forwarders/line_writer.hpp"

#include <sys/uio.h>
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

namespace auditfwd {

std::string write_event_lines(int fd, std::span<const Event> events) {
  static constexpr char newline = '\n';
  std::vector<iovec> pieces;
  pieces.reserve(events.size() * 2);
  for (const auto& event : events) {
    pieces.push_back({const_cast<char*>(event.json.data()), event.json.size()});
    pieces.push_back({const_cast<char*>(&newline), 1});
  }
  std::size_t first = 0;
  while (first < pieces.size()) {
    const int count = static_cast<int>(std::min<std::size_t>(pieces.size() - first, IOV_MAX));
    const ssize_t written = ::writev(fd, pieces.data() + first, count);
    if (written < 0) {
      if (errno == EINTR) continue;
      return std::strerror(errno);
    }
    auto remaining = static_cast<std::size_t>(written);
    while (first < pieces.size() && remaining >= pieces[first].iov_len) remaining -= pieces[first++].iov_len;
    if (first < pieces.size()) {
      pieces[first].iov_base = static_cast<char*>(pieces[first].iov_base) + remaining;
      pieces[first].iov_len -= remaining;
    }
  }
  return {};
}

}  // namespace auditfwd
