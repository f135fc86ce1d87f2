#include <catch2/catch.hpp>

#include <compare>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "lodestone/crm/codec.hpp"
#include "lodestone/crm/store_error.hpp"

using namespace lodestone::crm;

namespace {

int sign(std::strong_ordering order) { return order < 0 ? -1 : order > 0 ? 1 : 0; }
int sign(int comparison) { return comparison < 0 ? -1 : comparison > 0 ? 1 : 0; }

// Half full-range values, half small ones: byte-order mistakes in the low
// bytes only show when the high bytes are equal.
std::uint64_t random_u64(std::mt19937_64& random) { return random() % 2 ? random() : random() % 1000; }

// A record shaped like a table row, to exercise every field type at once.
struct Contact {
  bool shared = false;
  std::uint64_t owner = 0;
  std::string name;
  std::int64_t modified = 0;
  std::vector<std::string> addresses;
  Key128 first_email;
  std::uint16_t flags = 0;

  bool operator==(const Contact&) const = default;
};

std::string encode(const Contact& contact) {
  RecordWriter record(1);
  record.boolean(contact.shared).varint(contact.owner).string(contact.name).i64(contact.modified);
  record.varint(contact.addresses.size());
  for (const std::string& address : contact.addresses) record.string(address);
  record.key128(contact.first_email).u16(contact.flags);
  return record.take();
}

Contact decode(std::string_view bytes) {
  RecordReader record(bytes, 1, {"/srv/crm", "contacts"});
  Contact contact;
  contact.shared = record.boolean();
  contact.owner = record.varint();
  contact.name = record.string();
  contact.modified = record.i64();
  for (std::size_t n = record.count(); n > 0; --n) contact.addresses.emplace_back(record.string());
  contact.first_email = record.key128();
  contact.flags = record.u16();
  record.expect_end();
  return contact;
}

Contact sample_contact() {
  return {true,
          300,
          "Ada Lovelace",
          -86400,
          {"ada@example.com", std::string("odd\0byte", 8), ""},
          email_id_from_message_id("1234@example.com"),
          0xbeef};
}

}  // namespace

TEST_CASE("big-endian integers sort like the numbers they encode") {
  std::mt19937_64 random(20240501);
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t a = random_u64(random);
    const std::uint64_t b = random_u64(random);
    CHECK(sign(a <=> b) == sign(encode_u64(a).compare(encode_u64(b))));
    const auto a32 = static_cast<std::uint32_t>(a), b32 = static_cast<std::uint32_t>(b);
    CHECK(sign(a32 <=> b32) == sign(encode_u32(a32).compare(encode_u32(b32))));
    const auto a16 = static_cast<std::uint16_t>(a), b16 = static_cast<std::uint16_t>(b);
    CHECK(sign(a16 <=> b16) == sign(encode_u16(a16).compare(encode_u16(b16))));
    const auto sa = static_cast<std::int64_t>(a), sb = static_cast<std::int64_t>(b);
    CHECK(sign(sa <=> sb) == sign(KeyBuilder().i64(sa).view().compare(KeyBuilder().i64(sb).view())));
  }
}

TEST_CASE("fixed-width integers round-trip and need their exact width") {
  for (std::uint64_t value : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0x0102030405060708},
                              std::numeric_limits<std::uint64_t>::max()}) {
    CHECK(encode_u64(value).size() == 8);
    CHECK(decode_u64(encode_u64(value)) == value);
    CHECK(decode_u32(encode_u32(static_cast<std::uint32_t>(value))) == static_cast<std::uint32_t>(value));
    CHECK(decode_u16(encode_u16(static_cast<std::uint16_t>(value))) == static_cast<std::uint16_t>(value));
  }
  CHECK(encode_u32(0x01020304) == std::string("\x01\x02\x03\x04"));
  CHECK_THROWS_AS(decode_u64("1234567"), RecordError);
  CHECK_THROWS_AS(decode_u32("12345"), RecordError);
  CHECK_THROWS_AS(decode_u16(""), RecordError);

  for (std::int64_t value : {std::numeric_limits<std::int64_t>::min(), std::int64_t{-1}, std::int64_t{0},
                             std::numeric_limits<std::int64_t>::max()}) {
    const std::string bytes = KeyBuilder().i64(value).take();
    KeyReader key(bytes);
    CHECK(key.i64() == value);
  }
}

TEST_CASE("composite keys sort like their tuples and read back") {
  // Strings from a small alphabet with the awkward bytes (0x00, 0x01, 0xff),
  // short, so equal strings and prefixes of one another are frequent.
  std::mt19937_64 random(7);
  const std::string alphabet{'\0', '\x01', 'a', 'b', '\xff'};
  std::vector<std::tuple<std::string, std::uint64_t>> tuples;
  std::vector<std::string> keys;
  for (int i = 0; i < 400; ++i) {
    std::string text;
    for (auto length = random() % 5; length > 0; --length) text.push_back(alphabet[random() % alphabet.size()]);
    const std::uint64_t number = random() % 4;
    tuples.emplace_back(text, number);
    keys.push_back(KeyBuilder().string(text).u64(number).take());
  }

  for (std::size_t i = 0; i < tuples.size(); ++i) {
    KeyReader reader(keys[i]);
    CHECK(reader.string() == std::get<0>(tuples[i]));
    CHECK(reader.u64() == std::get<1>(tuples[i]));
    CHECK(reader.at_end());
    const std::string string_part = KeyBuilder().string(std::get<0>(tuples[i])).take();
    for (std::size_t j = 0; j < tuples.size(); ++j) {
      INFO("keys " << i << " and " << j);
      CHECK(sign(tuples[i] <=> tuples[j]) == sign(keys[i].compare(keys[j])));
      // The key built up to the string part prefixes exactly the keys with that string.
      CHECK(keys[j].starts_with(string_part) == (std::get<0>(tuples[j]) == std::get<0>(tuples[i])));
    }
  }
}

TEST_CASE("key readers reject malformed string parts") {
  CHECK_THROWS_AS(KeyReader("abc").string(), RecordError);                      // no terminator
  CHECK_THROWS_AS(KeyReader(std::string("ab\0", 3)).string(), RecordError);     // half a terminator
  CHECK_THROWS_AS(KeyReader(std::string("a\0\x02", 3)).string(), RecordError);  // bad escape
  CHECK_THROWS_AS(KeyReader(KeyBuilder().u32(7).view()).u64(), RecordError);
}

TEST_CASE("128-bit keys: hex, bytes and order") {
  const Key128 id = email_id_from_message_id("abc@example.com");
  CHECK(id.to_hex().size() == 32);
  CHECK(Key128::from_hex(id.to_hex()) == id);
  CHECK(Key128::from_hex("B8D38BF7CAB5CF3303A19B00F230D65F") == Key128::from_hex("b8d38bf7cab5cf3303a19b00f230d65f"));
  CHECK_FALSE(Key128::from_hex("b8d38bf7cab5cf3303a19b00f230d65"));
  CHECK_FALSE(Key128::from_hex("g8d38bf7cab5cf3303a19b00f230d65f"));
  CHECK(Key128::from_bytes(id.view()) == id);
  CHECK_THROWS_AS(Key128::from_bytes("short"), RecordError);

  const Key128 other = email_id_from_content("abc@example.com");
  CHECK(sign(id <=> other) == sign(id.view().compare(other.view())));
}

TEST_CASE("hash128 is SHA-256 over the length-prefixed purpose and the data, truncated") {
  // Expected values computed independently with Python's hashlib:
  //   sha256(struct.pack('>I', len(purpose)) + purpose + data).hexdigest()[:32]
  CHECK(email_id_from_message_id("abc@example.com").to_hex() == "b8d38bf7cab5cf3303a19b00f230d65f");
  CHECK(email_id_from_content("abc@example.com").to_hex() == "e7ec5132a83a4470140e72088b4ac39a");
  CHECK(hash128("", "").to_hex() == "df3f619804a92fdb4057192dc43dd748");
  // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
  CHECK(hash128("ab", "c") != hash128("a", "bc"));
}

TEST_CASE("records round-trip every field type") {
  const Contact contact = sample_contact();
  CHECK(decode(encode(contact)) == contact);
  CHECK(decode(encode(Contact{})) == Contact{});

  for (std::uint64_t value : {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{128}, std::uint64_t{16383},
                              std::uint64_t{16384}, std::numeric_limits<std::uint64_t>::max()}) {
    const std::string bytes = RecordWriter(1).varint(value).take();
    RecordReader reader(bytes, 1);
    CHECK(reader.varint() == value);
    CHECK(reader.at_end());
  }
}

TEST_CASE("truncated records are rejected at every length") {
  const std::string bytes = encode(sample_contact());
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    INFO("truncated to " << length << " of " << bytes.size() << " bytes");
    CHECK_THROWS_AS(decode(bytes.substr(0, length)), RecordError);
  }
}

TEST_CASE("garbage records give RecordError, never anything else") {
  const std::string valid = encode(sample_contact());
  std::mt19937_64 random(99);
  int rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2) {  // random bytes, starting with a plausible version
      bytes.push_back('\x01');
      for (auto length = random() % 64; length > 0; --length) bytes.push_back(static_cast<char>(random()));
    } else {  // a valid record with a few bytes flipped
      bytes = valid;
      for (int flips = 1 + static_cast<int>(random() % 3); flips > 0; --flips)
        bytes[random() % bytes.size()] ^= static_cast<char>(1 + random() % 255);
    }
    try {
      decode(bytes);
    } catch (const RecordError&) {
      ++rejected;
    }
  }
  CHECK(rejected > 0);
}

TEST_CASE("record errors say what is wrong and where") {
  const Contact contact = sample_contact();
  try {
    decode(encode(contact).substr(0, 10));
    FAIL("a truncated record decoded");
  } catch (const RecordError& error) {
    const std::string message = error.what();
    CHECK(error.path() == "/srv/crm");
    CHECK(message.find("/srv/crm") != std::string::npos);
    CHECK(message.find("'contacts'") != std::string::npos);
    CHECK(message.find("truncated") != std::string::npos);
    CHECK(error.offset() <= 10);
  }

  CHECK_THROWS_AS(RecordReader("", 1), RecordError);
  CHECK_THROWS_AS(RecordReader(std::string(1, '\0'), 1), RecordError);
  CHECK_THROWS_WITH(RecordReader("\x02", 1), Catch::Contains("record version 2 is newer than this build reads (1)"));
  CHECK(RecordReader("\x01", 2).version() == 1);

  const std::string two_bytes = RecordWriter(1).u8(5).u8(6).take();
  RecordReader trailing(two_bytes, 1);
  trailing.u8();
  CHECK_THROWS_WITH(trailing.expect_end(), Catch::Contains("1 unexpected bytes"));

  CHECK_THROWS_AS(RecordReader("\x01\x02", 1).boolean(), RecordError);
  // 11 continuation bytes: more than 64 bits.
  CHECK_THROWS_AS(RecordReader("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 1).varint(), RecordError);
  // 0 written in two bytes: records must have one encoding per value.
  CHECK_THROWS_AS(RecordReader(std::string("\x01\x80\x00", 3), 1).varint(), RecordError);
  // A count of 1000 elements with 3 bytes left.
  const std::string short_list = RecordWriter(1).varint(1000).u8(1).u8(2).u8(3).take();
  RecordReader counted(short_list, 1);
  CHECK_THROWS_AS(counted.count(), RecordError);
  // A string longer than the record.
  CHECK_THROWS_AS(RecordReader(RecordWriter(1).varint(50).u8(1).view(), 1).string(), RecordError);
}
