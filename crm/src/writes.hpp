// Every change to the CRM store, as operations inside one write transaction.
// They run on the writer thread (crm.cpp queues them) and act only through
// the transaction, because the writer may run a request again after growing
// the map.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lodestone/crm/crm.hpp"
#include "tables.hpp"

namespace lodestone::crm {

class Writing {
 public:
  Writing(WriteTxn& txn, const Tables& tables, const CrmOptions& options, std::int64_t now)
      : txn_(txn), t_(tables), options_(options), now_(now) {}

  UserId ensure_user(std::string_view name);
  // 0 for an empty name.
  UserId ensure_user_or_none(std::string_view name) { return name.empty() ? 0 : ensure_user(name); }

  // `email` is complete but for thread and first_seen, which are set here.
  RecordOutcome record_email(const SeenEmail& seen, EmailRow email);
  void set_flags(std::string_view user, std::string_view folder, std::uint32_t uidvalidity, std::uint32_t uid,
                 const std::vector<std::string>& flags);
  bool delete_ref(std::string_view user, std::string_view folder, std::uint32_t uidvalidity, std::uint32_t uid);

  RecordId add_contact(const ContactInput& input);
  RecordId add_lead(const LeadInput& input);
  RecordId add_deal(const DealInput& input);
  void update_deal(RecordId id, const DealUpdate& update, std::string_view by_user);
  void link(const EmailId& email, LinkTarget target, RecordId id, std::string_view by_user, LinkHow how);

 private:
  Origin origin(const Dbi& dbi) const { return {txn_.env().path(), dbi.name()}; }
  RecordId next_id(const Dbi& table);
  void audit(UserId user, std::string_view action, std::string detail);
  bool is_org_address(std::string_view address) const;
  // Staff addresses never become contacts or leads: InvalidInput naming the setting.
  void reject_org_address(std::string_view address, std::string_view kind) const;

  ThreadId assign_thread(const EmailRow& email);
  std::optional<ThreadId> thread_by_references(const EmailRow& email);
  std::optional<ThreadId> thread_by_subject(const EmailRow& email, const std::string& subject,
                                            const std::vector<std::string>& participants);

  void link_by_addresses(const EmailRow& email);
  void put_link(const EmailId& email, std::int64_t date, LinkTarget target, RecordId id, UserId by, LinkHow how);
  // The account of a company domain, created when missing; none for public
  // mail providers and the organisation's own domains.
  // The account's past emails are linked when it is created.
  std::optional<RecordId> ensure_account(std::string_view domain);
  // Links every email whose emails__address key starts with `prefix`
  // (address_prefix() or a domain's) to the target.
  void link_past_emails(std::string_view prefix, LinkTarget target, RecordId id);

  std::optional<std::uint32_t> import_uid(UserId user, std::string_view folder, const EmailId& email);
  void remove_ref(const MailboxRef& ref);

  WriteTxn& txn_;
  const Tables& t_;
  const CrmOptions& options_;
  std::int64_t now_;
};

// The addresses an email involves (From, To, Cc, Bcc), lower-cased, each once.
std::vector<std::string> participants_of(const EmailRow& email);

// Whether `address` looks like local@domain.tld with no spaces or controls.
bool plausible_address(std::string_view address);

}  // namespace lodestone::crm
