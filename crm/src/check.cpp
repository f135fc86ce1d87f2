// `lodestone crm check`: every record decodes, every reference points at a
// row that exists, and every index holds exactly the entries its table
// implies. Indexes are compared as sorted lists, so each problem names the
// index, the key and whether it is missing, stray or wrong.
#include <algorithm>
#include <exception>
#include <map>
#include <set>

#include "crm_impl.hpp"
#include "writes.hpp"

namespace lodestone::crm {
namespace {

using Expected = std::vector<std::pair<std::string, std::string>>;

std::string printable(std::string_view key) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key.substr(0, 48)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  if (key.size() > 48) out += "...";
  return out;
}

class Checker {
 public:
  explicit Checker(const Snapshot::Impl& s) : s_(s), t_(s.crm.tables) {}

  std::vector<std::string> run() {
    check_users();
    check_contacts();
    check_leads();
    check_accounts();
    check_deals();
    check_emails();
    check_refs();
    check_threads();
    check_links();
    check_audit();
    return std::move(problems_);
  }

 private:
  void problem(const Dbi& dbi, std::string_view key, const std::string& what) {
    problems_.push_back(dbi.name() + " [" + printable(key) + "]: " + what);
  }

  // Calls `visit(key, value)` for every entry, turning a record that does
  // not decode into a problem instead of ending the check.
  template <class Visit>
  void each(const Dbi& table, Visit visit) {
    Cursor cursor(s_.txn, table);
    for (const auto& entry : cursor.scan(KeyRange::all())) {
      try {
        visit(entry.key, entry.value);
      } catch (const std::exception& e) {
        problem(table, entry.key, e.what());
      }
    }
  }

  bool exists(const Dbi& table, std::string_view key) const { return s_.txn.get(table, key).has_value(); }

  void compare(const Dbi& index, Expected expected) {
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    auto want = expected.begin();
    Cursor cursor(s_.txn, index);
    for (const auto& entry : cursor.scan(KeyRange::all())) {
      while (want != expected.end() && want->first < entry.key) {
        problem(index, want->first, "missing");
        ++want;
      }
      if (want != expected.end() && want->first == entry.key) {
        if (want->second != entry.value) problem(index, entry.key, "points elsewhere than its table says");
        ++want;
      } else {
        problem(index, entry.key, "stray entry: its table has no such row");
      }
    }
    for (; want != expected.end(); ++want) problem(index, want->first, "missing");
  }

  void check_users() {
    Expected names;
    each(t_.users, [&](std::string_view key, std::string_view value) {
      const User user = decode_user(decode_u64(key), value, s_.origin(t_.users));
      names.emplace_back(name_key(user.name), std::string(key));
    });
    compare(t_.users__name, std::move(names));
  }

  void check_user_ref(const Dbi& table, std::string_view key, UserId user) {
    if (user != 0 && !exists(t_.users, id_key(user))) problem(table, key, "owner " + std::to_string(user) + " is no user");
  }

  void check_contacts() {
    Expected addresses;
    each(t_.contacts, [&](std::string_view key, std::string_view value) {
      const Contact c = decode_contact(decode_u64(key), value, s_.origin(t_.contacts));
      for (const auto& address : c.emails) addresses.emplace_back(name_key(address), std::string(key));
      check_user_ref(t_.contacts, key, c.owner);
    });
    compare(t_.contacts__email, std::move(addresses));
  }

  void check_leads() {
    Expected addresses;
    each(t_.leads, [&](std::string_view key, std::string_view value) {
      const Lead l = decode_lead(decode_u64(key), value, s_.origin(t_.leads));
      addresses.emplace_back(name_key(l.email), std::string(key));
      check_user_ref(t_.leads, key, l.owner);
    });
    compare(t_.leads__email, std::move(addresses));
  }

  void check_accounts() {
    Expected domains;
    each(t_.accounts, [&](std::string_view key, std::string_view value) {
      const Account a = decode_account(decode_u64(key), value, s_.origin(t_.accounts));
      domains.emplace_back(name_key(a.domain), std::string(key));
    });
    compare(t_.accounts__domain, std::move(domains));
  }

  void check_deals() {
    each(t_.deals, [&](std::string_view key, std::string_view value) {
      const Deal d = decode_deal(decode_u64(key), value, s_.origin(t_.deals));
      if (d.account && !exists(t_.accounts, id_key(d.account)))
        problem(t_.deals, key, "account " + std::to_string(d.account) + " does not exist");
      if (d.contact && !exists(t_.contacts, id_key(d.contact)))
        problem(t_.deals, key, "contact " + std::to_string(d.contact) + " does not exist");
      check_user_ref(t_.deals, key, d.owner);
    });
  }

  void check_emails() {
    Expected addresses, thread_entries;
    each(t_.emails, [&](std::string_view key, std::string_view value) {
      const EmailId id = Key128::from_bytes(key);
      const EmailRow e = decode_email(id, value, s_.origin(t_.emails));
      email_dates_[id] = e.date;
      for (const auto& address : participants_of(e)) addresses.emplace_back(address_key(address, e.date, id), "");
      thread_entries.emplace_back(dated_key(e.thread, e.date, id), encode_thread_entry(e));
      ++thread_sizes_[e.thread];
      if (!exists(t_.threads, e.thread.view())) problem(t_.emails, key, "its thread " + e.thread.to_hex() + " does not exist");
      if (!e.message_id.empty() && !exists(t_.threads__message_id, email_id_from_message_id(e.message_id).view()))
        problem(t_.emails, key, "its Message-ID leads to no thread");
    });
    compare(t_.emails__address, std::move(addresses));
    compare(t_.threads__email, std::move(thread_entries));
  }

  void check_refs() {
    Expected by_email, by_user;
    each(t_.refs, [&](std::string_view key, std::string_view value) {
      const MailboxRef r = decode_ref(key, value, s_.origin(t_.refs));
      by_email.emplace_back(ref_email_key(r.email, r.user, r.folder, r.uidvalidity, r.uid), "");
      if (!exists(t_.users, id_key(r.user))) problem(t_.refs, key, "user " + std::to_string(r.user) + " does not exist");
      const auto date = email_dates_.find(r.email);
      if (date == email_dates_.end()) {
        problem(t_.refs, key, "email " + r.email.to_hex() + " does not exist");
        return;
      }
      by_user.emplace_back(dated_key(r.user, date->second, r.email), "");
    });
    compare(t_.refs__email, std::move(by_email));
    compare(t_.emails__user, std::move(by_user));
  }

  void check_threads() {
    Expected subjects;
    each(t_.threads, [&](std::string_view key, std::string_view value) {
      const ThreadRow th = decode_thread(Key128::from_bytes(key), value, s_.origin(t_.threads));
      subjects.emplace_back(thread_subject_key(th.subject, th.last_date, th.id), "");
      const auto size = thread_sizes_.find(th.id);
      const std::uint32_t counted = size == thread_sizes_.end() ? 0 : size->second;
      if (counted != th.email_count)
        problem(t_.threads, key,
                "says it holds " + std::to_string(th.email_count) + " emails, the emails table has " +
                    std::to_string(counted));
    });
    compare(t_.threads__subject, std::move(subjects));
    each(t_.threads__message_id, [&](std::string_view key, std::string_view value) {
      if (!exists(t_.threads, value)) problem(t_.threads__message_id, key, "points at a thread that does not exist");
    });
  }

  void check_links() {
    Expected targets;
    each(t_.links, [&](std::string_view key, std::string_view value) {
      const Link link = decode_link(key, value, s_.origin(t_.links));
      const Dbi* table = nullptr;
      switch (link.target) {
        case LinkTarget::contact: table = &t_.contacts; break;
        case LinkTarget::lead: table = &t_.leads; break;
        case LinkTarget::account: table = &t_.accounts; break;
        case LinkTarget::deal: table = &t_.deals; break;
      }
      if (!table) {
        problem(t_.links, key, "unknown target kind " + std::to_string(static_cast<int>(link.target)));
        return;
      }
      if (!exists(*table, id_key(link.target_id)))
        problem(t_.links, key, std::string(to_string(link.target)) + " " + std::to_string(link.target_id) + " does not exist");
      const auto date = email_dates_.find(link.email);
      if (date == email_dates_.end()) {
        problem(t_.links, key, "email " + link.email.to_hex() + " does not exist");
        return;
      }
      targets.emplace_back(link_target_key(link.target, link.target_id, date->second, link.email), "");
    });
    compare(t_.links__target, std::move(targets));
  }

  void check_audit() {
    each(t_.audit, [&](std::string_view key, std::string_view value) {
      decode_audit(decode_u64(key), value, s_.origin(t_.audit));
    });
  }

  const Snapshot::Impl& s_;
  const Tables& t_;
  std::map<EmailId, std::int64_t> email_dates_;
  std::map<ThreadId, std::uint32_t> thread_sizes_;
  std::vector<std::string> problems_;
};

}  // namespace

std::vector<std::string> Snapshot::check() const { return Checker(*impl_).run(); }

}  // namespace lodestone::crm
