#include "file_bytes.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace lodestone::crm {
namespace {

std::string errno_text(int error) { return std::generic_category().message(error); }

// An open regular file, closed when this goes out of scope.
class RegularFile {
 public:
  explicit RegularFile(const std::filesystem::path& path) {
    // O_NONBLOCK: a FIFO put where a file was found must fail the S_ISREG
    // check below instead of hanging in open() until some writer appears.
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd_ < 0) throw UnreadableFileError("cannot be opened: " + errno_text(errno));
    struct stat status {};
    if (::fstat(fd_, &status) != 0) {
      const int error = errno;
      ::close(fd_);
      throw UnreadableFileError("cannot be read: " + errno_text(error));
    }
    if (!S_ISREG(status.st_mode)) {
      ::close(fd_);
      throw UnreadableFileError("is not a regular file");
    }
    size_ = static_cast<std::size_t>(status.st_size);
  }
  ~RegularFile() { ::close(fd_); }
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  int fd() const noexcept { return fd_; }
  std::size_t size() const noexcept { return size_; }

 private:
  int fd_ = -1;
  std::size_t size_ = 0;
};

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) {
  // The mapping keeps the file alive; the descriptor is closed on return.
  const RegularFile file(path);
  if (file.size() == 0) return;
  void* const data = ::mmap(nullptr, file.size(), PROT_READ, MAP_PRIVATE, file.fd(), 0);
  if (data == MAP_FAILED) throw UnreadableFileError("cannot be mapped: " + errno_text(errno));
  data_ = data;
  size_ = file.size();
  // Files are read front to back, once: read ahead, and drop pages behind
  // early so a big mbox does not push everything else out of the page cache.
  ::madvise(data_, size_, MADV_SEQUENTIAL);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

std::string read_file_head(const std::filesystem::path& path, std::size_t count) {
  // pread, not a mapping: discovery looks at the first bytes of every file
  // it meets, and a page fault would read a whole readahead window instead.
  const RegularFile file(path);
  std::string head(count, '\0');
  ssize_t got;
  do {
    got = ::pread(file.fd(), head.data(), count, 0);
  } while (got < 0 && errno == EINTR);
  if (got < 0) throw UnreadableFileError("cannot be read: " + errno_text(errno));
  head.resize(static_cast<std::size_t>(got));
  return head;
}

}  // namespace lodestone::crm
