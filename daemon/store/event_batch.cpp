// Batch blobs: varint-framed jobs, compressed whole with zstd at its fastest level
// (stamped events of one commit share most of their text).
#include "store/event_batch.hpp"

#include <zstd.h>
#include <memory>

namespace auditfwd {
namespace {

constexpr char blob_magic = 'B';
constexpr char blob_version = 1;
// zstd's fastest regular level: ~4x on stamped events at a fraction of a
// microsecond each, which is what the writer thread can spend.
constexpr int compression_level = 1;

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

std::uint64_t get_varint(std::string_view& in) {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) throw CorruptBatch("batch blob ends inside a number");
    const auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return value;
  }
  throw CorruptBatch("batch blob holds an over-long number");
}

struct CompressionContexts {
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> compress{ZSTD_createCCtx(), &ZSTD_freeCCtx};
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> decompress{ZSTD_createDCtx(), &ZSTD_freeDCtx};
};

// One pair per thread: contexts keep their tables between batches.
CompressionContexts& contexts() {
  thread_local CompressionContexts instance;
  return instance;
}

// The raw text starts with a fixed-size header (job count, first job id),
// filled in by finish_into, so jobs append straight after it.
constexpr std::size_t header_size = 12;

void put_fixed(char* out, std::uint64_t value, std::size_t bytes) {
  for (std::size_t k = 0; k < bytes; ++k) out[k] = static_cast<char>((value >> (8 * k)) & 0xFF);
}

std::uint64_t get_fixed(std::string_view& in, std::size_t bytes) {
  if (in.size() < bytes) throw CorruptBatch("batch blob ends inside its header");
  std::uint64_t value = 0;
  for (std::size_t k = 0; k < bytes; ++k)
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[k])) << (8 * k);
  in.remove_prefix(bytes);
  return value;
}

}  // namespace

void EventBatchWriter::add(std::int64_t job_id, std::string_view payload) {
  if (jobs_ == 0) {
    raw_.assign(header_size, '\0');
    first_job_id_ = last_job_id_ = job_id;
  }
  put_varint(raw_, static_cast<std::uint64_t>(job_id - last_job_id_));
  put_varint(raw_, payload.size());
  raw_.append(payload);
  last_job_id_ = job_id;
  ++jobs_;
}

std::size_t EventBatchWriter::finish_into(std::vector<char>& out) {
  if (jobs_ == 0) raw_.assign(header_size, '\0');
  put_fixed(raw_.data(), jobs_, 4);
  put_fixed(raw_.data() + 4, static_cast<std::uint64_t>(first_job_id_), 8);
  const auto bound = 2 + ZSTD_compressBound(raw_.size());
  if (out.size() < bound) out.resize(bound);
  out[0] = blob_magic;
  out[1] = blob_version;
  const auto size = ZSTD_compressCCtx(contexts().compress.get(), out.data() + 2, out.size() - 2, raw_.data(),
                                      raw_.size(), compression_level);
  if (ZSTD_isError(size)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(size));
  clear();
  return 2 + size;
}

std::string EventBatchWriter::finish() {
  std::vector<char> out;
  const auto size = finish_into(out);
  return std::string(out.data(), size);
}

void EventBatchWriter::clear() noexcept {
  raw_.clear();
  jobs_ = 0;
  first_job_id_ = last_job_id_ = 0;
}

std::vector<BatchJob> decode_event_batch(std::string_view blob) {
  if (blob.size() < 2 || blob[0] != blob_magic || blob[1] != blob_version)
    throw CorruptBatch("not a batch blob of this version");
  blob.remove_prefix(2);
  const auto raw_size = ZSTD_getFrameContentSize(blob.data(), blob.size());
  if (raw_size == ZSTD_CONTENTSIZE_ERROR || raw_size == ZSTD_CONTENTSIZE_UNKNOWN || raw_size > (1u << 30))
    throw CorruptBatch("batch blob is not a zstd frame of known size");
  std::string raw(raw_size, '\0');
  const auto size = ZSTD_decompressDCtx(contexts().decompress.get(), raw.data(), raw.size(), blob.data(), blob.size());
  if (ZSTD_isError(size) || size != raw_size) throw CorruptBatch("batch blob does not decompress");
  std::string_view in(raw);
  const auto count = get_fixed(in, 4);
  auto job_id = static_cast<std::int64_t>(get_fixed(in, 8));
  std::vector<BatchJob> jobs;
  jobs.reserve(count);
  for (std::uint64_t k = 0; k < count; ++k) {
    job_id += static_cast<std::int64_t>(get_varint(in));
    const auto length = get_varint(in);
    if (length > in.size()) throw CorruptBatch("batch blob ends inside an event");
    jobs.push_back(BatchJob{job_id, std::string(in.substr(0, length))});
    in.remove_prefix(length);
  }
  if (!in.empty()) throw CorruptBatch("batch blob has bytes after its last event");
  return jobs;
}

}  // namespace auditfwd
