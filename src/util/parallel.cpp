#include "llmgps/util/parallel.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>

namespace llmgps::util {

int hardware_threads() {
  static const int n = int(std::max(1u, std::thread::hardware_concurrency()));
  return n;
}

namespace {

// Spins for up to `limit` waiting for ready() before the caller blocks: on a virtual machine,
// waking a thread that sleeps on another (idle) core takes tens of microseconds, as long as a
// small job; a worker that has just finished a job usually finds the next one while spinning.
template <typename Ready>
bool spin_until(const Ready& ready, std::chrono::microseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (int i = 1;; ++i) {
    if (ready()) return true;
    if (i % 64 == 0 && std::chrono::steady_clock::now() > end) return false;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

// Workers wait for jobs (spinning briefly, then on a condition variable). One job at a time:
// run() posts it, takes tasks itself, and waits until every task has finished and no worker is
// still inside the job (so nothing touches the job's function after run() returns). The counters
// the waits test change under m_ (so no wake-up is lost) and are atomic (so spinning threads can
// read them without it).
class Pool {
 public:
  explicit Pool(int workers) {
    // Detached and never joined: the pool lives as long as the process (a static destructor
    // joining them would hang in a forked child, where these threads do not exist).
    for (int i = 0; i < workers; ++i) std::thread([this] { work(); }).detach();
  }

  // False when another thread's job holds the pool (the caller then runs its tasks itself).
  bool run(int tasks, int helpers, const std::function<void(int)>& fn) {
    std::unique_lock<std::mutex> own(busy_, std::try_to_lock);
    if (!own.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> lock(m_);
      job_ = &fn;
      tasks_ = tasks;
      next_.store(0);
      finished_.store(0);
      helpers_ = helpers;
      joined_ = 0;
      error_ = nullptr;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    drain();
    auto all_done = [&] { return finished_.load() == tasks_ && active_.load() == 0; };
    if (!spin_until(all_done, kSpin)) {
      std::unique_lock<std::mutex> lock(m_);
      done_.wait(lock, all_done);
    }
    std::lock_guard<std::mutex> lock(m_);
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  static constexpr std::chrono::microseconds kSpin{200};

  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      auto posted = [&] { return generation_.load() != seen; };
      spin_until(posted, kSpin);
      {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, posted);
        seen = generation_.load();
        if (job_ == nullptr || joined_ >= helpers_) continue;
        ++joined_;
        active_.fetch_add(1);
      }
      drain();
      {
        std::lock_guard<std::mutex> lock(m_);
        active_.fetch_sub(1);
      }
      done_.notify_one();
    }
  }

  // Takes tasks until none is left.
  void drain() {
    int ran = 0;
    std::exception_ptr error;
    for (int i; (i = next_.fetch_add(1)) < tasks_;) {
      try {
        (*job_)(i);
      } catch (...) {
        if (!error) error = std::current_exception();
      }
      ++ran;
    }
    {
      std::lock_guard<std::mutex> lock(m_);
      finished_.fetch_add(ran);
      if (error && !error_) error_ = error;
    }
    done_.notify_one();
  }

  std::mutex busy_;  // held by the thread whose job the pool runs
  std::mutex m_;
  std::condition_variable wake_, done_;
  std::atomic<std::uint64_t> generation_{0};
  const std::function<void(int)>* job_ = nullptr;
  int tasks_ = 0, helpers_ = 0, joined_ = 0;
  std::atomic<int> next_{0}, finished_{0}, active_{0};
  std::exception_ptr error_;
};

// The process's pool, made again in a child after fork (whose parent's workers did not follow).
// Never deleted (see Pool).
Pool* pool() {
  static std::mutex m;
  static Pool* p = nullptr;
  static pid_t owner = 0;
  std::lock_guard<std::mutex> lock(m);
  if (p == nullptr || owner != getpid()) {
    p = new Pool(hardware_threads() - 1);
    owner = getpid();
  }
  return p;
}

}  // namespace

void parallel_for(int tasks, int max_threads, const std::function<void(int)>& fn) {
  if (tasks <= 0) return;
  const int threads = std::min(max_threads > 0 ? max_threads : hardware_threads(), tasks);
  if (threads > 1 && hardware_threads() > 1 && pool()->run(tasks, threads - 1, fn)) return;
  std::exception_ptr error;
  for (int i = 0; i < tasks; ++i) {
    try {
      fn(i);
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace llmgps::util
