// Property test of the CRM's public API: random operations (recording emails
// at random places, imports, flags, expunges, contacts, leads, deals, links),
// pipelined through the writer, with the store reopened halfway. Every result
// and, at checkpoints, the whole visible state is compared with a small
// in-memory model of what the API promises; `Snapshot::check()` must stay
// empty throughout. The paths worth testing (a reused UID, a repeated
// import, threading by subject, a refused contact, ...) are counted, and the
// test fails if one was never taken, so a generator that drifts cannot
// quietly hollow it out. LODESTONE_PROPERTY_VERBOSE=1 prints the counts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "crm_test_support.hpp"

using namespace lodestone::crm;
using lodestone::crm::test::make_message;
using lodestone::crm::test::MessageSpec;
using lodestone::crm::test::TempDir;

namespace {

constexpr std::int64_t base_date = 1772323200;  // Sun, 01 Mar 2026 00:00:00 UTC
constexpr std::int64_t one_day = 24 * 3600;
constexpr std::int64_t thread_window = 30 * one_day;  // CrmOptions default

const std::vector<std::string> external_addresses = {"dana@acme.example", "sam@acme.example", "lee@beta.example",
                                                     "ann@beta.example",  "pat@gmail.com",    "kim@gmail.com",
                                                     "max@gamma.example", "noreply@news.example"};
const std::vector<std::string> staff_addresses = {"alice@corp.example", "bob@corp.example", "carol@corp.example"};
const std::vector<std::string> user_names = {"alice", "bob", "carol", "dave"};
const std::vector<std::string> folders = {"INBOX", "Sent", "Archive"};
const std::vector<std::string> subjects = {"Quote for 40 seats", "Meeting next week", "Invoice 42", "Hello",
                                           "Contract renewal"};
const std::vector<std::string> flag_pool = {"\\Seen", "\\Flagged", "$Customer"};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string domain_part(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

std::string rfc5322_date(std::int64_t t) {
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer;
}

std::string hex(const Key128& key) { return key.to_hex().substr(0, 12); }

// ---- The pool of messages the operations draw from ----

struct PoolMessage {
  std::string raw;
  EmailId id{};
  std::string message_id;  // normalised; empty when the message has none
  std::string in_reply_to;
  std::vector<std::string> references;
  std::int64_t date = 0;
  std::vector<std::string> participants;  // lower-cased, each once: From, To, Cc, Bcc order
  std::string subject;
  std::string label;  // for failure messages
};

class Random {
 public:
  explicit Random(unsigned seed) : rng_(seed) {}
  int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::int64_t between(std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>(low, high)(rng_);
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p; }
  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(below(static_cast<int>(items.size())))];
  }

 private:
  std::mt19937 rng_;
};

// An address as a sender might write it: case varied, sometimes with a name.
std::string written_address(Random& random, const std::string& address) {
  std::string out = address;
  if (random.chance(0.25)) {
    out[0] = static_cast<char>(out[0] - 'a' + 'A');
    const auto at = out.find('@');
    for (auto i = at + 1; i < out.size() && out[i] != '.'; ++i)
      if (out[i] >= 'a' && out[i] <= 'z') out[i] = static_cast<char>(out[i] - 'a' + 'A');
  }
  if (random.chance(0.5)) return "Person " + address.substr(0, address.find('@')) + " <" + out + ">";
  return out;
}

// Message-IDs are sometimes written with an upper-case domain; the store must
// match them to the lower-cased form others refer to.
std::string written_message_id(Random& random, const std::string& normalised) {
  if (!random.chance(0.3)) return normalised;
  const auto at = normalised.rfind('@');
  std::string out = normalised;
  for (auto i = at + 1; i < out.size(); ++i)
    if (out[i] >= 'a' && out[i] <= 'z') out[i] = static_cast<char>(out[i] - 'a' + 'A');
  return out;
}

void add_participant(std::vector<std::string>& list, const std::string& address) {
  const std::string a = lower(address);
  if (std::find(list.begin(), list.end(), a) == list.end()) list.push_back(a);
}

struct Draft {
  std::string from;
  std::vector<std::string> to, cc, bcc;
  std::string subject;
  std::int64_t date = 0;
  std::string message_id;  // normalised; empty: none
  std::string in_reply_to;
  std::vector<std::string> references;
  std::string body;
  std::string label;
};

PoolMessage build(Random& random, const Draft& d) {
  MessageSpec spec;
  spec.message_id = d.message_id.empty() ? "" : "<" + written_message_id(random, d.message_id) + ">";
  spec.from = written_address(random, d.from);
  spec.to.clear();
  for (const auto& a : d.to) spec.to += (spec.to.empty() ? "" : ", ") + written_address(random, a);
  spec.subject = d.subject;
  spec.date = rfc5322_date(d.date);
  spec.in_reply_to = d.in_reply_to.empty() ? "" : written_message_id(random, d.in_reply_to);
  for (const auto& r : d.references)
    spec.references += (spec.references.empty() ? "<" : " <") + written_message_id(random, r) + ">";
  spec.body = d.body;
  std::string extra;
  if (!d.cc.empty()) {
    extra += "Cc: ";
    for (std::size_t i = 0; i < d.cc.size(); ++i) extra += (i ? ", " : "") + written_address(random, d.cc[i]);
    extra += "\r\n";
  }
  if (!d.bcc.empty()) {
    extra += "Bcc: ";
    for (std::size_t i = 0; i < d.bcc.size(); ++i) extra += (i ? ", " : "") + written_address(random, d.bcc[i]);
    extra += "\r\n";
  }
  PoolMessage m;
  m.raw = extra + make_message(spec);
  m.message_id = d.message_id;
  m.id = d.message_id.empty() ? email_id_from_content(m.raw) : email_id_from_message_id(d.message_id);
  m.in_reply_to = d.in_reply_to;
  m.references = d.references;
  m.date = d.date;
  add_participant(m.participants, d.from);
  for (const auto* list : {&d.to, &d.cc, &d.bcc})
    for (const auto& a : *list) add_participant(m.participants, a);
  m.subject = d.subject;
  m.label = d.label;
  return m;
}

// Conversations between an outsider and a member of staff: roots, proper
// replies, replies whose client dropped References but kept "Re:", new
// messages reusing a subject, messages without Message-ID, copies of one
// Message-ID with other headers; plus unthreaded noise.
std::vector<PoolMessage> make_pool(Random& random, unsigned seed) {
  std::vector<PoolMessage> pool;
  const std::string tag = "s" + std::to_string(seed);
  for (int c = 0; c < 12; ++c) {
    const std::string outsider = random.pick(external_addresses);
    const std::string staff = random.pick(staff_addresses);
    const std::string subject = random.pick(subjects);
    std::vector<std::size_t> in_conversation;  // pool indices of its messages with a Message-ID
    std::int64_t last_date = base_date + random.between(0, 100 * one_day);
    const int size = 1 + random.below(6);
    for (int k = 0; k < size; ++k) {
      Draft d;
      const bool from_outsider = random.chance(0.5);
      d.from = from_outsider ? outsider : staff;
      d.to = {from_outsider ? staff : outsider};
      if (random.chance(0.2)) d.cc.push_back(random.pick(external_addresses));
      if (random.chance(0.1)) d.cc.push_back(random.pick(staff_addresses));
      d.body = "conversation " + std::to_string(c) + " message " + std::to_string(k) + " " + tag;
      d.label = "c" + std::to_string(c) + "m" + std::to_string(k);
      enum { root, full_reply, references_only, dropped_references, same_subject } kind = root;
      if (k > 0) {
        const int r = random.below(100);
        kind = r < 45 ? full_reply : r < 60 ? references_only : r < 85 ? dropped_references : same_subject;
        if (in_conversation.empty() && (kind == full_reply || kind == references_only)) kind = dropped_references;
      }
      const PoolMessage* parent =
          in_conversation.empty() ? nullptr : &pool[in_conversation[static_cast<std::size_t>(
                                                  random.below(static_cast<int>(in_conversation.size())))]];
      static const std::vector<std::string> prefixes = {"Re: ", "RE: ", "AW: ", "Fwd: ", "Re: Re: "};
      d.subject = kind == root || kind == same_subject ? subject : random.pick(prefixes) + subject;
      if (kind == full_reply || kind == references_only) {
        d.references = parent->references;
        d.references.push_back(parent->message_id);
        if (kind == full_reply) d.in_reply_to = parent->message_id;
      }
      const std::int64_t after = parent ? std::max(parent->date, last_date) : last_date;
      d.date = k == 0 ? last_date : after + random.between(600, 40 * one_day);
      last_date = std::max(last_date, d.date);
      if (random.chance(0.85))
        d.message_id = d.label + "." + tag + "@" + domain_part(d.from);
      d.label += " (" + std::string(kind == root              ? "root"
                                    : kind == full_reply      ? "reply"
                                    : kind == references_only ? "reply, References only"
                                    : kind == dropped_references ? "reply without References"
                                                                 : "same subject") +
                 (d.message_id.empty() ? ", no Message-ID)" : ")");
      pool.push_back(build(random, d));
      if (!d.message_id.empty()) in_conversation.push_back(pool.size() - 1);
      // Another copy of the same Message-ID, with a Bcc, a later Date and
      // another body: whichever is recorded first is what the store keeps.
      if (!d.message_id.empty() && random.chance(0.12)) {
        Draft copy = d;
        copy.bcc.push_back(random.pick(external_addresses));
        copy.date += 3600;
        copy.body += " (sent copy)";
        copy.label += " copy";
        pool.push_back(build(random, copy));
      }
    }
  }
  for (int n = 0; n < 8; ++n) {
    Draft d;
    d.from = random.chance(0.5) ? random.pick(std::vector<std::string>{"pat@gmail.com", "kim@gmail.com"})
                                : "noreply@news.example";
    d.to = {random.pick(staff_addresses)};
    d.subject = (random.chance(0.4) ? "Re: " : "") + random.pick(subjects);
    d.date = base_date + random.between(0, 140 * one_day);
    d.body = "noise " + std::to_string(n) + " " + tag;
    d.label = "noise" + std::to_string(n);
    if (random.chance(0.5)) d.message_id = d.label + "." + tag + "@" + domain_part(d.from);
    pool.push_back(build(random, d));
  }
  return pool;
}

// ---- The model ----

using Place = std::tuple<std::string, std::string, std::uint32_t, std::uint32_t>;  // user, folder, uidvalidity, uid
using LinkKey = std::tuple<EmailId, int, RecordId>;

struct ModelEmail {
  const PoolMessage* message = nullptr;  // the copy recorded first
  ThreadId thread{};
};

struct ModelThread {
  std::string subject;
  std::vector<std::string> participants;
  std::int64_t first_date = 0, last_date = 0;
  std::uint32_t email_count = 0;
};

struct ModelRef {
  EmailId email{};
  std::vector<std::string> flags;
};

struct ModelContact {
  std::vector<std::string> emails;
  bool shared = false;
};

struct ModelDeal {
  std::string title, stage;
  unsigned probability = 0;
  std::int64_t amount = 0;
  RecordId account = 0, contact = 0;
};

// How often the runs took the paths worth testing: each must be taken at
// least once, or the generator has drifted and the test proves less.
struct Coverage {
  std::map<std::string, int> taken;
  void hit(const std::string& path) { ++taken[path]; }
};

class Model {
 public:
  explicit Model(Coverage& coverage) : coverage_(coverage) {}

  std::map<EmailId, ModelEmail> emails;
  std::map<ThreadId, ModelThread> threads;
  std::map<std::string, ThreadId> claimed;  // normalised Message-ID → thread
  std::map<Place, ModelRef> refs;
  std::set<std::string> users;
  std::vector<ModelContact> contacts;  // id = index + 1
  std::map<std::string, RecordId> contact_by_address;
  std::vector<std::string> leads;  // their address; id = index + 1
  std::map<std::string, RecordId> lead_by_address;
  std::vector<std::string> accounts;  // their domain; id = index + 1
  std::map<std::string, RecordId> account_by_domain;
  std::vector<ModelDeal> deals;  // id = index + 1
  std::set<LinkKey> links;
  std::size_t audit_entries = 0;

  std::int64_t date_of(const EmailId& id) const { return emails.at(id).message->date; }

  RecordOutcome record(const SeenEmail& seen, const PoolMessage& message) {
    users.insert(seen.user);
    RecordOutcome out;
    out.email = message.id;
    auto found = emails.find(message.id);
    if (found != emails.end() && found->second.message != &message) coverage_.hit("another copy of a Message-ID");
    if (found == emails.end()) {
      out.new_email = true;
      ModelEmail email{&message, assign_thread(message)};
      found = emails.emplace(message.id, email).first;
      link_by_addresses(message);
    }
    out.thread = found->second.thread;
    std::uint32_t uid = seen.uid;
    if (seen.uidvalidity == 0) {
      std::uint32_t highest = 0;
      for (const auto& [place, ref] : refs) {
        if (std::get<0>(place) != seen.user || std::get<1>(place) != seen.folder || std::get<2>(place) != 0) continue;
        if (ref.email == message.id) {
          coverage_.hit("an import repeated");
          return out;  // imported into this folder before
        }
        highest = std::max(highest, std::get<3>(place));
      }
      uid = highest + 1;
    }
    const Place place{seen.user, seen.folder, seen.uidvalidity, uid};
    if (auto existing = refs.find(place); existing != refs.end()) {
      if (existing->second.email == message.id) {
        coverage_.hit("the same message at the same place again");
        existing->second.flags = seen.flags;
        return out;
      }
      coverage_.hit("a reused UID");
      refs.erase(existing);  // a reused UID: the newer message wins
    }
    refs[place] = {message.id, seen.flags};
    out.new_ref = true;
    return out;
  }

  void set_flags(const Place& place, const std::vector<std::string>& flags) {
    if (auto ref = refs.find(place); ref != refs.end()) ref->second.flags = flags;
  }

  bool delete_ref(const Place& place) {
    const bool deleted = refs.erase(place) > 0;
    coverage_.hit(deleted ? "a ref deleted" : "no ref to delete");
    return deleted;
  }

  std::optional<RecordId> add_contact(const ContactInput& input) {
    std::vector<std::string> addresses;
    for (const auto& raw : input.emails) {
      const std::string a = lower(raw);
      if (!plausible(a)) return std::nullopt;
      if (is_org(a)) {
        coverage_.hit("a staff address refused as a contact");
        return std::nullopt;
      }
      if (std::find(addresses.begin(), addresses.end(), a) != addresses.end()) continue;
      if (contact_by_address.count(a)) return std::nullopt;
      addresses.push_back(a);
    }
    if (input.name.empty() && addresses.empty()) return std::nullopt;
    const RecordId id = contacts.size() + 1;
    if (input.shared && !addresses.empty()) coverage_.hit("a shared contact");
    if (!input.owner.empty()) users.insert(input.owner);
    contacts.push_back({addresses, input.shared});
    for (const auto& a : addresses) {
      contact_by_address[a] = id;
      link_address(a, LinkTarget::contact, id);
      ensure_account(domain_part(a));
    }
    ++audit_entries;
    return id;
  }

  std::optional<RecordId> add_lead(const LeadInput& input) {
    const std::string a = lower(input.email);
    if (!plausible(a)) return std::nullopt;
    if (is_org(a)) {
      coverage_.hit("a staff address refused as a lead");
      return std::nullopt;
    }
    if (auto existing = lead_by_address.find(a); existing != lead_by_address.end()) return existing->second;
    const RecordId id = leads.size() + 1;
    if (!input.owner.empty()) users.insert(input.owner);
    leads.push_back(a);
    lead_by_address[a] = id;
    link_address(a, LinkTarget::lead, id);
    ensure_account(domain_part(a));
    ++audit_entries;
    return id;
  }

  std::optional<RecordId> add_deal(const DealInput& input) {
    if (input.title.empty() || input.probability > 100) return std::nullopt;
    if (input.account && input.account > accounts.size()) return std::nullopt;
    if (input.contact && input.contact > contacts.size()) return std::nullopt;
    if (!input.owner.empty()) users.insert(input.owner);
    deals.push_back({input.title, input.stage, input.probability, input.amount, input.account, input.contact});
    ++audit_entries;
    return deals.size();
  }

  bool update_deal(RecordId id, const DealUpdate& update, const std::string& by) {
    if (id == 0 || id > deals.size()) return false;
    if (update.title && update.title->empty()) return false;
    if (update.probability && *update.probability > 100) return false;
    ModelDeal& deal = deals[id - 1];
    if (update.title) deal.title = *update.title;
    if (update.stage) deal.stage = *update.stage;
    if (update.probability) deal.probability = *update.probability;
    if (update.amount) deal.amount = *update.amount;
    if (!by.empty()) users.insert(by);
    ++audit_entries;
    return true;
  }

  bool link(const EmailId& email, LinkTarget target, RecordId id, const std::string& by) {
    if (!emails.count(email) || !target_exists(target, id)) return false;
    if (!by.empty()) users.insert(by);
    links.insert({email, static_cast<int>(target), id});
    ++audit_entries;
    coverage_.hit("a manual link");
    return true;
  }

  bool target_exists(LinkTarget target, RecordId id) const {
    std::size_t count = 0;
    switch (target) {
      case LinkTarget::contact: count = contacts.size(); break;
      case LinkTarget::lead: count = leads.size(); break;
      case LinkTarget::account: count = accounts.size(); break;
      case LinkTarget::deal: count = deals.size(); break;
    }
    return id >= 1 && id <= count;
  }

  bool holds(const std::string& user, const EmailId& email) const {
    for (const auto& [place, ref] : refs)
      if (std::get<0>(place) == user && ref.email == email) return true;
    return false;
  }

  bool can_see(const std::string& user, const EmailId& email) const {
    if (holds(user, email)) return true;
    for (auto it = links.lower_bound({email, 0, 0}); it != links.end() && std::get<0>(*it) == email; ++it)
      if (std::get<1>(*it) == static_cast<int>(LinkTarget::contact) && contacts[std::get<2>(*it) - 1].shared)
        return true;
    return false;
  }

  // Newest first, as the dated indexes are read: date, then id, descending.
  std::vector<EmailId> newest_first(std::vector<EmailId> ids) const {
    std::sort(ids.begin(), ids.end(), [&](const EmailId& a, const EmailId& b) {
      return std::make_pair(date_of(b), b) < std::make_pair(date_of(a), a);
    });
    return ids;
  }

  std::vector<EmailId> emails_of_user(const std::string& user) const {
    std::set<EmailId> held;
    for (const auto& [place, ref] : refs)
      if (std::get<0>(place) == user) held.insert(ref.email);
    return newest_first({held.begin(), held.end()});
  }

  std::vector<EmailId> emails_of(LinkTarget target, RecordId id, const std::optional<std::string>& viewer) const {
    std::vector<EmailId> out;
    for (const auto& [email, kind, target_id] : links)
      if (kind == static_cast<int>(target) && target_id == id && (!viewer || can_see(*viewer, email)))
        out.push_back(email);
    return newest_first(out);
  }

  std::vector<EmailId> thread_emails(const ThreadId& thread, const std::optional<std::string>& viewer) const {
    std::vector<EmailId> out;
    for (const auto& [id, email] : emails)
      if (email.thread == thread && (!viewer || can_see(*viewer, id))) out.push_back(id);
    std::sort(out.begin(), out.end(), [&](const EmailId& a, const EmailId& b) {
      return std::make_pair(date_of(a), a) < std::make_pair(date_of(b), b);
    });
    return out;
  }

 private:
  Coverage& coverage_;

  static bool plausible(const std::string& a) {
    return a.find('@') != std::string::npos && a.find(' ') == std::string::npos;
  }
  static bool is_org(const std::string& address) { return domain_part(address) == "corp.example"; }

  // Threading as documented: References first (own id, In-Reply-To, then
  // References from the parent back), then for replies the newest thread
  // with the same normalised subject, a shared participant and its last
  // message within the window. Threads never merge.
  ThreadId assign_thread(const PoolMessage& m) {
    bool reply_subject = false;
    const std::string subject = normalise_subject(m.subject, &reply_subject);
    std::optional<ThreadId> found = by_references(m);
    if (found) coverage_.hit("threaded by References");
    if (!found && !subject.empty() && (reply_subject || !m.in_reply_to.empty() || !m.references.empty())) {
      found = by_subject(m, subject);
      coverage_.hit(found ? "threaded by subject" : "a reply that starts a thread");
    }
    ThreadId id = found ? *found : m.id;
    if (!found) threads[id] = ModelThread{subject, {}, m.date, m.date, 0};
    ModelThread& t = threads[id];
    t.first_date = std::min(t.first_date, m.date);
    t.last_date = std::max(t.last_date, m.date);
    for (const auto& p : m.participants) {
      if (t.participants.size() >= 64) break;
      if (std::find(t.participants.begin(), t.participants.end(), p) == t.participants.end())
        t.participants.push_back(p);
    }
    ++t.email_count;
    auto claim = [&](const std::string& message_id) {
      if (!message_id.empty()) claimed.emplace(message_id, id);  // the first claim stays
    };
    claim(m.message_id);
    claim(m.in_reply_to);
    for (const auto& r : m.references) claim(r);
    return id;
  }

  std::optional<ThreadId> by_references(const PoolMessage& m) const {
    auto lookup = [&](const std::string& message_id) -> std::optional<ThreadId> {
      if (message_id.empty()) return std::nullopt;
      if (auto hit = claimed.find(message_id); hit != claimed.end()) return hit->second;
      return std::nullopt;
    };
    if (auto t = lookup(m.message_id)) return t;
    if (auto t = lookup(m.in_reply_to)) return t;
    for (auto r = m.references.rbegin(); r != m.references.rend(); ++r)
      if (auto t = lookup(*r)) return t;
    return std::nullopt;
  }

  std::optional<ThreadId> by_subject(const PoolMessage& m, const std::string& subject) {
    std::vector<std::pair<std::int64_t, ThreadId>> candidates;
    for (const auto& [id, t] : threads)
      if (t.subject == subject && t.last_date >= m.date - thread_window && t.last_date < m.date + thread_window)
        candidates.emplace_back(t.last_date, id);
    std::sort(candidates.rbegin(), candidates.rend());  // newest first
    if (candidates.size() > 32) candidates.resize(32);
    for (const auto& [last, id] : candidates) {
      const auto& ps = threads.at(id).participants;
      for (const auto& p : m.participants)
        if (std::find(ps.begin(), ps.end(), p) != ps.end()) return id;
      coverage_.hit("a subject match without a shared participant");
    }
    for (const auto& [id, t] : threads)
      if (t.subject == subject && (t.last_date < m.date - thread_window || t.last_date >= m.date + thread_window))
        coverage_.hit("a subject match outside the window");
    return std::nullopt;
  }

  void link_by_addresses(const PoolMessage& m) {
    for (const auto& a : m.participants) {
      if (is_org(a)) continue;
      if (auto c = contact_by_address.find(a); c != contact_by_address.end()) {
        coverage_.hit("a new email linked to a contact");
        links.insert({m.id, static_cast<int>(LinkTarget::contact), c->second});
      }
      if (auto l = lead_by_address.find(a); l != lead_by_address.end())
        links.insert({m.id, static_cast<int>(LinkTarget::lead), l->second});
      if (auto acc = account_by_domain.find(domain_part(a)); acc != account_by_domain.end())
        links.insert({m.id, static_cast<int>(LinkTarget::account), acc->second});
    }
  }

  void link_address(const std::string& address, LinkTarget target, RecordId id) {
    for (const auto& [email_id, email] : emails) {
      const auto& ps = email.message->participants;
      if (std::find(ps.begin(), ps.end(), address) != ps.end()) {
        coverage_.hit("a past email linked to a new contact or lead");
        links.insert({email_id, static_cast<int>(target), id});
      }
    }
  }

  void ensure_account(const std::string& domain) {
    if (domain.empty() || is_free_mail_domain(domain) || domain == "corp.example") return;
    if (account_by_domain.count(domain)) return;
    accounts.push_back(domain);
    const RecordId id = accounts.size();
    coverage_.hit("an account created");
    account_by_domain[domain] = id;
    ++audit_entries;
    for (const auto& [email_id, email] : emails)
      for (const auto& p : email.message->participants)
        if (domain_part(p) == domain) links.insert({email_id, static_cast<int>(LinkTarget::account), id});
  }
};

// ---- Comparing the store with the model ----

std::string ids_text(const std::vector<EmailId>& ids) {
  std::string out = "[";
  for (const auto& id : ids) out += (out.size() > 1 ? " " : "") + hex(id);
  return out + "]";
}

// Every login name the operations use, and one that never appears.
std::vector<std::string> user_names_pool() {
  std::vector<std::string> out = user_names;
  out.push_back("nobody");
  return out;
}

std::vector<std::string> participants_of_row(const EmailRow& row) {
  std::vector<std::string> out;
  for (const auto* list : {&row.from, &row.to, &row.cc, &row.bcc})
    for (const auto& a : *list) add_participant(out, a.address);
  return out;
}

std::vector<EmailId> ids_of(const std::vector<ThreadEntry>& rows) {
  std::vector<EmailId> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
}

// Every difference between what the store shows and what the model says,
// one line each; empty when they agree.
std::vector<std::string> differences(const Crm& crm, const Model& m) {
  std::vector<std::string> d;
  Snapshot s = crm.snapshot();
  for (const auto& problem : s.check()) d.push_back("check(): " + problem);

  std::map<std::string, std::uint64_t> counts;
  for (const auto& c : s.counts()) counts[c.table] = c.entries;
  std::size_t held = 0, addresses = 0;
  for (const auto& user : m.users) held += m.emails_of_user(user).size();
  for (const auto& [id, email] : m.emails) addresses += email.message->participants.size();
  const std::vector<std::pair<std::string, std::size_t>> expected_counts = {
      {"emails", m.emails.size()},      {"refs", m.refs.size()},           {"refs__email", m.refs.size()},
      {"emails__user", held},           {"emails__address", addresses},    {"threads", m.threads.size()},
      {"threads__email", m.emails.size()}, {"threads__message_id", m.claimed.size()},
      {"links", m.links.size()},        {"links__target", m.links.size()}, {"contacts", m.contacts.size()},
      {"leads", m.leads.size()},        {"accounts", m.accounts.size()},   {"deals", m.deals.size()},
      {"users", m.users.size()},        {"audit", m.audit_entries}};
  for (const auto& [table, want] : expected_counts)
    if (counts[table] != want)
      d.push_back("count of " + table + ": store " + std::to_string(counts[table]) + ", model " + std::to_string(want));

  std::map<UserId, std::string> user_names;
  std::set<std::string> store_users;
  for (const auto& u : s.users()) {
    user_names[u.id] = u.name;
    store_users.insert(u.name);
  }
  if (store_users != m.users) d.push_back("the users differ");

  // Emails: fields, refs, links, visibility.
  std::vector<std::string> viewers = user_names_pool();
  std::uint64_t counted_in_threads = 0;
  std::set<ThreadId> threads_seen;
  for (const auto& [id, email] : m.emails) {
    const PoolMessage& msg = *email.message;
    const std::string name = hex(id) + " (" + msg.label + ")";
    const auto row = s.email(id);
    if (!row) {
      d.push_back("email " + name + " is missing");
      continue;
    }
    if (row->message_id != msg.message_id) d.push_back("email " + name + ": Message-ID '" + row->message_id + "'");
    if (row->date != msg.date) d.push_back("email " + name + ": date " + std::to_string(row->date));
    if (row->in_reply_to != msg.in_reply_to) d.push_back("email " + name + ": In-Reply-To '" + row->in_reply_to + "'");
    if (row->references != msg.references) d.push_back("email " + name + ": References differ");
    if (participants_of_row(*row) != msg.participants) d.push_back("email " + name + ": participants differ");
    if (row->size != msg.raw.size()) d.push_back("email " + name + ": size " + std::to_string(row->size));
    if (row->thread != email.thread)
      d.push_back("email " + name + ": thread " + hex(row->thread) + ", model " + hex(email.thread));
    if (threads_seen.insert(row->thread).second) {
      if (const auto t = s.thread(row->thread)) {
        counted_in_threads += t->email_count;
      } else {
        d.push_back("email " + name + ": its thread " + hex(row->thread) + " does not exist");
      }
    }

    std::set<std::tuple<std::string, std::string, std::uint32_t, std::uint32_t, std::vector<std::string>>> want_refs,
        got_refs;
    for (const auto& [place, ref] : m.refs)
      if (ref.email == id)
        want_refs.insert({std::get<0>(place), std::get<1>(place), std::get<2>(place), std::get<3>(place), ref.flags});
    for (const auto& r : s.refs_of(id)) {
      if (r.email != id) d.push_back("email " + name + ": refs_of returns a ref of " + hex(r.email));
      got_refs.insert({user_names[r.user], r.folder, r.uidvalidity, r.uid, r.flags});
    }
    if (want_refs != got_refs) {
      std::string text = "email " + name + ": refs differ; store:";
      for (const auto& [u, f, v, uid, flags] : got_refs)
        text += " " + u + "/" + f + "/" + std::to_string(v) + "/" + std::to_string(uid) + "+" + std::to_string(flags.size());
      text += "; model:";
      for (const auto& [u, f, v, uid, flags] : want_refs)
        text += " " + u + "/" + f + "/" + std::to_string(v) + "/" + std::to_string(uid) + "+" + std::to_string(flags.size());
      d.push_back(text);
    }

    std::set<LinkKey> want_links, got_links;
    for (auto it = m.links.lower_bound({id, 0, 0}); it != m.links.end() && std::get<0>(*it) == id; ++it)
      want_links.insert(*it);
    for (const auto& l : s.links_of(id)) got_links.insert({l.email, static_cast<int>(l.target), l.target_id});
    if (want_links != got_links) {
      std::string text = "email " + name + ": links differ; store:";
      for (const auto& [e, kind, target] : got_links) text += " " + std::to_string(kind) + ":" + std::to_string(target);
      text += "; model:";
      for (const auto& [e, kind, target] : want_links) text += " " + std::to_string(kind) + ":" + std::to_string(target);
      d.push_back(text);
    }

    for (const auto& viewer : viewers)
      if (s.can_see(viewer, id) != m.can_see(viewer, id))
        d.push_back("can_see(" + viewer + ", " + name + "): store " + (s.can_see(viewer, id) ? "yes" : "no"));
  }
  if (counted_in_threads != m.emails.size())
    d.push_back("the threads' email_count add up to " + std::to_string(counted_in_threads) + " for " +
                std::to_string(m.emails.size()) + " emails");

  // Each user's list of emails, newest first.
  for (const auto& viewer : viewers) {
    const auto got = s.emails_of_user(viewer, {});
    const auto want = m.emails_of_user(viewer);
    if (got != want) d.push_back("emails_of_user(" + viewer + "): store " + ids_text(got) + ", model " + ids_text(want));
  }

  // Threads and their views.
  for (const auto& [id, t] : m.threads) {
    const auto row = s.thread(id);
    if (!row) {
      d.push_back("thread " + hex(id) + " is missing");
      continue;
    }
    if (row->email_count != t.email_count || row->subject != t.subject || row->first_date != t.first_date ||
        row->last_date != t.last_date || row->participants != t.participants)
      d.push_back("thread " + hex(id) + ": count " + std::to_string(row->email_count) + " (model " +
                  std::to_string(t.email_count) + "), subject '" + row->subject + "' (model '" + t.subject + "')");
    std::optional<std::string> no_viewer;
    if (ids_of(s.thread_view(id, std::nullopt)) != m.thread_emails(id, no_viewer))
      d.push_back("thread_view(" + hex(id) + ") differs");
    for (const auto& viewer : viewers)
      if (ids_of(s.thread_view(id, viewer)) != m.thread_emails(id, viewer))
        d.push_back("thread_view(" + hex(id) + ", " + viewer + ") differs");
  }

  // Records and the emails linked to them, with and without a viewer.
  auto check_emails_of = [&](LinkTarget target, RecordId record) {
    const std::string name = std::string(to_string(target)) + " " + std::to_string(record);
    const auto all = s.emails_of(target, record, {});
    if (all != m.emails_of(target, record, std::nullopt))
      d.push_back("emails_of(" + name + "): store " + ids_text(all) + ", model " +
                  ids_text(m.emails_of(target, record, std::nullopt)));
    for (const auto& viewer : viewers) {
      Snapshot::EmailQuery query;
      query.viewer = viewer;
      if (s.emails_of(target, record, query) != m.emails_of(target, record, viewer))
        d.push_back("emails_of(" + name + ", viewer " + viewer + ") differs");
    }
  };
  for (RecordId id = 1; id <= m.contacts.size(); ++id) {
    const auto c = s.contact(id);
    if (!c || c->emails != m.contacts[id - 1].emails || c->shared != m.contacts[id - 1].shared)
      d.push_back("contact " + std::to_string(id) + " differs");
    check_emails_of(LinkTarget::contact, id);
  }
  for (const auto& [address, id] : m.contact_by_address) {
    const auto c = s.contact_by_address(address);
    if (!c || c->id != id) d.push_back("contact_by_address(" + address + ") differs");
  }
  for (RecordId id = 1; id <= m.leads.size(); ++id) {
    const auto l = s.lead(id);
    if (!l || l->email != m.leads[id - 1]) d.push_back("lead " + std::to_string(id) + " differs");
    check_emails_of(LinkTarget::lead, id);
  }
  for (RecordId id = 1; id <= m.accounts.size(); ++id) {
    const auto a = s.account(id);
    if (!a || a->domain != m.accounts[id - 1]) d.push_back("account " + std::to_string(id) + " differs");
    check_emails_of(LinkTarget::account, id);
  }
  for (const auto& [domain, id] : m.account_by_domain) {
    const auto a = s.account_by_domain(domain);
    if (!a || a->id != id) d.push_back("account_by_domain(" + domain + ") differs");
  }
  for (RecordId id = 1; id <= m.deals.size(); ++id) {
    const auto deal = s.deal(id);
    const ModelDeal& want = m.deals[id - 1];
    if (!deal || deal->title != want.title || deal->stage != want.stage || deal->probability != want.probability ||
        deal->amount != want.amount || deal->account != want.account || deal->contact != want.contact)
      d.push_back("deal " + std::to_string(id) + " differs");
    check_emails_of(LinkTarget::deal, id);
  }
  return d;
}

}  // namespace

namespace {

template <class T>
std::shared_ptr<std::future<T>> shared(std::future<T> future) {
  return std::make_shared<std::future<T>>(std::move(future));
}

std::string place_text(const Place& p) {
  return std::get<0>(p) + "/" + std::get<1>(p) + "/" + std::to_string(std::get<2>(p)) + "/" +
         std::to_string(std::get<3>(p));
}

// An address as a person might type it into the CRM.
std::string typed_address(Random& random, const std::string& address) {
  if (!random.chance(0.3)) return address;
  std::string out = address;
  for (char& c : out)
    if (c >= 'a' && c <= 'z' && random.chance(0.5)) c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::vector<std::string> random_flags(Random& random) {
  std::vector<std::string> flags;
  for (const auto& f : flag_pool)
    if (random.chance(0.4)) flags.push_back(f);
  return flags;
}

std::string maybe_user(Random& random) { return random.chance(0.7) ? random.pick(user_names) : std::string(); }

}  // namespace

TEST_CASE("random operations through the public API agree with a model of it, across a reopen") {
  constexpr int operations = 400;
  constexpr int checkpoint_every = 50;
  Coverage coverage;
  for (const unsigned seed : {20260301u, 7u, 42u, 1234u, 99991u}) {
    INFO("seed " << seed << " (std::mt19937)");
    Random random(seed);
    const std::vector<PoolMessage> pool = make_pool(random, seed);
    TempDir dir;
    const CrmOptions options{.directory = dir.path(), .org_domains = {"Corp.Example"}};
    auto crm = std::make_unique<Crm>(options);
    Model model(coverage);
    // Writes are pipelined: each queues its check of the result, run at the
    // next checkpoint (never while a snapshot is open).
    std::vector<std::function<void()>> pending;
    std::vector<std::string> log;
    auto settle = [&] {
      for (auto& verify : pending) verify();
      pending.clear();
    };
    auto compare = [&](int after) {
      const auto diffs = differences(*crm, model);
      std::string text;
      for (std::size_t i = 0; i < diffs.size() && i < 40; ++i) text += "  " + diffs[i] + "\n";
      if (diffs.size() > 40) text += "  ... " + std::to_string(diffs.size() - 40) + " more\n";
      text += "the last operations:\n";
      for (std::size_t i = log.size() > 20 ? log.size() - 20 : 0; i < log.size(); ++i) text += "  " + log[i] + "\n";
      INFO("after " << after << " operations, " << diffs.size() << " differences:\n" << text);
      CHECK(diffs.empty());
    };
    auto random_place = [&]() -> Place {
      if (!model.refs.empty() && random.chance(0.7)) {
        auto it = model.refs.begin();
        std::advance(it, random.below(static_cast<int>(model.refs.size())));
        return it->first;
      }
      const std::uint32_t uidvalidity = random.chance(0.2) ? 0u : static_cast<std::uint32_t>(1 + random.below(2));
      return {random.pick(user_names), random.pick(folders), uidvalidity, static_cast<std::uint32_t>(1 + random.below(8))};
    };
    auto random_record = [&](LinkTarget target) -> RecordId {
      std::size_t count = 0;
      switch (target) {
        case LinkTarget::contact: count = model.contacts.size(); break;
        case LinkTarget::lead: count = model.leads.size(); break;
        case LinkTarget::account: count = model.accounts.size(); break;
        case LinkTarget::deal: count = model.deals.size(); break;
      }
      return static_cast<RecordId>(1 + random.below(static_cast<int>(count) + 1));  // count + 1 does not exist
    };

    for (int op = 0; op < operations; ++op) {
      if (op == operations / 2) {
        // Destroying the Crm commits what is still queued; the futures hold.
        crm.reset();
        settle();
        crm = std::make_unique<Crm>(options);
        log.push_back("-- reopened --");
        compare(op);
      }
      const int kind = random.below(100);
      std::string desc = "#" + std::to_string(op) + " ";
      if (kind < 50) {
        const PoolMessage& message = random.pick(pool);
        SeenEmail seen;
        seen.user = random.pick(user_names);
        seen.folder = random.pick(folders);
        seen.uidvalidity = random.chance(0.2) ? 0u : static_cast<std::uint32_t>(1 + random.below(2));
        seen.uid = static_cast<std::uint32_t>(1 + random.below(8));  // ignored for imports
        seen.flags = random_flags(random);
        desc += "record_email " + seen.user + "/" + seen.folder + "/" + std::to_string(seen.uidvalidity) + "/" +
                std::to_string(seen.uid) + " " + message.label + " " + hex(message.id);
        auto future = shared(crm->record_email(seen, message.raw));
        const RecordOutcome want = model.record(seen, message);
        pending.push_back([future, want, desc] {
          INFO(desc);
          const RecordOutcome got = future->get();
          CHECK(got.email.to_hex() == want.email.to_hex());
          CHECK(got.thread.to_hex() == want.thread.to_hex());
          CHECK(got.new_email == want.new_email);
          CHECK(got.new_ref == want.new_ref);
        });
      } else if (kind < 59) {
        const Place place = random_place();
        const auto flags = random_flags(random);
        desc += "set_flags " + place_text(place) + " +" + std::to_string(flags.size());
        auto future = std::make_shared<std::future<void>>(crm->set_flags(
            std::get<0>(place), std::get<1>(place), std::get<2>(place), std::get<3>(place), flags));
        model.set_flags(place, flags);
        pending.push_back([future, desc] {
          INFO(desc);
          CHECK_NOTHROW(future->get());
        });
      } else if (kind < 68) {
        const Place place = random_place();
        desc += "delete_ref " + place_text(place);
        auto future =
            shared(crm->delete_ref(std::get<0>(place), std::get<1>(place), std::get<2>(place), std::get<3>(place)));
        const bool want = model.delete_ref(place);
        pending.push_back([future, want, desc] {
          INFO(desc);
          CHECK(future->get() == want);
        });
      } else if (kind < 76) {
        ContactInput input;
        input.name = random.chance(0.05) ? "" : "Contact " + std::to_string(op);
        const int addresses = random.below(3);
        for (int i = 0; i < addresses; ++i)
          input.emails.push_back(random.chance(0.08)   ? "not an address"
                                 : random.chance(0.05) ? typed_address(random, random.pick(staff_addresses))
                                                       : typed_address(random, random.pick(external_addresses)));
        if (!input.emails.empty() && random.chance(0.1)) input.emails.push_back(lower(input.emails.front()));
        input.shared = random.chance(0.4);
        input.owner = maybe_user(random);
        desc += "add_contact";
        for (const auto& e : input.emails) desc += " '" + e + "'";
        desc += input.shared ? " shared" : "";
        auto future = shared(crm->add_contact(input));
        const auto want = model.add_contact(input);
        pending.push_back([future, want, desc] {
          INFO(desc);
          if (want) {
            CHECK(future->get() == *want);
          } else {
            CHECK_THROWS_AS(future->get(), std::invalid_argument);
          }
        });
        if (!want) coverage.hit("add_contact refused");
      } else if (kind < 82) {
        LeadInput input;
        input.email = random.chance(0.1)    ? "nobody at all"
                      : random.chance(0.05) ? typed_address(random, random.pick(staff_addresses))
                                            : typed_address(random, random.pick(external_addresses));
        input.source = "property test";
        input.owner = maybe_user(random);
        desc += "add_lead '" + input.email + "'";
        auto future = shared(crm->add_lead(input));
        const auto want = model.add_lead(input);
        pending.push_back([future, want, desc] {
          INFO(desc);
          if (want) {
            CHECK(future->get() == *want);
          } else {
            CHECK_THROWS_AS(future->get(), std::invalid_argument);
          }
        });
      } else if (kind < 88) {
        DealInput input;
        input.title = random.chance(0.05) ? "" : "Deal " + std::to_string(op);
        input.account = random.chance(0.4) ? 0 : random_record(LinkTarget::account);
        input.contact = random.chance(0.4) ? 0 : random_record(LinkTarget::contact);
        input.probability = static_cast<unsigned>(random.below(106));
        input.amount = random.between(0, 1'000'000);
        input.stage = random.pick(std::vector<std::string>{"lead", "proposal", "won"});
        input.owner = maybe_user(random);
        desc += "add_deal account " + std::to_string(input.account) + " contact " + std::to_string(input.contact) +
                " p=" + std::to_string(input.probability) + (input.title.empty() ? " untitled" : "");
        auto future = shared(crm->add_deal(input));
        const auto want = model.add_deal(input);
        pending.push_back([future, want, desc] {
          INFO(desc);
          if (want) {
            CHECK(future->get() == *want);
          } else {
            CHECK_THROWS_AS(future->get(), std::invalid_argument);
          }
        });
      } else if (kind < 94) {
        const RecordId id = random_record(LinkTarget::deal);
        DealUpdate update;
        if (random.chance(0.3)) update.title = random.chance(0.15) ? "" : "Renamed " + std::to_string(op);
        if (random.chance(0.5)) update.stage = random.pick(std::vector<std::string>{"proposal", "won", "lost"});
        if (random.chance(0.5)) update.probability = static_cast<unsigned>(random.below(106));
        if (random.chance(0.5)) update.amount = random.between(0, 1'000'000);
        const std::string by = maybe_user(random);
        desc += "update_deal " + std::to_string(id);
        auto future = std::make_shared<std::future<void>>(crm->update_deal(id, update, by));
        const bool want = model.update_deal(id, update, by);
        pending.push_back([future, want, desc] {
          INFO(desc);
          if (want) {
            CHECK_NOTHROW(future->get());
          } else {
            CHECK_THROWS_AS(future->get(), std::invalid_argument);
          }
        });
      } else {
        EmailId email{};
        const int which = random.below(10);
        if (which < 8 && !model.emails.empty()) {
          auto it = model.emails.begin();
          std::advance(it, random.below(static_cast<int>(model.emails.size())));
          email = it->first;
        } else if (which < 9) {
          email = random.pick(pool).id;  // perhaps not recorded yet
        }
        const auto target = static_cast<LinkTarget>(1 + random.below(4));
        const RecordId id = random_record(target);
        const std::string by = maybe_user(random);
        const LinkHow how = random.chance(0.5) ? LinkHow::manual : LinkHow::dropbox;
        desc += "link " + hex(email) + " " + std::string(to_string(target)) + " " + std::to_string(id);
        auto future = std::make_shared<std::future<void>>(crm->link(email, target, id, by, how));
        const bool want = model.link(email, target, id, by);
        pending.push_back([future, want, desc] {
          INFO(desc);
          if (want) {
            CHECK_NOTHROW(future->get());
          } else {
            CHECK_THROWS_AS(future->get(), std::invalid_argument);
          }
        });
      }
      log.push_back(desc);
      if ((op + 1) % checkpoint_every == 0) {
        settle();
        compare(op + 1);
      }
    }
    settle();
    compare(operations);
    // The model is not trivially empty: the run did exercise the store.
    CHECK(model.emails.size() > 10);
    CHECK(model.threads.size() < model.emails.size());
    CHECK(!model.contacts.empty());
  }
  std::string summary;
  for (const auto& [path, times] : coverage.taken) summary += "  " + path + ": " + std::to_string(times) + "\n";
  INFO("paths taken:\n" << summary);
  for (const char* path : {"the same message at the same place again", "a reused UID", "an import repeated",
                           "another copy of a Message-ID", "a ref deleted", "no ref to delete", "a shared contact",
                           "threaded by References", "threaded by subject", "a reply that starts a thread",
                           "a subject match without a shared participant", "a subject match outside the window",
                           "an account created", "a manual link", "a new email linked to a contact",
                           "a past email linked to a new contact or lead", "add_contact refused",
                           "a staff address refused as a contact", "a staff address refused as a lead"}) {
    INFO(path);
    CHECK(coverage.taken[path] > 0);
  }
  if (std::getenv("LODESTONE_PROPERTY_VERBOSE")) WARN("paths taken:\n" << summary);
}
