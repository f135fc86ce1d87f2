// The CRM: the public C++ API over the LMDB store that the proxy's plugins
// and the `lodestone crm` command use.
//
// Writes are queued to the store's single writer thread and batched into
// commits; each write returns a future fulfilled once its commit is durable.
// Reads happen in a Snapshot: a read-only transaction that sees one
// consistent state of the store and never waits for the writer.
//
// Rule for callers (from the store underneath): never wait on a write's
// future while holding a Snapshot of the same Crm. Let the snapshot go first.
//
// Users are named by their login name; the store gives each a number the
// first time it sees them. Addresses and domains are matched
// case-insensitively (stored lower-cased).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lodestone/crm/codec.hpp"
#include "lodestone/mail.hpp"

namespace lodestone::crm {

using UserId = std::uint64_t;
using RecordId = std::uint64_t;  // contacts, leads, accounts, deals: numbered from 1
using EmailId = Key128;
using ThreadId = Key128;

struct CrmOptions {
  std::filesystem::path directory{};
  bool read_only = false;  // `lodestone crm stats` etc.: no writer thread, the store must exist
  // Domains of the organisation: their addresses are staff, never contacts,
  // leads or accounts.
  std::vector<std::string> org_domains{};
  // Threading fallback: a reply whose References match nothing joins a thread
  // with the same normalised subject and a shared participant whose last
  // message is at most this far away in time.
  std::int64_t thread_window_seconds = 30 * 24 * 3600;
  mail::ParseLimits parse_limits{};
};

// ---- Rows, as read ----

struct User {
  UserId id = 0;
  std::string name{};  // login name
  std::int64_t created = 0;
};

struct Contact {
  RecordId id = 0;
  std::string name{};
  std::vector<std::string> emails{};  // lower-cased; unique across contacts
  std::vector<std::string> phones{};
  std::string organisation{};
  UserId owner = 0;     // 0: nobody in particular
  bool shared = false;  // its emails are visible to every user
  std::int64_t created = 0;
  std::int64_t modified = 0;
};

struct Lead {
  RecordId id = 0;
  std::string email{};  // lower-cased; unique across leads
  std::string name{};
  std::string status = "new";  // new, contacted, qualified, lost, converted: free text
  std::string source{};          // e.g. "inbound email", "import"
  std::optional<EmailId> created_from{};
  UserId owner = 0;
  std::int64_t created = 0;
  std::int64_t modified = 0;
};

struct Account {
  RecordId id = 0;
  std::string domain{};  // lower-cased; unique
  std::string name{};
  std::int64_t created = 0;
};

struct Deal {
  RecordId id = 0;
  std::string title{};
  RecordId account = 0;  // 0: none
  RecordId contact = 0;  // 0: none
  std::string stage = "lead";
  unsigned probability = 0;  // percent, 0..100
  std::int64_t amount = 0;   // minor units (cents)
  std::string currency = "EUR";
  UserId owner = 0;
  std::int64_t created = 0;
  std::int64_t modified = 0;
};

struct EmailRow {
  EmailId id{};
  std::string message_id{};
  std::string in_reply_to{};
  std::vector<std::string> references{};
  std::int64_t date = 0;  // the Date header; when it has none, the time it was first seen
  std::vector<mail::Address> from{}, to{}, cc{}, bcc{};
  std::string subject{};
  bool bulk = false;  // List-Id, List-Unsubscribe, Precedence bulk/list/junk or Auto-Submitted
  std::string text{};
  std::vector<mail::Attachment> attachments{};
  std::uint64_t size = 0;  // raw bytes
  std::uint32_t warnings = 0;  // mail::Warnings::bits()
  ThreadId thread{};
  std::int64_t first_seen = 0;
};

// One line of a thread view: what a mail client lists for each message.
// Kept in the thread index itself, so listing a long thread reads one index
// range and not every email; the whole row is Snapshot::email(id).
struct ThreadEntry {
  EmailId id{};
  std::int64_t date = 0;
  mail::Address from{};  // the first From address
  mail::Address to{};    // the first To address
  std::string subject{};
};

struct MailboxRef {
  UserId user = 0;
  std::string folder{};
  std::uint32_t uidvalidity = 0;  // 0: imported by `lodestone crm ingest`
  std::uint32_t uid = 0;
  EmailId email{};
  std::vector<std::string> flags{};
};

struct ThreadRow {
  ThreadId id{};
  std::string subject{};  // normalised: Re:/Fwd:/AW:/SV:… stripped, lower-cased
  std::vector<std::string> participants{};
  std::int64_t first_date = 0;
  std::int64_t last_date = 0;
  std::uint32_t email_count = 0;
};

enum class LinkTarget : std::uint8_t { contact = 1, lead = 2, account = 3, deal = 4 };
enum class LinkHow : std::uint8_t { address_match = 1, manual = 2, dropbox = 3 };
std::string_view to_string(LinkTarget target);
std::string_view to_string(LinkHow how);

struct Link {
  EmailId email{};
  LinkTarget target = LinkTarget::contact;
  RecordId target_id = 0;
  UserId by = 0;  // 0: the system
  LinkHow how = LinkHow::address_match;
  std::int64_t at = 0;
};

struct AuditEntry {
  std::uint64_t sequence = 0;
  std::int64_t at = 0;
  UserId user = 0;  // 0: the system
  std::string action{};
  std::string detail{};
};

// ---- Inputs ----

// A message a user has seen: fetched, appended, sent, or imported.
struct SeenEmail {
  std::string user{};  // login name
  std::string folder{};
  // uidvalidity 0 marks an import: the store numbers the message in the
  // folder itself (one past the highest import there, so the number of a
  // deleted last import is given again) and does nothing if the user
  // already has it there.
  std::uint32_t uidvalidity = 0;
  std::uint32_t uid = 0;
  std::vector<std::string> flags{};
};

struct RecordOutcome {
  EmailId email{};
  ThreadId thread{};
  bool new_email = false;  // the emails table did not have it yet
  bool new_ref = false;    // the user did not have it at this place yet
};

struct ContactInput {
  std::string name{};
  std::vector<std::string> emails{};
  std::vector<std::string> phones{};
  std::string organisation{};
  std::string owner{};  // login name; empty: none
  bool shared = false;
};

struct LeadInput {
  std::string email{};
  std::string name{};
  std::string status = "new";
  std::string source{};
  std::optional<EmailId> created_from{};
  std::string owner{};
};

struct DealInput {
  std::string title{};
  RecordId account = 0;
  RecordId contact = 0;
  std::string stage = "lead";
  unsigned probability = 0;
  std::int64_t amount = 0;
  std::string currency = "EUR";
  std::string owner{};
};

// Fields of a deal to change; unset ones stay as they are.
struct DealUpdate {
  std::optional<std::string> title{}, stage{}, currency{};
  std::optional<unsigned> probability{};
  std::optional<std::int64_t> amount{};
};

// ---- Reading ----

struct TableCount {
  std::string table{};  // database name, e.g. "emails", "contacts__email"
  std::uint64_t entries = 0;
};

class Snapshot;

class Crm {
 public:
  // Opens (creating if needed, unless read-only) the store in
  // options.directory. StoreError naming the path when that fails.
  explicit Crm(CrmOptions options);
  ~Crm();
  Crm(const Crm&) = delete;
  Crm& operator=(const Crm&) = delete;

  const std::filesystem::path& directory() const;

  // ---- Writes (queued; the future completes when durable) ----

  // Records that a user saw a message at a place in a mailbox. Idempotent:
  // the same message at the same place changes nothing but the flags. The
  // message is parsed here, on the caller's thread; the raw bytes are not
  // kept. Links it to the contacts, leads and accounts its addresses match.
  std::future<RecordOutcome> record_email(const SeenEmail& seen, std::string_view raw);
  // The same for a message already parsed.
  std::future<RecordOutcome> record_email(const SeenEmail& seen, const mail::MessageSummary& summary,
                                          std::uint64_t raw_size, const EmailId& id);

  std::future<void> set_flags(std::string user, std::string folder, std::uint32_t uidvalidity, std::uint32_t uid,
                              std::vector<std::string> flags);
  // Forgets a message at a place (expunged). The email stays in the CRM.
  // False when there was no such ref.
  std::future<bool> delete_ref(std::string user, std::string folder, std::uint32_t uidvalidity, std::uint32_t uid);

  // InvalidInput (std::invalid_argument) when an address is malformed or
  // already belongs to another contact. Links past emails of its addresses
  // and creates the account of each company domain.
  std::future<RecordId> add_contact(ContactInput contact);
  std::future<RecordId> add_lead(LeadInput lead);
  std::future<RecordId> add_deal(DealInput deal);
  std::future<void> update_deal(RecordId id, DealUpdate update, std::string by_user);
  std::future<void> link(EmailId email, LinkTarget target, RecordId target_id, std::string by_user, LinkHow how);

  // Waits until every write queued so far is durable.
  void flush();

  // ---- Reads ----
  Snapshot snapshot() const;

  // A consistent copy of the store into `destination` (a new or empty
  // directory) while it is in use.
  void backup(const std::filesystem::path& destination) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_{};
};

// A consistent, read-only view of the store. Cheap to open; hold it only as
// long as needed (it pins the pages it sees, and a thread holding one must
// not wait for a write future: growing the map waits for every reader).
// It must not outlive the Crm it came from. Not thread-safe: one thread at
// a time.
class Snapshot {
 public:
  Snapshot(Snapshot&&) noexcept;
  Snapshot& operator=(Snapshot&&) noexcept;
  ~Snapshot();

  std::optional<User> user(std::string_view name) const;
  std::optional<User> user(UserId id) const;
  std::vector<User> users() const;

  std::optional<Contact> contact(RecordId id) const;
  std::optional<Contact> contact_by_address(std::string_view address) const;
  std::vector<Contact> contacts() const;

  std::optional<Lead> lead(RecordId id) const;
  std::optional<Lead> lead_by_address(std::string_view address) const;
  std::vector<Lead> leads() const;

  std::optional<Account> account(RecordId id) const;
  std::optional<Account> account_by_domain(std::string_view domain) const;
  std::vector<Account> accounts() const;

  std::optional<Deal> deal(RecordId id) const;
  std::vector<Deal> deals() const;

  std::optional<EmailRow> email(const EmailId& id) const;
  // Every email, in id order, one at a time (exports).
  void for_each_email(const std::function<void(const EmailRow&)>& visit) const;
  std::optional<ThreadRow> thread(const ThreadId& id) const;
  std::vector<MailboxRef> refs_of(const EmailId& id) const;
  std::vector<Link> links_of(const EmailId& id) const;
  std::vector<AuditEntry> audit() const;

  // Newest first; `since` (epoch seconds) bounds the dates; `limit` 0 = all.
  // Only emails `viewer` may see, when a viewer is given.
  struct EmailQuery {
    std::optional<std::string> viewer{};
    std::int64_t since = INT64_MIN;
    std::size_t limit = 0;
  };
  std::vector<EmailId> emails_of(LinkTarget target, RecordId id, const EmailQuery& query) const;
  std::vector<EmailId> emails_of_user(std::string_view user, const EmailQuery& query) const;

  // A thread's emails oldest first, as `viewer` may see them (every email
  // when no viewer is given).
  std::vector<ThreadEntry> thread_view(const ThreadId& id, std::optional<std::string_view> viewer) const;

  // Whether `user` may see the email: they have it in a mailbox, or it is
  // linked to a contact that is shared. The one place this is decided.
  bool can_see(std::string_view user, const EmailId& email) const;

  // Entries per database (tables and indexes).
  std::vector<TableCount> counts() const;

  // Verifies every index against its table and every record's encoding.
  // Each problem found is one line naming the database and the key.
  std::vector<std::string> check() const;

  struct Impl;

 private:
  friend class Crm;
  explicit Snapshot(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_{};
};

// Reply/forward prefixes stripped ("Re: AW: Fwd[2]: x" → "x"), white space
// collapsed, ASCII lower-cased. `stripped` tells whether a prefix was there.
std::string normalise_subject(std::string_view subject, bool* stripped = nullptr);

// Whether mail from this domain says nothing about a company (gmail.com,
// outlook.com, …). The list comes from the npm package free-email-domains,
// built in at compile time.
bool is_free_mail_domain(std::string_view domain);

}  // namespace lodestone::crm
