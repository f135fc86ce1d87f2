#include <catch2/catch.hpp>

#include "imap_syntax.hpp"
#include "preauth_parser.hpp"

using namespace lodestone::imap;

namespace {
PreauthParse parse(std::vector<std::string> lines, std::vector<std::string> literals = {}) {
  CommandText text{std::move(lines), std::move(literals)};
  return parse_preauth_command(text);
}
}  // namespace

TEST_CASE("trailing literal markers") {
  auto m = trailing_literal("a LOGIN {5}");
  REQUIRE(m);
  CHECK(m->size == 5);
  CHECK(m->synchronizing);
  CHECK_FALSE(m->binary);
  CHECK(m->marker_length == 3);
  m = trailing_literal("a APPEND x ~{12+}");
  REQUIRE(m);
  CHECK(m->size == 12);
  CHECK_FALSE(m->synchronizing);
  CHECK(m->binary);
  CHECK(m->marker_length == 6);
  CHECK(trailing_literal("a LOGIN {99999999999}")->size == 99999999999ULL);
  CHECK_FALSE(trailing_literal("a LOGIN {999999999999999999999999}"));
  CHECK_FALSE(trailing_literal("a LOGIN {}"));
  CHECK_FALSE(trailing_literal("a LOGIN {x}"));
  CHECK_FALSE(trailing_literal("a LOGIN user pass"));
  CHECK_FALSE(trailing_literal("}"));
}

TEST_CASE("LOGIN with atoms and quoted strings and literals") {
  auto p = parse({"a1 LOGIN alice secret"});
  REQUIRE(p.ok);
  CHECK(p.command.tag == "a1");
  CHECK(p.command.name == "LOGIN");
  CHECK(p.command.args == std::vector<std::string>{"alice", "secret"});

  p = parse({"a2 login \"al\\\"ice\" \"p a\\\\ss\""});
  REQUIRE(p.ok);
  CHECK(p.command.name == "LOGIN");
  CHECK(p.command.args == std::vector<std::string>{"al\"ice", "p a\\ss"});

  p = parse({"a3 LOGIN {5}", " {6+}", ""}, {"alice", std::string("pa\r\n\0s", 6)});
  REQUIRE(p.ok);
  CHECK(p.command.args == std::vector<std::string>{"alice", std::string("pa\r\n\0s", 6)});
}

TEST_CASE("AUTHENTICATE with SASL-IR and ID with a list") {
  auto p = parse({"x AUTHENTICATE PLAIN AGFsaWNlAGFsaWNlcHc="});
  REQUIRE(p.ok);
  CHECK(p.command.args == std::vector<std::string>{"PLAIN", "AGFsaWNlAGFsaWNlcHc="});
  p = parse({"x ID (\"name\" \"mutt\" \"version\" \"2.2 (x)\")"});
  REQUIRE(p.ok);
  CHECK(p.command.name == "ID");
  REQUIRE(p.command.args.size() == 1);
  p = parse({"x ID NIL"});
  REQUIRE(p.ok);
}

TEST_CASE("malformed commands give an error, not a crash") {
  CHECK_FALSE(parse({""}).ok);
  CHECK_FALSE(parse({"+ LOGIN a b"}).ok);
  CHECK(parse({"+ LOGIN a b"}).error == "Invalid tag");
  CHECK_FALSE(parse({"a1"}).ok);
  CHECK(parse({"a1"}).command.tag == "a1");
  CHECK_FALSE(parse({"a1 LOGIN \"unterminated"}).ok);
  CHECK_FALSE(parse({"a1 LOGIN a  b"}).ok);
  CHECK_FALSE(parse({"a1 ID ((("}).ok);
  CHECK_FALSE(parse({std::string("a1 LOGIN a\0b c", 14)}).ok);
  CHECK_FALSE(parse({"a1 LOGIN \xff\xfe x"}).ok);
  CHECK_FALSE(parse({std::string(1 << 20, '(')}).ok);
  CHECK_FALSE(parse({"a1 LOGIN {3}"}, {}).ok);  // literal announced, none given
}

TEST_CASE("tags") {
  CHECK(is_valid_tag("a1"));
  CHECK(is_valid_tag("A]1"));
  CHECK_FALSE(is_valid_tag(""));
  CHECK_FALSE(is_valid_tag("a+"));
  CHECK_FALSE(is_valid_tag("*"));
  CHECK_FALSE(is_valid_tag("a{"));
}

TEST_CASE("quote_or_literal") {
  CHECK(quote_or_literal("alice", false) == "\"alice\"");
  CHECK(quote_or_literal("a\"b\\c", false) == "\"a\\\"b\\\\c\"");
  CHECK(quote_or_literal("p\xc3\xa9", false) == "{3}\r\np\xc3\xa9");
  CHECK(quote_or_literal("x\ny", true) == "{3+}\r\nx\ny");
}
