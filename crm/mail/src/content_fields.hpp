// Content-Type and Content-Disposition: a lower-case value and its
// parameters, with RFC 2231 (continuations, charset'language'value) and the
// RFC 2047 words many mailers put in parameters anyway.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lodestone/mail.hpp"

namespace lodestone::mail {

struct Parameter {
  std::string name;   // lower-case, with any RFC 2231 "*n*" suffix
  std::string value;  // unquoted bytes, not yet decoded
};

struct ContentField {
  std::string value;  // lower-case token(s): "text/plain", "attachment"; empty when invalid
  std::vector<Parameter> parameters;
};

// Tolerant: comments are dropped, a value is taken up to the next ';' when it
// is not quoted (so "boundary=----=_Part_1" survives), and a quote left open
// runs to the end.
ContentField parse_content_field(std::string_view raw);

// The first parameter called exactly `name`, as written (for boundary and charset).
std::optional<std::string_view> raw_parameter(const ContentField& field, std::string_view name);

// Parameter `name` decoded to UTF-8: from its RFC 2231 sections or extended
// form when present, else the plain value with RFC 2047 words decoded.
// Empty when absent.
std::string decoded_parameter(const ContentField& field, std::string_view name,
                              Warnings* warnings = nullptr);

// A file name as a file name: the last component of a path, since some
// mailers send "C:\Documents\offer.pdf".
std::string file_name_of(std::string_view path);

}  // namespace lodestone::mail
