// Errors from the CRM store.
//
// Every error says which database (its directory path, when known), which
// operation failed and what is wrong, e.g.
//   "/var/lib/lodestone/crm: put into 'contacts': MDB_MAP_FULL: ...".
// code() is the LMDB return code (or the errno LMDB passed on), 0 when the
// error was detected by Lodestone itself (a record that does not decode, a
// schema version that does not match, ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace lodestone::crm {

class StoreError : public std::runtime_error {
 public:
  StoreError(int code, std::string operation, std::string path, const std::string& detail);

  int code() const noexcept { return code_; }
  const std::string& operation() const noexcept { return operation_; }
  const std::string& path() const noexcept { return path_; }

 private:
  int code_;
  std::string operation_;
  std::string path_;
};

// The memory map is full (MDB_MAP_FULL). The Writer grows the map and retries,
// so its callers see this only once the map reached WriterOptions::max_map_size.
class MapFullError : public StoreError {
 public:
  using StoreError::StoreError;
};

// Something that must exist does not: a key read with Txn::at(), a database
// opened without creating it, a store opened read-only before it was created.
class NotFoundError : public StoreError {
 public:
  using StoreError::StoreError;
};

// An insert that must not overwrite found its key already there (MDB_KEYEXIST).
class KeyExistsError : public StoreError {
 public:
  using StoreError::StoreError;
};

// The store was written with another schema version than this build expects,
// or (code() == MDB_VERSION_MISMATCH) by an LMDB with another file format; in
// that case found() and expected() are 0 because LMDB does not say which.
class VersionMismatchError : public StoreError {
 public:
  VersionMismatchError(int code, std::string operation, std::string path, const std::string& detail,
                       std::uint32_t found, std::uint32_t expected);

  std::uint32_t found() const noexcept { return found_; }
  std::uint32_t expected() const noexcept { return expected_; }

 private:
  std::uint32_t found_;
  std::uint32_t expected_;
};

// LMDB found the file damaged (MDB_CORRUPTED, MDB_PAGE_NOTFOUND) or not an
// LMDB file at all (MDB_INVALID). Restore from a backup.
class CorruptionError : public StoreError {
 public:
  using StoreError::StoreError;
};

// A stored record or key does not decode: truncated, trailing bytes, a value
// out of range, or a record version newer than this build reads. Distinct
// from CorruptionError because LMDB itself is intact: the cause is usually a
// newer or buggy writer, and the other records remain readable.
class RecordError : public StoreError {
 public:
  RecordError(std::string operation, std::string path, const std::string& detail, std::size_t offset);

  // Byte offset in the record or key where decoding failed.
  std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

}  // namespace lodestone::crm
