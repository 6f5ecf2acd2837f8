// WriterPriorityMutex: a reader-writer lock that lets a waiting writer in
// before readers that arrive after it, for locks an owner thread takes rarely
// and must not wait on indefinitely while other threads read — e.g. a stream
// thread creating a store segment or closing a task while interactive
// queries keep reading it. std::shared_mutex (glibc's default rwlock) prefers
// readers: readers that keep overlapping starve a writer.
//
// Meets the SharedMutex requirements used with std::unique_lock and
// std::shared_lock. Not recursive: a thread holding the lock shared must not
// take it shared again (with a writer waiting, the second one waits behind it).
//
// Thread-safety: the point of it.
#pragma once

#include <pthread.h>

namespace eventflow {

class WriterPriorityMutex {
 public:
  WriterPriorityMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~WriterPriorityMutex() { pthread_rwlock_destroy(&lock_); }
  WriterPriorityMutex(const WriterPriorityMutex&) = delete;
  WriterPriorityMutex& operator=(const WriterPriorityMutex&) = delete;

  //! Takes the lock exclusively.
  void lock() { pthread_rwlock_wrlock(&lock_); }
  //! Returns true when the lock was free and is now held exclusively.
  bool try_lock() { return pthread_rwlock_trywrlock(&lock_) == 0; }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  //! Takes the lock shared (waits while a writer holds it or waits for it).
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  //! Returns true when the lock is now held shared.
  bool try_lock_shared() { return pthread_rwlock_tryrdlock(&lock_) == 0; }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace eventflow
