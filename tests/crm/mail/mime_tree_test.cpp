// Header blocks and the MIME structure scanner.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "mime_tree.hpp"

namespace {

using lodestone::mail::Entity;
using lodestone::mail::HeaderBlock;
using lodestone::mail::MimeTree;
using lodestone::mail::ParseLimits;
using lodestone::mail::scan_header_block;
using lodestone::mail::scan_mime_tree;
using lodestone::mail::Warning;
using namespace std::string_literals;

// "depth:type" for every entity, in order: the shape of the tree at a glance.
std::vector<std::string> shape(const MimeTree& tree) {
  std::vector<std::string> out;
  for (const auto& e : tree.entities) out.push_back(std::to_string(e.depth) + ":" + e.content_type.value);
  return out;
}

std::vector<std::string> bodies(const MimeTree& tree) {
  std::vector<std::string> out;
  for (const auto& e : tree.entities) {
    if (e.kind == Entity::Kind::leaf) out.emplace_back(e.body);
  }
  return out;
}

TEST_CASE("A header block: fields, folding, and where the body starts") {
  const std::string data = "Subject: one\r\n two\r\nX-Empty:\r\nTo : a@b\r\n\r\nbody\r\n";
  const HeaderBlock block = scan_header_block(data, 1 << 20);
  REQUIRE(block.fields.size() == 3);
  CHECK(block.fields[0].name == "Subject");
  CHECK(block.fields[0].value == "one\r\n two");
  CHECK(block.fields[1].value.empty());
  CHECK(block.fields[2].name == "To");
  CHECK(block.find("subject") == &block.fields[0]);
  CHECK(block.find("cc") == nullptr);
  CHECK(data.substr(block.body_start) == "body\r\n");
  CHECK_FALSE(block.truncated);
}

TEST_CASE("A line that is no field starts the body") {
  const std::string data = "Subject: x\nthis is body text\n";
  const HeaderBlock block = scan_header_block(data, 1 << 20);
  CHECK(block.fields.size() == 1);
  CHECK(data.substr(block.body_start) == "this is body text\n");
  CHECK(scan_header_block("--boundary\nX: y\n", 1 << 20).body_start == 0);
  CHECK(scan_header_block("Bad Name: x\n", 1 << 20).fields.size() == 0);
  CHECK(scan_header_block("Subject: no line end", 1 << 20).fields.size() == 1);
}

TEST_CASE("Fields beyond the header limit are dropped, the body still found") {
  const std::string data = "A: 1\nB: " + std::string(100, 'x') + "\n continued\nC: 3\n\nbody";
  const HeaderBlock block = scan_header_block(data, 50);
  CHECK(block.truncated);
  REQUIRE(block.fields.size() == 1);
  CHECK(block.fields[0].name == "A");
  CHECK(data.substr(block.body_start) == "body");
}

TEST_CASE("A single part message, with and without a Content-Type") {
  auto tree = scan_mime_tree("Subject: x\r\n\r\nhello\r\n", {});
  CHECK(shape(tree) == std::vector<std::string>{"0:text/plain"});
  CHECK(bodies(tree) == std::vector<std::string>{"hello\r\n"});
  tree = scan_mime_tree("Content-Type: TEXT/HTML; charset=utf-8\n\n<p>x</p>", {});
  CHECK(shape(tree) == std::vector<std::string>{"0:text/html"});
  CHECK(tree.warnings.empty());
}

TEST_CASE("Nested multiparts, preamble and epilogue") {
  const std::string raw =
      "Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
      "preamble\r\n"
      "--outer\r\n"
      "Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
      "--inner\r\n"
      "Content-Type: text/plain\r\n\r\n"
      "plain\r\n"
      "--inner\r\n"
      "Content-Type: text/html\r\n\r\n"
      "<p>html</p>\r\n"
      "--inner--\r\n"
      "inner epilogue\r\n"
      "--outer\r\n"
      "Content-Type: application/pdf\r\n\r\n"
      "%PDF\r\n"
      "--outer--  \r\n"
      "epilogue\r\n";
  const auto tree = scan_mime_tree(raw, {});
  CHECK(shape(tree) == std::vector<std::string>{"0:multipart/mixed", "1:multipart/alternative", "2:text/plain",
                                                "2:text/html", "1:application/pdf"});
  CHECK(bodies(tree) == std::vector<std::string>{"plain", "<p>html</p>", "%PDF"});
  CHECK(tree.entities[2].parent == 1);
  CHECK(tree.entities[4].parent == 0);
  CHECK(tree.warnings.empty());
}

TEST_CASE("An outer delimiter ends an inner multipart left open") {
  const std::string raw =
      "Content-Type: multipart/mixed; boundary=abc\n\n"
      "--abc\n"
      "Content-Type: multipart/alternative; boundary=abc-1\n\n"
      "--abc-1\n\nfirst\n"
      "--abc\n\nsecond\n"
      "--abc--\n";
  const auto tree = scan_mime_tree(raw, {});
  CHECK(shape(tree) == std::vector<std::string>{"0:multipart/mixed", "1:multipart/alternative", "2:text/plain",
                                                "1:text/plain"});
  CHECK(bodies(tree) == std::vector<std::string>{"first", "second"});
  CHECK(tree.warnings.has(Warning::unterminated_multipart));
}

TEST_CASE("Only whole delimiter lines count") {
  const std::string raw =
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\n\n"
      "--bogus is text\n"
      " --b is text\n"
      "--b-- trailing text is not a close\n"
      "--b\t\n\nsecond\n--b--";
  const auto tree = scan_mime_tree(raw, {});
  CHECK(bodies(tree) ==
        std::vector<std::string>{"--bogus is text\n --b is text\n--b-- trailing text is not a close", "second"});
  CHECK(tree.warnings.empty());
}

TEST_CASE("Attached messages are entered, digests default to them") {
  const std::string raw =
      "Content-Type: multipart/mixed; boundary=m\n\n"
      "--m\n\nsee attached\n"
      "--m\nContent-Type: message/rfc822\n\n"
      "Subject: inner\nContent-Type: multipart/mixed; boundary=i\n\n"
      "--i\n\ninner text\n--i\nContent-Type: image/png\n\nPNG\n--i--\n"
      "--m\nContent-Type: multipart/digest; boundary=d\n\n"
      "--d\n\nSubject: digest entry\n\nentry\n--d--\n"
      "--m--\n";
  const auto tree = scan_mime_tree(raw, {});
  CHECK(shape(tree) == std::vector<std::string>{"0:multipart/mixed", "1:text/plain", "1:message/rfc822",
                                                "2:multipart/mixed", "3:text/plain", "3:image/png",
                                                "1:multipart/digest", "2:message/rfc822", "3:text/plain"});
  CHECK(tree.entities[2].kind == Entity::Kind::message);
  CHECK(tree.entities[3].header.find("subject")->value == "inner");
  CHECK(bodies(tree) == std::vector<std::string>{"see attached", "inner text", "PNG", "entry"});
  CHECK(tree.warnings.empty());
}

TEST_CASE("Multiparts whose parts cannot be found are read as text") {
  auto tree = scan_mime_tree("Content-Type: multipart/mixed\n\nno boundary\n", {});
  CHECK(shape(tree) == std::vector<std::string>{"0:text/plain"});
  CHECK(tree.warnings.has(Warning::missing_boundary));
  tree = scan_mime_tree("Content-Type: multipart/mixed; boundary=x\n\n--y\n\nwrong boundary\n", {});
  CHECK(shape(tree) == std::vector<std::string>{"0:text/plain"});
  CHECK(bodies(tree) == std::vector<std::string>{"--y\n\nwrong boundary\n"});
  CHECK(tree.warnings.has(Warning::unterminated_multipart));
  const std::string long_boundary = "Content-Type: multipart/mixed; boundary=\"" + std::string(300, 'b') + "\"\n\nx";
  tree = scan_mime_tree(long_boundary, {});
  CHECK(tree.warnings.has(Warning::missing_boundary));
}

TEST_CASE("Depth and part limits stop the scan where they are reached") {
  std::string nested;
  for (int i = 0; i < 10; ++i) nested += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" + std::to_string(i) + "\n";
  nested += "\ndeep text\n";
  ParseLimits limits;
  limits.max_depth = 3;
  auto tree = scan_mime_tree(nested, limits);
  CHECK(tree.warnings.has(Warning::depth_limit));
  REQUIRE(tree.entities.size() == 4);
  CHECK(tree.entities.back().depth == 3);
  CHECK(tree.entities.back().kind == Entity::Kind::leaf);

  std::string parts = "Content-Type: multipart/mixed; boundary=p\n\n";
  for (int i = 0; i < 10; ++i) parts += "--p\n\npart " + std::to_string(i) + "\n";
  parts += "--p--\n";
  limits = ParseLimits{};
  limits.max_parts = 4;
  tree = scan_mime_tree(parts, limits);
  CHECK(tree.warnings.has(Warning::part_limit));
  CHECK(bodies(tree) == std::vector<std::string>{"part 0", "part 1", "part 2"});
  limits.max_parts = 0;
  CHECK(scan_mime_tree(parts, limits).entities.empty());
}

TEST_CASE("An mbox From line in front of the header is skipped") {
  const auto tree = scan_mime_tree("From someone@example.com  Thu Aug 22 12:36:23 2002\nSubject: x\n\nbody", {});
  REQUIRE(tree.entities.size() == 1);
  CHECK(tree.entities[0].header.find("subject") != nullptr);
  CHECK(bodies(tree) == std::vector<std::string>{"body"});
}

TEST_CASE("NUL bytes and bare CRs are just bytes") {
  const std::string raw = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\na\0b\r\r\n--b--"s;
  const auto tree = scan_mime_tree(raw, {});  // views into raw
  CHECK(bodies(tree) == std::vector<std::string>{"a\0b\r"s});
}

}  // namespace
