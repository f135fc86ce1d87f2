#include "lodestone/crm/crm.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>

#include "crm_impl.hpp"
#include "lodestone/crm/schema.hpp"
#include "writes.hpp"

namespace lodestone::crm {
namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_bulk(const mail::MessageSummary& summary) {
  if (!summary.list_id.empty() || !summary.list_unsubscribe.empty()) return true;
  if (summary.precedence == "bulk" || summary.precedence == "list" || summary.precedence == "junk") return true;
  return !summary.auto_submitted.empty() && summary.auto_submitted != "no";
}

EmailRow row_from_summary(const mail::MessageSummary& s, std::uint64_t raw_size, const EmailId& id) {
  EmailRow row;
  row.id = id;
  row.message_id = s.message_id;
  row.in_reply_to = s.in_reply_to;
  row.references = s.references;
  row.date = s.date;
  row.from = s.from;
  row.to = s.to;
  row.cc = s.cc;
  row.bcc = s.bcc;
  row.subject = s.subject;
  row.bulk = is_bulk(s);
  row.text = s.text;
  row.attachments = s.attachments;
  row.size = raw_size;
  row.warnings = s.warnings.bits();
  return row;
}

std::vector<std::string> lowered(std::vector<std::string> domains) {
  for (auto& d : domains) d = lower_ascii(d);
  return domains;
}

}  // namespace

Crm::Impl::Impl(CrmOptions opts)
    : options([&] {
        opts.org_domains = lowered(std::move(opts.org_domains));
        return std::move(opts);
      }()),
      env(options.directory, EnvOptions{.flags = options.read_only ? unsigned{MDB_RDONLY} : 0u}),
      tables([&] {
        if (options.read_only) {
          ReadTxn txn(env);
          open_meta(txn);
          Tables opened = Tables::open(txn);
          txn.commit();
          return opened;
        }
        WriteTxn txn(env);
        open_meta(txn);
        Tables created = Tables::create(txn);
        txn.commit();
        return created;
      }()) {
  if (!options.read_only) writer = std::make_unique<Writer>(env);
}

Writer& Crm::Impl::writer_or_throw() {
  if (!writer) throw StoreError(0, "write", env.path(), "the store is open read-only");
  return *writer;
}

template <class Result, class Operation>
std::future<Result> Crm::Impl::submit(Operation operation) {
  // The request may run more than once (the writer retries a batch after
  // growing the map); each run overwrites the result of the one before.
  // Writes that answer nothing (Result void) leave it empty.
  using Stored = std::conditional_t<std::is_void_v<Result>, bool, Result>;
  auto result = std::make_shared<std::optional<Stored>>();
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> future = promise->get_future();
  const std::int64_t now = now_seconds();
  writer_or_throw().submit(
      [this, result, now, operation = std::move(operation)](WriteTxn& txn) {
        Writing writing(txn, tables, options, now);
        if constexpr (std::is_void_v<Result>) {
          operation(writing);
        } else {
          *result = operation(writing);
        }
      },
      [result, promise](std::exception_ptr failure) {
        if (failure) {
          promise->set_exception(failure);
        } else if constexpr (std::is_void_v<Result>) {
          promise->set_value();
        } else {
          promise->set_value(std::move(**result));
        }
      });
  return future;
}

Crm::Crm(CrmOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Crm::~Crm() = default;

const std::filesystem::path& Crm::directory() const { return impl_->options.directory; }

std::future<RecordOutcome> Crm::record_email(const SeenEmail& seen, std::string_view raw) {
  const mail::MessageSummary summary = mail::parse_message(raw, impl_->options.parse_limits);
  const EmailId id =
      summary.message_id.empty() ? email_id_from_content(raw) : email_id_from_message_id(summary.message_id);
  return record_email(seen, summary, raw.size(), id);
}

std::future<RecordOutcome> Crm::record_email(const SeenEmail& seen, const mail::MessageSummary& summary,
                                             std::uint64_t raw_size, const EmailId& id) {
  if (seen.user.empty()) throw std::invalid_argument("record_email needs the user who saw the message");
  return impl_->submit<RecordOutcome>(
      [seen, row = row_from_summary(summary, raw_size, id)](Writing& w) { return w.record_email(seen, row); });
}

std::future<void> Crm::set_flags(std::string user, std::string folder, std::uint32_t uidvalidity, std::uint32_t uid,
                                 std::vector<std::string> flags) {
  return impl_->submit<void>([=](Writing& w) { w.set_flags(user, folder, uidvalidity, uid, flags); });
}

std::future<bool> Crm::delete_ref(std::string user, std::string folder, std::uint32_t uidvalidity,
                                  std::uint32_t uid) {
  return impl_->submit<bool>([=](Writing& w) { return w.delete_ref(user, folder, uidvalidity, uid); });
}

std::future<RecordId> Crm::add_contact(ContactInput contact) {
  return impl_->submit<RecordId>([contact = std::move(contact)](Writing& w) { return w.add_contact(contact); });
}

std::future<RecordId> Crm::add_lead(LeadInput lead) {
  return impl_->submit<RecordId>([lead = std::move(lead)](Writing& w) { return w.add_lead(lead); });
}

std::future<RecordId> Crm::add_deal(DealInput deal) {
  return impl_->submit<RecordId>([deal = std::move(deal)](Writing& w) { return w.add_deal(deal); });
}

std::future<void> Crm::update_deal(RecordId id, DealUpdate update, std::string by_user) {
  return impl_->submit<void>([=](Writing& w) { w.update_deal(id, update, by_user); });
}

std::future<void> Crm::link(EmailId email, LinkTarget target, RecordId target_id, std::string by_user, LinkHow how) {
  return impl_->submit<void>([=](Writing& w) { w.link(email, target, target_id, by_user, how); });
}

void Crm::flush() {
  if (!impl_->writer) return;
  impl_->writer->submit([](WriteTxn&) {}).get();
}

Snapshot Crm::snapshot() const { return Snapshot(std::make_unique<Snapshot::Impl>(*impl_)); }

void Crm::backup(const std::filesystem::path& destination) const {
  std::error_code ec;
  std::filesystem::create_directories(destination, ec);
  if (ec)
    throw StoreError(ec.value(), "back up to " + destination.string(), impl_->env.path(),
                     "cannot create the destination: " + ec.message());
  if (!std::filesystem::is_empty(destination, ec) || ec)
    throw StoreError(0, "back up to " + destination.string(), impl_->env.path(),
                     "the destination must be an empty directory");
  // LMDB creates the copy with mode 0666 less the umask; the directory keeps
  // others out of the private mail in it.
  std::filesystem::permissions(destination, std::filesystem::perms::owner_all, ec);
  // The copy runs in a read transaction of its own, which the map-resize
  // gate does not see; holding one of ours keeps the writer from remapping.
  const ReadTxn pin(impl_->env);
  // A compacting copy inside one read transaction: consistent while writes go on.
  if (const int rc = mdb_env_copy2(impl_->env.handle(), destination.c_str(), MDB_CP_COMPACT); rc != 0)
    throw_lmdb_error(rc, "back up to " + destination.string(), impl_->env.path());
}

}  // namespace lodestone::crm
