// The blocking-I/O pool shared by the file and stdout forwarders.
#include "forwarders/blocking_io.hpp"

namespace auditfwd {

boost::asio::thread_pool& blocking_io_pool() {
  static boost::asio::thread_pool pool(2);
  return pool;
}

}  // namespace auditfwd
