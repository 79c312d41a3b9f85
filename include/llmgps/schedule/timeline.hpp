#pragma once
// A schedule as a DAG: ops on per-GPU streams with dependencies. Each op starts when its stream is
// free and all its dependencies have finished; run() evaluates the DAG and returns the makespan,
// critical_path() the ops that set it. Exports a Chrome trace: one process per GPU, one thread
// per stream, events in execution order with the op's binding resource, FLOPs and bytes.
#include <string>
#include <vector>

namespace llmgps {

struct TimelineOp {
  std::string name;      // shown as is (callers put the layer in it: "L3 qkv_proj")
  std::string category;  // pass or stage
  int gpu = 0;
  int stream = 0;  // a stream of that GPU; ops on one (gpu, stream) run in insertion order
  double duration_s = 0;
  std::vector<int> deps;  // indices of earlier ops
  // What the trace shows in args.
  std::string bound;
  double flops = 0, bytes = 0;
  double start_s = 0, end_s = 0;  // filled by Timeline::run
};

class Timeline {
 public:
  // Adds an op and returns its index. Dependencies must refer to ops already added.
  int add(TimelineOp op);
  // Shorthand for an op on GPU 0.
  int add(std::string name, std::string category, int stream, double duration_s,
          std::vector<int> deps = {});
  // Schedules every op and returns the makespan in seconds.
  double run();
  // After run(): the chain of ops, first to last, whose end times set the makespan (each op's
  // start is its stream predecessor's end or its latest dependency's end).
  std::vector<int> critical_path() const;
  const std::vector<TimelineOp>& ops() const { return ops_; }
  // Chrome trace event format (chrome://tracing, Perfetto), times in us. `stream_names` names the
  // streams of every GPU ("compute", "rng"); GPUs are named "gpu N".
  std::string chrome_trace_json(const std::vector<std::string>& stream_names = {}) const;

 private:
  std::vector<TimelineOp> ops_;
  std::vector<int> prev_on_stream_;  // filled by run(): the op before each on its stream, or -1
};

}  // namespace llmgps
