#include "event_queue.hpp"

#include <openssl/evp.h>

#include <boost/json.hpp>
#include <stdexcept>

namespace lodestone::proxy {

std::size_t event_payload_bytes(const tap::Event& event) {
  return std::visit(
      [](const auto& e) -> std::size_t {
        // Every string an event owns counts: a server controls how long
        // flag lists, UID sets and mailbox names get.
        std::size_t bytes = sizeof(e) + e.mailbox.name.size();
        if constexpr (requires { e.body; }) bytes += e.body.size();
        if constexpr (requires { e.item; }) bytes += e.item.size();
        if constexpr (requires { e.uids; }) bytes += e.uids.size();
        if constexpr (requires { e.reason; }) bytes += e.reason.size();
        if constexpr (requires { e.flags; }) {
          for (const auto& flag : e.flags) bytes += sizeof(flag) + flag.size();
        }
        return bytes;
      },
      event);
}

std::size_t EventQueue::record_bytes(const TapRecord& record) {
  return event_payload_bytes(record.event) + record.user.size();
}

EventQueue::EventQueue(std::size_t max_events, std::size_t max_bytes)
    : max_events_(max_events), max_bytes_(max_bytes) {}

bool EventQueue::try_push(TapRecord& record) {
  const std::size_t bytes = record_bytes(record);
  {
    std::lock_guard lock(mutex_);
    if (closed_ || records_.size() >= max_events_ || bytes_ + bytes > max_bytes_) return false;
    bytes_ += bytes;
    records_.push_back(Queued{std::move(record), bytes});
  }
  ready_.notify_one();
  return true;
}

std::optional<TapRecord> EventQueue::pop() {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [this] { return closed_ || !records_.empty(); });
  if (records_.empty()) return std::nullopt;
  Queued queued = std::move(records_.front());
  records_.pop_front();
  bytes_ -= queued.bytes;
  return std::move(queued.record);
}

void EventQueue::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

namespace {

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

void describe_mailbox(boost::json::object& o, const tap::MailboxRef& mailbox) {
  o["mailbox"] = mailbox.name;
  o["uidvalidity"] = mailbox.uidvalidity;
}

boost::json::array flag_array(const std::vector<std::string>& flags) {
  boost::json::array a;
  for (const auto& f : flags) a.emplace_back(f);
  return a;
}

void describe_body(boost::json::object& o, const std::string& body) {
  o["size"] = body.size();
  o["sha256"] = sha256_hex(body);
}

boost::json::object describe(const TapRecord& record) {
  boost::json::object o;
  o["session"] = record.session;
  o["user"] = record.user;
  o["event"] = tap::event_name(record.event);
  std::visit(
      [&o](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        describe_mailbox(o, e.mailbox);
        if constexpr (std::is_same_v<T, tap::MailboxSelected>) {
          o["read_only"] = e.read_only;
        } else if constexpr (std::is_same_v<T, tap::MessageFetched>) {
          o["seq"] = e.seq;
          o["uid"] = e.uid;
          o["item"] = e.item;
          if (e.has_flags) o["flags"] = flag_array(e.flags);
          describe_body(o, e.body);
        } else if constexpr (std::is_same_v<T, tap::MessageAppended>) {
          o["uid"] = e.uid;
          o["flags"] = flag_array(e.flags);
          describe_body(o, e.body);
        } else if constexpr (std::is_same_v<T, tap::FlagsChanged>) {
          o["seq"] = e.seq;
          o["uid"] = e.uid;
          o["flags"] = flag_array(e.flags);
        } else if constexpr (std::is_same_v<T, tap::Expunged>) {
          o["seq"] = e.seq;
        } else if constexpr (std::is_same_v<T, tap::Vanished>) {
          o["uids"] = e.uids;
          o["earlier"] = e.earlier;
        } else if constexpr (std::is_same_v<T, tap::CaptureSkipped>) {
          o["seq"] = e.seq;
          o["uid"] = e.uid;
          o["size"] = e.size;
          o["reason"] = e.reason;
        } else if constexpr (std::is_same_v<T, tap::Gap>) {
          o["events_lost"] = e.events_lost;
          o["reason"] = e.reason;
        }
      },
      record.event);
  return o;
}

}  // namespace

TapEventLog::TapEventLog(EventQueue& queue, const std::string& path) : queue_(queue) {
  if (!path.empty()) {
    out_.open(path, std::ios::app);
    if (!out_) throw std::runtime_error("cannot open tap event log " + path);
  }
  worker_ = std::thread([this] { consume(); });
}

TapEventLog::~TapEventLog() {
  if (worker_.joinable()) finish();
}

void TapEventLog::consume() {
  while (auto record = queue_.pop()) {
    ++counts_[tap::event_name(record->event)];
    if (out_.is_open()) {
      out_ << boost::json::serialize(describe(*record)) << '\n';
      out_.flush();  // tests and operators read the log while the proxy runs
    }
  }
}

std::map<std::string, std::uint64_t> TapEventLog::finish() {
  queue_.close();
  if (worker_.joinable()) worker_.join();
  return counts_;
}

}  // namespace lodestone::proxy
