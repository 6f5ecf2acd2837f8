// C11 threads (<threads.h>) on top of the POSIX calls that ThreadSanitizer
// intercepts; linked into every executable of an EVENTFLOW_TSAN build.
//
// Debian's librdkafka runs its threads and locks with glibc's C11 threads
// (thrd_create, mtx_lock, cnd_wait, ...). glibc implements those by calling
// its internal pthread functions directly, past the interceptors, and neither
// GCC 12's nor clang 14's TSan runtime intercepts the C11 names. The result:
// librdkafka's threads start without TSan thread state (the first allocation
// on one crashes inside the TSan allocator) and its mutexes and joins order
// nothing. Defined in the executable, these functions take precedence over
// glibc's for librdkafka (ordinary ELF symbol interposition) and forward to
// pthread_* — which TSan does intercept — exactly as glibc 2.36 would
// (nptl/thrd_create.c, mtx_init.c, cnd_*.c, call_once.c).
//
// The mutex and condition variable interceptors also record a memory access to
// the object itself. These objects are librdkafka's memory, created and
// published to other threads through its uninstrumented (invisible) atomics, so
// those accesses would be reported as races in code TSan cannot see — the
// reason called_from_lib ignores interceptor accesses made from inside an
// uninstrumented library. Called from here, the caller is this (instrumented)
// file, so the same ignore is done explicitly: the accesses are not recorded
// while the lock, unlock, wait and join still order the threads.
//
// Build-only support for the TSan job: never part of a normal build.
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

static_assert(sizeof(thrd_t) == sizeof(pthread_t));
static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t));
static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t));
static_assert(sizeof(once_flag) == sizeof(pthread_once_t));

// TSan runtime interface (tsan_interface.cpp): ignore this thread's memory
// accesses, not its synchronisation, between begin and end.
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();

namespace {

// Memory accesses of the interceptor called in its scope are not recorded.
class IgnoreAccesses {
 public:
  IgnoreAccesses() { __tsan_ignore_thread_begin(); }
  ~IgnoreAccesses() { __tsan_ignore_thread_end(); }
  IgnoreAccesses(const IgnoreAccesses&) = delete;
  IgnoreAccesses& operator=(const IgnoreAccesses&) = delete;
};

// glibc's mapping of pthread error numbers to thrd_* results (thrd_err_map).
int ToThrd(int err) {
  switch (err) {
    case 0: return thrd_success;
    case ENOMEM: return thrd_nomem;
    case ETIMEDOUT: return thrd_timedout;
    case EBUSY: return thrd_busy;
    default: return thrd_error;
  }
}

struct Start {
  thrd_start_t func;
  void* arg;
};

void* RunC11Thread(void* p) {
  const Start start = *static_cast<Start*>(p);
  free(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(start.func(start.arg)));
}

pthread_mutex_t* Posix(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* Posix(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* start = static_cast<Start*>(malloc(sizeof(Start)));
  if (start == nullptr) return thrd_nomem;
  *start = Start{func, arg};
  const int err = pthread_create(thr, nullptr, &RunC11Thread, start);
  if (err != 0) free(start);
  return ToThrd(err);
}

int thrd_join(thrd_t thr, int* res) {
  void* value = nullptr;
  const int err = pthread_join(thr, &value);
  if (err == 0 && res != nullptr) *res = static_cast<int>(reinterpret_cast<intptr_t>(value));
  return ToThrd(err);
}

int thrd_detach(thrd_t thr) { return ToThrd(pthread_detach(thr)); }

void thrd_exit(int res) { pthread_exit(reinterpret_cast<void*>(static_cast<intptr_t>(res))); }

int mtx_init(mtx_t* mutex, int type) {
  IgnoreAccesses ignore;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, (type & mtx_recursive) != 0 ? PTHREAD_MUTEX_RECURSIVE
                                                               : PTHREAD_MUTEX_NORMAL);
  const int err = pthread_mutex_init(Posix(mutex), &attr);
  pthread_mutexattr_destroy(&attr);
  return ToThrd(err);
}

int mtx_lock(mtx_t* mutex) {
  IgnoreAccesses ignore;
  return ToThrd(pthread_mutex_lock(Posix(mutex)));
}

int mtx_timedlock(mtx_t* __restrict mutex, const struct timespec* __restrict time_point) {
  IgnoreAccesses ignore;
  return ToThrd(pthread_mutex_timedlock(Posix(mutex), time_point));
}

int mtx_trylock(mtx_t* mutex) {
  IgnoreAccesses ignore;
  return ToThrd(pthread_mutex_trylock(Posix(mutex)));
}

int mtx_unlock(mtx_t* mutex) {
  IgnoreAccesses ignore;
  return ToThrd(pthread_mutex_unlock(Posix(mutex)));
}

void mtx_destroy(mtx_t* mutex) {
  IgnoreAccesses ignore;
  pthread_mutex_destroy(Posix(mutex));
}

int cnd_init(cnd_t* cond) {
  IgnoreAccesses ignore;
  return ToThrd(pthread_cond_init(Posix(cond), nullptr));
}

int cnd_signal(cnd_t* cond) {
  IgnoreAccesses ignore;
  return ToThrd(pthread_cond_signal(Posix(cond)));
}

int cnd_broadcast(cnd_t* cond) {
  IgnoreAccesses ignore;
  return ToThrd(pthread_cond_broadcast(Posix(cond)));
}

int cnd_wait(cnd_t* cond, mtx_t* mutex) {
  IgnoreAccesses ignore;
  return ToThrd(pthread_cond_wait(Posix(cond), Posix(mutex)));
}

int cnd_timedwait(cnd_t* __restrict cond, mtx_t* __restrict mutex,
                  const struct timespec* __restrict time_point) {
  IgnoreAccesses ignore;
  return ToThrd(pthread_cond_timedwait(Posix(cond), Posix(mutex), time_point));
}

void cnd_destroy(cnd_t* cond) {
  IgnoreAccesses ignore;
  pthread_cond_destroy(Posix(cond));
}

void call_once(once_flag* flag, void (*func)(void)) {
  IgnoreAccesses ignore;  // the flag and func (librdkafka's own init) are its memory
  pthread_once(reinterpret_cast<pthread_once_t*>(flag), func);
}

}  // extern "C"
