#include "llmgps/util/parallel.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

namespace llmgps::util {

int hardware_threads() {
  // The CPUs this process may run on (its affinity mask: a container's or taskset's limit),
  // else the machine's.
  static const int n = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return int(std::max(1u, std::thread::hardware_concurrency()));
  }();
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
  // Starts up to `workers` threads; fewer when the system refuses more (the pool then runs with
  // those it has).
  explicit Pool(int workers) {
    // Detached and never joined: the pool lives as long as the process (a static destructor
    // joining them would hang in a forked child, where these threads do not exist).
    for (int i = 0; i < workers; ++i) {
      try {
        std::thread([this] { work(); }).detach();
      } catch (const std::system_error&) {
        break;
      }
    }
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
    drain(fn, tasks);
    // Spin while the workers finish, then confirm under m_: workers join only under m_ while
    // job_ is set, so once this thread holds m_, sees every task finished and no worker inside,
    // and clears job_, no worker can enter this job any more.
    auto all_done = [&] { return finished_.load() == tasks && active_.load() == 0; };
    spin_until(all_done, kSpin);
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, all_done);
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
      const std::function<void(int)>* job = nullptr;
      int tasks = 0;
      {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, posted);
        seen = generation_.load();
        if (job_ == nullptr || joined_ >= helpers_) continue;
        ++joined_;
        active_.fetch_add(1);
        job = job_, tasks = tasks_;  // this job's, read under m_
      }
      drain(*job, tasks);
      {
        std::lock_guard<std::mutex> lock(m_);
        active_.fetch_sub(1);
      }
      done_.notify_one();
    }
  }

  // Takes tasks of `job` until none is left.
  void drain(const std::function<void(int)>& job, int tasks) {
    int ran = 0;
    std::exception_ptr error;
    for (int i; (i = next_.fetch_add(1)) < tasks;) {
      try {
        job(i);
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
  // A task that calls parallel_for itself runs the inner loop on its own thread (the pool is
  // busy with the outer job, and its lock is not recursive).
  thread_local bool inside = false;
  const int threads = std::min(max_threads > 0 ? max_threads : hardware_threads(), tasks);
  if (!inside && threads > 1 && hardware_threads() > 1) {
    inside = true;
    struct Leave {
      bool& flag;
      ~Leave() { flag = false; }
    } leave{inside};
    if (pool()->run(tasks, threads - 1, [&](int i) {
          // Workers run tasks too: mark them inside while they do.
          const bool was = inside;
          inside = true;
          struct Restore {
            bool& flag;
            bool value;
            ~Restore() { flag = value; }
          } restore{inside, was};
          fn(i);
        }))
      return;
  }
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
