#pragma once
// Data parallelism for the few computations that are worth it (EPLB plans over layers, dropout
// masks over words): a process-wide set of worker threads, started on first use and kept, since
// starting a thread costs tens of microseconds, more than a whole DeepSeek-V3 plan takes per core.
#include <functional>

namespace llmgps::util {

// The threads this process may run at once (std::thread::hardware_concurrency, at least 1; asked
// once, since glibc reads /sys for it).
int hardware_threads();

// Runs fn(i) for every i in [0, tasks) on the calling thread and up to max_threads - 1 workers
// (max_threads <= 0: hardware_threads()); whichever thread is free takes the next task. Returns
// when every task has run; if any threw, rethrows the first exception (the other tasks still run).
// Callers must not depend on which thread runs a task. Safe to call from several threads at once
// (a call that finds the workers busy runs its tasks itself) and in a child after fork (the child
// starts workers of its own).
void parallel_for(int tasks, int max_threads, const std::function<void(int)>& fn);

}  // namespace llmgps::util
