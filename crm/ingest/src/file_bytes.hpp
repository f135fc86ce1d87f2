// The bytes of a file: all of it mapped into memory (reading messages), or
// only its first few (telling mail from other files during discovery).
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lodestone::crm {

// Why a file could not be read.  what() is the reason alone, e.g. "cannot be
// opened: Permission denied"; the caller adds the path it knows.
class UnreadableFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A whole regular file mapped read-only (MAP_PRIVATE).  An mbox can be
// gigabytes: mapping hands out messages as views without copying them, and
// the kernel pages the file in ahead of the reader and drops what it left
// behind.  Throws UnreadableFileError.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile& operator=(MappedFile&&) = delete;

  std::string_view bytes() const noexcept { return {static_cast<const char*>(data_), size_}; }

 private:
  void* data_ = nullptr;  // null for an empty file: mmap cannot map zero bytes
  std::size_t size_ = 0;
};

// Up to `count` bytes from the start of a regular file (fewer when it is
// shorter).  Throws UnreadableFileError.
std::string read_file_head(const std::filesystem::path& path, std::size_t count);

}  // namespace lodestone::crm
