#include "buffer_pool.hpp"

#include <vector>

namespace lodestone::proxy {

namespace {

// Free buffers kept per thread; more than this are returned to the allocator
// so a burst does not pin memory forever.
constexpr std::size_t kMaxFreePerThread = 64;

struct ThreadPool {
  std::vector<char*> free;
  ~ThreadPool() {
    for (char* p : free) delete[] p;
  }
};

thread_local ThreadPool pool;

}  // namespace

PooledBuffer& PooledBuffer::operator=(PooledBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = other.data_;
    other.data_ = nullptr;
  }
  return *this;
}

PooledBuffer PooledBuffer::borrow() {
  if (!pool.free.empty()) {
    char* p = pool.free.back();
    pool.free.pop_back();
    return PooledBuffer(p);
  }
  return PooledBuffer(new char[kSize]);
}

void PooledBuffer::release() {
  if (!data_) return;
  if (pool.free.size() < kMaxFreePerThread) {
    pool.free.push_back(data_);
  } else {
    delete[] data_;
  }
  data_ = nullptr;
}

}  // namespace lodestone::proxy
