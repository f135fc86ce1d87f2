#include "tables.hpp"

#include <algorithm>
#include <tuple>

namespace lodestone::crm {
namespace {

constexpr std::uint8_t record_version = 1;

// Tables::all() and the names in create/open follow this order.
constexpr std::array<std::string_view, 21> database_names{
    "users",        "users__name",     "contacts",       "contacts__email",     "leads",
    "leads__email", "accounts",        "accounts__domain", "deals",             "emails",
    "emails__user", "emails__address", "refs",           "refs__email",         "threads",
    "threads__email", "threads__message_id", "threads__subject", "links",       "links__target",
    "audit"};

template <class OpenOne>
Tables open_all(OpenOne open_one) {
  std::array<std::optional<Dbi>, database_names.size()> handles;
  for (std::size_t i = 0; i < database_names.size(); ++i) handles[i] = open_one(database_names[i]);
  std::size_t i = 0;
  auto next = [&] { return *handles[i++]; };
  // Designated order = database_names order.
  Tables t{next(), next(), next(), next(), next(), next(), next(), next(), next(), next(), next(),
           next(), next(), next(), next(), next(), next(), next(), next(), next(), next()};
  return t;
}

void write_addresses(RecordWriter& out, const std::vector<mail::Address>& addresses) {
  out.varint(addresses.size());
  for (const auto& a : addresses) out.string(a.name).string(a.address);
}

std::vector<mail::Address> read_addresses(RecordReader& in) {
  std::vector<mail::Address> addresses(in.count(2));
  for (auto& a : addresses) {
    a.name = in.string();
    a.address = in.string();
  }
  return addresses;
}

void write_strings(RecordWriter& out, const std::vector<std::string>& strings) {
  out.varint(strings.size());
  for (const auto& s : strings) out.string(s);
}

std::vector<std::string> read_strings(RecordReader& in) {
  std::vector<std::string> strings(in.count(1));
  for (auto& s : strings) s = in.string();
  return strings;
}

}  // namespace

std::array<const Dbi*, 21> Tables::all() const {
  return {&users,        &users__name,     &contacts,       &contacts__email,     &leads,
          &leads__email, &accounts,        &accounts__domain, &deals,             &emails,
          &emails__user, &emails__address, &refs,           &refs__email,         &threads,
          &threads__email, &threads__message_id, &threads__subject, &links,       &links__target,
          &audit};
}

Tables Tables::create(WriteTxn& txn) {
  return open_all([&](std::string_view name) { return Dbi::create(txn, name); });
}

Tables Tables::open(ReadTxn& txn) {
  return open_all([&](std::string_view name) { return Dbi::open(txn, name); });
}

// ---- Keys ----

std::string id_key(std::uint64_t id) { return encode_u64(id); }

std::string key_text(std::string_view text) {
  // LMDB keys are at most 511 bytes, and an escaped NUL takes two: long or
  // NUL-bearing text (from mail, so from anyone) is cut and made unique again
  // by a hash of the whole.
  constexpr std::size_t longest = 120, kept = 80;
  if (text.size() <= longest && text.find('\0') == std::string_view::npos) return std::string(text);
  std::string bounded(text.substr(0, kept));
  std::replace(bounded.begin(), bounded.end(), '\0', '\x01');
  return bounded + '\x1f' + hash128("key text", text).to_hex();
}

std::string name_key(std::string_view name) { return KeyBuilder().string(key_text(name)).take(); }

std::string ref_key(UserId user, std::string_view folder, std::uint32_t uidvalidity, std::uint32_t uid) {
  return KeyBuilder().u64(user).string(key_text(folder)).u32(uidvalidity).u32(uid).take();
}

std::string ref_email_key(const EmailId& email, UserId user, std::string_view folder, std::uint32_t uidvalidity,
                          std::uint32_t uid) {
  return KeyBuilder().key128(email).u64(user).string(key_text(folder)).u32(uidvalidity).u32(uid).take();
}

std::string dated_key(UserId owner, std::int64_t date, const EmailId& email) {
  return KeyBuilder().u64(owner).i64(date).key128(email).take();
}

std::string address_prefix(std::string_view address) {
  return KeyBuilder().string(key_text(domain_of(address))).string(key_text(address)).take();
}

std::string address_key(std::string_view address, std::int64_t date, const EmailId& email) {
  return KeyBuilder().string(key_text(domain_of(address))).string(key_text(address)).i64(date).key128(email).take();
}

std::string dated_key(const ThreadId& thread, std::int64_t date, const EmailId& email) {
  return KeyBuilder().key128(thread).i64(date).key128(email).take();
}

std::string thread_subject_key(std::string_view subject, std::int64_t last_date, const ThreadId& thread) {
  return KeyBuilder().string(key_text(subject)).i64(last_date).key128(thread).take();
}

std::string link_key(const EmailId& email, LinkTarget target, RecordId id) {
  return KeyBuilder().key128(email).u8(static_cast<std::uint8_t>(target)).u64(id).take();
}

std::string link_target_key(LinkTarget target, RecordId id, std::int64_t date, const EmailId& email) {
  return KeyBuilder().u8(static_cast<std::uint8_t>(target)).u64(id).i64(date).key128(email).take();
}

std::pair<std::int64_t, EmailId> dated_key_tail(std::string_view key, const Origin& origin) {
  constexpr std::size_t tail = 8 + Key128::size;
  KeyReader reader(key.size() >= tail ? key.substr(key.size() - tail) : key, origin);
  const std::int64_t date = reader.i64();  // throws RecordError on a short key
  return {date, reader.key128()};
}

// ---- Records ----

std::string encode(const User& user) {
  return RecordWriter(record_version).string(user.name).i64(user.created).take();
}

User decode_user(UserId id, std::string_view value, const Origin& origin) {
  RecordReader in(value, record_version, origin);
  User user{id, std::string(in.string()), in.i64()};
  in.expect_end();
  return user;
}

std::string encode(const Contact& c) {
  RecordWriter out(record_version);
  out.string(c.name);
  write_strings(out, c.emails);
  write_strings(out, c.phones);
  out.string(c.organisation).u64(c.owner).boolean(c.shared).i64(c.created).i64(c.modified);
  return out.take();
}

Contact decode_contact(RecordId id, std::string_view value, const Origin& origin) {
  RecordReader in(value, record_version, origin);
  Contact c;
  c.id = id;
  c.name = in.string();
  c.emails = read_strings(in);
  c.phones = read_strings(in);
  c.organisation = in.string();
  c.owner = in.u64();
  c.shared = in.boolean();
  c.created = in.i64();
  c.modified = in.i64();
  in.expect_end();
  return c;
}

std::string encode(const Lead& l) {
  RecordWriter out(record_version);
  out.string(l.email).string(l.name).string(l.status).string(l.source).boolean(l.created_from.has_value());
  if (l.created_from) out.key128(*l.created_from);
  out.u64(l.owner).i64(l.created).i64(l.modified);
  return out.take();
}

Lead decode_lead(RecordId id, std::string_view value, const Origin& origin) {
  RecordReader in(value, record_version, origin);
  Lead l;
  l.id = id;
  l.email = in.string();
  l.name = in.string();
  l.status = in.string();
  l.source = in.string();
  if (in.boolean()) l.created_from = in.key128();
  l.owner = in.u64();
  l.created = in.i64();
  l.modified = in.i64();
  in.expect_end();
  return l;
}

std::string encode(const Account& a) {
  return RecordWriter(record_version).string(a.domain).string(a.name).i64(a.created).take();
}

Account decode_account(RecordId id, std::string_view value, const Origin& origin) {
  RecordReader in(value, record_version, origin);
  Account a;
  a.id = id;
  a.domain = in.string();
  a.name = in.string();
  a.created = in.i64();
  in.expect_end();
  return a;
}

std::string encode(const Deal& d) {
  return RecordWriter(record_version)
      .string(d.title)
      .u64(d.account)
      .u64(d.contact)
      .string(d.stage)
      .varint(d.probability)
      .i64(d.amount)
      .string(d.currency)
      .u64(d.owner)
      .i64(d.created)
      .i64(d.modified)
      .take();
}

Deal decode_deal(RecordId id, std::string_view value, const Origin& origin) {
  RecordReader in(value, record_version, origin);
  Deal d;
  d.id = id;
  d.title = in.string();
  d.account = in.u64();
  d.contact = in.u64();
  d.stage = in.string();
  d.probability = static_cast<unsigned>(std::min<std::uint64_t>(in.varint(), 100));
  d.amount = in.i64();
  d.currency = in.string();
  d.owner = in.u64();
  d.created = in.i64();
  d.modified = in.i64();
  in.expect_end();
  return d;
}

// Headers first, text and attachments last, so a headers-only read stops early.
std::string encode(const EmailRow& e) {
  RecordWriter out(record_version);
  out.string(e.message_id).string(e.in_reply_to);
  write_strings(out, e.references);
  out.i64(e.date);
  write_addresses(out, e.from);
  write_addresses(out, e.to);
  write_addresses(out, e.cc);
  write_addresses(out, e.bcc);
  out.string(e.subject).boolean(e.bulk).u64(e.size).u32(e.warnings).key128(e.thread).i64(e.first_seen);
  out.string(e.text);
  out.varint(e.attachments.size());
  for (const auto& a : e.attachments) out.string(a.file_name).string(a.media_type).varint(a.size);
  return out.take();
}

EmailRow decode_email(const EmailId& id, std::string_view value, const Origin& origin, bool headers_only) {
  RecordReader in(value, record_version, origin);
  EmailRow e;
  e.id = id;
  e.message_id = in.string();
  e.in_reply_to = in.string();
  e.references = read_strings(in);
  e.date = in.i64();
  e.from = read_addresses(in);
  e.to = read_addresses(in);
  e.cc = read_addresses(in);
  e.bcc = read_addresses(in);
  e.subject = in.string();
  e.bulk = in.boolean();
  e.size = in.u64();
  e.warnings = in.u32();
  e.thread = in.key128();
  e.first_seen = in.i64();
  if (headers_only) return e;
  e.text = in.string();
  e.attachments.resize(in.count(3));
  for (auto& a : e.attachments) {
    a.file_name = in.string();
    a.media_type = in.string();
    a.size = in.varint();
  }
  in.expect_end();
  return e;
}

std::string encode_thread_entry(const EmailRow& email) {
  const mail::Address none;
  const mail::Address& from = email.from.empty() ? none : email.from.front();
  const mail::Address& to = email.to.empty() ? none : email.to.front();
  return RecordWriter(record_version)
      .string(from.name)
      .string(from.address)
      .string(to.name)
      .string(to.address)
      .string(email.subject)
      .take();
}

ThreadEntry decode_thread_entry(std::string_view key, std::string_view value, const Origin& origin) {
  ThreadEntry entry;
  std::tie(entry.date, entry.id) = dated_key_tail(key, origin);
  RecordReader in(value, record_version, origin);
  entry.from.name = in.string();
  entry.from.address = in.string();
  entry.to.name = in.string();
  entry.to.address = in.string();
  entry.subject = in.string();
  in.expect_end();
  return entry;
}

std::string encode(const MailboxRef& ref) {
  RecordWriter out(record_version);
  out.key128(ref.email).string(ref.folder);
  write_strings(out, ref.flags);
  return out.take();
}

MailboxRef decode_ref(std::string_view key, std::string_view value, const Origin& origin) {
  MailboxRef ref;
  KeyReader k(key, origin);
  ref.user = k.u64();
  k.string();  // the folder as key text, maybe cut; the record has it whole
  ref.uidvalidity = k.u32();
  ref.uid = k.u32();
  k.expect_end();
  RecordReader in(value, record_version, origin);
  ref.email = in.key128();
  ref.folder = in.string();
  ref.flags = read_strings(in);
  in.expect_end();
  return ref;
}

std::string encode(const ThreadRow& t) {
  RecordWriter out(record_version);
  out.string(t.subject);
  write_strings(out, t.participants);
  out.i64(t.first_date).i64(t.last_date).u32(t.email_count);
  return out.take();
}

ThreadRow decode_thread(const ThreadId& id, std::string_view value, const Origin& origin) {
  RecordReader in(value, record_version, origin);
  ThreadRow t;
  t.id = id;
  t.subject = in.string();
  t.participants = read_strings(in);
  t.first_date = in.i64();
  t.last_date = in.i64();
  t.email_count = in.u32();
  in.expect_end();
  return t;
}

std::string encode(const Link& link) {
  return RecordWriter(record_version).u64(link.by).u8(static_cast<std::uint8_t>(link.how)).i64(link.at).take();
}

Link decode_link(std::string_view key, std::string_view value, const Origin& origin) {
  Link link;
  KeyReader k(key, origin);
  link.email = k.key128();
  link.target = static_cast<LinkTarget>(k.u8());
  link.target_id = k.u64();
  k.expect_end();
  RecordReader in(value, record_version, origin);
  link.by = in.u64();
  link.how = static_cast<LinkHow>(in.u8());
  link.at = in.i64();
  in.expect_end();
  return link;
}

std::string encode(const AuditEntry& entry) {
  return RecordWriter(record_version).i64(entry.at).u64(entry.user).string(entry.action).string(entry.detail).take();
}

AuditEntry decode_audit(std::uint64_t sequence, std::string_view value, const Origin& origin) {
  RecordReader in(value, record_version, origin);
  AuditEntry entry;
  entry.sequence = sequence;
  entry.at = in.i64();
  entry.user = in.u64();
  entry.action = in.string();
  entry.detail = in.string();
  in.expect_end();
  return entry;
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

}  // namespace lodestone::crm
