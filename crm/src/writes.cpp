#include "writes.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace lodestone::crm {
namespace {

// A thread remembers this many participants at most: enough to recognise
// replies, bounded so a mailing-list thread cannot grow its record forever.
constexpr std::size_t max_thread_participants = 64;
// Candidate threads looked at per message by the subject fallback.
constexpr int max_subject_candidates = 32;

bool shares_one(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const auto& x : a)
    if (std::find(b.begin(), b.end(), x) != b.end()) return true;
  return false;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += separator;
    out += p;
  }
  return out;
}

}  // namespace

std::vector<std::string> participants_of(const EmailRow& email) {
  std::vector<std::string> out;
  for (const auto* list : {&email.from, &email.to, &email.cc, &email.bcc})
    for (const auto& a : *list) {
      if (a.address.empty()) continue;
      std::string address = lower_ascii(a.address);
      if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(std::move(address));
    }
  return out;
}

bool plausible_address(std::string_view address) {
  const auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= address.size()) return false;
  if (address.size() > 254) return false;
  for (unsigned char c : address)
    if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',') return false;
  return address.substr(at + 1).find('.') != std::string_view::npos;
}

// ---- Helpers ----

RecordId Writing::next_id(const Dbi& table) {
  Cursor cursor(txn_, table);
  const auto last = cursor.last();
  return last ? decode_u64(last->key) + 1 : 1;
}

void Writing::audit(UserId user, std::string_view action, std::string detail) {
  AuditEntry entry{0, now_, user, std::string(action), std::move(detail)};
  txn_.insert(t_.audit, id_key(next_id(t_.audit)), encode(entry));
}

bool Writing::is_org_address(std::string_view address) const {
  const std::string_view domain = domain_of(address);
  for (const auto& org : options_.org_domains)
    if (domain == org) return true;
  return false;
}

void Writing::reject_org_address(std::string_view address, std::string_view kind) const {
  if (is_org_address(address))
    throw std::invalid_argument(std::string(address) +
                                " is in one of the organisation's domains (crm.org_domains): staff are not a " +
                                std::string(kind));
}

UserId Writing::ensure_user(std::string_view name) {
  if (name.empty()) throw std::invalid_argument("a user name must not be empty");
  const std::string key = name_key(name);
  if (auto found = txn_.get(t_.users__name, key)) return decode_u64(*found);
  const UserId id = next_id(t_.users);
  txn_.insert(t_.users, id_key(id), encode(User{id, std::string(name), now_}));
  txn_.insert(t_.users__name, key, id_key(id));
  return id;
}

// ---- Emails and mailbox refs ----

RecordOutcome Writing::record_email(const SeenEmail& seen, EmailRow email) {
  const UserId user = ensure_user(seen.user);
  RecordOutcome outcome;
  outcome.email = email.id;
  if (auto stored = txn_.get(t_.emails, email.id.view())) {
    // Known already: what we keep is what was first stored.
    email = decode_email(email.id, *stored, origin(t_.emails), /*headers_only=*/true);
  } else {
    outcome.new_email = true;
    email.first_seen = now_;
    if (email.date == 0) email.date = now_;
    email.thread = assign_thread(email);
    txn_.insert(t_.emails, email.id.view(), encode(email));
    for (const auto& address : participants_of(email))
      txn_.put(t_.emails__address, address_key(address, email.date, email.id), {});
    link_by_addresses(email);
  }
  outcome.thread = email.thread;

  std::uint32_t uid = seen.uid;
  if (seen.uidvalidity == 0) {
    const auto assigned = import_uid(user, seen.folder, email.id);
    if (!assigned) return outcome;  // imported into this folder before
    uid = *assigned;
  }
  const std::string key = ref_key(user, seen.folder, seen.uidvalidity, uid);
  if (auto existing = txn_.get(t_.refs, key)) {
    MailboxRef ref = decode_ref(key, *existing, origin(t_.refs));
    if (ref.email == email.id) {
      if (ref.flags != seen.flags) {
        ref.flags = seen.flags;
        txn_.put(t_.refs, key, encode(ref));
      }
      return outcome;
    }
    // Same place, another message: the server reused a UID without changing
    // UIDVALIDITY. The newer observation wins.
    remove_ref(ref);
  }
  MailboxRef ref{user, seen.folder, seen.uidvalidity, uid, email.id, seen.flags};
  txn_.put(t_.refs, key, encode(ref));
  txn_.put(t_.refs__email, ref_email_key(email.id, user, seen.folder, seen.uidvalidity, uid), {});
  txn_.put(t_.emails__user, dated_key(user, email.date, email.id), {});
  outcome.new_ref = true;
  return outcome;
}

std::optional<std::uint32_t> Writing::import_uid(UserId user, std::string_view folder, const EmailId& email) {
  // Already imported into this folder?
  {
    Cursor cursor(txn_, t_.refs__email);
    const std::string prefix = KeyBuilder().key128(email).u64(user).string(key_text(folder)).u32(0).take();
    if (auto hit = cursor.seek(prefix); hit && hit->key.starts_with(prefix)) return std::nullopt;
  }
  // Next number after the folder's last imported one.
  Cursor cursor(txn_, t_.refs);
  const std::string imports = KeyBuilder().u64(user).string(key_text(folder)).u32(0).take();
  const std::string after_imports = KeyBuilder().u64(user).string(key_text(folder)).u32(1).take();
  std::optional<Entry> last = cursor.seek(after_imports) ? cursor.prev() : cursor.last();
  if (!last || !last->key.starts_with(imports)) return 1;
  const std::uint32_t highest = decode_u32(last->key.substr(last->key.size() - 4));
  if (highest == UINT32_MAX) throw std::length_error("folder " + std::string(folder) + " holds 2^32 imported messages");
  return highest + 1;
}

void Writing::remove_ref(const MailboxRef& ref) {
  txn_.erase(t_.refs, ref_key(ref.user, ref.folder, ref.uidvalidity, ref.uid));
  txn_.erase(t_.refs__email, ref_email_key(ref.email, ref.user, ref.folder, ref.uidvalidity, ref.uid));
  Cursor cursor(txn_, t_.refs__email);
  const std::string still = KeyBuilder().key128(ref.email).u64(ref.user).take();
  if (auto hit = cursor.seek(still); hit && hit->key.starts_with(still)) return;
  // The user's last place for it: it leaves the user's list of emails.
  const auto stored = txn_.get(t_.emails, ref.email.view());
  if (!stored) return;
  const EmailRow email = decode_email(ref.email, *stored, origin(t_.emails), true);
  txn_.erase(t_.emails__user, dated_key(ref.user, email.date, ref.email));
}

void Writing::set_flags(std::string_view user, std::string_view folder, std::uint32_t uidvalidity, std::uint32_t uid,
                        const std::vector<std::string>& flags) {
  const auto user_id = txn_.get(t_.users__name, name_key(user));
  if (!user_id) return;
  const std::string key = ref_key(decode_u64(*user_id), folder, uidvalidity, uid);
  const auto stored = txn_.get(t_.refs, key);
  if (!stored) return;  // a message the CRM never captured
  MailboxRef ref = decode_ref(key, *stored, origin(t_.refs));
  if (ref.flags == flags) return;
  ref.flags = flags;
  txn_.put(t_.refs, key, encode(ref));
}

bool Writing::delete_ref(std::string_view user, std::string_view folder, std::uint32_t uidvalidity,
                         std::uint32_t uid) {
  const auto user_id = txn_.get(t_.users__name, name_key(user));
  if (!user_id) return false;
  const std::string key = ref_key(decode_u64(*user_id), folder, uidvalidity, uid);
  const auto stored = txn_.get(t_.refs, key);
  if (!stored) return false;
  remove_ref(decode_ref(key, *stored, origin(t_.refs)));
  return true;
}

// ---- Threads ----

ThreadId Writing::assign_thread(const EmailRow& email) {
  bool reply_subject = false;
  const std::string subject = normalise_subject(email.subject, &reply_subject);
  std::vector<std::string> participants = participants_of(email);

  std::optional<ThreadId> found = thread_by_references(email);
  // The fallback is for replies from clients that drop References: the
  // subject must say it is a reply, or the message must refer to something.
  if (!found && !subject.empty() && (reply_subject || !email.in_reply_to.empty() || !email.references.empty()))
    found = thread_by_subject(email, subject, participants);

  ThreadRow thread;
  if (found) {
    thread = decode_thread(*found, txn_.at(t_.threads, found->view()), origin(t_.threads));
    txn_.erase(t_.threads__subject, thread_subject_key(thread.subject, thread.last_date, thread.id));
    thread.first_date = std::min(thread.first_date, email.date);
    thread.last_date = std::max(thread.last_date, email.date);
  } else {
    thread.id = email.id;
    thread.subject = subject;
    thread.first_date = thread.last_date = email.date;
  }
  for (auto& p : participants) {
    if (thread.participants.size() >= max_thread_participants) break;
    if (std::find(thread.participants.begin(), thread.participants.end(), p) == thread.participants.end())
      thread.participants.push_back(std::move(p));
  }
  ++thread.email_count;
  txn_.put(t_.threads, thread.id.view(), encode(thread));
  txn_.put(t_.threads__subject, thread_subject_key(thread.subject, thread.last_date, thread.id), {});
  txn_.put(t_.threads__email, dated_key(thread.id, email.date, email.id), encode_thread_entry(email));

  // Later messages find the thread through any identifier this one carries.
  // An identifier already claimed by another thread keeps it: threads are
  // not merged, so what a user saw grouped stays grouped.
  auto claim = [&](const std::string& message_id) {
    if (message_id.empty()) return;
    const EmailId key = email_id_from_message_id(message_id);
    if (!txn_.get(t_.threads__message_id, key.view())) txn_.put(t_.threads__message_id, key.view(), thread.id.view());
  };
  claim(email.message_id);
  claim(email.in_reply_to);
  for (const auto& r : email.references) claim(r);
  return thread.id;
}

std::optional<ThreadId> Writing::thread_by_references(const EmailRow& email) {
  auto lookup = [&](const std::string& message_id) -> std::optional<ThreadId> {
    if (message_id.empty()) return std::nullopt;
    if (auto hit = txn_.get(t_.threads__message_id, email_id_from_message_id(message_id).view()))
      return Key128::from_bytes(*hit);
    return std::nullopt;
  };
  // Its own id first (a reply seen before it claimed it), then the nearest
  // ancestor: In-Reply-To, then References from the last (the parent) back.
  if (auto t = lookup(email.message_id)) return t;
  if (auto t = lookup(email.in_reply_to)) return t;
  for (auto r = email.references.rbegin(); r != email.references.rend(); ++r)
    if (auto t = lookup(*r)) return t;
  return std::nullopt;
}

std::optional<ThreadId> Writing::thread_by_subject(const EmailRow& email, const std::string& subject,
                                                   const std::vector<std::string>& participants) {
  const std::int64_t window = options_.thread_window_seconds;
  const std::int64_t low = email.date > INT64_MIN + window ? email.date - window : INT64_MIN;
  const std::int64_t high = email.date < INT64_MAX - window ? email.date + window : INT64_MAX;
  // Newest candidates first: a reply most likely continues the latest thread.
  Cursor cursor(txn_, t_.threads__subject);
  KeyRange range{thread_subject_key(subject, low, Key128{}), thread_subject_key(subject, high, Key128{})};
  int looked_at = 0;
  for (const auto& entry : cursor.scan(std::move(range), Direction::backward)) {
    if (++looked_at > max_subject_candidates) break;
    const ThreadId id = Key128::from_bytes(entry.key.substr(entry.key.size() - Key128::size));
    const ThreadRow thread = decode_thread(id, txn_.at(t_.threads, id.view()), origin(t_.threads));
    if (shares_one(participants, thread.participants)) return id;
  }
  return std::nullopt;
}

// ---- Links ----

void Writing::put_link(const EmailId& email, std::int64_t date, LinkTarget target, RecordId id, UserId by,
                       LinkHow how) {
  const std::string key = link_key(email, target, id);
  if (txn_.get(t_.links, key)) return;  // first link wins: who linked it and how
  txn_.put(t_.links, key, encode(Link{email, target, id, by, how, now_}));
  txn_.put(t_.links__target, link_target_key(target, id, date, email), {});
}

void Writing::link_by_addresses(const EmailRow& email) {
  for (const auto& address : participants_of(email)) {
    if (is_org_address(address)) continue;
    if (auto contact = txn_.get(t_.contacts__email, name_key(address)))
      put_link(email.id, email.date, LinkTarget::contact, decode_u64(*contact), 0, LinkHow::address_match);
    if (auto lead = txn_.get(t_.leads__email, name_key(address)))
      put_link(email.id, email.date, LinkTarget::lead, decode_u64(*lead), 0, LinkHow::address_match);
    if (auto account = txn_.get(t_.accounts__domain, name_key(domain_of(address))))
      put_link(email.id, email.date, LinkTarget::account, decode_u64(*account), 0, LinkHow::address_match);
  }
}

void Writing::link_past_emails(std::string_view prefix, LinkTarget target, RecordId id) {
  Cursor cursor(txn_, t_.emails__address);
  std::vector<std::pair<std::int64_t, EmailId>> found;
  for (const auto& entry : cursor.scan(KeyRange::with_prefix(prefix)))
    found.push_back(dated_key_tail(entry.key, origin(t_.emails__address)));
  // Written after the scan: a write may move the pages the cursor reads.
  for (const auto& [date, email] : found) put_link(email, date, target, id, 0, LinkHow::address_match);
}

std::optional<RecordId> Writing::ensure_account(std::string_view domain) {
  if (domain.empty() || is_free_mail_domain(domain)) return std::nullopt;
  for (const auto& org : options_.org_domains)
    if (domain == org) return std::nullopt;
  const std::string key = name_key(domain);
  if (auto found = txn_.get(t_.accounts__domain, key)) return decode_u64(*found);
  const RecordId id = next_id(t_.accounts);
  txn_.insert(t_.accounts, id_key(id), encode(Account{id, std::string(domain), std::string(domain), now_}));
  txn_.insert(t_.accounts__domain, key, id_key(id));
  audit(0, "account.create", std::string(domain));
  link_past_emails(KeyBuilder().string(key_text(domain)).take(), LinkTarget::account, id);
  return id;
}

void Writing::link(const EmailId& email, LinkTarget target, RecordId id, std::string_view by_user, LinkHow how) {
  const auto stored = txn_.get(t_.emails, email.view());
  if (!stored) throw std::invalid_argument("no email " + email.to_hex());
  const Dbi* table = nullptr;
  switch (target) {
    case LinkTarget::contact: table = &t_.contacts; break;
    case LinkTarget::lead: table = &t_.leads; break;
    case LinkTarget::account: table = &t_.accounts; break;
    case LinkTarget::deal: table = &t_.deals; break;
  }
  if (!table || !txn_.get(*table, id_key(id)))
    throw std::invalid_argument("no " + std::string(to_string(target)) + " " + std::to_string(id));
  const EmailRow row = decode_email(email, *stored, origin(t_.emails), true);
  const UserId by = ensure_user_or_none(by_user);
  put_link(email, row.date, target, id, by, how);
  audit(by, "link", email.to_hex() + " " + std::string(to_string(target)) + " " + std::to_string(id));
}

// ---- Contacts, leads, deals ----

RecordId Writing::add_contact(const ContactInput& input) {
  Contact contact;
  for (const auto& raw : input.emails) {
    std::string address = lower_ascii(raw);
    if (!plausible_address(address)) throw std::invalid_argument("not an email address: '" + raw + "'");
    reject_org_address(address, "contact");
    if (std::find(contact.emails.begin(), contact.emails.end(), address) != contact.emails.end()) continue;
    if (auto other = txn_.get(t_.contacts__email, name_key(address)))
      throw std::invalid_argument(address + " already belongs to contact " + std::to_string(decode_u64(*other)));
    contact.emails.push_back(std::move(address));
  }
  if (input.name.empty() && contact.emails.empty())
    throw std::invalid_argument("a contact needs a name or an email address");
  contact.id = next_id(t_.contacts);
  contact.name = input.name;
  contact.phones = input.phones;
  contact.organisation = input.organisation;
  contact.owner = ensure_user_or_none(input.owner);
  contact.shared = input.shared;
  contact.created = contact.modified = now_;
  txn_.insert(t_.contacts, id_key(contact.id), encode(contact));
  for (const auto& address : contact.emails) {
    txn_.insert(t_.contacts__email, name_key(address), id_key(contact.id));
    link_past_emails(address_prefix(address), LinkTarget::contact, contact.id);
    ensure_account(domain_of(address));
  }
  audit(contact.owner, "contact.add", std::to_string(contact.id) + " " + join(contact.emails, ","));
  return contact.id;
}

RecordId Writing::add_lead(const LeadInput& input) {
  const std::string address = lower_ascii(input.email);
  if (!plausible_address(address)) throw std::invalid_argument("not an email address: '" + input.email + "'");
  reject_org_address(address, "lead");
  if (auto existing = txn_.get(t_.leads__email, name_key(address))) return decode_u64(*existing);
  Lead lead;
  lead.id = next_id(t_.leads);
  lead.email = address;
  lead.name = input.name;
  lead.status = input.status.empty() ? "new" : input.status;
  lead.source = input.source;
  lead.created_from = input.created_from;
  lead.owner = ensure_user_or_none(input.owner);
  lead.created = lead.modified = now_;
  txn_.insert(t_.leads, id_key(lead.id), encode(lead));
  txn_.insert(t_.leads__email, name_key(address), id_key(lead.id));
  link_past_emails(address_prefix(address), LinkTarget::lead, lead.id);
  ensure_account(domain_of(address));
  audit(lead.owner, "lead.add", std::to_string(lead.id) + " " + address);
  return lead.id;
}

RecordId Writing::add_deal(const DealInput& input) {
  if (input.title.empty()) throw std::invalid_argument("a deal needs a title");
  if (input.probability > 100) throw std::invalid_argument("probability is a percentage, 0 to 100");
  if (input.account && !txn_.get(t_.accounts, id_key(input.account)))
    throw std::invalid_argument("no account " + std::to_string(input.account));
  if (input.contact && !txn_.get(t_.contacts, id_key(input.contact)))
    throw std::invalid_argument("no contact " + std::to_string(input.contact));
  Deal deal;
  deal.id = next_id(t_.deals);
  deal.title = input.title;
  deal.account = input.account;
  deal.contact = input.contact;
  deal.stage = input.stage;
  deal.probability = input.probability;
  deal.amount = input.amount;
  deal.currency = input.currency;
  deal.owner = ensure_user_or_none(input.owner);
  deal.created = deal.modified = now_;
  txn_.insert(t_.deals, id_key(deal.id), encode(deal));
  audit(deal.owner, "deal.add", std::to_string(deal.id) + " " + deal.title);
  return deal.id;
}

void Writing::update_deal(RecordId id, const DealUpdate& update, std::string_view by_user) {
  const auto stored = txn_.get(t_.deals, id_key(id));
  if (!stored) throw std::invalid_argument("no deal " + std::to_string(id));
  Deal deal = decode_deal(id, *stored, origin(t_.deals));
  std::vector<std::string> changes;
  if (update.title) {
    if (update.title->empty()) throw std::invalid_argument("a deal needs a title");
    deal.title = *update.title;
    changes.push_back("title=" + deal.title);
  }
  if (update.stage) {
    deal.stage = *update.stage;
    changes.push_back("stage=" + deal.stage);
  }
  if (update.probability) {
    if (*update.probability > 100) throw std::invalid_argument("probability is a percentage, 0 to 100");
    deal.probability = *update.probability;
    changes.push_back("probability=" + std::to_string(deal.probability));
  }
  if (update.amount) {
    deal.amount = *update.amount;
    changes.push_back("amount=" + std::to_string(deal.amount));
  }
  if (update.currency) {
    deal.currency = *update.currency;
    changes.push_back("currency=" + deal.currency);
  }
  deal.modified = now_;
  txn_.put(t_.deals, id_key(id), encode(deal));
  audit(ensure_user_or_none(by_user), "deal.update", std::to_string(id) + " " + join(changes, " "));
}

}  // namespace lodestone::crm
