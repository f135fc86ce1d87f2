// SASL mechanisms the proxy understands before login: enough to learn who is
// logging in (to route) and to replay the login upstream.  Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lodestone::sasl {

std::string base64_encode(std::string_view bytes);
// Strict RFC 4648 decoding (padding required); nullopt on any bad character.
std::optional<std::string> base64_decode(std::string_view text);

struct PlainCredentials {
  std::string authzid;   // usually empty
  std::string authcid;   // the login name
  std::string password;
};

// PLAIN (RFC 4616): authzid NUL authcid NUL passwd, already base64-decoded.
std::optional<PlainCredentials> parse_plain(std::string_view message);
std::string make_plain(const PlainCredentials& credentials);

// The user named in an XOAUTH2 initial response ("user=...^Aauth=Bearer ...^A^A").
std::optional<std::string> xoauth2_user(std::string_view message);
// The authzid of an OAUTHBEARER (RFC 7628) initial response's GS2 header
// ("n,a=user@example.com,^A..."), with =2C and =3D decoded.
std::optional<std::string> oauthbearer_user(std::string_view message);

}  // namespace lodestone::sasl
