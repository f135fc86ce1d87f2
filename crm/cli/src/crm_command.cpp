// `lodestone crm …`: registration of the subcommands and what each does.
#include "lodestone/crm/cli.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <cstring>
#include <sstream>

#include "csv.hpp"
#include "lodestone/config.hpp"
#include "lodestone/crm/crm.hpp"
#include "lodestone/crm/mail_source.hpp"
#include "output.hpp"

namespace lodestone::crm {

using cli::Details;
using cli::format_date;
using cli::TextTable;
using cli::thousands;
namespace json = boost::json;

namespace {

constexpr const char* default_config_path = "/etc/lodestone/lodestone.yaml";

// Bad usage: a missing or malformed argument. Exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += separator;
    out += p;
  }
  return out;
}

std::string shown_address(const mail::Address& a) {
  return a.name.empty() ? a.address : a.name + " <" + a.address + ">";
}

std::string first_address(const std::vector<mail::Address>& addresses) {
  return addresses.empty() ? "" : shown_address(addresses.front());
}

// "4800.50": exact, and without the thousands separators a script would trip on.
std::string plain_amount(std::int64_t minor_units) {
  std::string text = cli::format_amount(minor_units);
  std::erase(text, ',');
  return text;
}

json::array addresses_json(const std::vector<mail::Address>& addresses) {
  json::array out;
  for (const auto& a : addresses) out.push_back(json::object{{"name", a.name}, {"address", a.address}});
  return out;
}

json::array strings_json(const std::vector<std::string>& strings) {
  json::array out;
  for (const auto& s : strings) out.push_back(json::string(s));
  return out;
}

// The store's problems with a file become UsageError when they are the
// user's (a path to nowhere), StoreError otherwise.
void require_store(const std::filesystem::path& directory) {
  std::error_code ec;
  if (!std::filesystem::exists(directory / "data.mdb", ec))
    throw UsageError("no CRM store at " + directory.string() +
                     " (nothing was captured or ingested there yet; check --db or the crm.path of the config)");
}

}  // namespace

struct CrmCommand::State {
  CLI::App* crm = nullptr;
  std::string db, config_path;
  bool json_output = false;

  // One per leaf command: the function that runs it.
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands;

  // Arguments shared by several commands.
  std::string user, viewer, target, file, since;
  std::vector<std::string> paths;
  std::size_t limit = 100;
  ContactInput contact;
  LeadInput lead;
  DealInput deal;
  std::string deal_account, deal_contact, amount, by_user;
  std::optional<std::string> new_title, new_stage, new_currency, new_amount;
  std::optional<unsigned> new_probability;
  std::string emails_contact, emails_account, emails_user;
  std::string lead_status_filter;

  // ---- Opening the store ----

  CrmOptions options(bool read_only) const {
    std::optional<config::Config> config;
    std::string path = config_path;
    if (path.empty() && db.empty()) {
      std::error_code ec;
      if (!std::filesystem::exists(default_config_path, ec))
        throw UsageError(std::string("no --db given, and no config at ") + default_config_path +
                         " to take the CRM path from: pass --db DIR or --config FILE");
      path = default_config_path;
    }
    if (!path.empty()) config = config::load_config(path);
    CrmOptions o;
    o.directory = db.empty() ? std::filesystem::path(config->crm.path) : std::filesystem::path(db);
    if (config) o.org_domains = config->crm.org_domains;
    o.read_only = read_only;
    return o;
  }

  std::unique_ptr<Crm> open_for_reading() const {
    CrmOptions o = options(true);
    require_store(o.directory);
    return std::make_unique<Crm>(std::move(o));
  }

  std::unique_ptr<Crm> open_for_writing() const { return std::make_unique<Crm>(options(false)); }

  // ---- Finding records by what people type ----

  static RecordId contact_id(const Snapshot& s, const std::string& text) {
    if (all_digits(text) && s.contact(std::stoull(text))) return std::stoull(text);
    if (auto c = s.contact_by_address(text)) return c->id;
    throw UsageError("no contact " + text + " (give its number or one of its addresses)");
  }

  static RecordId lead_id(const Snapshot& s, const std::string& text) {
    if (all_digits(text) && s.lead(std::stoull(text))) return std::stoull(text);
    if (auto l = s.lead_by_address(text)) return l->id;
    throw UsageError("no lead " + text + " (give its number or its address)");
  }

  static RecordId account_id(const Snapshot& s, const std::string& text) {
    if (all_digits(text) && s.account(std::stoull(text))) return std::stoull(text);
    if (auto a = s.account_by_domain(text)) return a->id;
    throw UsageError("no account " + text + " (give its number or its domain)");
  }

  static std::string user_name(const Snapshot& s, UserId id) {
    if (id == 0) return "";
    auto u = s.user(id);
    return u ? u->name : "#" + std::to_string(id);
  }

  // ---- Printing emails ----

  void print_emails(const Snapshot& s, const std::vector<EmailId>& ids) const {
    if (json_output) {
      json::array out;
      for (const auto& id : ids)
        if (auto e = s.email(id)) out.push_back(email_json(*e, false));
      std::cout << json::serialize(out) << '\n';
      return;
    }
    TextTable table({"ID", "DATE", "FROM", "SUBJECT"});
    for (const auto& id : ids)
      if (auto e = s.email(id)) table.add({id.to_hex(), format_date(e->date), first_address(e->from), e->subject});
    table.print(std::cout);
  }

  static json::object email_json(const EmailRow& e, bool with_text) {
    json::object o{{"id", e.id.to_hex()},
                   {"message_id", e.message_id},
                   {"date", cli::format_iso_date(e.date)},
                   {"from", addresses_json(e.from)},
                   {"to", addresses_json(e.to)},
                   {"cc", addresses_json(e.cc)},
                   {"subject", e.subject},
                   {"thread", e.thread.to_hex()},
                   {"size", e.size},
                   {"bulk", e.bulk}};
    if (!e.in_reply_to.empty()) o["in_reply_to"] = e.in_reply_to;
    if (!e.references.empty()) o["references"] = strings_json(e.references);
    if (!e.bcc.empty()) o["bcc"] = addresses_json(e.bcc);
    if (with_text) {
      o["text"] = e.text;
      json::array attachments;
      for (const auto& a : e.attachments)
        attachments.push_back(json::object{{"file_name", a.file_name}, {"media_type", a.media_type}, {"size", a.size}});
      o["attachments"] = std::move(attachments);
    }
    return o;
  }

  static json::object contact_json(const Snapshot& s, const Contact& c) {
    return {{"id", c.id},
            {"name", c.name},
            {"emails", strings_json(c.emails)},
            {"phones", strings_json(c.phones)},
            {"organisation", c.organisation},
            {"owner", user_name(s, c.owner)},
            {"shared", c.shared},
            {"created", cli::format_iso_date(c.created)},
            {"modified", cli::format_iso_date(c.modified)}};
  }

  static json::object lead_json(const Snapshot& s, const Lead& l) {
    json::object o{{"id", l.id},
                   {"email", l.email},
                   {"name", l.name},
                   {"status", l.status},
                   {"source", l.source},
                   {"owner", user_name(s, l.owner)},
                   {"created", cli::format_iso_date(l.created)},
                   {"modified", cli::format_iso_date(l.modified)}};
    if (l.created_from) o["created_from"] = l.created_from->to_hex();
    return o;
  }

  static json::object account_json(const Account& a) {
    return {{"id", a.id}, {"domain", a.domain}, {"name", a.name}, {"created", cli::format_iso_date(a.created)}};
  }

  static json::object deal_json(const Snapshot& s, const Deal& d) {
    return {{"id", d.id},
            {"title", d.title},
            {"account", d.account},
            {"contact", d.contact},
            {"stage", d.stage},
            {"probability", d.probability},
            {"amount", plain_amount(d.amount)},
            {"currency", d.currency},
            {"owner", user_name(s, d.owner)},
            {"created", cli::format_iso_date(d.created)},
            {"modified", cli::format_iso_date(d.modified)}};
  }

  // ---- ingest ----

  int ingest() {
    const std::vector<MailSource> sources = discover_sources(std::vector<std::filesystem::path>(paths.begin(), paths.end()));
    std::uint64_t total_bytes = 0;
    for (const auto& source : sources) total_bytes += source.bytes;
    auto crm = open_for_writing();

    std::uint64_t read = 0, new_emails = 0, new_refs = 0, already = 0, skipped = 0, failed = 0;
    std::vector<std::string> errors;
    cli::Progress progress("ingest", total_bytes);
    // Parsing happens here, storing on the writer thread; a bounded window
    // of outstanding writes keeps memory flat on a large mailbox.
    std::deque<std::future<RecordOutcome>> pending;
    auto settle_one = [&] {
      try {
        const RecordOutcome outcome = pending.front().get();
        new_emails += outcome.new_email;
        if (outcome.new_ref) {
          ++new_refs;
        } else {
          ++already;
        }
      } catch (const std::exception& e) {
        if (++failed <= 10) errors.push_back(e.what());
      }
      pending.pop_front();
    };
    auto report_skip = [&](std::string_view location, std::string_view reason) {
      ++skipped;
      progress.finish();  // clears the bar so the line stays readable
      std::cerr << "lodestone crm ingest: skipped " << location << ": " << reason << '\n';
    };
    for (const auto& source : sources) {
      read_messages(
          source, SourceLimits{},
          [&](const SourceMessage& message) {
            SeenEmail seen;
            seen.user = user;
            seen.folder = source.folder;
            seen.flags = message.flags;
            pending.push_back(crm->record_email(seen, message.raw));
            ++read;
            progress.advance(message.raw.size(), 1);
            while (pending.size() > 4096) settle_one();
          },
          report_skip);
    }
    while (!pending.empty()) settle_one();
    progress.finish();
    const double seconds = progress.elapsed_seconds();
    const auto rate = static_cast<std::uint64_t>(seconds > 0 ? static_cast<double>(read) / seconds : 0);

    if (json_output) {
      std::cout << json::serialize(json::object{{"sources", sources.size()},
                                                {"messages", read},
                                                {"new_emails", new_emails},
                                                {"added", new_refs},
                                                {"already_there", already},
                                                {"skipped", skipped},
                                                {"failed", failed},
                                                {"seconds", seconds}})
                << '\n';
    } else {
      std::ostringstream line;
      line.precision(2);
      line << std::fixed << "ingest: " << thousands(read) << " messages from " << sources.size()
           << (sources.size() == 1 ? " source" : " sources") << " in " << seconds << " s (" << thousands(rate)
           << " msg/s): " << thousands(new_emails) << " new emails, " << thousands(new_refs) << " added to " << user
           << "'s mail, " << thousands(already) << " already there, " << thousands(skipped) << " skipped, "
           << thousands(failed) << " failed";
      std::cout << line.str() << '\n';
    }
    for (const auto& e : errors) std::cerr << "lodestone crm ingest: failed: " << e << '\n';
    return failed ? 1 : 0;
  }

  // ---- contacts ----

  int contacts_list() {
    auto crm = open_for_reading();
    const Snapshot s = crm->snapshot();
    const auto contacts = s.contacts();
    if (json_output) {
      json::array out;
      for (const auto& c : contacts) out.push_back(contact_json(s, c));
      std::cout << json::serialize(out) << '\n';
      return 0;
    }
    TextTable table({"ID", "NAME", "EMAILS", "ORGANISATION", "OWNER", "SHARED"});
    for (const auto& c : contacts)
      table.add({std::to_string(c.id), c.name, join(c.emails, ", "), c.organisation, user_name(s, c.owner),
                 c.shared ? "yes" : "no"});
    table.print(std::cout);
    return 0;
  }

  int contacts_show() {
    auto crm = open_for_reading();
    const Snapshot s = crm->snapshot();
    const Contact c = *s.contact(contact_id(s, target));
    Snapshot::EmailQuery query;
    query.limit = limit;
    if (!viewer.empty()) query.viewer = viewer;
    const auto emails = s.emails_of(LinkTarget::contact, c.id, query);
    if (json_output) {
      json::object o = contact_json(s, c);
      json::array recent;
      for (const auto& id : emails) recent.push_back(json::string(id.to_hex()));
      o["emails_linked"] = std::move(recent);
      std::cout << json::serialize(o) << '\n';
      return 0;
    }
    Details d;
    d.add("contact", std::to_string(c.id));
    d.add("name", c.name);
    d.add("emails", join(c.emails, ", "));
    d.add("phones", join(c.phones, ", "));
    d.add("organisation", c.organisation);
    d.add("owner", user_name(s, c.owner));
    d.add("shared", c.shared ? "yes" : "no");
    d.add("created", format_date(c.created));
    d.print(std::cout);
    std::cout << '\n';
    print_emails(s, emails);
    return 0;
  }

  int contacts_add() {
    auto crm = open_for_writing();
    const RecordId id = crm->add_contact(contact).get();
    std::cout << "contact " << id << " added\n";
    return 0;
  }

  int contacts_import() {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw UsageError("cannot read " + file + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    const std::vector<cli::CsvRow> rows = cli::parse_csv(text.str());
    if (rows.empty()) throw UsageError(file + " is empty: it needs a header row (name,email,phone,organisation,owner,shared)");

    // Columns by header name, in any order.
    enum Column { name, email, phone, organisation, owner, shared };
    const std::map<std::string, Column> known{{"name", name},          {"email", email},
                                              {"emails", email},       {"phone", phone},
                                              {"phones", phone},       {"organisation", organisation},
                                              {"organization", organisation}, {"company", organisation},
                                              {"owner", owner},        {"shared", shared}};
    std::map<Column, std::size_t> where;
    for (std::size_t i = 0; i < rows[0].fields.size(); ++i) {
      std::string header = rows[0].fields[i];
      std::transform(header.begin(), header.end(), header.begin(), [](unsigned char c) { return std::tolower(c); });
      const auto found = known.find(header);
      if (found == known.end())
        throw UsageError(file + ":1: unknown column '" + rows[0].fields[i] +
                         "' (known: name, email, phone, organisation, owner, shared)");
      where[found->second] = i;
    }
    if (!where.count(name) && !where.count(email)) throw UsageError(file + ":1: needs a 'name' or an 'email' column");

    // Several values in one cell: separated by ';' or white space.
    auto split = [](const std::string& cell) {
      std::vector<std::string> out;
      std::string current;
      for (char c : cell + ";") {
        if (c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
          if (!current.empty()) out.push_back(std::move(current));
          current.clear();
        } else {
          current.push_back(c);
        }
      }
      return out;
    };
    auto cell = [&](const cli::CsvRow& row, Column column) -> std::string {
      const auto at = where.find(column);
      return at != where.end() && at->second < row.fields.size() ? row.fields[at->second] : std::string();
    };

    auto crm = open_for_writing();
    std::vector<std::pair<std::size_t, std::future<RecordId>>> added;
    for (std::size_t r = 1; r < rows.size(); ++r) {
      ContactInput input;
      input.name = cell(rows[r], name);
      input.emails = split(cell(rows[r], email));
      input.phones = split(cell(rows[r], phone));
      input.organisation = cell(rows[r], organisation);
      input.owner = cell(rows[r], owner);
      std::string share = cell(rows[r], shared);
      std::transform(share.begin(), share.end(), share.begin(), [](unsigned char c) { return std::tolower(c); });
      input.shared = share == "yes" || share == "true" || share == "1";
      added.emplace_back(rows[r].line, crm->add_contact(std::move(input)));
    }
    std::size_t imported = 0, refused = 0;
    for (auto& [line, future] : added) {
      try {
        future.get();
        ++imported;
      } catch (const std::invalid_argument& e) {
        ++refused;
        std::cerr << file << ':' << line << ": " << e.what() << '\n';
      }
    }
    std::cout << "imported " << imported << " contacts from " << file << ", " << refused << " rows refused\n";
    return refused ? 1 : 0;
  }

  // ---- leads ----

  int leads_list() {
    auto crm = open_for_reading();
    const Snapshot s = crm->snapshot();
    std::vector<Lead> leads = s.leads();
    if (!lead_status_filter.empty())
      std::erase_if(leads, [&](const Lead& l) { return l.status != lead_status_filter; });
    if (json_output) {
      json::array out;
      for (const auto& l : leads) out.push_back(lead_json(s, l));
      std::cout << json::serialize(out) << '\n';
      return 0;
    }
    TextTable table({"ID", "EMAIL", "NAME", "STATUS", "SOURCE", "OWNER", "CREATED"});
    for (const auto& l : leads)
      table.add({std::to_string(l.id), l.email, l.name, l.status, l.source, user_name(s, l.owner), format_date(l.created)});
    table.print(std::cout);
    return 0;
  }

  int leads_show() {
    auto crm = open_for_reading();
    const Snapshot s = crm->snapshot();
    const Lead l = *s.lead(lead_id(s, target));
    Snapshot::EmailQuery query;
    query.limit = limit;
    if (!viewer.empty()) query.viewer = viewer;
    const auto emails = s.emails_of(LinkTarget::lead, l.id, query);
    if (json_output) {
      json::object o = lead_json(s, l);
      json::array recent;
      for (const auto& id : emails) recent.push_back(json::string(id.to_hex()));
      o["emails_linked"] = std::move(recent);
      std::cout << json::serialize(o) << '\n';
      return 0;
    }
    Details d;
    d.add("lead", std::to_string(l.id));
    d.add("email", l.email);
    d.add("name", l.name);
    d.add("status", l.status);
    d.add("source", l.source);
    d.add("created from", l.created_from ? l.created_from->to_hex() : "");
    d.add("owner", user_name(s, l.owner));
    d.add("created", format_date(l.created));
    d.print(std::cout);
    std::cout << '\n';
    print_emails(s, emails);
    return 0;
  }

  int leads_add() {
    auto crm = open_for_writing();
    lead.email = target;
    const RecordId id = crm->add_lead(lead).get();
    std::cout << "lead " << id << '\n';
    return 0;
  }

  // ---- accounts ----

  int accounts_list() {
    auto crm = open_for_reading();
    const Snapshot s = crm->snapshot();
    const auto accounts = s.accounts();
    std::map<std::string, std::size_t> contacts_per_domain;
    for (const auto& c : s.contacts())
      for (const auto& e : c.emails) ++contacts_per_domain[e.substr(e.rfind('@') + 1)];
    if (json_output) {
      json::array out;
      for (const auto& a : accounts) {
        json::object o = account_json(a);
        o["contacts"] = contacts_per_domain[a.domain];
        out.push_back(std::move(o));
      }
      std::cout << json::serialize(out) << '\n';
      return 0;
    }
    TextTable table({"ID", "DOMAIN", "NAME", "CONTACTS", "CREATED"});
    for (const auto& a : accounts)
      table.add({std::to_string(a.id), a.domain, a.name, std::to_string(contacts_per_domain[a.domain]),
                 format_date(a.created)});
    table.print(std::cout);
    return 0;
  }

  int accounts_show() {
    auto crm = open_for_reading();
    const Snapshot s = crm->snapshot();
    const Account a = *s.account(account_id(s, target));
    Snapshot::EmailQuery query;
    query.limit = limit;
    if (!viewer.empty()) query.viewer = viewer;
    const auto emails = s.emails_of(LinkTarget::account, a.id, query);
    std::vector<Contact> contacts;
    for (auto& c : s.contacts())
      if (std::any_of(c.emails.begin(), c.emails.end(),
                      [&](const std::string& e) { return e.ends_with("@" + a.domain); }))
        contacts.push_back(std::move(c));
    if (json_output) {
      json::object o = account_json(a);
      json::array people, recent;
      for (const auto& c : contacts) people.push_back(contact_json(s, c));
      for (const auto& id : emails) recent.push_back(json::string(id.to_hex()));
      o["contacts"] = std::move(people);
      o["emails_linked"] = std::move(recent);
      std::cout << json::serialize(o) << '\n';
      return 0;
    }
    Details d;
    d.add("account", std::to_string(a.id));
    d.add("domain", a.domain);
    d.add("name", a.name);
    d.add("created", format_date(a.created));
    d.print(std::cout);
    if (!contacts.empty()) {
      std::cout << '\n';
      TextTable people({"CONTACT", "NAME", "EMAILS"});
      for (const auto& c : contacts) people.add({std::to_string(c.id), c.name, join(c.emails, ", ")});
      people.print(std::cout);
    }
    std::cout << '\n';
    print_emails(s, emails);
    return 0;
  }

  // ---- deals ----

  int deals_add() {
    auto crm = open_for_writing();
    {
      const Snapshot s = crm->snapshot();
      if (!deal_account.empty()) deal.account = account_id(s, deal_account);
      if (!deal_contact.empty()) deal.contact = contact_id(s, deal_contact);
    }  // the snapshot ends before waiting for the write
    if (!amount.empty()) {
      const auto minor = cli::parse_amount(amount);
      if (!minor) throw UsageError("--amount " + amount + " is not an amount like 4800 or 4800.50");
      deal.amount = *minor;
    }
    const RecordId id = crm->add_deal(deal).get();
    std::cout << "deal " << id << " added\n";
    return 0;
  }

  int deals_list() {
    auto crm = open_for_reading();
    const Snapshot s = crm->snapshot();
    const auto deals = s.deals();
    if (json_output) {
      json::array out;
      for (const auto& d : deals) out.push_back(deal_json(s, d));
      std::cout << json::serialize(out) << '\n';
      return 0;
    }
    TextTable table({"ID", "TITLE", "STAGE", "PROB", "AMOUNT", "ACCOUNT", "CONTACT", "OWNER", "MODIFIED"});
    for (const auto& d : deals) {
      const auto account = d.account ? s.account(d.account) : std::nullopt;
      const auto contact = d.contact ? s.contact(d.contact) : std::nullopt;
      table.add({std::to_string(d.id), d.title, d.stage, std::to_string(d.probability) + "%",
                 cli::format_amount(d.amount) + " " + d.currency, account ? account->domain : "",
                 contact ? contact->name : "", user_name(s, d.owner), format_date(d.modified)});
    }
    table.print(std::cout);
    return 0;
  }

  int deals_update() {
    if (!all_digits(target)) throw UsageError("deals update needs the deal's number, not '" + target + "'");
    DealUpdate update;
    update.title = new_title;
    update.stage = new_stage;
    update.currency = new_currency;
    update.probability = new_probability;
    if (new_amount) {
      const auto minor = cli::parse_amount(*new_amount);
      if (!minor) throw UsageError("--amount " + *new_amount + " is not an amount like 4800 or 4800.50");
      update.amount = *minor;
    }
    auto crm = open_for_writing();
    crm->update_deal(std::stoull(target), update, by_user).get();
    std::cout << "deal " << target << " updated\n";
    return 0;
  }

  // ---- emails, threads ----

  int emails_list() {
    const int filters = !emails_contact.empty() + !emails_account.empty() + !emails_user.empty();
    if (filters != 1) throw UsageError("emails list needs exactly one of --contact, --account or --user");
    Snapshot::EmailQuery query;
    query.limit = limit;
    if (!viewer.empty()) query.viewer = viewer;
    if (!since.empty()) {
      const auto date = cli::parse_date(since);
      if (!date) throw UsageError("--since " + since + " is not a date like 2026-03-01 or 2026-03-01T09:30");
      query.since = *date;
    }
    auto crm = open_for_reading();
    const Snapshot s = crm->snapshot();
    std::vector<EmailId> ids;
    if (!emails_contact.empty()) ids = s.emails_of(LinkTarget::contact, contact_id(s, emails_contact), query);
    if (!emails_account.empty()) ids = s.emails_of(LinkTarget::account, account_id(s, emails_account), query);
    if (!emails_user.empty()) {
      if (!s.user(emails_user)) throw UsageError("no user " + emails_user + " in the CRM");
      ids = s.emails_of_user(emails_user, query);
    }
    print_emails(s, ids);
    return 0;
  }

  int thread_show() {
    const auto id = Key128::from_hex(target);
    if (!id) throw UsageError("'" + target + "' is not an email or thread id (32 hex digits)");
    auto crm = open_for_reading();
    const Snapshot s = crm->snapshot();
    auto thread = s.thread(*id);
    if (!thread)
      if (auto email = s.email(*id)) thread = s.thread(email->thread);
    if (!thread) throw UsageError("no thread or email " + target);
    std::optional<std::string_view> as;
    if (!viewer.empty()) as = viewer;
    const auto emails = s.thread_view(thread->id, as);
    if (json_output) {
      json::array items;
      for (const auto& e : emails)
        if (auto row = s.email(e.id)) items.push_back(email_json(*row, false));
      std::cout << json::serialize(json::object{{"thread", thread->id.to_hex()},
                                                {"subject", thread->subject},
                                                {"emails_total", thread->email_count},
                                                {"emails", std::move(items)}})
                << '\n';
      return 0;
    }
    std::cout << "thread " << thread->id.to_hex() << ": \"" << thread->subject << "\", " << thread->email_count
              << " emails";
    if (as) std::cout << ", " << emails.size() << " visible to " << viewer;
    std::cout << "\n\n";
    TextTable table({"ID", "DATE", "FROM", "TO", "SUBJECT"});
    for (const auto& e : emails)
      table.add({e.id.to_hex(), format_date(e.date), shown_address(e.from), shown_address(e.to), e.subject});
    table.print(std::cout);
    return 0;
  }

  // ---- export, stats, check, backup ----

  int export_json() {
    auto crm = open_for_reading();
    const Snapshot s = crm->snapshot();
    // Streamed section by section, one record at a time, so the export of a
    // large store does not need it all in memory.
    std::cout << "{\"users\":[";
    const char* separator = "";
    for (const auto& u : s.users()) {
      std::cout << separator
                << json::serialize(json::object{{"id", u.id}, {"name", u.name}, {"created", cli::format_iso_date(u.created)}});
      separator = ",";
    }
    auto section = [&](const char* name, const auto& rows, auto to_json) {
      std::cout << "],\"" << name << "\":[";
      const char* sep = "";
      for (const auto& row : rows) {
        std::cout << sep << json::serialize(to_json(row));
        sep = ",";
      }
    };
    section("contacts", s.contacts(), [&](const Contact& c) { return contact_json(s, c); });
    section("leads", s.leads(), [&](const Lead& l) { return lead_json(s, l); });
    section("accounts", s.accounts(), [&](const Account& a) { return account_json(a); });
    section("deals", s.deals(), [&](const Deal& d) { return deal_json(s, d); });
    std::cout << "],\"emails\":[";
    separator = "";
    s.for_each_email([&](const EmailRow& e) {
      json::object o = email_json(e, true);
      json::array places, links;
      for (const auto& r : s.refs_of(e.id))
        places.push_back(json::object{{"user", user_name(s, r.user)},
                                      {"folder", r.folder},
                                      {"uidvalidity", r.uidvalidity},
                                      {"uid", r.uid},
                                      {"flags", strings_json(r.flags)}});
      for (const auto& l : s.links_of(e.id))
        links.push_back(json::object{{"target", to_string(l.target)},
                                     {"id", l.target_id},
                                     {"how", to_string(l.how)},
                                     {"by", user_name(s, l.by)}});
      o["mailboxes"] = std::move(places);
      o["links"] = std::move(links);
      std::cout << separator << json::serialize(o);
      separator = ",";
    });
    section("audit", s.audit(), [&](const AuditEntry& a) {
      return json::object{{"sequence", a.sequence},
                          {"at", cli::format_iso_date(a.at)},
                          {"user", user_name(s, a.user)},
                          {"action", a.action},
                          {"detail", a.detail}};
    });
    std::cout << "]}\n";
    return 0;
  }

  int stats() {
    auto crm = open_for_reading();
    const Snapshot s = crm->snapshot();
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(crm->directory() / "data.mdb", ec);
    if (json_output) {
      json::object o;
      for (const auto& c : s.counts())
        if (c.table.find("__") == std::string::npos) o[c.table] = c.entries;
      std::cout << json::serialize(o) << '\n';
      return 0;
    }
    TextTable table({"TABLE", "ENTRIES"});
    for (const auto& c : s.counts())
      if (c.table.find("__") == std::string::npos) table.add({c.table, thousands(c.entries)});
    table.print(std::cout);
    std::cout << "\nstore: " << crm->directory().string() << ", " << thousands(ec ? 0 : bytes) << " bytes\n";
    return 0;
  }

  int check() {
    auto crm = open_for_reading();
    const Snapshot s = crm->snapshot();
    const auto problems = s.check();
    std::uint64_t entries = 0;
    for (const auto& c : s.counts()) entries += c.entries;
    if (json_output) {
      std::cout << json::serialize(json::object{{"entries", entries}, {"problems", strings_json(problems)}}) << '\n';
    } else if (problems.empty()) {
      std::cout << "check: " << crm->directory().string() << ": OK, " << thousands(entries)
                << " entries in " << s.counts().size() << " databases agree\n";
    } else {
      for (const auto& p : problems) std::cout << p << '\n';
      std::cout << "check: " << crm->directory().string() << ": " << problems.size() << " problems\n";
    }
    return problems.empty() ? 0 : 1;
  }

  int backup() {
    auto crm = open_for_reading();
    crm->backup(file);
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(std::filesystem::path(file) / "data.mdb", ec);
    std::cout << "backup of " << crm->directory().string() << " written to " << file << " (" << thousands(ec ? 0 : bytes)
              << " bytes)\n";
    return 0;
  }
};

CrmCommand::CrmCommand(CLI::App& app) : state_(std::make_unique<State>()) {
  State& st = *state_;
  st.crm = app.add_subcommand("crm", "Query and maintain the CRM store.");
  CLI::App* crm = st.crm;
  crm->require_subcommand(1);
  crm->add_option("--db", st.db, "CRM store directory (default: crm.path of the config)");
  crm->add_option("-c,--config", st.config_path,
                  std::string("Config file to take the store path and org domains from (default: ") +
                      default_config_path + ")")
      ->envname("LODESTONE_CONFIG");
  crm->add_flag("--json", st.json_output, "Print JSON instead of tables");

  // Subcommands let --db, --config and --json through to `crm`, so they may
  // come anywhere on the line.
  auto group = [&](const char* name, const char* help) {
    CLI::App* g = crm->add_subcommand(name, help);
    g->require_subcommand(1);
    g->fallthrough();
    return g;
  };
  auto leaf = [&](CLI::App* parent, const char* name, const char* help, int (State::*run)()) {
    CLI::App* c = parent->add_subcommand(name, help);
    c->fallthrough();
    st.commands.emplace_back(c, [&st, run] { return (st.*run)(); });
    return c;
  };

  auto* ingest = leaf(crm, "ingest", "Import Maildir folders, mbox files or .eml files as seen by a user",
                      &State::ingest);
  ingest->add_option("-u,--user", st.user, "The user who saw these messages (login name)")->required();
  ingest->add_option("paths", st.paths, "Maildir folders, mbox files, .eml files, or directories holding them")
      ->required();

  auto* contacts = group("contacts", "Contacts: people at customers");
  leaf(contacts, "list", "List contacts", &State::contacts_list);
  auto* contacts_show = leaf(contacts, "show", "Show a contact and its latest emails", &State::contacts_show);
  contacts_show->add_option("contact", st.target, "Number or email address")->required();
  contacts_show->add_option("--as", st.viewer, "Only emails this user may see");
  contacts_show->add_option("--limit", st.limit, "Emails to show (0: all)");
  auto* contacts_add = leaf(contacts, "add", "Add a contact", &State::contacts_add);
  contacts_add->add_option("--name", st.contact.name, "Full name");
  contacts_add->add_option("--email", st.contact.emails, "Email address (repeatable)");
  contacts_add->add_option("--phone", st.contact.phones, "Phone number (repeatable)");
  contacts_add->add_option("--org", st.contact.organisation, "Organisation");
  contacts_add->add_option("--owner", st.contact.owner, "Owning user (login name)");
  contacts_add->add_flag("--shared", st.contact.shared, "Share this contact's emails with every user");
  auto* contacts_import = leaf(contacts, "import-csv", "Add contacts from a CSV file with a header row",
                               &State::contacts_import);
  contacts_import->add_option("file", st.file, "CSV with columns name,email,phone,organisation,owner,shared")
      ->required();

  auto* leads = group("leads", "Leads: possible customers");
  auto* leads_list = leaf(leads, "list", "List leads", &State::leads_list);
  leads_list->add_option("--status", st.lead_status_filter, "Only leads with this status");
  auto* leads_show = leaf(leads, "show", "Show a lead and its emails", &State::leads_show);
  leads_show->add_option("lead", st.target, "Number or email address")->required();
  leads_show->add_option("--as", st.viewer, "Only emails this user may see");
  leads_show->add_option("--limit", st.limit, "Emails to show (0: all)");
  auto* leads_add = leaf(leads, "add", "Add a lead (nothing changes if the address is a lead already)",
                         &State::leads_add);
  leads_add->add_option("email", st.target, "Email address")->required();
  leads_add->add_option("--name", st.lead.name, "Name");
  leads_add->add_option("--status", st.lead.status, "Status (default: new)");
  leads_add->add_option("--source", st.lead.source, "Where the lead came from");
  leads_add->add_option("--owner", st.lead.owner, "Owning user (login name)");

  auto* accounts = group("accounts", "Accounts: companies, one per mail domain");
  leaf(accounts, "list", "List accounts", &State::accounts_list);
  auto* accounts_show = leaf(accounts, "show", "Show an account, its contacts and emails", &State::accounts_show);
  accounts_show->add_option("account", st.target, "Number or domain")->required();
  accounts_show->add_option("--as", st.viewer, "Only emails this user may see");
  accounts_show->add_option("--limit", st.limit, "Emails to show (0: all)");

  auto* deals = group("deals", "Deals: opportunities and their stages");
  auto* deals_add = leaf(deals, "add", "Add a deal", &State::deals_add);
  deals_add->add_option("--title", st.deal.title, "What is being sold")->required();
  deals_add->add_option("--account", st.deal_account, "Account number or domain");
  deals_add->add_option("--contact", st.deal_contact, "Contact number or address");
  deals_add->add_option("--stage", st.deal.stage, "Stage (default: lead)");
  deals_add->add_option("--probability", st.deal.probability, "Percent, 0-100")->check(CLI::Range(0, 100));
  deals_add->add_option("--amount", st.amount, "Amount, e.g. 4800.50");
  deals_add->add_option("--currency", st.deal.currency, "Currency (default: EUR)");
  deals_add->add_option("--owner", st.deal.owner, "Owning user (login name)");
  leaf(deals, "list", "List deals", &State::deals_list);
  auto* deals_update = leaf(deals, "update", "Change a deal", &State::deals_update);
  deals_update->add_option("deal", st.target, "Deal number")->required();
  deals_update->add_option("--title", st.new_title, "New title");
  deals_update->add_option("--stage", st.new_stage, "New stage");
  deals_update->add_option("--probability", st.new_probability, "New probability, percent")->check(CLI::Range(0, 100));
  deals_update->add_option("--amount", st.new_amount, "New amount");
  deals_update->add_option("--currency", st.new_currency, "New currency");
  deals_update->add_option("--by", st.by_user, "Who changes it (for the audit log)");

  auto* emails = group("emails", "Emails in the CRM");
  auto* emails_list = leaf(emails, "list", "List emails, newest first", &State::emails_list);
  emails_list->add_option("--contact", st.emails_contact, "Emails linked to this contact (number or address)");
  emails_list->add_option("--account", st.emails_account, "Emails linked to this account (number or domain)");
  emails_list->add_option("--user", st.emails_user, "Emails in this user's mailboxes");
  emails_list->add_option("--since", st.since, "Only from this date on (2026-03-01, 2026-03-01T09:30, UTC)");
  emails_list->add_option("--limit", st.limit, "At most this many (default 100; 0: all)");
  emails_list->add_option("--as", st.viewer, "Only emails this user may see");

  auto* thread = group("thread", "Conversations");
  auto* thread_show = leaf(thread, "show", "Show a thread, oldest first", &State::thread_show);
  thread_show->add_option("id", st.target, "Thread id, or the id of any email in it")->required();
  thread_show->add_option("--as", st.viewer, "Only emails this user may see");

  leaf(crm, "export", "Write the whole store as one JSON document", &State::export_json);
  leaf(crm, "stats", "Entries per table", &State::stats);
  leaf(crm, "check", "Verify every index against its table", &State::check);
  auto* backup = leaf(crm, "backup", "Copy the store consistently, also while it is in use", &State::backup);
  backup->add_option("destination", st.file, "New or empty directory")->required();
}

CrmCommand::~CrmCommand() = default;

bool CrmCommand::chosen() const { return state_->crm->parsed(); }

namespace {

// "lodestone crm contacts add": how errors name the command that failed.
std::string command_path(const CLI::App* app) {
  std::string path;
  // The root's name is argv[0], a path; the program is "lodestone".
  for (; app->get_parent() != nullptr; app = app->get_parent()) path.insert(0, " " + app->get_name());
  return "lodestone" + path;
}

}  // namespace

int CrmCommand::run() {
  for (auto& [app, run] : state_->commands) {
    if (!app->parsed()) continue;
    const std::string command = command_path(app);
    try {
      return run();
    } catch (const UsageError& e) {
      std::cerr << command << ": " << e.what() << '\n';
      return 2;
    } catch (const config::ConfigError& e) {
      std::cerr << e.what();
      return 2;
    } catch (const SourceError& e) {
      std::cerr << command << ": " << e.what() << '\n';
      return 2;
    } catch (const cli::CsvError& e) {
      std::cerr << command << ": " << state_->file << ": " << e.what() << '\n';
      return 2;
    } catch (const std::exception& e) {
      std::cerr << command << ": " << e.what() << '\n';
      return 1;
    }
  }
  return 2;
}

}  // namespace lodestone::crm
