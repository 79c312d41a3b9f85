#pragma once
// A timeline of ops on streams with dependencies. Each op starts when its stream is free and all
// its dependencies have finished; the makespan is the critical path. Exports a Chrome trace.
#include <string>
#include <vector>

namespace llmgps {

struct TimelineOp {
  std::string name;
  std::string category;
  int stream = 0;  // a GPU stream (or a link); ops on one stream run in order
  double duration_s = 0;
  std::vector<int> deps;          // indices of earlier ops
  double start_s = 0, end_s = 0;  // filled by Timeline::run
};

class Timeline {
 public:
  // Adds an op and returns its index. Dependencies must refer to ops already added.
  int add(std::string name, std::string category, int stream, double duration_s,
          std::vector<int> deps = {});
  // Schedules every op (in insertion order per stream) and returns the makespan in seconds.
  double run();
  const std::vector<TimelineOp>& ops() const { return ops_; }
  // Chrome trace event format (chrome://tracing, Perfetto): one complete event per op, in us.
  std::string chrome_trace_json(const std::vector<std::string>& stream_names = {}) const;

 private:
  std::vector<TimelineOp> ops_;
};

}  // namespace llmgps
