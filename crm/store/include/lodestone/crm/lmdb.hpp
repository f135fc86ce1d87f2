// LMDB, wrapped: RAII handles for the environment, transactions, named
// databases and cursors, with errors that name the database path.
//
// Lifetimes:
// - Keys and values returned by get(), at() and cursors are string_views into
//   LMDB's memory map. They are valid only until their transaction ends
//   (commit, abort, destruction) and, in a write transaction, only until its
//   next write (any write may move pages). Copy what must outlive that.
// - A Cursor may outlive its transaction (it then refuses to move), not the Env.
// - Transactions must end before their Env is destroyed.
//
// Threads: the Env is opened with MDB_NOTLS, so a read transaction may begin
// on one thread and be used or ended on another (one thread at a time).
//
// Map size: mdb_env_set_mapsize unmaps and maps the file again, which would
// invalidate every string_view handed out. Env::set_map_size therefore waits
// until no transaction of the Env is open in this process. Consequence for
// callers: never wait for something that needs a write (a Writer future)
// while holding a transaction, or a map growth can wait for you forever.
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <filesystem>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "lodestone/crm/store_error.hpp"

namespace lodestone::crm {

// Throws the StoreError subclass that matches an LMDB return code, e.g.
// MapFullError for MDB_MAP_FULL. `operation` says what was attempted.
[[noreturn]] void throw_lmdb_error(int code, std::string_view operation, std::string_view path);

struct EnvOptions {
  // Initial size of the memory map. It is address space, not disk: the file
  // grows with the data. The Writer doubles it whenever a commit does not fit.
  std::size_t map_size = std::size_t{1} << 30;
  unsigned max_databases = 64;  // named databases: one per table and per index
  unsigned max_readers = 126;   // read transactions open at once, all processes
  unsigned flags = 0;           // extra MDB_* flags (MDB_RDONLY, ...); MDB_NOTLS is always set
  mdb_mode_t file_mode = 0600;  // the store holds private mail
};

class TxnGate;

class Env {
 public:
  // Opens the environment in `directory`, creating the directory and the
  // files if they do not exist yet (unless MDB_RDONLY is among the flags).
  explicit Env(const std::filesystem::path& directory, const EnvOptions& options = {});
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  MDB_env* handle() const noexcept { return env_; }
  const std::string& path() const noexcept { return path_; }

  // The current size of the memory map in bytes.
  std::size_t map_size() const;

  // Resizes the memory map. Waits until no transaction of this Env is open;
  // new transactions are held back meanwhile (for a short while only, so a
  // thread that holds one and opens a second is delayed, not deadlocked).
  // The calling thread must not hold a transaction of this Env.
  void set_map_size(std::size_t bytes);

 private:
  friend class Txn;
  // Another process grew the map (MDB_MAP_RESIZED): map the new size too.
  void adopt_map_size_from_file();

  std::string path_;
  MDB_env* env_ = nullptr;
  std::unique_ptr<TxnGate> gate_;
};

class Dbi;

namespace detail {
// What a transaction and its cursors share: cursors learn from it that the
// transaction ended (LMDB frees a write transaction's cursors itself).
struct TxnState {
  MDB_txn* handle = nullptr;  // null once the transaction ended
  bool read_only = false;
  bool hit_map_full = false;
  const std::string* path = nullptr;  // the Env's
  // LMDB ends a nested transaction together with its parent; the child's
  // owner must then not end it a second time.
  std::weak_ptr<TxnState> child;
};
}  // namespace detail

// A transaction. Ends (aborts) in its destructor if still open.
class Txn {
 public:
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&& other) noexcept;
  ~Txn();

  // Makes a write transaction's changes durable. For a read transaction it
  // only keeps databases opened in it (Dbi::open) usable afterwards.
  void commit();
  // Ends the transaction, discarding a write transaction's changes.
  void abort() noexcept;

  bool is_open() const noexcept { return state_ && state_->handle != nullptr; }
  bool is_read_only() const noexcept { return state_ && state_->read_only; }
  // Null once the transaction ended.
  MDB_txn* handle() const noexcept { return state_ ? state_->handle : nullptr; }
  Env& env() const noexcept { return *env_; }

  // The value stored under `key`, or nothing.
  std::optional<std::string_view> get(const Dbi& dbi, std::string_view key) const;
  // The value stored under `key`; NotFoundError if there is none.
  std::string_view at(const Dbi& dbi, std::string_view key) const;
  // Number of entries in the database.
  std::size_t count(const Dbi& dbi) const;

  // Whether an operation of this transaction failed with MDB_MAP_FULL, even
  // if the caller caught the MapFullError. LMDB marks such a transaction as
  // failed; only aborting it is possible.
  bool hit_map_full() const noexcept { return state_ && state_->hit_map_full; }

 protected:
  // Begins a transaction; `parent` (a write transaction) makes it nested.
  Txn(Env& env, Txn* parent, unsigned flags);
  [[noreturn]] void fail(int code, std::string_view operation, const Dbi& dbi) const;
  [[noreturn]] void fail(int code, std::string_view operation) const;
  void require_open(std::string_view operation) const;

 private:
  friend class Cursor;
  void end(bool commit);

  Env* env_;
  std::shared_ptr<detail::TxnState> state_;
  bool holds_gate_ = false;  // top-level transactions count against map resizes
};

class ReadTxn : public Txn {
 public:
  explicit ReadTxn(Env& env);
};

class WriteTxn : public Txn {
 public:
  explicit WriteTxn(Env& env);

  // A nested transaction: its changes join this one when it commits and are
  // dropped when it aborts. This one must not be used while it is open.
  WriteTxn begin_nested();

  // Stores `value` under `key`, replacing what was there.
  void put(const Dbi& dbi, std::string_view key, std::string_view value);
  // Stores `value` under a key that must be new; KeyExistsError otherwise.
  void insert(const Dbi& dbi, std::string_view key, std::string_view value);
  // Removes `key`; false if it was not there.
  bool erase(const Dbi& dbi, std::string_view key);

 private:
  struct Nested {};
  WriteTxn(WriteTxn& parent, Nested);
};

// A handle to a named database. It is not closed on destruction: handles
// belong to the environment (mdb_env_close releases them), and closing one
// while another transaction uses it is undefined in LMDB. Open each database
// once at start-up and keep the Dbi.
class Dbi {
 public:
  // Opens an existing database; NotFoundError if there is none of that name.
  // Opened in a read transaction, the handle stays usable only if that
  // transaction is committed.
  static Dbi open(Txn& txn, std::string_view name, unsigned flags = 0);
  // Opens a database, creating it if needed. Other transactions may use the
  // handle once `txn` has committed.
  static Dbi create(WriteTxn& txn, std::string_view name, unsigned flags = 0);

  MDB_dbi handle() const noexcept { return handle_; }
  const std::string& name() const noexcept { return name_; }

 private:
  Dbi(MDB_dbi handle, std::string name) : handle_(handle), name_(std::move(name)) {}
  MDB_dbi handle_;
  std::string name_;
};

struct Entry {
  std::string_view key;
  std::string_view value;
};

// Keys from `lower` (inclusive) up to `upper` (exclusive; none: to the end),
// in LMDB's order: bytewise, shorter first when one is a prefix of the other.
struct KeyRange {
  std::string lower;
  std::optional<std::string> upper;

  static KeyRange all() { return {}; }
  // Every key that starts with `prefix`.
  static KeyRange with_prefix(std::string_view prefix);
};

enum class Direction { forward, backward };

class Cursor;

// The entries of a KeyRange, walked by a cursor: `for (auto [key, value] : scan)`.
// Single pass: begin() positions the cursor.
class Scan {
 public:
  class Iterator {
   public:
    using value_type = Entry;
    using difference_type = std::ptrdiff_t;

    const Entry& operator*() const { return *entry_; }
    const Entry* operator->() const { return &*entry_; }
    Iterator& operator++();
    void operator++(int) { ++*this; }
    friend bool operator==(const Iterator& it, std::default_sentinel_t) { return !it.entry_; }

   private:
    friend class Scan;
    Iterator(Scan& scan, std::optional<Entry> entry) : scan_(&scan), entry_(entry) {}
    Scan* scan_;
    std::optional<Entry> entry_;
  };

  Iterator begin();
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  friend class Cursor;
  Scan(Cursor& cursor, KeyRange range, Direction direction)
      : cursor_(&cursor), range_(std::move(range)), direction_(direction) {}
  // `entry` if it is inside the range, else nothing (the walk is over).
  std::optional<Entry> within_range(std::optional<Entry> entry) const;

  Cursor* cursor_;
  KeyRange range_;
  Direction direction_;
};

// A cursor over one database in one transaction. Each move returns the entry
// it lands on, or nothing when there is none.
class Cursor {
 public:
  Cursor(const Txn& txn, const Dbi& dbi);
  Cursor(Cursor&& other) noexcept;
  Cursor& operator=(Cursor&& other) noexcept;
  ~Cursor();

  std::optional<Entry> first();
  std::optional<Entry> last();
  std::optional<Entry> next();
  std::optional<Entry> prev();
  // The first entry whose key is >= `key`.
  std::optional<Entry> seek(std::string_view key);
  // The entry whose key is exactly `key`.
  std::optional<Entry> find(std::string_view key);

  Scan scan(KeyRange range, Direction direction = Direction::forward) {
    return Scan(*this, std::move(range), direction);
  }

 private:
  std::optional<Entry> move_to(MDB_cursor_op op, std::string_view key = {});
  void close() noexcept;

  std::shared_ptr<detail::TxnState> txn_;
  MDB_cursor* cursor_ = nullptr;
  std::string db_name_;
};

}  // namespace lodestone::crm
