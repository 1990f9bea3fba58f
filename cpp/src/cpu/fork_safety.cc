// Fork safety of the native calls (see run_native in parallel.h).
//
// GNU libgomp keeps each thread's OpenMP pool in that thread's thread-local state and has no fork handlers: in a
// child forked after the parent ran a parallel region, the forking thread's pool names worker threads that do
// not exist there, and its next region waits for them forever. So before fork() the forking thread's pool is
// released (omp_pause_resource_all, OpenMP 5.0): the child starts a fresh one at its first call, and the parent
// too (once). Where that is not possible, the child hands the forking thread's calls to a thread started after
// the fork, which gets a fresh pool. The gate makes fork() wait for the native calls in flight, so no encoder
// lock or half-run region is inherited.
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <pthread.h>
#include <shared_mutex>
#include <thread>

#include "bertcore/parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace bertcore {
namespace {

// Leaked on purpose: the fork handlers may run during static destruction. The child gets a new one, since
// glibc recognises the writer of a rwlock by its thread id, which changed in the fork.
std::shared_mutex* g_gate = new std::shared_mutex;

// True on the thread that called fork(), in a child, when its OpenMP pool could not be released first.
thread_local bool t_pool_inherited = false;

bool g_release_pool = true;  // false only in tests of the hand-off (set_fork_pool_release)
bool g_pool_released = false;

// Frees the calling thread's OpenMP pool (its workers end); true when it holds none afterwards.
bool release_pool() {
#ifdef _OPENMP
  // A pool inherited from a parent names threads that are gone: pausing it would wait for them. (libgomp has
  // had omp_pause_resource_all since GCC 9, though it reports OpenMP 4.5 in _OPENMP.)
  return g_release_pool && !t_pool_inherited && omp_pause_resource_all(omp_pause_hard) == 0;
#else
  return true;
#endif
}

// One long-lived thread that runs native calls for the thread that forked; started on first use in a child.
class Runner {
 public:
  Runner() { std::thread([this] { loop(); }).detach(); }

  void run(const std::function<void()>& fn) {
    std::lock_guard<std::mutex> one_caller(callers_);
    std::unique_lock<std::mutex> lock(mutex_);
    job_ = &fn;
    error_ = nullptr;
    wake_.notify_all();
    wake_.wait(lock, [this] { return job_ == nullptr; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return job_ != nullptr; });
      const std::function<void()>* job = job_;
      lock.unlock();
      std::exception_ptr error;
      try {
        (*job)();
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      error_ = error;
      job_ = nullptr;
      wake_.notify_all();
    }
  }

  std::mutex callers_, mutex_;
  std::condition_variable wake_;
  const std::function<void()>* job_ = nullptr;
  std::exception_ptr error_;
};

// The child's runner. Only the thread that forked uses it, and a fork from the child abandons it (its thread
// does not exist in the grandchild), so it is never deleted.
Runner* g_runner = nullptr;

void before_fork() {
  g_gate->lock();
  g_pool_released = release_pool();
}
void after_fork_in_parent() { g_gate->unlock(); }
void after_fork_in_child() {
  g_gate = new std::shared_mutex;
  g_runner = nullptr;
  if (!g_pool_released) t_pool_inherited = true;
}

}  // namespace

void install_fork_handlers() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child); });
}

void set_fork_pool_release(bool enabled) { g_release_pool = enabled; }

void run_native_impl(const std::function<void()>& fn) {
  std::shared_lock<std::shared_mutex> in_flight(*g_gate);
  if (!t_pool_inherited) {
    fn();
    return;
  }
  if (g_runner == nullptr) g_runner = new Runner;
  g_runner->run(fn);
}

}  // namespace bertcore
