// Body formats and gzip (zlib's deflate with a gzip wrapper) for the `http` forwarder.
#include "forwarders/http_body.hpp"

#include <zlib.h>
#include <stdexcept>

namespace auditfwd {

std::string build_body(HttpBodyFormat format, std::span<const Event> events) {
  std::size_t size = 2;
  for (const auto& event : events) size += event.json.size() + 1;
  std::string body;
  body.reserve(size);
  switch (format) {
    case HttpBodyFormat::json:
      if (!events.empty()) body = events.front().json;
      break;
    case HttpBodyFormat::ndjson:
      for (const auto& event : events) body.append(event.json).push_back('\n');
      break;
    case HttpBodyFormat::json_array:
      body.push_back('[');
      for (std::size_t i = 0; i < events.size(); ++i) {
        if (i) body.push_back(',');
        body.append(events[i].json);
      }
      body.push_back(']');
      break;
  }
  return body;
}

std::string gzip_compress(std::string_view data) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("gzip: deflateInit2 failed");
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  const auto written = stream.total_out;
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("gzip: deflate did not finish");
  out.resize(written);
  return out;
}

}  // namespace auditfwd
