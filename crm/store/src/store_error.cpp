#include "lodestone/crm/store_error.hpp"

#include <utility>

namespace lodestone::crm {
namespace {

std::string describe(const std::string& operation, const std::string& path, const std::string& detail) {
  std::string message;
  if (!path.empty()) message += path + ": ";
  message += operation + ": " + detail;
  return message;
}

}  // namespace

StoreError::StoreError(int code, std::string operation, std::string path, const std::string& detail)
    : std::runtime_error(describe(operation, path, detail)),
      code_(code),
      operation_(std::move(operation)),
      path_(std::move(path)) {}

VersionMismatchError::VersionMismatchError(int code, std::string operation, std::string path, const std::string& detail,
                                           std::uint32_t found, std::uint32_t expected)
    : StoreError(code, std::move(operation), std::move(path), detail), found_(found), expected_(expected) {}

RecordError::RecordError(std::string operation, std::string path, const std::string& detail, std::size_t offset)
    : StoreError(0, std::move(operation), std::move(path), detail), offset_(offset) {}

}  // namespace lodestone::crm
