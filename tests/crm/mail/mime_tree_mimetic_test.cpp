// The structure scanner against mimetic on real mail: for every message of
// the SpamAssassin corpus both find the same entities, in the same order, at
// the same depths, with the same types.  Mimetic is trusted only here: on
// hostile input it overflows the stack and turns quadratic (crm/mail/README.md),
// which is why the parser has its own scanner; real mail is where it is right.

#include <catch2/catch.hpp>

#include <mimetic/mimetic.h>

#include <string>
#include <vector>

#include "ascii.hpp"
#include "mail_test_support.hpp"
#include "mime_tree.hpp"
#include "spam_assassin_corpus.hpp"

namespace {

using lodestone::mail::lower_ascii;
using lodestone::mail::scan_mime_tree;
using lodestone::mail::trim;
using lodestone::mail::test::read_file;
using lodestone::mail::test::spam_assassin_messages;

struct Node {
  std::size_t depth;
  std::string type;            // "*" when mimetic could not read one: matches anything
  bool unread_below = false;   // mimetic did not enter it: whatever we found inside is not compared
};

bool same_structure(const std::vector<Node>& ours, const std::vector<Node>& theirs) {
  std::size_t i = 0;
  for (const Node& node : theirs) {
    if (i >= ours.size() || ours[i].depth != node.depth) return false;
    if (node.type != "*" && ours[i].type != node.type) return false;
    ++i;
    if (node.unread_below) {
      while (i < ours.size() && ours[i].depth > node.depth) ++i;
    }
  }
  return i == ours.size();
}

std::string describe(const std::vector<Node>& nodes) {
  std::string out;
  for (const Node& node : nodes) out += std::to_string(node.depth) + ":" + node.type + " ";
  return out;
}

std::string first_token(const std::string& s) {
  const std::string_view t = trim(s);
  return lower_ascii(t.substr(0, t.find_first_of(" \t;")));
}

// Mimetic's tree in our terms: values trimmed and lower-cased (mimetic keeps
// trailing blanks and anything after a forgotten ';'), a multipart without
// parts read as text (as the scanner does), an unreadable type a wildcard,
// and an attached message it did not enter (its "rfc822 " with a trailing
// blank is not "rfc822" to it) not compared inside.
void flatten(const mimetic::MimeEntity& entity, std::size_t depth, std::vector<Node>& out) {
  const auto& content_type = entity.header().contentType();
  const std::string type = first_token(content_type.type());
  const std::string subtype = first_token(content_type.subtype());
  std::string full = type.empty() || subtype.empty() ? "*" : type + "/" + subtype;
  const bool no_parts = entity.body().parts().empty();
  if (type == "multipart" && no_parts) full = "text/plain";
  if (!entity.header().hasField("content-type")) full = "*";
  out.push_back({depth, full, full == "message/rfc822" && no_parts});
  for (const mimetic::MimeEntity* part : entity.body().parts()) flatten(*part, depth + 1, out);
}

TEST_CASE("SpamAssassin corpus: the scanner finds the structure mimetic finds") {
  std::vector<std::string> differing;
  std::size_t compared = 0;
  for (const auto& path : spam_assassin_messages()) {
    std::string raw = read_file(path);
    const auto tree = scan_mime_tree(raw, {});
    std::vector<Node> ours;
    for (const auto& entity : tree.entities) ours.push_back({entity.depth, entity.content_type.value});

    // Mimetic reads an mbox "From " line as the first line of the body.
    if (raw.starts_with("From ")) raw.erase(0, raw.find('\n') + 1);
    const mimetic::MimeEntity entity(raw.begin(), raw.end());
    std::vector<Node> theirs;
    flatten(entity, 0, theirs);

    ++compared;
    if (!same_structure(ours, theirs) && differing.size() < 10) {
      differing.push_back(path.filename().string() + "\n  ours:    " + describe(ours) + "\n  mimetic: " +
                          describe(theirs));
    }
  }
  CHECK(compared == lodestone::mail::test::spam_assassin_message_count);
  CHECK(differing == std::vector<std::string>{});
}

}  // namespace
