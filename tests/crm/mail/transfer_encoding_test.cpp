// Content-Transfer-Encoding: tolerant decoding, and a note when it had to be.

#include <catch2/catch.hpp>

#include <string>

#include "transfer_encoding.hpp"

namespace {

using lodestone::mail::decode_transfer;
using lodestone::mail::decoded_size;
using lodestone::mail::parse_transfer_encoding;
using lodestone::mail::TransferEncoding;
using lodestone::mail::Warning;
using lodestone::mail::Warnings;

TEST_CASE("The encoding is read from the field, comments and case aside") {
  CHECK(parse_transfer_encoding(" Base64 ") == TransferEncoding::base64);
  CHECK(parse_transfer_encoding("QUOTED-PRINTABLE (for the umlauts)") == TransferEncoding::quoted_printable);
  CHECK(parse_transfer_encoding("8bit") == TransferEncoding::identity);
  CHECK(parse_transfer_encoding("x-uuencode") == TransferEncoding::identity);
  CHECK(parse_transfer_encoding("") == TransferEncoding::identity);
}

TEST_CASE("Base64 skips line breaks and garbage, and says when there was garbage") {
  Warnings warnings;
  CHECK(decode_transfer("aGVsbG8g\r\nd29ybGQ=\r\n", TransferEncoding::base64, &warnings) == "hello world");
  CHECK(warnings.empty());
  CHECK(decode_transfer("aGVs!!bG8*gd29y\nbGQ", TransferEncoding::base64, &warnings) == "hello world");
  CHECK(warnings.has(Warning::bad_transfer_encoding));
  CHECK(decode_transfer("Y", TransferEncoding::base64).empty());  // a lone sextet makes no byte
  CHECK(decode_transfer("", TransferEncoding::base64).empty());
}

TEST_CASE("Quoted-printable handles soft breaks, lower-case hex and broken escapes") {
  Warnings warnings;
  CHECK(decode_transfer("caf=C3=A9 =\r\ncr=c3=a8me", TransferEncoding::quoted_printable, &warnings) ==
        "café crème");
  CHECK(warnings.empty());
  CHECK(decode_transfer("trailing  \r\nline", TransferEncoding::quoted_printable) == "trailing\nline");
  CHECK(decode_transfer("soft= \t\r\nbreak", TransferEncoding::quoted_printable) == "softbreak");
  CHECK(decode_transfer("100=ZZ =4", TransferEncoding::quoted_printable, &warnings) == "100=ZZ =4");
  CHECK(warnings.has(Warning::bad_transfer_encoding));
}

TEST_CASE("Identity leaves the body alone, NUL bytes included") {
  const std::string body("a\0b", 3);
  CHECK(decode_transfer(body, TransferEncoding::identity) == body);
  CHECK(decoded_size(body, TransferEncoding::identity) == 3);
}

TEST_CASE("decoded_size counts what decoding would produce") {
  for (const char* body : {"aGVsbG8gd29ybGQ=", "aGVsbG8\ngd29y\nbGQ", "YQ==YQ==", "", "!!!!"}) {
    INFO(body);
    CHECK(decoded_size(body, TransferEncoding::base64) == decode_transfer(body, TransferEncoding::base64).size());
  }
  for (const char* body : {"caf=C3=A9 =\r\nx", "=\n=\n=", "a=ZZ", "line  \r\nnext"}) {
    INFO(body);
    CHECK(decoded_size(body, TransferEncoding::quoted_printable) ==
          decode_transfer(body, TransferEncoding::quoted_printable).size());
  }
}

}  // namespace
