// Building raw test messages for the CRM tests.
#pragma once

#include <string>

#include "lodestone/crm/crm.hpp"
#include "store/temp_dir.hpp"

namespace lodestone::crm::test {

// Header values as they appear in the message; an empty message_id leaves
// the Message-ID field out, empty in_reply_to/references likewise.
struct MessageSpec {
  std::string message_id = "default@x.example";
  std::string from = "Sender <sender@example.net>";
  std::string to = "alice@corp.example";
  std::string subject = "Hello";
  std::string date = "Mon, 02 Mar 2026 10:00:00 +0000";
  std::string in_reply_to{};
  std::string references{};
  std::string body = "Hi there.";
};

inline std::string make_message(const MessageSpec& spec) {
  std::string raw{};
  auto field = [&](const char* name, const std::string& value) {
    if (!value.empty()) raw += std::string(name) + ": " + value + "\r\n";
  };
  field("From", spec.from);
  field("To", spec.to);
  field("Subject", spec.subject);
  field("Date", spec.date);
  if (!spec.message_id.empty())
    field("Message-ID", spec.message_id.front() == '<' ? spec.message_id : "<" + spec.message_id + ">");
  if (!spec.in_reply_to.empty()) field("In-Reply-To", "<" + spec.in_reply_to + ">");
  field("References", spec.references);
  raw += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + spec.body + "\r\n";
  return raw;
}

}  // namespace lodestone::crm::test
