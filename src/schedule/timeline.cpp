#include "llmgps/schedule/timeline.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace llmgps {

int Timeline::add(TimelineOp op) {
  const int id = int(ops_.size());
  for (int d : op.deps)
    if (d < 0 || d >= id) throw std::logic_error("timeline dependency on an op not yet added");
  if (!(op.duration_s >= 0)) throw std::logic_error("negative op duration in timeline");
  ops_.push_back(std::move(op));
  return id;
}

int Timeline::add(std::string name, std::string category, int stream, double duration_s,
                  std::vector<int> deps) {
  TimelineOp op;
  op.name = std::move(name);
  op.category = std::move(category);
  op.stream = stream;
  op.duration_s = duration_s;
  op.deps = std::move(deps);
  return add(std::move(op));
}

double Timeline::run() {
  std::map<std::pair<int, int>, int> last;  // (gpu, stream) -> its latest op
  prev_on_stream_.assign(ops_.size(), -1);
  double makespan = 0;
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    TimelineOp& op = ops_[i];
    auto it = last.find({op.gpu, op.stream});
    double start = 0;
    if (it != last.end()) {
      prev_on_stream_[i] = it->second;
      start = ops_[std::size_t(it->second)].end_s;
    }
    for (int d : op.deps) start = std::max(start, ops_[std::size_t(d)].end_s);
    op.start_s = start;
    op.end_s = start + op.duration_s;
    last[{op.gpu, op.stream}] = int(i);
    makespan = std::max(makespan, op.end_s);
  }
  return makespan;
}

std::vector<int> Timeline::critical_path() const {
  if (ops_.empty()) return {};
  if (prev_on_stream_.size() != ops_.size())
    throw std::logic_error("timeline critical path asked before run()");
  int at = 0;
  for (std::size_t i = 0; i < ops_.size(); ++i)
    if (ops_[i].end_s > ops_[std::size_t(at)].end_s) at = int(i);
  std::vector<int> path;
  while (at >= 0) {
    path.push_back(at);
    const TimelineOp& op = ops_[std::size_t(at)];
    // The op whose end this one started at: a dependency, else the stream predecessor.
    int from = -1;
    for (int d : op.deps)
      if (ops_[std::size_t(d)].end_s == op.start_s && op.start_s > 0) from = d;
    const int prev = prev_on_stream_[std::size_t(at)];
    if (from < 0 && prev >= 0 && ops_[std::size_t(prev)].end_s == op.start_s) from = prev;
    at = op.start_s > 0 ? from : -1;
  }
  std::reverse(path.begin(), path.end());
  return path;
}

std::string Timeline::chrome_trace_json(const std::vector<std::string>& stream_names) const {
  nlohmann::ordered_json events = nlohmann::ordered_json::array();
  std::vector<std::pair<int, int>> tracks;
  for (const auto& op : ops_)
    if (std::find(tracks.begin(), tracks.end(), std::make_pair(op.gpu, op.stream)) == tracks.end())
      tracks.emplace_back(op.gpu, op.stream);
  std::sort(tracks.begin(), tracks.end());
  int named_gpu = -1;
  for (const auto& [gpu, stream] : tracks) {
    if (gpu != named_gpu) {
      events.push_back({{"name", "process_name"},
                        {"ph", "M"},
                        {"pid", gpu},
                        {"args", {{"name", "gpu " + std::to_string(gpu)}}}});
      named_gpu = gpu;
    }
    const std::string name = std::size_t(stream) < stream_names.size()
                                 ? stream_names[std::size_t(stream)]
                                 : "stream " + std::to_string(stream);
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", gpu},
                      {"tid", stream},
                      {"args", {{"name", name}}}});
  }
  // Execution order: by start time, ties in insertion order.
  std::vector<std::size_t> order(ops_.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return ops_[a].start_s < ops_[b].start_s; });
  for (std::size_t i : order) {
    const TimelineOp& op = ops_[i];
    nlohmann::ordered_json args;
    if (!op.bound.empty()) args["bound"] = op.bound;
    args["flops"] = op.flops;
    args["bytes"] = op.bytes;
    events.push_back({{"name", op.name},
                      {"cat", op.category},
                      {"ph", "X"},
                      {"pid", op.gpu},
                      {"tid", op.stream},
                      {"ts", op.start_s * 1e6},
                      {"dur", op.duration_s * 1e6},
                      {"args", args}});
  }
  nlohmann::ordered_json doc = {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
  return doc.dump(1) + "\n";
}

}  // namespace llmgps
