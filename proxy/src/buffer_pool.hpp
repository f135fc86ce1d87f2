// Relay buffers, lent only while bytes are in flight.  An idle session holds
// none: it waits for readability first and borrows a buffer to read into.
// Each I/O thread has its own pool (sessions never change threads), so
// borrowing takes no lock.
#pragma once

#include <cstddef>
#include <memory>

namespace lodestone::proxy {

class PooledBuffer {
 public:
  static constexpr std::size_t kSize = 32 * 1024;

  PooledBuffer() = default;
  PooledBuffer(PooledBuffer&& other) noexcept : data_(other.data_) { other.data_ = nullptr; }
  PooledBuffer& operator=(PooledBuffer&& other) noexcept;
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;
  ~PooledBuffer() { release(); }

  // Borrows a buffer from this thread's pool.
  static PooledBuffer borrow();
  void release();

  char* data() const { return data_; }
  std::size_t size() const { return kSize; }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  explicit PooledBuffer(char* data) : data_(data) {}
  char* data_ = nullptr;
};

}  // namespace lodestone::proxy
