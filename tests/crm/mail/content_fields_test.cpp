// Content-Type / Content-Disposition values and their parameters (RFC 2045,
// RFC 2231, and the RFC 2047 words mailers put in parameters anyway).

#include <catch2/catch.hpp>

#include <string>

#include "content_fields.hpp"

namespace {

using lodestone::mail::ContentField;
using lodestone::mail::decoded_parameter;
using lodestone::mail::file_name_of;
using lodestone::mail::parse_content_field;
using lodestone::mail::raw_parameter;

std::string raw(const ContentField& field, std::string_view name) {
  return std::string(raw_parameter(field, name).value_or("<absent>"));
}

TEST_CASE("A value and its parameters") {
  const auto field = parse_content_field("Text/Plain; charset=\"UTF-8\"; Format=flowed");
  CHECK(field.value == "text/plain");
  CHECK(raw(field, "charset") == "UTF-8");
  CHECK(raw(field, "format") == "flowed");
  CHECK(raw(field, "delsp") == "<absent>");
}

TEST_CASE("Quoted values keep their semicolons, blanks and escaped quotes") {
  CHECK(raw(parse_content_field("multipart/mixed; boundary=\"a;b c\""), "boundary") == "a;b c");
  CHECK(raw(parse_content_field("text/plain; name=\"say \\\"hi\\\".txt\""), "name") == "say \"hi\".txt");
}

TEST_CASE("Comments and folding are dropped") {
  const auto field = parse_content_field("text/plain (body text) ;\r\n\tcharset=us-ascii (plain)");
  CHECK(field.value == "text/plain");
  CHECK(raw(field, "charset") == "us-ascii");
}

TEST_CASE("Sloppy but common forms") {
  CHECK(raw(parse_content_field("multipart/mixed; boundary=----=_NextPart_000_0000"), "boundary") ==
        "----=_NextPart_000_0000");
  const auto no_semicolon = parse_content_field("text/plain charset=us-ascii");
  CHECK(no_semicolon.value == "text/plain");
  CHECK(raw(no_semicolon, "charset") == "us-ascii");
  CHECK(parse_content_field("TEXT / HTML").value == "text/html");
  CHECK(parse_content_field("multipart/mixed ; boundary=x").value == "multipart/mixed");
  CHECK(raw(parse_content_field("text/plain; name=\"unterminated"), "name") == "unterminated");
  CHECK(parse_content_field("").value.empty());
  CHECK(parse_content_field("te\xFExt/plain; charset=x").value.empty());  // not a token: no value
  CHECK(parse_content_field("text/pl[a]in").value.empty());
  CHECK(parse_content_field(";;;=;==").parameters.empty());
}

TEST_CASE("The examples of RFC 2231") {
  const auto url = parse_content_field(
      "message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n"
      " URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"");
  CHECK(decoded_parameter(url, "url") == "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar");
  CHECK(decoded_parameter(parse_content_field(
                              "application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"),
                          "title") == "This is ***fun***");
  CHECK(decoded_parameter(parse_content_field("application/x-stuff;\r\n"
                                              " title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n"
                                              " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n"
                                              " title*2=\"isn't it!\""),
                          "title") == "This is even more ***fun*** isn't it!");
}

TEST_CASE("RFC 2231 sections join bytes before the charset is applied") {
  // "€" (E2 82 AC) split across two sections.
  CHECK(decoded_parameter(parse_content_field("attachment; filename*0*=UTF-8''%E2%82; filename*1*=%AC.pdf"),
                          "filename") == "€.pdf");
  CHECK(decoded_parameter(parse_content_field("attachment; filename*=iso-8859-1''r%E9sum%E9.pdf"),
                          "filename") == "résumé.pdf");
}

TEST_CASE("RFC 2231 sections in any order, up to the first gap") {
  CHECK(decoded_parameter(parse_content_field("a; name*1=\"b.txt\"; name*0=\"a\""), "name") == "ab.txt");
  CHECK(decoded_parameter(parse_content_field("a; name*0=a; name*2=c"), "name") == "a");
  CHECK(decoded_parameter(parse_content_field("a; name*99999=x"), "name").empty());
  CHECK(decoded_parameter(parse_content_field("a; name*0=sections; name=plain"), "name") == "sections");
}

TEST_CASE("Plain parameters may hold RFC 2047 words or raw 8-bit text") {
  CHECK(decoded_parameter(parse_content_field("application/pdf; name=\"=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?=\""),
                          "name") == "résumé.pdf");
  CHECK(decoded_parameter(parse_content_field("application/pdf; name=\"r\xE9sum\xE9.pdf\""), "name") ==
        "résumé.pdf");
  CHECK(decoded_parameter(parse_content_field("application/pdf"), "name").empty());
}

TEST_CASE("File names lose the path some mailers send") {
  CHECK(file_name_of("C:\\Documents\\offer.pdf") == "offer.pdf");
  CHECK(file_name_of("../../etc/passwd") == "passwd");
  CHECK(file_name_of("report.pdf") == "report.pdf");
}

}  // namespace
