// parse_message end to end: what the CRM gets from whole messages.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "lodestone/mail.hpp"
#include "mail_test_support.hpp"

namespace {

using lodestone::mail::Address;
using lodestone::mail::Attachment;
using lodestone::mail::MessageSummary;
using lodestone::mail::parse_message;
using lodestone::mail::ParseLimits;
using lodestone::mail::VCard;
using lodestone::mail::Warning;
using lodestone::mail::warning_name;
using lodestone::mail::test::is_valid_utf8;
using namespace std::string_literals;

// A customer's reply as Thunderbird would send it: alternative text and HTML,
// a PDF with an RFC 2231 name, and the sender's vCard.
const std::string customer_reply =
    "Return-Path: <anna@customer.example>\r\n"
    "Message-ID: <Reply-42@Mail.Customer.EXAMPLE>\r\n"
    "In-Reply-To: <offer-7@Sales.Example.COM>\r\n"
    "References: <lead-1@sales.example.com>\r\n"
    "  <offer-7@Sales.Example.COM>\r\n"
    "Date: Tue, 04 Mar 2025 09:15:00 +0100\r\n"
    "From: =?UTF-8?Q?Anna_M=C3=BCller?= <Anna.Mueller@Customer.Example>\r\n"
    "To: Sales Team <sales@sales.example.com>, \"Doe, John\" <john@sales.example.com>\r\n"
    "Cc: Purchasing: buyer@customer.example, boss@customer.example;\r\n"
    "Subject: =?UTF-8?B?UmU6IEFuZ2Vib3Qg4oCTIDIwMjU=?=\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"------------mixed\"\r\n"
    "\r\n"
    "This is a multi-part message in MIME format.\r\n"
    "--------------mixed\r\n"
    "Content-Type: multipart/alternative; boundary=\"------------alt\"\r\n"
    "\r\n"
    "--------------alt\r\n"
    "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Hello John, we accept the offer as =\r\n"
    "discussed.=20\r\n"
    "Gr=C3=BC=C3=9Fe, Anna\r\n"
    "--------------alt\r\n"
    "Content-Type: text/html; charset=UTF-8\r\n"
    "\r\n"
    "<p>Hello John, we accept the offer as discussed.</p>\r\n"
    "--------------alt--\r\n"
    "\r\n"
    "--------------mixed\r\n"
    "Content-Type: application/pdf; name=\"order.pdf\"\r\n"
    "Content-Disposition: attachment;\r\n"
    " filename*=UTF-8''Bestellung%20M%C3%BCller.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQK\r\n"
    "--------------mixed\r\n"
    "Content-Type: text/vcard; charset=UTF-8; name=\"anna.vcf\"\r\n"
    "Content-Disposition: attachment; filename=\"anna.vcf\"\r\n"
    "\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Anna Müller\r\n"
    "ORG:Customer GmbH;Einkauf\r\n"
    "EMAIL:anna.mueller@customer.example\r\n"
    "TEL;VALUE=uri:tel:+49-30-555-0100\r\n"
    "END:VCARD\r\n"
    "--------------mixed--\r\n";

TEST_CASE("A customer's reply, field by field") {
  const MessageSummary s = parse_message(customer_reply);
  CHECK(s.message_id == "Reply-42@mail.customer.example");
  CHECK(s.in_reply_to == "offer-7@sales.example.com");
  CHECK(s.references == std::vector<std::string>{"lead-1@sales.example.com", "offer-7@sales.example.com"});
  CHECK(s.date == 1741076100);
  CHECK(s.from == std::vector<Address>{{"Anna Müller", "Anna.Mueller@customer.example"}});
  CHECK(s.to == std::vector<Address>{{"Sales Team", "sales@sales.example.com"},
                                     {"Doe, John", "john@sales.example.com"}});
  CHECK(s.cc == std::vector<Address>{{"", "buyer@customer.example"}, {"", "boss@customer.example"}});
  CHECK(s.subject == "Re: Angebot – 2025");
  CHECK(s.text == "Hello John, we accept the offer as discussed. Grüße, Anna");
  CHECK_FALSE(s.text_from_html);
  CHECK(s.attachments == std::vector<Attachment>{{"Bestellung Müller.pdf", "application/pdf", 9},
                                                 {"anna.vcf", "text/vcard", 151}});
  REQUIRE(s.vcards.size() == 1);
  CHECK(s.vcards[0] == VCard{"Anna Müller", {"anna.mueller@customer.example"}, {"+49-30-555-0100"}, "Customer GmbH"});
  CHECK(s.warnings.empty());
  CHECK(is_valid_utf8(s));
}

TEST_CASE("HTML is reduced to text when there is no plain text") {
  const MessageSummary s = parse_message(
      "Subject: html\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
      "<html><head><style>p{}</style></head><body><p>Caf=E9 &amp; cr&egrave;me</p><p>Bye</p></body></html>");
  CHECK(s.text == "Café & crème\n\nBye");
  CHECK(s.text_from_html);
}

TEST_CASE("The charset an HTML part declares applies when the part names none") {
  const MessageSummary s = parse_message(
      "Content-Type: text/html\r\n\r\n"
      "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\"><p>\xF0\xD2\xC9\xD7\xC5\xD4</p>");
  CHECK(s.text == "Привет");
}

TEST_CASE("An empty plain alternative gives way to the HTML") {
  const MessageSummary s = parse_message(
      "Content-Type: multipart/alternative; boundary=b\n\n"
      "--b\nContent-Type: text/plain\n\n\n\n\n"
      "--b\nContent-Type: text/html\n\n<b>Only here</b>\n"
      "--b--\n");
  CHECK(s.text == "Only here");
  CHECK(s.text_from_html);
}

TEST_CASE("Inline text parts are joined, so a mailing list footer is kept") {
  const MessageSummary s = parse_message(
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\nContent-Type: multipart/alternative; boundary=a\n\n"
      "--a\nContent-Type: text/plain\n\nBody text\n"
      "--a\nContent-Type: text/html\n\n<p>Body text</p>\n"
      "--a--\n"
      "--b\nContent-Type: text/plain; charset=us-ascii\nContent-Disposition: inline\n\n"
      "_______________\nList footer\n"
      "--b--\n");
  CHECK(s.text == "Body text\n\n_______________\nList footer");
}

TEST_CASE("A forwarded message is an attachment, its text used only when there is no other") {
  const std::string forwarded =
      "Content-Type: multipart/mixed; boundary=f\n\n"
      "--f\nContent-Type: text/plain\n\nSee below.\n"
      "--f\nContent-Type: message/rfc822\n\n"
      "Subject: original\nFrom: x@y.example\nContent-Type: multipart/mixed; boundary=o\n\n"
      "--o\n\nOriginal text\n"
      "--o\nContent-Type: image/png; name=\"chart.png\"\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
      "--o--\n"
      "--f--\n";
  MessageSummary s = parse_message(forwarded);
  CHECK(s.text == "See below.");
  REQUIRE(s.attachments.size() == 2);
  CHECK(s.attachments[0].media_type == "message/rfc822");
  CHECK(s.attachments[1] == Attachment{"chart.png", "image/png", 8});
  CHECK(s.subject.empty());  // the attached message's header is not the message's

  s = parse_message(
      "Content-Type: multipart/mixed; boundary=f\n\n"
      "--f\nContent-Type: message/rfc822\n\nSubject: original\n\nOnly the original has text\n"
      "--f--\n");
  CHECK(s.text == "Only the original has text");
}

TEST_CASE("Text parts with a file name or an attachment disposition are attachments") {
  const MessageSummary s = parse_message(
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\n\nbody\n"
      "--b\nContent-Type: text/plain; name=notes.txt\n\nnotes\n"
      "--b\nContent-Type: text/html\nContent-Disposition: attachment\n\n<p>page</p>\n"
      "--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=contact.vcf\n"
      "Content-Transfer-Encoding: base64\n\nQkVHSU46VkNBUkQKRk46T3R0bwpFTkQ6VkNBUkQK\n"
      "--b--\n");
  CHECK(s.text == "body");
  CHECK(s.attachments == std::vector<Attachment>{{"notes.txt", "text/plain", 5},
                                                 {"", "text/html", 11},
                                                 {"contact.vcf", "application/octet-stream", 30}});
  REQUIRE(s.vcards.size() == 1);
  CHECK(s.vcards[0].name == "Otto");
}

TEST_CASE("An inline vCard is read and listed") {
  const MessageSummary s = parse_message(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nHi\n"
      "--b\nContent-Type: text/x-vcard; charset=iso-8859-1\n\n"
      "BEGIN:VCARD\nVERSION:3.0\nN:J\xE4ger;Eva\nEMAIL:eva@x.example\nEND:VCARD\n"
      "--b--\n");
  CHECK(s.text == "Hi");
  REQUIRE(s.vcards.size() == 1);
  CHECK(s.vcards[0] == VCard{"Eva Jäger", {"eva@x.example"}, {}, ""});
  CHECK(s.attachments.size() == 1);
}

TEST_CASE("Bulk mail markers") {
  const MessageSummary s = parse_message(
      "List-Id: =?utf-8?q?Caf=C3=A9?= news <news.example.com>\n"
      "List-Unsubscribe: <mailto:leave@example.com?subject=unsubscribe>,\n <https://example.com/u?a=?b>\n"
      "Precedence: Bulk (sent by the list)\n"
      "Auto-Submitted: Auto-Replied\n\nbody");
  CHECK(s.list_id == "Café news <news.example.com>");
  CHECK(s.list_unsubscribe == "<mailto:leave@example.com?subject=unsubscribe>, <https://example.com/u?a=?b>");
  CHECK(s.precedence == "bulk");
  CHECK(s.auto_submitted == "auto-replied");
}

TEST_CASE("Repeated fields: the first single field wins, recipient fields add up") {
  const MessageSummary s = parse_message(
      "From: first@x.example\nFrom: second@x.example\nTo: a@x.example\nTo: b@x.example\n"
      "Subject: one\nSubject: two\nBcc: hidden@x.example\n\n");
  CHECK(s.from == std::vector<Address>{{"", "first@x.example"}});
  CHECK(s.to == std::vector<Address>{{"", "a@x.example"}, {"", "b@x.example"}});
  CHECK(s.bcc == std::vector<Address>{{"", "hidden@x.example"}});
  CHECK(s.subject == "one");
}

TEST_CASE("Identifiers without brackets and missing or broken dates") {
  MessageSummary s = parse_message("Message-ID: Bare.Id@Host.Example (comment)\n\n");
  CHECK(s.message_id == "Bare.Id@host.example");
  CHECK(s.date == 0);
  CHECK(s.warnings.has(Warning::date_missing));
  s = parse_message("Date: yesterday\n\n");
  CHECK(s.date == 0);
  CHECK(s.warnings.has(Warning::date_invalid));
  CHECK_FALSE(s.warnings.has(Warning::date_missing));
}

TEST_CASE("Limits are reported and keep what was read") {
  ParseLimits limits;
  limits.max_text_bytes = 10;
  MessageSummary s = parse_message("Subject: x\n\nÀÀÀÀÀÀ and more", limits);
  CHECK(s.text == "ÀÀÀÀÀ");  // 10 bytes, not a split character
  CHECK(s.warnings.has(Warning::text_limit));

  limits = ParseLimits{};
  limits.max_header_bytes = 64;
  s = parse_message("Subject: kept\nX-Long: " + std::string(100, 'x') + "\nFrom: lost@x.example\n\nbody", limits);
  CHECK(s.subject == "kept");
  CHECK(s.from.empty());
  CHECK(s.text == "body");
  CHECK(s.warnings.has(Warning::header_limit));

  limits = ParseLimits{};
  limits.max_parts = 0;
  s = parse_message("Subject: x\n\nbody", limits);
  CHECK(s.subject.empty());
  CHECK(s.warnings.has(Warning::part_limit));
}

TEST_CASE("Warnings are named") {
  MessageSummary s = parse_message("Content-Type: multipart/mixed\n\n");
  const auto list = s.warnings.list();
  REQUIRE(list == std::vector<Warning>{Warning::date_missing, Warning::missing_boundary});
  CHECK(warning_name(list[0]) == "date_missing");
  CHECK(warning_name(list[1]) == "missing_boundary");
  CHECK(warning_name(Warning::internal_error) == "internal_error");
  CHECK(s.warnings.bits() == ((1u << 4) | (1u << 7)));
}

TEST_CASE("Empty and headerless input") {
  MessageSummary s = parse_message("");
  CHECK(s.text.empty());
  CHECK(s.from.empty());
  s = parse_message("just some text\nwithout a header\n");
  CHECK(s.text == "just some text\nwithout a header");
  s = parse_message("\0\0\0"s);
  CHECK(s.text == "\uFFFD\uFFFD\uFFFD");
  CHECK(is_valid_utf8(s));
}

}  // namespace
