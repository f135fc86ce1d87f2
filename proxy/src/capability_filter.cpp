#include "capability_filter.hpp"

#include <array>
#include <cstring>

#include "imap_syntax.hpp"

namespace lodestone::imap {

namespace {

// Enough of a line's end to recognise the longest literal marker, "~{<20 digits>+}".
constexpr std::size_t kTailKeep = 32;
// A tag longer than this is not worth holding a line back for.
constexpr std::size_t kMaxTag = 64;

bool ends_with_cr(std::string_view s) { return !s.empty() && s.back() == '\r'; }

std::string_view strip_cr(std::string_view s) { return ends_with_cr(s) ? s.substr(0, s.size() - 1) : s; }

// Removes hidden capabilities from a space-separated list; nullopt when none
// were hidden.
std::optional<std::string> filter_list(std::string_view list) {
  std::string out;
  bool removed = false;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t space = list.find(' ', pos);
    if (space == std::string_view::npos) space = list.size();
    const std::string_view token = list.substr(pos, space - pos);
    if (!token.empty()) {
      if (is_hidden_capability(token)) {
        removed = true;
      } else {
        if (!out.empty()) out += ' ';
        out += token;
      }
    }
    pos = space + 1;
  }
  if (!removed) return std::nullopt;
  return out;
}

}  // namespace

bool is_hidden_capability(std::string_view capability) {
  if (istarts_with(capability, "COMPRESS=")) return true;
  if (istarts_with(capability, "AUTH=") && capability.size() > 5 &&
      iequals(capability.substr(capability.size() - 5), "-PLUS")) {
    return true;
  }
  return iequals(capability, "UNAUTHENTICATE") || iequals(capability, "STARTTLS") ||
         iequals(capability, "LOGINDISABLED");
}

std::optional<std::string> filter_capability_line(std::string_view line) {
  // "* CAPABILITY a b c"
  if (istarts_with(line, "* CAPABILITY ")) {
    const std::size_t start = std::strlen("* CAPABILITY ");
    auto filtered = filter_list(line.substr(start));
    if (!filtered) return std::nullopt;
    if (filtered->empty()) return std::string(line.substr(0, start - 1));
    return std::string(line.substr(0, start)) + *filtered;
  }
  // "tag STATUS [CAPABILITY a b c] text"
  const std::size_t tag_end = line.find(' ');
  if (tag_end == std::string_view::npos) return std::nullopt;
  const std::size_t status_end = line.find(' ', tag_end + 1);
  if (status_end == std::string_view::npos) return std::nullopt;
  const std::string_view code = line.substr(status_end + 1);
  if (!istarts_with(code, "[CAPABILITY ")) return std::nullopt;
  const std::size_t list_begin = status_end + 1 + std::strlen("[CAPABILITY ");
  const std::size_t close = line.find(']', list_begin);
  if (close == std::string_view::npos) return std::nullopt;
  auto filtered = filter_list(line.substr(list_begin, close - list_begin));
  if (!filtered) return std::nullopt;
  return std::string(line.substr(0, list_begin)) + *filtered + std::string(line.substr(close));
}

CapabilityFilter::CapabilityFilter(std::size_t max_held) : max_held_(max_held) {}

std::string CapabilityFilter::take_held() {
  std::string held;
  held.swap(held_);
  held_is_candidate_ = false;
  state_ = State::text;
  return held;
}

CapabilityFilter::Verdict CapabilityFilter::classify_held() const {
  const std::string_view line = held_;
  // Response prefixes are printable ASCII: anything else (compressed or
  // binary data) is passed on at once rather than held.
  for (char c : line) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\r') || u >= 0x7f) return Verdict::plain;
  }
  const std::size_t tag_end = line.find(' ');
  if (tag_end == std::string_view::npos) {
    return line.size() > kMaxTag ? Verdict::plain : Verdict::undecided;
  }
  if (tag_end == 0) return Verdict::plain;
  const std::string_view rest = line.substr(tag_end + 1);
  auto prefix_state = [](std::string_view text, std::string_view wanted) {
    const std::size_t n = std::min(text.size(), wanted.size());
    if (!iequals(text.substr(0, n), wanted.substr(0, n))) return Verdict::plain;
    return n == wanted.size() ? Verdict::candidate : Verdict::undecided;
  };
  if (line.substr(0, tag_end) == "*") {
    if (prefix_state(rest, "CAPABILITY ") != Verdict::plain) return prefix_state(rest, "CAPABILITY ");
  }
  static constexpr std::array<std::string_view, 5> kStatuses = {"OK [CAPABILITY ", "NO [CAPABILITY ",
                                                                 "BAD [CAPABILITY ", "BYE [CAPABILITY ",
                                                                 "PREAUTH [CAPABILITY "};
  Verdict best = Verdict::plain;
  for (std::string_view status : kStatuses) {
    const Verdict v = prefix_state(rest, status);
    if (v == Verdict::candidate) return v;
    if (v == Verdict::undecided) best = v;
  }
  return best;
}

// Adjacent views of the input are merged so an unchanged chunk stays one piece.
void CapabilityFilter::push_view(std::string_view piece) {
  if (!pieces_.empty() && !owned_piece_last_ && pieces_.back().data() + pieces_.back().size() == piece.data()) {
    pieces_.back() = std::string_view(pieces_.back().data(), pieces_.back().size() + piece.size());
  } else {
    pieces_.push_back(piece);
  }
  owned_piece_last_ = false;
}

void CapabilityFilter::emit_owned(std::string text) {
  owned_piece_last_ = true;
  owned_.push_back(std::move(text));
  pieces_.emplace_back(owned_.back());
}

// A line ended; decide whether literal data follows it.
void CapabilityFilter::finish_line(std::string_view line_without_eol) {
  if (auto marker = trailing_literal(line_without_eol); marker && marker->size > 0) {
    state_ = State::literal;
    literal_left_ = marker->size;
  } else {
    state_ = State::line_start;
  }
  line_tail_.clear();
}

const std::vector<std::string_view>& CapabilityFilter::filter(std::string_view in) {
  pieces_.clear();
  owned_.clear();
  std::size_t pos = 0;
  while (pos < in.size()) {
    switch (state_) {
      case State::literal: {
        const std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(literal_left_, in.size() - pos));
        push_view(in.substr(pos, n));
        pos += n;
        literal_left_ -= n;
        if (literal_left_ == 0) state_ = State::text;  // the response goes on after its literal
        break;
      }
      case State::text: {
        const char* nl = static_cast<const char*>(std::memchr(in.data() + pos, '\n', in.size() - pos));
        const std::size_t end = nl ? static_cast<std::size_t>(nl - in.data()) + 1 : in.size();
        const std::string_view piece = in.substr(pos, end - pos);
        push_view(piece);
        pos = end;
        if (!nl) {
          line_tail_ += piece;
          if (line_tail_.size() > kTailKeep) line_tail_.erase(0, line_tail_.size() - kTailKeep);
          break;
        }
        line_tail_ += piece.substr(0, piece.size() - 1);
        finish_line(strip_cr(line_tail_));
        break;
      }
      case State::line_start:
        state_ = State::held;
        [[fallthrough]];
      case State::held: {
        const char* nl = static_cast<const char*>(std::memchr(in.data() + pos, '\n', in.size() - pos));
        const std::size_t end = nl ? static_cast<std::size_t>(nl - in.data()) + 1 : in.size();
        if (nl && held_.empty()) {
          // The whole line is in this chunk: pass it on as a view unless rewritten.
          const std::string_view whole = in.substr(pos, end - pos);
          const std::string_view line = strip_cr(whole.substr(0, whole.size() - 1));
          // Over-long lines pass unchanged, as they would if split across reads.
          auto rewritten = whole.size() <= max_held_ ? filter_capability_line(line) : std::nullopt;
          if (rewritten) {
            emit_owned(*rewritten + std::string(whole.substr(line.size())));
          } else {
            push_view(whole);
          }
          pos = end;
          finish_line(line);
          break;
        }
        held_.append(in.data() + pos, end - pos);
        pos = end;
        if (nl) {
          const std::string_view line = strip_cr(std::string_view(held_).substr(0, held_.size() - 1));
          const std::string_view eol = std::string_view(held_).substr(line.size());
          auto rewritten = held_.size() <= max_held_ ? filter_capability_line(line) : std::nullopt;
          finish_line(line);  // before held_ goes: line and eol point into it
          if (rewritten) {
            emit_owned(*rewritten + std::string(eol));
          } else {
            emit_owned(std::move(held_));
          }
          held_.clear();
          held_is_candidate_ = false;
          break;
        }
        // Once a line is known to be a candidate its prefix need not be
        // looked at again: it waits for its end (or the size limit).
        const Verdict verdict = held_is_candidate_ ? Verdict::candidate : classify_held();
        held_is_candidate_ = verdict == Verdict::candidate;
        if (verdict == Verdict::plain || held_.size() > max_held_) {
          // Not a capability line (or too long to be one): release it as is.
          line_tail_ = held_.size() > kTailKeep ? held_.substr(held_.size() - kTailKeep) : held_;
          emit_owned(std::move(held_));
          held_.clear();
          held_is_candidate_ = false;
          state_ = State::text;
        }
        break;
      }
    }
  }
  if (held_.empty() && held_.capacity() > 1024) held_.shrink_to_fit();
  return pieces_;
}

}  // namespace lodestone::imap
