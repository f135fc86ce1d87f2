// The SpamAssassin public corpus: 6,046 real messages, ham and spam from
// 2002, installed by scripts/fetch-corpora.  Every message must parse into a
// summary with only valid UTF-8 in it.  Timing lives in mail_parse_bench.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "lodestone/mail.hpp"
#include "mail_test_support.hpp"
#include "spam_assassin_corpus.hpp"

namespace {

using lodestone::mail::Address;
using lodestone::mail::MessageSummary;
using lodestone::mail::parse_message;
using lodestone::mail::Warning;
using lodestone::mail::test::is_valid_utf8;
using lodestone::mail::test::read_file;
using lodestone::mail::test::spam_assassin_message_count;
using lodestone::mail::test::spam_assassin_messages;

// Whether the message starts with a header field (after any mbox line).
bool has_header(std::string_view raw) {
  if (raw.starts_with("From ")) raw.remove_prefix(std::min(raw.size(), raw.find('\n') + 1));
  const auto colon = raw.find(':');
  return colon != std::string_view::npos && colon > 0 && raw.substr(0, colon).find_first_of(" \t\r\n") == std::string_view::npos;
}

bool has_content(const MessageSummary& s) {
  return !s.from.empty() || !s.subject.empty() || !s.message_id.empty() || s.date != 0 || !s.to.empty();
}

TEST_CASE("SpamAssassin corpus: every message parses") {
  const auto paths = spam_assassin_messages();
  REQUIRE(paths.size() == spam_assassin_message_count);

  std::vector<std::string> broken;  // names of messages that fail, the first few
  std::size_t with_from = 0, with_date = 0, with_text = 0, with_id = 0, attachments = 0;
  for (const auto& path : paths) {
    const std::string raw = read_file(path);
    const MessageSummary s = parse_message(raw);
    const bool ok = is_valid_utf8(s) && !s.warnings.has(Warning::internal_error) &&
                    !s.warnings.has(Warning::out_of_memory) && (!has_header(raw) || has_content(s));
    if (!ok && broken.size() < 10) broken.push_back(path.filename().string());
    with_from += !s.from.empty();
    with_date += s.date != 0;
    with_text += !s.text.empty();
    with_id += !s.message_id.empty();
    attachments += s.attachments.size();
  }
  WARN("parsed " << paths.size() << " SpamAssassin messages: " << with_from << " with a sender, " << with_date
                 << " with a date, " << with_id << " with a Message-ID, " << with_text << " with text, "
                 << attachments << " attachments");
  CHECK(broken == std::vector<std::string>{});
  // Regression guards for this pinned corpus: the few messages short of each
  // really lack it (an empty From, a date like "2002/09/14 Sat", image-only HTML).
  CHECK(with_from >= 6043);
  CHECK(with_date >= 6044);
  CHECK(with_id >= 6044);
  CHECK(with_text >= 6028);
}

TEST_CASE("SpamAssassin corpus: a mailing list message read field by field") {
  const auto paths = spam_assassin_messages();
  const auto found = std::find_if(paths.begin(), paths.end(), [](const auto& p) {
    return p.filename() == "00001.7c53336b37003a9286aba55d2945844c.txt";
  });
  REQUIRE(found != paths.end());
  const MessageSummary s = parse_message(read_file(*found));
  CHECK(s.message_id == "13258.1030015585@munnari.oz.au");
  CHECK(s.in_reply_to == "1029945287.4797.TMDA@deepeddy.vircio.com");
  CHECK(s.references.size() == 5);
  CHECK(s.date == 1030015585);  // Thu, 22 Aug 2002 18:26:25 +0700
  CHECK(s.from == std::vector<Address>{{"Robert Elz", "kre@munnari.oz.au"}});
  CHECK(s.to == std::vector<Address>{{"Chris Garrigues", "cwg-dated-1030377287.06fa6d@deepeddy.com"}});
  CHECK(s.subject == "Re: New Sequences Window");
  CHECK(s.list_id == "Discussion list for EXMH developers <exmh-workers.spamassassin.taint.org>");
  CHECK(s.precedence == "bulk");
  CHECK(s.text.starts_with("Date:        Wed, 21 Aug 2002 10:54:46 -0500"));
  CHECK(s.warnings.empty());
}

}  // namespace
