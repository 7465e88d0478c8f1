// Job ids: assigned by the store's writer, never reused.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <cstddef>
#include <cstdint>

namespace auditfwd {

// Job ids are never reused, so an id in a reply keeps naming one job. The
// writer assigns them from a block reserved in `meta` by the same transaction
// that first uses it; a restart continues past the reservation.
// (AUTOINCREMENT would give the same guarantee by rewriting its
// sqlite_sequence page in every commit: a whole extra page per small commit.)
// Writer thread only.
class JobIdSequence {
 public:
  // Ids are reserved this many at a time (one meta row written per block).
  static constexpr std::int64_t block = 65536;

  // Continues past every id the database holds or ever reserved.
  explicit JobIdSequence(SQLite::Database& db);

  // The first of `count` consecutive new ids, reserving a new block inside
  // the running transaction when needed.
  std::int64_t take(std::size_t count);

  // How far the running transaction has reserved: an operation rolled back
  // alone restores what it saw before it ran (its reservation is undone).
  std::int64_t reserved() const noexcept { return reserved_; }
  void restore(std::int64_t reserved) noexcept { reserved_ = reserved; }

  // The end of the running transaction.
  void committed() noexcept { committed_reserved_ = reserved_; }
  void rolled_back() noexcept { reserved_ = committed_reserved_; }

 private:
  SQLite::Statement reserve_;
  std::int64_t next_ = 1;
  std::int64_t reserved_ = 0;            // in the running transaction
  std::int64_t committed_reserved_ = 0;  // in the database
};

}  // namespace auditfwd
