#include "llmgps/schedule/timeline.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace llmgps {

int Timeline::add(std::string name, std::string category, int stream, double duration_s,
                  std::vector<int> deps) {
  const int id = int(ops_.size());
  for (int d : deps)
    if (d < 0 || d >= id) throw std::logic_error("timeline dependency on an op not yet added");
  if (duration_s < 0) throw std::logic_error("negative op duration in timeline");
  ops_.push_back(
      TimelineOp{std::move(name), std::move(category), stream, duration_s, std::move(deps), 0, 0});
  return id;
}

double Timeline::run() {
  std::map<int, double> stream_free;
  double makespan = 0;
  for (auto& op : ops_) {
    double start = stream_free[op.stream];
    for (int d : op.deps) start = std::max(start, ops_[d].end_s);
    op.start_s = start;
    op.end_s = start + op.duration_s;
    stream_free[op.stream] = op.end_s;
    makespan = std::max(makespan, op.end_s);
  }
  return makespan;
}

std::string Timeline::chrome_trace_json(const std::vector<std::string>& stream_names) const {
  nlohmann::ordered_json events = nlohmann::ordered_json::array();
  for (size_t s = 0; s < stream_names.size(); ++s)
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", 0},
                      {"tid", s},
                      {"args", {{"name", stream_names[s]}}}});
  for (const auto& op : ops_)
    events.push_back({{"name", op.name},
                      {"cat", op.category},
                      {"ph", "X"},
                      {"pid", 0},
                      {"tid", op.stream},
                      {"ts", op.start_s * 1e6},
                      {"dur", op.duration_s * 1e6}});
  nlohmann::ordered_json doc = {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
  return doc.dump(1) + "\n";
}

}  // namespace llmgps
