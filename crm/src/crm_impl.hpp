// What Crm and Snapshot hold; shared by the files that implement them.
#pragma once

#include <future>
#include <memory>

#include "lodestone/crm/crm.hpp"
#include "lodestone/crm/writer.hpp"
#include "tables.hpp"

namespace lodestone::crm {

class Writing;

struct Crm::Impl {
  explicit Impl(CrmOptions options);

  Writer& writer_or_throw();
  // Queues `operation(Writing&) -> Result` and returns its result once committed.
  template <class Result, class Operation>
  std::future<Result> submit(Operation operation);

  const CrmOptions options;
  Env env;
  const Tables tables;
  std::unique_ptr<Writer> writer;  // none when read-only; last, so it stops first
};

struct Snapshot::Impl {
  explicit Impl(const Crm::Impl& crm) : crm(crm), txn(const_cast<Env&>(crm.env)) {}

  Origin origin(const Dbi& dbi) const { return {crm.env.path(), dbi.name()}; }
  std::optional<UserId> user_id(std::string_view name) const;

  const Crm::Impl& crm;
  ReadTxn txn;
};

}  // namespace lodestone::crm
