#include <algorithm>
#include <utility>
#include <unordered_map>

#include "crm_impl.hpp"

namespace lodestone::crm {
namespace {

// Every row of a table keyed by u64 id, decoded.
template <class Row, class Decode>
std::vector<Row> all_rows(const Snapshot::Impl& s, const Dbi& table, Decode decode) {
  std::vector<Row> rows;
  Cursor cursor(s.txn, table);
  for (const auto& entry : cursor.scan(KeyRange::all()))
    rows.push_back(decode(decode_u64(entry.key), entry.value, s.origin(table)));
  return rows;
}

template <class Row, class Decode>
std::optional<Row> row_by_id(const Snapshot::Impl& s, const Dbi& table, std::uint64_t id, Decode decode) {
  if (auto value = s.txn.get(table, id_key(id))) return decode(id, *value, s.origin(table));
  return std::nullopt;
}

std::optional<std::uint64_t> id_by_name(const Snapshot::Impl& s, const Dbi& index, std::string_view name) {
  if (auto value = s.txn.get(index, name_key(name))) return decode_u64(*value);
  return std::nullopt;
}

}  // namespace

std::optional<UserId> Snapshot::Impl::user_id(std::string_view name) const {
  return id_by_name(*this, crm.tables.users__name, name);
}

Snapshot::Snapshot(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Snapshot::Snapshot(Snapshot&&) noexcept = default;
Snapshot& Snapshot::operator=(Snapshot&&) noexcept = default;
Snapshot::~Snapshot() = default;

std::optional<User> Snapshot::user(std::string_view name) const {
  const auto id = impl_->user_id(name);
  return id ? user(*id) : std::nullopt;
}

std::optional<User> Snapshot::user(UserId id) const {
  return row_by_id<User>(*impl_, impl_->crm.tables.users, id, decode_user);
}

std::vector<User> Snapshot::users() const { return all_rows<User>(*impl_, impl_->crm.tables.users, decode_user); }

std::optional<Contact> Snapshot::contact(RecordId id) const {
  return row_by_id<Contact>(*impl_, impl_->crm.tables.contacts, id, decode_contact);
}

std::optional<Contact> Snapshot::contact_by_address(std::string_view address) const {
  const auto id = id_by_name(*impl_, impl_->crm.tables.contacts__email, lower_ascii(address));
  return id ? contact(*id) : std::nullopt;
}

std::vector<Contact> Snapshot::contacts() const {
  return all_rows<Contact>(*impl_, impl_->crm.tables.contacts, decode_contact);
}

std::optional<Lead> Snapshot::lead(RecordId id) const {
  return row_by_id<Lead>(*impl_, impl_->crm.tables.leads, id, decode_lead);
}

std::optional<Lead> Snapshot::lead_by_address(std::string_view address) const {
  const auto id = id_by_name(*impl_, impl_->crm.tables.leads__email, lower_ascii(address));
  return id ? lead(*id) : std::nullopt;
}

std::vector<Lead> Snapshot::leads() const { return all_rows<Lead>(*impl_, impl_->crm.tables.leads, decode_lead); }

std::optional<Account> Snapshot::account(RecordId id) const {
  return row_by_id<Account>(*impl_, impl_->crm.tables.accounts, id, decode_account);
}

std::optional<Account> Snapshot::account_by_domain(std::string_view domain) const {
  const auto id = id_by_name(*impl_, impl_->crm.tables.accounts__domain, lower_ascii(domain));
  return id ? account(*id) : std::nullopt;
}

std::vector<Account> Snapshot::accounts() const {
  return all_rows<Account>(*impl_, impl_->crm.tables.accounts, decode_account);
}

std::optional<Deal> Snapshot::deal(RecordId id) const {
  return row_by_id<Deal>(*impl_, impl_->crm.tables.deals, id, decode_deal);
}

std::vector<Deal> Snapshot::deals() const { return all_rows<Deal>(*impl_, impl_->crm.tables.deals, decode_deal); }

std::optional<EmailRow> Snapshot::email(const EmailId& id) const {
  const Dbi& emails = impl_->crm.tables.emails;
  if (auto value = impl_->txn.get(emails, id.view())) return decode_email(id, *value, impl_->origin(emails));
  return std::nullopt;
}

void Snapshot::for_each_email(const std::function<void(const EmailRow&)>& visit) const {
  const Dbi& emails = impl_->crm.tables.emails;
  Cursor cursor(impl_->txn, emails);
  for (const auto& entry : cursor.scan(KeyRange::all()))
    visit(decode_email(Key128::from_bytes(entry.key), entry.value, impl_->origin(emails)));
}

std::optional<ThreadRow> Snapshot::thread(const ThreadId& id) const {
  const Dbi& threads = impl_->crm.tables.threads;
  if (auto value = impl_->txn.get(threads, id.view())) return decode_thread(id, *value, impl_->origin(threads));
  return std::nullopt;
}

std::vector<MailboxRef> Snapshot::refs_of(const EmailId& id) const {
  const Tables& t = impl_->crm.tables;
  std::vector<MailboxRef> refs;
  Cursor cursor(impl_->txn, t.refs__email);
  for (const auto& entry : cursor.scan(KeyRange::with_prefix(id.view()))) {
    // The index key is the email id followed by the refs key.
    const std::string_view ref_key = entry.key.substr(Key128::size);
    const std::string_view value = impl_->txn.at(t.refs, ref_key);
    refs.push_back(decode_ref(ref_key, value, impl_->origin(t.refs)));
  }
  return refs;
}

std::vector<Link> Snapshot::links_of(const EmailId& id) const {
  const Dbi& links = impl_->crm.tables.links;
  std::vector<Link> out;
  Cursor cursor(impl_->txn, links);
  for (const auto& entry : cursor.scan(KeyRange::with_prefix(id.view())))
    out.push_back(decode_link(entry.key, entry.value, impl_->origin(links)));
  return out;
}

std::vector<AuditEntry> Snapshot::audit() const {
  return all_rows<AuditEntry>(*impl_, impl_->crm.tables.audit, decode_audit);
}

namespace {

// Decides Snapshot::can_see for one viewer over many emails: the viewer's
// id is looked up once, the two cursors are opened once, and each shared
// contact is decoded once, instead of all of that per email.
class Visibility {
 public:
  Visibility(const Snapshot::Impl& s, std::string_view user)
      : s_(s), user_(s.user_id(user)), refs_(s.txn, s.crm.tables.refs__email), links_(s.txn, s.crm.tables.links) {}

  bool can_see(const EmailId& email) {
    const Tables& t = s_.crm.tables;
    // In one of the user's mailboxes.
    if (user_) {
      const std::string prefix = KeyBuilder().key128(email).u64(*user_).take();
      if (auto hit = refs_.seek(prefix); hit && hit->key.starts_with(prefix)) return true;
    }
    // Linked to a contact its owner shares.
    const std::string contacts = KeyBuilder().key128(email).u8(static_cast<std::uint8_t>(LinkTarget::contact)).take();
    for (const auto& entry : links_.scan(KeyRange::with_prefix(contacts))) {
      const RecordId contact_id = decode_u64(entry.key.substr(contacts.size()));
      auto [known, inserted] = shared_.try_emplace(contact_id, false);
      if (inserted) {
        const auto value = s_.txn.get(t.contacts, id_key(contact_id));
        known->second = value && decode_contact(contact_id, *value, s_.origin(t.contacts)).shared;
      }
      if (known->second) return true;
    }
    return false;
  }

  // Drops what the viewer may not see, keeping the order. The emails are
  // looked up in key order: LMDB finds a key near its cursor's position
  // without descending from the root, so for a long thread sorted lookups
  // cost a fraction of the same lookups in date order.
  template <class Item>
  void keep_visible(std::vector<Item>& entries, EmailId (*id_of)(const Item&)) {
    // Sorted by the first 8 bytes of the id, which are a hash's: equal ones
    // are as good as never, and would only cost locality, not correctness.
    std::vector<std::pair<std::uint64_t, std::size_t>> by_id(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) by_id[i] = {decode_u64(id_of(entries[i]).view().substr(0, 8)), i};
    std::sort(by_id.begin(), by_id.end());
    std::vector<bool> visible(entries.size());
    for (const auto& [prefix, i] : by_id) visible[i] = can_see(id_of(entries[i]));
    std::size_t kept = 0;
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (visible[i]) entries[kept++] = std::move(entries[i]);
    entries.resize(kept);
  }

 private:
  const Snapshot::Impl& s_;
  std::optional<UserId> user_;
  Cursor refs_, links_;
  std::unordered_map<RecordId, bool> shared_;
};

}  // namespace

bool Snapshot::can_see(std::string_view user, const EmailId& email) const {
  return Visibility(*impl_, user).can_see(email);
}

namespace {

// Newest first from an index of (prefix, i64 date, key128 email) keys.
std::vector<EmailId> dated_emails(const Snapshot::Impl& s, const Dbi& index,
                                  const std::string& prefix, const Snapshot::EmailQuery& query) {
  std::vector<EmailId> out;
  std::optional<Visibility> visibility;
  if (query.viewer) visibility.emplace(s, *query.viewer);
  // Without a limit every email is checked anyway, faster all at once.
  const bool check_each = visibility && query.limit != 0;
  Cursor cursor(s.txn, index);
  KeyRange range = KeyRange::with_prefix(prefix);
  if (query.since != INT64_MIN) range.lower = KeyBuilder().i64(query.since).take().insert(0, prefix);
  for (const auto& entry : cursor.scan(std::move(range), Direction::backward)) {
    const EmailId email = dated_key_tail(entry.key, s.origin(index)).second;
    if (check_each && !visibility->can_see(email)) continue;
    out.push_back(email);
    if (query.limit != 0 && out.size() >= query.limit) break;
  }
  if (visibility && !check_each) visibility->keep_visible<EmailId>(out, [](const EmailId& id) { return id; });
  return out;
}

}  // namespace

std::vector<EmailId> Snapshot::emails_of(LinkTarget target, RecordId id, const EmailQuery& query) const {
  const std::string prefix = KeyBuilder().u8(static_cast<std::uint8_t>(target)).u64(id).take();
  return dated_emails(*impl_, impl_->crm.tables.links__target, prefix, query);
}

std::vector<EmailId> Snapshot::emails_of_user(std::string_view user, const EmailQuery& query) const {
  const auto id = impl_->user_id(user);
  if (!id) return {};
  return dated_emails(*impl_, impl_->crm.tables.emails__user, KeyBuilder().u64(*id).take(), query);
}

std::vector<ThreadEntry> Snapshot::thread_view(const ThreadId& id, std::optional<std::string_view> viewer) const {
  const Tables& t = impl_->crm.tables;
  std::vector<ThreadEntry> entries;
  if (const auto thread = impl_->txn.get(t.threads, id.view()))
    entries.reserve(decode_thread(id, *thread, impl_->origin(t.threads)).email_count);
  Cursor cursor(impl_->txn, t.threads__email);
  for (const auto& entry : cursor.scan(KeyRange::with_prefix(id.view())))
    entries.push_back(decode_thread_entry(entry.key, entry.value, impl_->origin(t.threads__email)));
  if (viewer)
    Visibility(*impl_, *viewer).keep_visible<ThreadEntry>(entries, [](const ThreadEntry& e) { return e.id; });
  return entries;
}

std::vector<TableCount> Snapshot::counts() const {
  std::vector<TableCount> out;
  for (const Dbi* dbi : impl_->crm.tables.all()) out.push_back({dbi->name(), impl_->txn.count(*dbi)});
  return out;
}

}  // namespace lodestone::crm
