// The databases of the CRM store: one per table and one per index, and how
// their keys are laid out. Values of index entries are empty unless noted.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "lodestone/crm/crm.hpp"
#include "lodestone/crm/lmdb.hpp"

namespace lodestone::crm {

struct Tables {
  // users: u64 id → User.  users__name: string name → u64 id
  Dbi users, users__name;
  // contacts: u64 id → Contact.  contacts__email: string address → u64 id
  Dbi contacts, contacts__email;
  // leads: u64 id → Lead.  leads__email: string address → u64 id
  Dbi leads, leads__email;
  // accounts: u64 id → Account.  accounts__domain: string domain → u64 id
  Dbi accounts, accounts__domain;
  // deals: u64 id → Deal
  Dbi deals;
  // emails: key128 email → EmailRow
  Dbi emails;
  // emails__user: (u64 user, i64 date, key128 email), present while the
  //   user has the email in at least one mailbox place
  // emails__address: (string domain, string address, i64 date, key128
  //   email), for every From/To/Cc/Bcc address of the email: by address and
  //   by domain in one index
  Dbi emails__user, emails__address;
  // refs: (u64 user, string folder, u32 uidvalidity, u32 uid) → MailboxRef
  //   (the record repeats the folder: the key may hold it cut, see key_text)
  // refs__email: (key128 email, u64 user, string folder, u32 uidvalidity, u32 uid)
  Dbi refs, refs__email;
  // threads: key128 thread → ThreadRow
  // threads__email: (key128 thread, i64 date, key128 email)
  // threads__message_id: key128 id of a Message-ID → key128 thread; every
  //   Message-ID a thread's emails carry or refer to
  // threads__subject: (string subject, i64 last date, key128 thread)
  Dbi threads, threads__email, threads__message_id, threads__subject;
  // links: (key128 email, u8 target kind, u64 target) → Link
  // links__target: (u8 target kind, u64 target, i64 date, key128 email)
  Dbi links, links__target;
  // audit: u64 sequence → AuditEntry (append only)
  Dbi audit;

  // Every database with its name, for stats and backups.
  std::array<const Dbi*, 21> all() const;

  // Creates what is missing; commit `txn` to keep the handles.
  static Tables create(WriteTxn& txn);
  // The store must have every database already.
  static Tables open(ReadTxn& txn);
};

// ---- Keys ----
// String parts of keys go through key_text(): at most 113 bytes, no NUL.

std::string key_text(std::string_view text);

std::string id_key(std::uint64_t id);
std::string name_key(std::string_view name);
std::string ref_key(UserId user, std::string_view folder, std::uint32_t uidvalidity, std::uint32_t uid);
std::string ref_email_key(const EmailId& email, UserId user, std::string_view folder, std::uint32_t uidvalidity,
                          std::uint32_t uid);
std::string dated_key(UserId owner, std::int64_t date, const EmailId& email);            // emails__user
std::string address_key(std::string_view address, std::int64_t date, const EmailId& email);  // emails__address
// The emails__address keys of one address.
std::string address_prefix(std::string_view address);
std::string dated_key(const ThreadId& thread, std::int64_t date, const EmailId& email);    // threads__email
std::string thread_subject_key(std::string_view subject, std::int64_t last_date, const ThreadId& thread);
std::string link_key(const EmailId& email, LinkTarget target, RecordId id);
std::string link_target_key(LinkTarget target, RecordId id, std::int64_t date, const EmailId& email);

// The date and email id every dated key ends with.
std::pair<std::int64_t, EmailId> dated_key_tail(std::string_view key, const Origin& origin);

// ---- Records ----
// decode_* take the key's id where the record does not repeat it.

std::string encode(const User& user);
User decode_user(UserId id, std::string_view value, const Origin& origin);
std::string encode(const Contact& contact);
Contact decode_contact(RecordId id, std::string_view value, const Origin& origin);
std::string encode(const Lead& lead);
Lead decode_lead(RecordId id, std::string_view value, const Origin& origin);
std::string encode(const Account& account);
Account decode_account(RecordId id, std::string_view value, const Origin& origin);
std::string encode(const Deal& deal);
Deal decode_deal(RecordId id, std::string_view value, const Origin& origin);
std::string encode(const EmailRow& email);
// Without the text and attachments when `headers_only` (thread views).
EmailRow decode_email(const EmailId& id, std::string_view value, const Origin& origin, bool headers_only = false);
// The threads__email value for an email, and its reading back.
std::string encode_thread_entry(const EmailRow& email);
ThreadEntry decode_thread_entry(std::string_view key, std::string_view value, const Origin& origin);
std::string encode(const MailboxRef& ref);
// Key fields come from the key.
MailboxRef decode_ref(std::string_view key, std::string_view value, const Origin& origin);
std::string encode(const ThreadRow& thread);
ThreadRow decode_thread(const ThreadId& id, std::string_view value, const Origin& origin);
std::string encode(const Link& link);
Link decode_link(std::string_view key, std::string_view value, const Origin& origin);
std::string encode(const AuditEntry& entry);
AuditEntry decode_audit(std::uint64_t sequence, std::string_view value, const Origin& origin);

// Lower-cases ASCII letters: addresses and domains are matched that way.
std::string lower_ascii(std::string_view text);
// The domain of an address (after the last '@'), or empty.
std::string_view domain_of(std::string_view address);

}  // namespace lodestone::crm
