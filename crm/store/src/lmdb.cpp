#include "lodestone/crm/lmdb.hpp"

#include <chrono>
#include <system_error>
#include <utility>

#include "txn_gate.hpp"

namespace lodestone::crm {
namespace {

MDB_val to_val(std::string_view bytes) {
  // LMDB never writes through a key or data pointer it is given.
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

std::string_view to_view(const MDB_val& val) { return {static_cast<const char*>(val.mv_data), val.mv_size}; }

std::string on_database(std::string_view operation, const std::string& db_name) {
  return std::string(operation) + " '" + db_name + "'";
}

// Long enough for any sane transaction of this process to end; a resize
// waiting longer is stuck on a transaction held across it.
constexpr std::chrono::seconds adopt_map_size_patience{10};

}  // namespace

void throw_lmdb_error(int code, std::string_view operation_view, std::string_view path_view) {
  std::string operation(operation_view);
  std::string path(path_view);
  const std::string detail = mdb_strerror(code);
  switch (code) {
    case MDB_MAP_FULL:
      throw MapFullError(code, std::move(operation), std::move(path), detail);
    case MDB_NOTFOUND:
      throw NotFoundError(code, std::move(operation), std::move(path), detail);
    case MDB_KEYEXIST:
      throw KeyExistsError(code, std::move(operation), std::move(path), detail);
    case MDB_VERSION_MISMATCH:
      throw VersionMismatchError(code, std::move(operation), std::move(path), detail, 0, 0);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
      throw CorruptionError(code, std::move(operation), std::move(path), detail);
    default:
      throw StoreError(code, std::move(operation), std::move(path), detail);
  }
}

// ---- Env ----

Env::Env(const std::filesystem::path& directory, const EnvOptions& options)
    : path_(directory.string()), gate_(std::make_unique<TxnGate>()) {
  if (!(options.flags & (MDB_RDONLY | MDB_NOSUBDIR))) {
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (error) throw StoreError(error.value(), "create the store directory", path_, error.message());
  }
  int rc = mdb_env_create(&env_);
  if (rc != 0) throw_lmdb_error(rc, "create the environment", path_);
  const auto close_and_throw = [&](int code, std::string_view operation) {
    mdb_env_close(env_);  // LMDB requires it even after a failed open
    env_ = nullptr;
    throw_lmdb_error(code, operation, path_);
  };
  if ((rc = mdb_env_set_maxdbs(env_, options.max_databases)) != 0)
    close_and_throw(rc, "set the maximum number of databases");
  if ((rc = mdb_env_set_maxreaders(env_, options.max_readers)) != 0)
    close_and_throw(rc, "set the maximum number of readers");
  if ((rc = mdb_env_set_mapsize(env_, options.map_size)) != 0) close_and_throw(rc, "set the map size");
  if ((rc = mdb_env_open(env_, path_.c_str(), options.flags | MDB_NOTLS, options.file_mode)) != 0)
    close_and_throw(rc, "open the environment");
}

Env::~Env() {
  if (env_) mdb_env_close(env_);
}

std::size_t Env::map_size() const {
  MDB_envinfo info{};
  if (const int rc = mdb_env_info(env_, &info); rc != 0) throw_lmdb_error(rc, "read the map size", path_);
  return info.me_mapsize;
}

void Env::set_map_size(std::size_t bytes) {
  gate_->run_exclusive([&] {
    if (const int rc = mdb_env_set_mapsize(env_, bytes); rc != 0)
      throw_lmdb_error(rc, "resize the map to " + std::to_string(bytes) + " bytes", path_);
  });
}

void Env::adopt_map_size_from_file() {
  const bool adopted = gate_->run_exclusive(
      [&] {
        // Size 0 means: take the size another process recorded in the file.
        if (const int rc = mdb_env_set_mapsize(env_, 0); rc != 0)
          throw_lmdb_error(rc, "adopt the map size grown by another process", path_);
      },
      TxnGate::Clock::now() + adopt_map_size_patience);
  if (!adopted)
    throw StoreError(MDB_MAP_RESIZED, "begin a transaction", path_,
                     "another process grew the map, and this process cannot map the new size while one of "
                     "its transactions stays open");
}

// ---- Txn ----

Txn::Txn(Env& env, Txn* parent, unsigned flags) : env_(&env), state_(std::make_shared<detail::TxnState>()) {
  state_->read_only = (flags & MDB_RDONLY) != 0;
  state_->path = &env.path_;
  if (parent) parent->require_open("begin a nested transaction");
  const bool top_level = parent == nullptr;
  for (;;) {
    if (top_level) env.gate_->enter();
    MDB_txn* handle = nullptr;
    const int rc = mdb_txn_begin(env.env_, top_level ? nullptr : parent->handle(), flags, &handle);
    if (rc == 0) {
      state_->handle = handle;
      holds_gate_ = top_level;
      if (parent) parent->state_->child = state_;
      return;
    }
    if (top_level) env.gate_->leave();
    if (rc == MDB_MAP_RESIZED && top_level) {
      env.adopt_map_size_from_file();
      continue;
    }
    throw_lmdb_error(rc, state_->read_only ? "begin a read transaction" : "begin a write transaction", env.path_);
  }
}

Txn::Txn(Txn&& other) noexcept
    : env_(other.env_), state_(std::move(other.state_)), holds_gate_(std::exchange(other.holds_gate_, false)) {}

Txn& Txn::operator=(Txn&& other) noexcept {
  if (this != &other) {
    abort();
    env_ = other.env_;
    state_ = std::move(other.state_);
    holds_gate_ = std::exchange(other.holds_gate_, false);
  }
  return *this;
}

Txn::~Txn() { abort(); }

void Txn::commit() {
  require_open("commit");
  end(true);
}

void Txn::abort() noexcept {
  if (is_open()) end(false);
}

void Txn::end(bool commit) {
  // LMDB ends open nested transactions along with this one.
  for (auto child = state_->child.lock(); child; child = child->child.lock()) child->handle = nullptr;
  MDB_txn* handle = std::exchange(state_->handle, nullptr);
  int rc = 0;
  if (commit) {
    rc = mdb_txn_commit(handle);  // frees the transaction even when it fails
  } else {
    mdb_txn_abort(handle);
  }
  // Only now, with the reader slot or write lock released, may a resize run.
  if (holds_gate_) {
    holds_gate_ = false;
    env_->gate_->leave();
  }
  if (rc != 0) fail(rc, "commit");
}

std::optional<std::string_view> Txn::get(const Dbi& dbi, std::string_view key) const {
  require_open("get");
  MDB_val key_val = to_val(key);
  MDB_val value{};
  const int rc = mdb_get(handle(), dbi.handle(), &key_val, &value);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) fail(rc, "get from", dbi);
  return to_view(value);
}

std::string_view Txn::at(const Dbi& dbi, std::string_view key) const {
  if (auto value = get(dbi, key)) return *value;
  throw NotFoundError(MDB_NOTFOUND, on_database("get from", dbi.name()), env_->path(), "no entry with this key");
}

std::size_t Txn::count(const Dbi& dbi) const {
  require_open("count");
  MDB_stat stat{};
  if (const int rc = mdb_stat(handle(), dbi.handle(), &stat); rc != 0) fail(rc, "count the entries of", dbi);
  return stat.ms_entries;
}

void Txn::fail(int code, std::string_view operation, const Dbi& dbi) const {
  fail(code, on_database(operation, dbi.name()));
}

void Txn::fail(int code, std::string_view operation) const {
  if (code == MDB_MAP_FULL && state_) state_->hit_map_full = true;
  throw_lmdb_error(code, operation, env_->path());
}

void Txn::require_open(std::string_view operation) const {
  if (!is_open()) throw StoreError(0, std::string(operation), env_->path(), "the transaction has already ended");
}

ReadTxn::ReadTxn(Env& env) : Txn(env, nullptr, MDB_RDONLY) {}

WriteTxn::WriteTxn(Env& env) : Txn(env, nullptr, 0) {}

WriteTxn::WriteTxn(WriteTxn& parent, Nested) : Txn(parent.env(), &parent, 0) {}

WriteTxn WriteTxn::begin_nested() { return WriteTxn(*this, Nested{}); }

void WriteTxn::put(const Dbi& dbi, std::string_view key, std::string_view value) {
  require_open("put");
  MDB_val key_val = to_val(key);
  MDB_val value_val = to_val(value);
  if (const int rc = mdb_put(handle(), dbi.handle(), &key_val, &value_val, 0); rc != 0) fail(rc, "put into", dbi);
}

void WriteTxn::insert(const Dbi& dbi, std::string_view key, std::string_view value) {
  require_open("insert");
  MDB_val key_val = to_val(key);
  MDB_val value_val = to_val(value);
  if (const int rc = mdb_put(handle(), dbi.handle(), &key_val, &value_val, MDB_NOOVERWRITE); rc != 0)
    fail(rc, "insert into", dbi);
}

bool WriteTxn::erase(const Dbi& dbi, std::string_view key) {
  require_open("erase");
  MDB_val key_val = to_val(key);
  const int rc = mdb_del(handle(), dbi.handle(), &key_val, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) fail(rc, "erase from", dbi);
  return true;
}

// ---- Dbi ----

Dbi Dbi::open(Txn& txn, std::string_view name, unsigned flags) {
  std::string owned_name(name);
  if (!txn.is_open())
    throw StoreError(0, on_database("open database", owned_name), txn.env().path(),
                     "the transaction has already ended");
  MDB_dbi handle = 0;
  const int rc = mdb_dbi_open(txn.handle(), owned_name.c_str(), flags, &handle);
  if (rc == MDB_NOTFOUND)
    throw NotFoundError(rc, on_database("open database", owned_name), txn.env().path(), "no database of this name");
  if (rc != 0) throw_lmdb_error(rc, on_database("open database", owned_name), txn.env().path());
  return Dbi(handle, std::move(owned_name));
}

Dbi Dbi::create(WriteTxn& txn, std::string_view name, unsigned flags) { return open(txn, name, flags | MDB_CREATE); }

// ---- KeyRange, Scan ----

KeyRange KeyRange::with_prefix(std::string_view prefix) {
  KeyRange range{std::string(prefix), std::nullopt};
  // The smallest key above every key that starts with `prefix`: drop trailing
  // 0xff bytes, then increment the last byte. None if the prefix is all 0xff.
  std::string upper(prefix);
  while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) upper.pop_back();
  if (!upper.empty()) {
    upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
    range.upper = std::move(upper);
  }
  return range;
}

Scan::Iterator Scan::begin() {
  std::optional<Entry> start;
  if (direction_ == Direction::forward) {
    start = range_.lower.empty() ? cursor_->first() : cursor_->seek(range_.lower);
  } else if (range_.upper) {
    start = cursor_->seek(*range_.upper) ? cursor_->prev() : cursor_->last();
  } else {
    start = cursor_->last();
  }
  return Iterator(*this, within_range(start));
}

Scan::Iterator& Scan::Iterator::operator++() {
  entry_ =
      scan_->within_range(scan_->direction_ == Direction::forward ? scan_->cursor_->next() : scan_->cursor_->prev());
  return *this;
}

std::optional<Entry> Scan::within_range(std::optional<Entry> entry) const {
  if (!entry) return std::nullopt;
  if (direction_ == Direction::forward) {
    if (range_.upper && entry->key >= *range_.upper) return std::nullopt;
  } else if (entry->key < range_.lower) {
    return std::nullopt;
  }
  return entry;
}

// ---- Cursor ----

Cursor::Cursor(const Txn& txn, const Dbi& dbi) : txn_(txn.state_), db_name_(dbi.name()) {
  if (!txn.is_open())
    throw StoreError(0, on_database("open a cursor over", db_name_), txn.env().path(),
                     "the transaction has already ended");
  if (const int rc = mdb_cursor_open(txn.handle(), dbi.handle(), &cursor_); rc != 0)
    throw_lmdb_error(rc, on_database("open a cursor over", db_name_), txn.env().path());
}

Cursor::Cursor(Cursor&& other) noexcept
    : txn_(std::move(other.txn_)),
      cursor_(std::exchange(other.cursor_, nullptr)),
      db_name_(std::move(other.db_name_)) {}

Cursor& Cursor::operator=(Cursor&& other) noexcept {
  if (this != &other) {
    close();
    txn_ = std::move(other.txn_);
    cursor_ = std::exchange(other.cursor_, nullptr);
    db_name_ = std::move(other.db_name_);
  }
  return *this;
}

Cursor::~Cursor() { close(); }

void Cursor::close() noexcept {
  if (!cursor_) return;
  // LMDB frees a write transaction's cursors when it ends; a read
  // transaction's must be closed by us, before or after it ends.
  if (txn_->handle || txn_->read_only) mdb_cursor_close(cursor_);
  cursor_ = nullptr;
}

std::optional<Entry> Cursor::first() { return move_to(MDB_FIRST); }
std::optional<Entry> Cursor::last() { return move_to(MDB_LAST); }
std::optional<Entry> Cursor::next() { return move_to(MDB_NEXT); }
std::optional<Entry> Cursor::prev() { return move_to(MDB_PREV); }
std::optional<Entry> Cursor::seek(std::string_view key) { return move_to(MDB_SET_RANGE, key); }
// MDB_SET_KEY, unlike MDB_SET, returns the key as stored in the map.
std::optional<Entry> Cursor::find(std::string_view key) { return move_to(MDB_SET_KEY, key); }

std::optional<Entry> Cursor::move_to(MDB_cursor_op op, std::string_view key) {
  if (!cursor_ || !txn_->handle)
    throw StoreError(0, on_database("move a cursor over", db_name_), txn_ ? *txn_->path : std::string(),
                     cursor_ ? "its transaction has already ended" : "the cursor was moved from");
  MDB_val key_val = to_val(key);
  MDB_val value{};
  const int rc = mdb_cursor_get(cursor_, &key_val, &value, op);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) throw_lmdb_error(rc, on_database("move a cursor over", db_name_), *txn_->path);
  return Entry{to_view(key_val), to_view(value)};
}

}  // namespace lodestone::crm
