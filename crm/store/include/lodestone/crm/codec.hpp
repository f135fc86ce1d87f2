// Codecs for the CRM store's keys and records.
//
// Keys sort the way LMDB compares them: bytewise. Integers are therefore
// fixed-width big-endian (signed ones with the sign bit flipped), so byte
// order is numeric order. Composite keys are built part by part with
// KeyBuilder; strings in keys are escaped and terminated rather than length-
// prefixed, because a length prefix would sort "zz" before "aaa".
//
// Records (values) start with a version byte and continue with fields written
// by RecordWriter. RecordReader checks every read against the end of the
// record: a truncated, garbled or too new record throws RecordError, it is
// never read past its end.
//
// Ids: Key128 is a 128-bit key; hash128 derives one from content (SHA-256,
// truncated), e.g. the id of an email from its normalised Message-ID.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lodestone::crm {

// ---- Fixed-width big-endian integers ----

std::string encode_u16(std::uint16_t value);
std::string encode_u32(std::uint32_t value);
std::string encode_u64(std::uint64_t value);
// Each needs exactly its width in bytes; RecordError otherwise.
std::uint16_t decode_u16(std::string_view bytes);
std::uint32_t decode_u32(std::string_view bytes);
std::uint64_t decode_u64(std::string_view bytes);

// ---- 128-bit ids ----

struct Key128 {
  static constexpr std::size_t size = 16;
  std::array<std::uint8_t, size> bytes{};

  // The 16 bytes, as stored in keys.
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(bytes.data()), size}; }
  // 32 lower-case hex digits, as shown to people (`lodestone crm thread show ID`).
  std::string to_hex() const;

  // RecordError unless `raw` is exactly 16 bytes.
  static Key128 from_bytes(std::string_view raw);
  // Nothing unless `hex` is exactly 32 hex digits (either case).
  static std::optional<Key128> from_hex(std::string_view hex);

  friend auto operator<=>(const Key128&, const Key128&) = default;
};

// The first 128 bits of SHA-256 over `purpose` (length-prefixed) and `data`.
// SHA-256 rather than a faster non-cryptographic hash because the inputs
// (Message-IDs, message content) are chosen by whoever sends the mail: with
// a hash whose collisions can be constructed, a crafted message could take
// the id of another and be deduplicated into it. `purpose` keeps id spaces
// apart: the same bytes hashed for two purposes give unrelated ids.
Key128 hash128(std::string_view purpose, std::string_view data);

// The id of an email: from its Message-ID, normalised as crm/mail does
// (trimmed, <> stripped, domain part lower-cased), or from the raw message
// when it has none. The two can never collide with each other.
Key128 email_id_from_message_id(std::string_view normalised_message_id);
Key128 email_id_from_content(std::string_view raw_message);

// ---- Writing keys and records ----

// Appends fixed-width big-endian fields; shared by keys and records.
template <class Self>
class FieldWriter {
 public:
  Self& u8(std::uint8_t value) { return append(value); }
  Self& u16(std::uint16_t value) { return append(value); }
  Self& u32(std::uint32_t value) { return append(value); }
  Self& u64(std::uint64_t value) { return append(value); }
  // Two's complement with the sign bit flipped: negative numbers sort first.
  Self& i64(std::int64_t value) { return append(static_cast<std::uint64_t>(value) ^ (std::uint64_t{1} << 63)); }
  Self& key128(const Key128& key) {
    bytes_.append(key.view());
    return self();
  }

  std::string_view view() const noexcept { return bytes_; }
  // Moves the bytes out, leaving the writer empty.
  std::string take() noexcept { return std::move(bytes_); }

 protected:
  Self& self() { return static_cast<Self&>(*this); }
  std::string bytes_;

 private:
  template <class Unsigned>
  Self& append(Unsigned value) {
    for (int shift = 8 * (sizeof(Unsigned) - 1); shift >= 0; shift -= 8)
      bytes_.push_back(static_cast<char>((value >> shift) & 0xff));
    return self();
  }
};

// A key, part after part: `KeyBuilder().u64(user).string(folder).u32(uid)`.
// Keys built from the same sequence of part types sort like the tuples of
// their values.
class KeyBuilder : public FieldWriter<KeyBuilder> {
 public:
  // Bytes 0x00 become 00 01 and the string ends with 00 00, so the string
  // sorts first (bytewise) whatever follows it, and its end is unambiguous.
  // A prefix scan over every key with a given string part uses the key built
  // up to and including that part.
  KeyBuilder& string(std::string_view text);
};

// A record: a version byte, then the fields in the order the reader expects.
class RecordWriter : public FieldWriter<RecordWriter> {
 public:
  // Versions start at 1: a zero version byte is read as garbage.
  explicit RecordWriter(std::uint8_t version);

  RecordWriter& boolean(bool value);
  // LEB128: 7 bits per byte, least significant first; small numbers take one byte.
  RecordWriter& varint(std::uint64_t value);
  // A varint length, then the bytes.
  RecordWriter& string(std::string_view bytes);
};

// ---- Reading keys and records ----

// Where the bytes being decoded came from, for error messages.
struct Origin {
  std::string_view path;      // the store's directory
  std::string_view database;  // e.g. "contacts"
};

// Bounds-checked reads of fixed-width big-endian fields; shared by keys and
// records. Every read past the end throws RecordError.
class FieldReader {
 public:
  std::uint8_t u8();
  std::uint16_t u16();
  std::uint32_t u32();
  std::uint64_t u64();
  std::int64_t i64();
  Key128 key128();

  std::size_t remaining() const noexcept { return bytes_.size() - offset_; }
  bool at_end() const noexcept { return offset_ == bytes_.size(); }
  // RecordError if bytes are left: a record longer than its fields is garbage.
  void expect_end() const;

 protected:
  FieldReader(std::string_view bytes, Origin origin, std::string_view kind);
  // The next `count` bytes; `what` names the field for the error message.
  std::string_view take(std::size_t count, std::string_view what);
  template <class Unsigned>
  Unsigned read_big_endian(std::string_view what);
  [[noreturn]] void fail(std::size_t offset, const std::string& detail) const;

  std::string_view bytes_;
  std::size_t offset_ = 0;

 private:
  Origin origin_;
  std::string_view kind_;  // "key" or "record"
};

class KeyReader : public FieldReader {
 public:
  explicit KeyReader(std::string_view key, Origin origin = {});
  // A string part written by KeyBuilder::string.
  std::string string();
};

class RecordReader : public FieldReader {
 public:
  // Reads the version byte. RecordError if the record is empty, its version
  // is 0, or newer than `newest_version` (the newest this code can decode).
  RecordReader(std::string_view record, std::uint8_t newest_version, Origin origin = {});

  std::uint8_t version() const noexcept { return version_; }

  bool boolean();
  std::uint64_t varint();
  // Points into the record; valid as long as the record's bytes are.
  std::string_view string();
  // A varint count of the elements that follow, each at least
  // `min_element_size` bytes long; RecordError if the rest of the record
  // cannot hold that many, so a garbled count cannot trigger a huge reserve.
  std::size_t count(std::size_t min_element_size = 1);

 private:
  std::uint8_t version_ = 0;
};

}  // namespace lodestone::crm
