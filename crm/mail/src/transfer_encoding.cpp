#include "transfer_encoding.hpp"

#include <mimetic/codec/base64.h>
#include <mimetic/codec/code.h>
#include <mimetic/codec/qp.h>

#include <iterator>

#include "ascii.hpp"
#include "lexer.hpp"

namespace lodestone::mail {
namespace {

// An output iterator that only counts what is written through it.
class CountingIterator {
 public:
  using iterator_category = std::output_iterator_tag;
  using value_type = void;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = void;

  explicit CountingIterator(std::uint64_t& count) : count_(&count) {}
  CountingIterator& operator*() { return *this; }
  CountingIterator& operator=(char) {
    ++*count_;
    return *this;
  }
  CountingIterator& operator++() { return *this; }
  CountingIterator operator++(int) { return *this; }

 private:
  std::uint64_t* count_;
};

bool is_base64_char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '=';
}

bool is_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

// The decoders accept anything; this says whether they had to.
bool is_valid_encoding(std::string_view body, TransferEncoding encoding) {
  if (encoding == TransferEncoding::base64) {
    for (unsigned char c : body) {
      if (!is_base64_char(c) && c != '\r' && c != '\n' && c != ' ' && c != '\t') return false;
    }
    return true;
  }
  if (encoding == TransferEncoding::quoted_printable) {
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (body[i] != '=') continue;
      // "=XX", or a soft line break: "=" then optional blanks then the line end.
      if (i + 2 < body.size() && is_hex(static_cast<unsigned char>(body[i + 1])) &&
          is_hex(static_cast<unsigned char>(body[i + 2]))) {
        i += 2;
        continue;
      }
      std::size_t j = i + 1;
      while (j < body.size() && (body[j] == ' ' || body[j] == '\t')) ++j;
      if (j < body.size() && body[j] != '\r' && body[j] != '\n') return false;
    }
  }
  return true;
}

template <typename Out>
void decode_into(std::string_view body, TransferEncoding encoding, Out out) {
  if (encoding == TransferEncoding::base64) {
    mimetic::Base64::Decoder decoder;
    mimetic::decode(body.begin(), body.end(), decoder, out);
  } else {
    mimetic::QP::Decoder decoder;
    mimetic::decode(body.begin(), body.end(), decoder, out);
  }
}

}  // namespace

TransferEncoding parse_transfer_encoding(std::string_view value) {
  const std::string token = lower_ascii(trim(strip_comments(value)));
  if (token == "base64") return TransferEncoding::base64;
  if (token == "quoted-printable") return TransferEncoding::quoted_printable;
  return TransferEncoding::identity;
}

std::string decode_transfer(std::string_view body, TransferEncoding encoding, Warnings* warnings) {
  if (encoding == TransferEncoding::identity) return std::string(body);
  if (warnings && !is_valid_encoding(body, encoding)) warnings->add(Warning::bad_transfer_encoding);
  std::string decoded;
  decoded.reserve(encoding == TransferEncoding::base64 ? body.size() / 4 * 3 + 3 : body.size());
  decode_into(body, encoding, std::back_inserter(decoded));
  return decoded;
}

std::uint64_t decoded_size(std::string_view body, TransferEncoding encoding, Warnings* warnings) {
  if (encoding == TransferEncoding::identity) return body.size();
  if (warnings && !is_valid_encoding(body, encoding)) warnings->add(Warning::bad_transfer_encoding);
  std::uint64_t count = 0;
  decode_into(body, encoding, CountingIterator(count));
  return count;
}

}  // namespace lodestone::mail
