#include "lodestone/crm/codec.hpp"

#include <openssl/evp.h>

#include <cstring>
#include <memory>
#include <stdexcept>

#include "lodestone/crm/store_error.hpp"

namespace lodestone::crm {
namespace {

template <class Unsigned>
std::string encode_big_endian(Unsigned value) {
  std::string bytes(sizeof(Unsigned), '\0');
  for (std::size_t i = sizeof(Unsigned); i-- > 0; value >>= 8) bytes[i] = static_cast<char>(value & 0xff);
  return bytes;
}

template <class Unsigned>
Unsigned decode_big_endian(std::string_view bytes, const char* type_name) {
  if (bytes.size() != sizeof(Unsigned))
    throw RecordError(
        std::string("decode a ") + type_name, "",
        "needs exactly " + std::to_string(sizeof(Unsigned)) + " bytes, got " + std::to_string(bytes.size()), 0);
  Unsigned value = 0;
  for (char byte : bytes) value = static_cast<Unsigned>((value << 8) | static_cast<unsigned char>(byte));
  return value;
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const EVP_MD& sha256() {
  // Fetched once: an implicit fetch on every EVP_DigestInit_ex costs a lookup
  // in OpenSSL's provider store. Never freed, like any process-wide constant.
  static EVP_MD* const digest = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (!digest) throw std::runtime_error("OpenSSL provides no SHA-256 (needed for email ids)");
  return *digest;
}

}  // namespace

std::string encode_u16(std::uint16_t value) { return encode_big_endian(value); }
std::string encode_u32(std::uint32_t value) { return encode_big_endian(value); }
std::string encode_u64(std::uint64_t value) { return encode_big_endian(value); }
std::uint16_t decode_u16(std::string_view bytes) { return decode_big_endian<std::uint16_t>(bytes, "u16"); }
std::uint32_t decode_u32(std::string_view bytes) { return decode_big_endian<std::uint32_t>(bytes, "u32"); }
std::uint64_t decode_u64(std::string_view bytes) { return decode_big_endian<std::uint64_t>(bytes, "u64"); }

// ---- Key128 and hashes ----

std::string Key128::to_hex() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * size);
  for (std::uint8_t byte : bytes) {
    hex.push_back(digits[byte >> 4]);
    hex.push_back(digits[byte & 0x0f]);
  }
  return hex;
}

Key128 Key128::from_bytes(std::string_view raw) {
  if (raw.size() != size)
    throw RecordError("decode a 128-bit key", "", "needs exactly 16 bytes, got " + std::to_string(raw.size()), 0);
  Key128 key;
  std::memcpy(key.bytes.data(), raw.data(), size);
  return key;
}

std::optional<Key128> Key128::from_hex(std::string_view hex) {
  if (hex.size() != 2 * size) return std::nullopt;
  Key128 key;
  for (std::size_t i = 0; i < size; ++i) {
    const int high = hex_digit_value(hex[2 * i]);
    const int low = hex_digit_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    key.bytes[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return key;
}

Key128 hash128(std::string_view purpose, std::string_view data) {
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  // Length-prefixed, so no (purpose, data) pair can pose as another.
  const std::string purpose_length = encode_u32(static_cast<std::uint32_t>(purpose.size()));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (!context || !EVP_DigestInit_ex(context.get(), &sha256(), nullptr) ||
      !EVP_DigestUpdate(context.get(), purpose_length.data(), purpose_length.size()) ||
      !EVP_DigestUpdate(context.get(), purpose.data(), purpose.size()) ||
      !EVP_DigestUpdate(context.get(), data.data(), data.size()) ||
      !EVP_DigestFinal_ex(context.get(), digest, &digest_size))
    throw std::runtime_error("SHA-256 failed in OpenSSL while hashing a " + std::string(purpose));
  Key128 key;
  std::memcpy(key.bytes.data(), digest, Key128::size);
  return key;
}

Key128 email_id_from_message_id(std::string_view normalised_message_id) {
  return hash128("message-id", normalised_message_id);
}

Key128 email_id_from_content(std::string_view raw_message) { return hash128("content", raw_message); }

// ---- Writers ----

KeyBuilder& KeyBuilder::string(std::string_view text) {
  for (char c : text) {
    bytes_.push_back(c);
    if (c == '\0') bytes_.push_back('\x01');
  }
  bytes_.append(2, '\0');
  return *this;
}

RecordWriter::RecordWriter(std::uint8_t version) {
  if (version == 0) throw std::invalid_argument("record versions start at 1");
  u8(version);
}

RecordWriter& RecordWriter::boolean(bool value) { return u8(value ? 1 : 0); }

RecordWriter& RecordWriter::varint(std::uint64_t value) {
  while (value >= 0x80) {
    bytes_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  bytes_.push_back(static_cast<char>(value));
  return *this;
}

RecordWriter& RecordWriter::string(std::string_view bytes) {
  varint(bytes.size());
  bytes_.append(bytes);
  return *this;
}

// ---- Readers ----

FieldReader::FieldReader(std::string_view bytes, Origin origin, std::string_view kind)
    : bytes_(bytes), origin_(origin), kind_(kind) {}

void FieldReader::fail(std::size_t offset, const std::string& detail) const {
  std::string operation = "decode a " + std::string(kind_);
  if (!origin_.database.empty()) operation += " from '" + std::string(origin_.database) + "'";
  throw RecordError(std::move(operation), std::string(origin_.path),
                    detail + " (at byte " + std::to_string(offset) + " of " + std::to_string(bytes_.size()) + ")",
                    offset);
}

std::string_view FieldReader::take(std::size_t count, std::string_view what) {
  if (count > remaining())
    fail(offset_, "truncated: " + std::string(what) + " needs " + std::to_string(count) + " bytes, " +
                      std::to_string(remaining()) + " left");
  const std::string_view taken = bytes_.substr(offset_, count);
  offset_ += count;
  return taken;
}

template <class Unsigned>
Unsigned FieldReader::read_big_endian(std::string_view what) {
  Unsigned value = 0;
  for (char byte : take(sizeof(Unsigned), what))
    value = static_cast<Unsigned>((value << 8) | static_cast<unsigned char>(byte));
  return value;
}

std::uint8_t FieldReader::u8() { return read_big_endian<std::uint8_t>("a u8"); }
std::uint16_t FieldReader::u16() { return read_big_endian<std::uint16_t>("a u16"); }
std::uint32_t FieldReader::u32() { return read_big_endian<std::uint32_t>("a u32"); }
std::uint64_t FieldReader::u64() { return read_big_endian<std::uint64_t>("a u64"); }

std::int64_t FieldReader::i64() {
  return static_cast<std::int64_t>(read_big_endian<std::uint64_t>("an i64") ^ (std::uint64_t{1} << 63));
}

Key128 FieldReader::key128() { return Key128::from_bytes(take(Key128::size, "a 128-bit key")); }

void FieldReader::expect_end() const {
  if (!at_end()) fail(offset_, std::to_string(remaining()) + " unexpected bytes after the last field");
}

KeyReader::KeyReader(std::string_view key, Origin origin) : FieldReader(key, origin, "key") {}

std::string KeyReader::string() {
  const std::size_t start = offset_;
  std::string text;
  for (std::size_t i = offset_; i < bytes_.size(); ++i) {
    if (bytes_[i] != '\0') {
      text.push_back(bytes_[i]);
      continue;
    }
    if (i + 1 == bytes_.size()) break;  // a lone 0x00 at the end: truncated
    const char escaped = bytes_[++i];
    if (escaped == '\0') {
      offset_ = i + 1;
      return text;
    }
    if (escaped != '\x01') fail(i, "a string part has 0x00 followed by an invalid byte");
    text.push_back('\0');
  }
  fail(start, "truncated: a string part has no terminator");
}

RecordReader::RecordReader(std::string_view record, std::uint8_t newest_version, Origin origin)
    : FieldReader(record, origin, "record") {
  if (record.empty()) fail(0, "the record is empty");
  version_ = u8();
  if (version_ == 0) fail(0, "record version 0 is not valid");
  if (version_ > newest_version)
    fail(0, "record version " + std::to_string(version_) + " is newer than this build reads (" +
                std::to_string(newest_version) + ")");
}

bool RecordReader::boolean() {
  const std::size_t start = offset_;
  const std::uint8_t value = read_big_endian<std::uint8_t>("a boolean");
  if (value > 1) fail(start, "a boolean is " + std::to_string(value) + ", not 0 or 1");
  return value == 1;
}

std::uint64_t RecordReader::varint() {
  const std::size_t start = offset_;
  std::uint64_t value = 0;
  for (int shift = 0;; shift += 7) {
    const std::uint8_t byte = read_big_endian<std::uint8_t>("a varint");
    // The 10th byte holds bit 63 only.
    if (shift == 63 && byte > 1) fail(start, "a varint overflows 64 bits");
    value |= std::uint64_t{byte & 0x7fu} << shift;
    if (!(byte & 0x80)) {
      // One encoding per number, so equal values mean equal record bytes.
      if (byte == 0 && shift > 0) fail(start, "a varint has a redundant trailing byte");
      return value;
    }
  }
}

std::string_view RecordReader::string() {
  const std::uint64_t length = varint();
  // The message is built only when the string does not fit: building it on
  // every call cost a heap allocation per string read.
  if (length > remaining())
    fail(offset_, "truncated: a string of " + std::to_string(length) + " bytes, " + std::to_string(remaining()) +
                      " left");
  return take(static_cast<std::size_t>(length), "a string");
}

std::size_t RecordReader::count(std::size_t min_element_size) {
  const std::size_t start = offset_;
  const std::uint64_t elements = varint();
  if (min_element_size > 0 && elements > remaining() / min_element_size)
    fail(start, "a count of " + std::to_string(elements) + " elements cannot fit in the " +
                    std::to_string(remaining()) + " bytes left");
  return static_cast<std::size_t>(elements);
}

}  // namespace lodestone::crm
