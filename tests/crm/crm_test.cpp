// The CRM's public API end to end on a real LMDB store: recording emails,
// mailbox refs, threading, contacts/leads/accounts/deals, links, visibility,
// counts, backup and check.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "crm_test_support.hpp"
#include "lodestone/crm/lmdb.hpp"

using namespace lodestone::crm;
using lodestone::crm::test::make_message;
using lodestone::crm::test::TempDir;

namespace {

std::uint64_t count_of(const Snapshot& s, std::string_view table) {
  for (const auto& c : s.counts())
    if (c.table == table) return c.entries;
  FAIL("no table " << table);
  return 0;
}

SeenEmail at(std::string user, std::string folder, std::uint32_t uidvalidity, std::uint32_t uid) {
  SeenEmail seen;
  seen.user = std::move(user);
  seen.folder = std::move(folder);
  seen.uidvalidity = uidvalidity;
  seen.uid = uid;
  return seen;
}

}  // namespace

TEST_CASE("recording the same message at the same place twice adds nothing") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  const std::string raw = make_message({.message_id = "a1@x.example", .from = "dana@acme.example"});
  const RecordOutcome first = crm.record_email(at("alice", "INBOX", 7, 1), raw).get();
  CHECK(first.new_email);
  CHECK(first.new_ref);
  const RecordOutcome again = crm.record_email(at("alice", "INBOX", 7, 1), raw).get();
  CHECK_FALSE(again.new_email);
  CHECK_FALSE(again.new_ref);
  CHECK(again.email == first.email);

  // The same message elsewhere is one email with two refs.
  const RecordOutcome copy = crm.record_email(at("alice", "Archive", 3, 9), raw).get();
  CHECK_FALSE(copy.new_email);
  CHECK(copy.new_ref);
  const RecordOutcome bob = crm.record_email(at("bob", "INBOX", 1, 4), raw).get();
  CHECK(bob.new_ref);

  Snapshot s = crm.snapshot();
  CHECK(count_of(s, "emails") == 1);
  CHECK(count_of(s, "refs") == 3);
  CHECK(count_of(s, "emails__user") == 2);
  CHECK(s.refs_of(first.email).size() == 3);
  CHECK(s.check().empty());
}

TEST_CASE("the stored email keeps what the parser found") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  const std::string raw = make_message({.message_id = "<Q1@Acme.Example>",
                                        .from = "Dana Ortiz <Dana@Acme.Example>",
                                        .to = "alice@corp.example",
                                        .subject = "=?UTF-8?Q?Angebot_f=C3=BCr_40?=",
                                        .date = "Tue, 03 Mar 2026 10:00:00 +0100",
                                        .body = "Hello Alice"});
  const auto outcome = crm.record_email(at("alice", "INBOX", 1, 1), raw).get();
  CHECK(outcome.email == email_id_from_message_id("Q1@acme.example"));
  Snapshot s = crm.snapshot();
  const auto email = s.email(outcome.email);
  REQUIRE(email);
  CHECK(email->message_id == "Q1@acme.example");
  CHECK(email->subject == "Angebot für 40");
  CHECK(email->date == 1772528400);
  REQUIRE(email->from.size() == 1);
  CHECK(email->from[0].name == "Dana Ortiz");
  CHECK(email->text.find("Hello Alice") != std::string::npos);
  CHECK(email->size == raw.size());
  CHECK_FALSE(email->bulk);

  // A thread view lists the same message from the thread index alone.
  const auto entries = s.thread_view(email->thread, std::nullopt);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].id == outcome.email);
  CHECK(entries[0].date == 1772528400);
  CHECK(entries[0].from.name == "Dana Ortiz");
  CHECK(entries[0].from.address == email->from[0].address);
  CHECK(entries[0].to.address == "alice@corp.example");
  CHECK(entries[0].subject == "Angebot für 40");
}

TEST_CASE("write futures become ready by themselves, so callers can poll them") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  auto recorded = crm.record_email(at("alice", "INBOX", 1, 1), make_message({.message_id = "poll@x.example"}));
  auto flagged = crm.set_flags("alice", "INBOX", 1, 1, {"\\Seen"});
  // Generous: only a future that never becomes ready (a deferred one) fails.
  REQUIRE(recorded.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  REQUIRE(flagged.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  CHECK(recorded.get().new_email);
  flagged.get();
}

TEST_CASE("a message without Message-ID is identified by its content") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  const std::string raw = make_message({.message_id = "", .body = "no id here"});
  const auto outcome = crm.record_email(at("alice", "INBOX", 1, 1), raw).get();
  CHECK(outcome.email == email_id_from_content(raw));
}

TEST_CASE("imports are numbered per folder and never duplicated") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 5; ++i)
      crm.record_email(at("alice", "Imported", 0, 0), make_message({.message_id = "m" + std::to_string(i) + "@x.example"}));
    crm.flush();
  }
  Snapshot s = crm.snapshot();
  CHECK(count_of(s, "emails") == 5);
  CHECK(count_of(s, "refs") == 5);
  const auto refs = s.refs_of(email_id_from_message_id("m4@x.example"));
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].uidvalidity == 0);
  CHECK(refs[0].uid == 5);
  CHECK(s.check().empty());
}

TEST_CASE("flags change in place and a deleted ref leaves the email") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  const auto raw = make_message({.message_id = "f@x.example"});
  const auto id = crm.record_email(at("alice", "INBOX", 5, 10), raw).get().email;
  crm.set_flags("alice", "INBOX", 5, 10, {"\\Seen", "$Customer"}).get();
  {
    Snapshot s = crm.snapshot();
    const auto refs = s.refs_of(id);
    REQUIRE(refs.size() == 1);
    CHECK(refs[0].flags == std::vector<std::string>{"\\Seen", "$Customer"});
  }
  CHECK(crm.delete_ref("alice", "INBOX", 5, 10).get());
  CHECK_FALSE(crm.delete_ref("alice", "INBOX", 5, 10).get());
  CHECK_FALSE(crm.delete_ref("nobody", "INBOX", 5, 10).get());
  Snapshot s = crm.snapshot();
  CHECK(s.email(id));
  CHECK(s.refs_of(id).empty());
  CHECK(s.emails_of_user("alice", {}).empty());
  CHECK_FALSE(s.can_see("alice", id));
  CHECK(s.check().empty());
}

TEST_CASE("a reused UID with the same UIDVALIDITY takes the newer message") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  const auto old_id = crm.record_email(at("alice", "INBOX", 5, 1), make_message({.message_id = "old@x.example"})).get().email;
  const auto new_id = crm.record_email(at("alice", "INBOX", 5, 1), make_message({.message_id = "new@x.example"})).get().email;
  Snapshot s = crm.snapshot();
  CHECK(s.refs_of(old_id).empty());
  CHECK(s.refs_of(new_id).size() == 1);
  CHECK(s.emails_of_user("alice", {}) == std::vector<EmailId>{new_id});
  CHECK(s.check().empty());
}

TEST_CASE("threads follow References in any arrival order") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  const auto root = make_message({.message_id = "root@x.example", .subject = "Pricing"});
  const auto reply = make_message({.message_id = "r1@y.example", .subject = "Re: Pricing",
                                   .in_reply_to = "root@x.example", .references = "<root@x.example>"});
  const auto reply2 = make_message({.message_id = "r2@x.example", .subject = "Something else",
                                    .in_reply_to = "r1@y.example",
                                    .references = "<root@x.example> <r1@y.example>"});
  // The grandchild first, then the root, then the child.
  const auto t2 = crm.record_email(at("alice", "INBOX", 1, 3), reply2).get().thread;
  const auto t0 = crm.record_email(at("alice", "INBOX", 1, 1), root).get().thread;
  const auto t1 = crm.record_email(at("alice", "INBOX", 1, 2), reply).get().thread;
  CHECK(t0 == t2);
  CHECK(t1 == t2);
  Snapshot s = crm.snapshot();
  const auto thread = s.thread(t0);
  REQUIRE(thread);
  CHECK(thread->email_count == 3);
  CHECK(s.thread_view(t0, std::nullopt).size() == 3);
  CHECK(s.check().empty());
}

TEST_CASE("replies without References join by subject and participants within the window") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  const auto root = crm.record_email(at("alice", "INBOX", 1, 1),
                                     make_message({.message_id = "q@acme.example", .from = "dana@acme.example",
                                                   .to = "alice@corp.example", .subject = "Quote for 40 seats",
                                                   .date = "Mon, 02 Mar 2026 09:00:00 +0000"}))
                        .get();
  SECTION("a reply from a participant joins") {
    const auto reply = crm.record_email(at("alice", "Sent", 1, 1),
                                        make_message({.message_id = "a@corp.example", .from = "alice@corp.example",
                                                      .to = "dana@acme.example", .subject = "AW: Quote for 40 Seats",
                                                      .date = "Tue, 03 Mar 2026 09:00:00 +0000"}))
                           .get();
    CHECK(reply.thread == root.thread);
  }
  SECTION("a stranger with the same subject does not") {
    const auto other = crm.record_email(at("alice", "INBOX", 1, 2),
                                        make_message({.message_id = "z@other.example", .from = "eve@other.example",
                                                      .to = "zed@else.example", .subject = "Re: Quote for 40 seats",
                                                      .date = "Tue, 03 Mar 2026 09:00:00 +0000"}))
                           .get();
    CHECK(other.thread != root.thread);
  }
  SECTION("a reply months later starts a new thread") {
    const auto late = crm.record_email(at("alice", "INBOX", 1, 3),
                                       make_message({.message_id = "l@acme.example", .from = "dana@acme.example",
                                                     .to = "alice@corp.example", .subject = "Re: Quote for 40 seats",
                                                     .date = "Mon, 01 Jun 2026 09:00:00 +0000"}))
                          .get();
    CHECK(late.thread != root.thread);
  }
  SECTION("a new message with the same subject and no reply marker does not") {
    const auto fresh = crm.record_email(at("alice", "INBOX", 1, 4),
                                        make_message({.message_id = "n@acme.example", .from = "dana@acme.example",
                                                      .to = "alice@corp.example", .subject = "Quote for 40 seats",
                                                      .date = "Tue, 03 Mar 2026 09:00:00 +0000"}))
                           .get();
    CHECK(fresh.thread != root.thread);
  }
  CHECK(crm.snapshot().check().empty());
}

TEST_CASE("subjects are normalised for threading") {
  bool stripped = false;
  CHECK(normalise_subject("Re: AW: Fwd[2]:  Quote   for 40 ", &stripped) == "quote for 40");
  CHECK(stripped);
  CHECK(normalise_subject("SV: Tilbud", &stripped) == "tilbud");
  CHECK(normalise_subject("Re (3) : x") == "x");
  CHECK(normalise_subject("回复：报价") == "报价");
  CHECK(normalise_subject("Return policy", &stripped) == "return policy");
  CHECK_FALSE(stripped);
  CHECK(normalise_subject("Res: y") == "y");
  CHECK(normalise_subject("") == "");
  CHECK(normalise_subject("Re:") == "");
}

TEST_CASE("contacts link past and future emails, create accounts, and refuse taken addresses") {
  TempDir dir;
  Crm crm({.directory = dir.path(), .org_domains = {"Corp.Example"}});
  const auto before =
      crm.record_email(at("alice", "INBOX", 1, 1),
                       make_message({.message_id = "1@acme.example", .from = "Dana@acme.example", .to = "alice@corp.example"}))
          .get()
          .email;
  const auto colleague =
      crm.record_email(at("alice", "INBOX", 1, 2),
                       make_message({.message_id = "2@acme.example", .from = "sam@acme.example", .to = "alice@corp.example"}))
          .get()
          .email;
  const RecordId dana = crm.add_contact({.name = "Dana Ortiz", .emails = {"dana@ACME.example"}, .owner = "alice"}).get();
  const auto after =
      crm.record_email(at("alice", "INBOX", 1, 3),
                       make_message({.message_id = "3@acme.example", .from = "alice@corp.example", .to = "dana@acme.example",
                                     .date = "Wed, 04 Mar 2026 10:00:00 +0000"}))
          .get()
          .email;

  Snapshot s = crm.snapshot();
  CHECK(s.emails_of(LinkTarget::contact, dana, {}) == std::vector<EmailId>{after, before});
  const auto acme = s.account_by_domain("ACME.example");
  REQUIRE(acme);
  // The account gathers every address of its domain, the colleague's too.
  const auto account_emails = s.emails_of(LinkTarget::account, acme->id, {});
  CHECK(account_emails.size() == 3);
  CHECK(std::count(account_emails.begin(), account_emails.end(), colleague) == 1);
  CHECK_FALSE(s.account_by_domain("corp.example"));
  CHECK(s.contact_by_address("DANA@acme.example")->id == dana);
  CHECK(s.check().empty());
  s = Snapshot(std::move(s));  // movable

  CHECK_THROWS_WITH(crm.add_contact({.name = "Other", .emails = {"dana@acme.example"}}).get(),
                    Catch::Contains("already belongs to contact 1"));
  CHECK_THROWS_WITH(crm.add_contact({.name = "Bad", .emails = {"not an address"}}).get(),
                    Catch::Contains("not an email address"));
  CHECK_THROWS_WITH(crm.add_contact({.name = "Staff", .emails = {"bob@CORP.example"}}).get(),
                    Catch::Contains("organisation's domains"));
  CHECK_THROWS_WITH(crm.add_lead({.email = "bob@corp.example"}).get(), Catch::Contains("organisation's domains"));
}

TEST_CASE("public mail providers never become accounts") {
  CHECK(is_free_mail_domain("gmail.com"));
  CHECK(is_free_mail_domain("outlook.com"));
  CHECK_FALSE(is_free_mail_domain("acme.example"));
  TempDir dir;
  Crm crm({.directory = dir.path()});
  crm.add_contact({.name = "Pat", .emails = {"pat@gmail.com"}}).get();
  crm.add_lead({.email = "lee@outlook.com"}).get();
  CHECK(crm.snapshot().accounts().empty());
}

TEST_CASE("leads are one per address") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  const auto email = crm.record_email(at("alice", "INBOX", 1, 1), make_message({.from = "new@prospect.example"})).get().email;
  const RecordId first = crm.add_lead({.email = "New@prospect.example", .source = "inbound email", .created_from = email}).get();
  const RecordId again = crm.add_lead({.email = "new@prospect.example"}).get();
  CHECK(first == again);
  Snapshot s = crm.snapshot();
  const auto lead = s.lead_by_address("new@prospect.example");
  REQUIRE(lead);
  CHECK(lead->status == "new");
  CHECK(lead->created_from == email);
  CHECK(s.emails_of(LinkTarget::lead, first, {}) == std::vector<EmailId>{email});
  CHECK(s.check().empty());
}

TEST_CASE("deals are added, updated and audited") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  const RecordId contact = crm.add_contact({.name = "Dana", .emails = {"dana@acme.example"}}).get();
  const RecordId account = crm.snapshot().account_by_domain("acme.example")->id;
  const RecordId deal = crm.add_deal({.title = "40 seats", .account = account, .contact = contact, .amount = 480000,
                                      .owner = "alice"})
                            .get();
  crm.update_deal(deal, {.stage = std::string("proposal"), .probability = 60u}, "alice").get();
  CHECK_THROWS_WITH(crm.update_deal(deal, {.probability = 101u}, "alice").get(), Catch::Contains("0 to 100"));
  CHECK_THROWS_WITH(crm.update_deal(99, {}, "alice").get(), Catch::Contains("no deal 99"));
  CHECK_THROWS_WITH(crm.add_deal({.title = "x", .account = 42}).get(), Catch::Contains("no account 42"));
  Snapshot s = crm.snapshot();
  const auto d = s.deal(deal);
  REQUIRE(d);
  CHECK(d->stage == "proposal");
  CHECK(d->probability == 60);
  CHECK(d->amount == 480000);
  const auto audit = s.audit();
  REQUIRE_FALSE(audit.empty());
  CHECK(audit.back().action == "deal.update");
  CHECK(audit.back().detail.find("stage=proposal") != std::string::npos);
}

TEST_CASE("visibility: own mailboxes, or a shared contact") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  const auto mine = crm.record_email(at("alice", "INBOX", 1, 1), make_message({.message_id = "p@x.example", .from = "pat@private.example"})).get().email;
  const auto shared = crm.record_email(at("alice", "INBOX", 1, 2), make_message({.message_id = "s@x.example", .from = "sue@shared.example"})).get().email;
  crm.add_contact({.name = "Sue", .emails = {"sue@shared.example"}, .owner = "alice", .shared = true}).get();
  crm.record_email(at("bob", "INBOX", 1, 1), make_message({.message_id = "b@x.example"})).get();
  Snapshot s = crm.snapshot();
  CHECK(s.can_see("alice", mine));
  CHECK_FALSE(s.can_see("bob", mine));
  CHECK(s.can_see("bob", shared));
  CHECK_FALSE(s.can_see("nobody-yet", mine));
  const auto thread = s.email(mine)->thread;
  CHECK(s.thread_view(thread, "bob").empty());
  CHECK(s.thread_view(thread, "alice").size() == 1);
  CHECK(s.emails_of_user("bob", {}).size() == 1);
  Snapshot::EmailQuery bob_view;
  bob_view.viewer = "bob";
  const auto sue = s.contact_by_address("sue@shared.example")->id;
  CHECK(s.emails_of(LinkTarget::contact, sue, bob_view) == std::vector<EmailId>{shared});
}

TEST_CASE("manual links need both ends to exist") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  const auto email = crm.record_email(at("alice", "INBOX", 1, 1), make_message({})).get().email;
  const RecordId deal = crm.add_deal({.title = "t"}).get();
  crm.link(email, LinkTarget::deal, deal, "alice", LinkHow::manual).get();
  CHECK_THROWS_WITH(crm.link(email, LinkTarget::contact, 5, "alice", LinkHow::manual).get(), Catch::Contains("no contact 5"));
  CHECK_THROWS_WITH(crm.link(Key128{}, LinkTarget::deal, deal, "alice", LinkHow::manual).get(), Catch::Contains("no email"));
  Snapshot s = crm.snapshot();
  const auto links = s.links_of(email);
  REQUIRE(links.size() == 1);
  CHECK(links[0].how == LinkHow::manual);
  CHECK(s.user(links[0].by)->name == "alice");
  CHECK(s.emails_of(LinkTarget::deal, deal, {}) == std::vector<EmailId>{email});
}

TEST_CASE("emails of a user are newest first and bounded by since and limit") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  for (int day = 1; day <= 5; ++day)
    crm.record_email(at("alice", "INBOX", 1, day),
                     make_message({.message_id = std::to_string(day) + "@x.example",
                                   .date = "0" + std::to_string(day) + " Mar 2026 10:00:00 +0000"}));
  crm.flush();
  Snapshot s = crm.snapshot();
  const auto all = s.emails_of_user("alice", {});
  REQUIRE(all.size() == 5);
  CHECK(all.front() == email_id_from_message_id("5@x.example"));
  CHECK(s.emails_of_user("alice", {.since = 1772532000}).size() == 3);  // 3 March 10:00 UTC on
  CHECK(s.emails_of_user("alice", {.limit = 2}).size() == 2);
}

TEST_CASE("backup is a consistent copy that opens on its own") {
  TempDir dir, copy_root;
  Crm crm({.directory = dir.path()});
  crm.record_email(at("alice", "INBOX", 1, 1), make_message({})).get();
  const auto destination = copy_root.path() / "backup";
  crm.backup(destination);
  CHECK_THROWS_WITH(crm.backup(destination), Catch::Contains("empty directory"));
  Crm copy({.directory = destination, .read_only = true});
  Snapshot s = copy.snapshot();
  CHECK(count_of(s, "emails") == 1);
  CHECK(s.check().empty());
  CHECK_THROWS_WITH(copy.add_lead({.email = "x@y.example"}), Catch::Contains("read-only"));
}

TEST_CASE("check finds a stray index entry and a missing one") {
  TempDir dir;
  {
    Crm crm({.directory = dir.path()});
    crm.add_contact({.name = "Dana", .emails = {"dana@acme.example"}}).get();
  }
  {
    Env env(dir.path());
    WriteTxn txn(env);
    const Dbi index = Dbi::open(txn, "contacts__email");
    txn.erase(index, KeyBuilder().string("dana@acme.example").take());
    txn.put(index, KeyBuilder().string("ghost@acme.example").take(), encode_u64(7));
    txn.commit();
  }
  Crm crm({.directory = dir.path(), .read_only = true});
  const auto problems = crm.snapshot().check();
  REQUIRE(problems.size() == 2);
  CHECK_THAT(problems[0], Catch::Contains("contacts__email") && Catch::Contains("dana@acme.example") && Catch::Contains("missing"));
  CHECK_THAT(problems[1], Catch::Contains("ghost@acme.example") && Catch::Contains("stray"));
}

TEST_CASE("check reports a record that does not decode instead of stopping") {
  TempDir dir;
  {
    Crm crm({.directory = dir.path()});
    crm.add_deal({.title = "t"}).get();
  }
  {
    Env env(dir.path());
    WriteTxn txn(env);
    txn.put(Dbi::open(txn, "deals"), encode_u64(1), std::string("\x01\x05" "ab", 4));
    txn.commit();
  }
  Crm crm({.directory = dir.path(), .read_only = true});
  const auto problems = crm.snapshot().check();
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0], Catch::Contains("deals"));
}

TEST_CASE("a read-only open of a missing store names the path") {
  TempDir dir;
  CHECK_THROWS_WITH(Crm({.directory = dir.path() / "nope", .read_only = true}), Catch::Contains("nope"));
}

TEST_CASE("hostile sizes: long subjects, addresses, folders and user names fit LMDB's key limit") {
  TempDir dir;
  Crm crm({.directory = dir.path()});
  const std::string long_subject = "Re: " + std::string(5000, 'x');
  const std::string long_address = std::string(1000, 'a') + "@" + std::string(600, 'b') + ".example";
  const std::string folder = "Folder" + std::string(1, '\0') + std::string(700, 'f');
  const std::string user = std::string(300, 'u');
  const auto raw = make_message({.message_id = "long@x.example", .from = long_address, .to = long_address,
                                 .subject = long_subject});
  const auto outcome = crm.record_email(at(user, folder, 1, 1), raw).get();
  // A second folder that differs only after the cut point stays apart.
  const std::string other_folder = folder + "2";
  crm.record_email(at(user, other_folder, 1, 1), raw).get();
  CHECK_THROWS_WITH(crm.add_lead({.email = std::string(300, 'c') + "@lead.example"}).get(),
                    Catch::Contains("not an email address"));
  crm.add_lead({.email = std::string(230, 'c') + "@lead.example"}).get();

  Snapshot s = crm.snapshot();
  const auto refs = s.refs_of(outcome.email);
  REQUIRE(refs.size() == 2);
  CHECK(((refs[0].folder == folder && refs[1].folder == other_folder) ||
         (refs[1].folder == folder && refs[0].folder == other_folder)));
  CHECK(s.user(user));
  CHECK(s.emails_of_user(user, {}).size() == 1);
  CHECK(s.check().empty());
}
