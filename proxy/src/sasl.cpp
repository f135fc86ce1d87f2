#include "sasl.hpp"

#include <array>

namespace lodestone::sasl {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::array<int, 4> v{};
    int padding = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++padding;
        continue;
      }
      if (padding > 0) return std::nullopt;  // data after padding
      v[k] = base64_value(c);
      if (v[k] < 0) return std::nullopt;
    }
    const unsigned bits = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out += static_cast<char>((bits >> 16) & 0xff);
    if (padding < 2) out += static_cast<char>((bits >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(bits & 0xff);
  }
  return out;
}

std::optional<PlainCredentials> parse_plain(std::string_view message) {
  const std::size_t first = message.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = message.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  PlainCredentials c;
  c.authzid = message.substr(0, first);
  c.authcid = message.substr(first + 1, second - first - 1);
  c.password = message.substr(second + 1);
  if (c.authcid.empty() || c.password.find('\0') != std::string::npos) return std::nullopt;
  return c;
}

std::string make_plain(const PlainCredentials& credentials) {
  std::string out = credentials.authzid;
  out += '\0';
  out += credentials.authcid;
  out += '\0';
  out += credentials.password;
  return out;
}

std::optional<std::string> xoauth2_user(std::string_view message) {
  // Fields are separated by ^A; the first is "user=<name>".
  const std::size_t end = message.find('\x01');
  const std::string_view field = message.substr(0, end);
  if (field.substr(0, 5) != "user=" || field.size() == 5 || end == std::string_view::npos) return std::nullopt;
  return std::string(field.substr(5));
}

std::optional<std::string> oauthbearer_user(std::string_view message) {
  // gs2-header = gs2-cb-flag "," [ "a=" saslname ] "," ; then ^A key=value pairs.
  const std::size_t first_comma = message.find(',');
  if (first_comma == std::string_view::npos) return std::nullopt;
  const std::size_t second_comma = message.find(',', first_comma + 1);
  if (second_comma == std::string_view::npos) return std::nullopt;
  const std::string_view authzid = message.substr(first_comma + 1, second_comma - first_comma - 1);
  if (authzid.substr(0, 2) != "a=" || authzid.size() == 2) return std::nullopt;
  std::string user;
  for (std::size_t i = 2; i < authzid.size(); ++i) {
    if (authzid[i] == '=') {
      const std::string_view escape = authzid.substr(i, 3);
      if (escape == "=2C") user += ',';
      else if (escape == "=3D") user += '=';
      else return std::nullopt;
      i += 2;
    } else {
      user += authzid[i];
    }
  }
  return user;
}

}  // namespace lodestone::sasl
