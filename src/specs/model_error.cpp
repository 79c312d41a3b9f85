#include "llmgps/specs/model_error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "llmgps/specs/error.hpp"
#include "llmgps/specs/presets.hpp"

namespace llmgps {

const char* error_class_name(ErrorClass c) {
  switch (c) {
    case ErrorClass::gemm:
      return "gemm";
    case ErrorClass::grouped_gemm:
      return "grouped_gemm";
    case ErrorClass::attention:
      return "attention";
    case ErrorClass::attention_fp8:
      return "attention_fp8";
    case ErrorClass::elementwise:
      return "elementwise";
    case ErrorClass::allreduce:
      return "allreduce";
    case ErrorClass::alltoall:
      return "alltoall";
    case ErrorClass::deepep_normal:
      return "deepep_normal";
    case ErrorClass::deepep_low_latency:
      return "deepep_low_latency";
    case ErrorClass::copy:
      return "copy";
    case ErrorClass::allgather_reducescatter:
      return "allgather_reducescatter";
  }
  return "?";
}

namespace specs {

namespace {

constexpr int kClasses = int(ErrorClass::allgather_reducescatter) + 1;
const char* const kFile = "data/calibration/model-error.json";

struct Family {
  std::string name;
  std::vector<int> sm_versions;
  std::vector<std::string> gpus;
  ModelError error;
};

ErrorClassSource parse_source(const nlohmann::json& v, const std::string& where) {
  if (!v.is_object()) throw InputError(where, "must be an object");
  ErrorClassSource s;
  if (!v.contains("median_abs_error") || !v["median_abs_error"].is_number())
    throw InputError(where + ".median_abs_error", "must be a number");
  s.median_abs_error = v["median_abs_error"].get<double>();
  if (!(s.median_abs_error >= 0 && s.median_abs_error < 10))
    throw InputError(where + ".median_abs_error", "must be in [0, 10)");
  for (const char* f : {"table", "class"})
    if (!v.contains(f) || !v[f].is_string() || v[f].get<std::string>().empty())
      throw InputError(where + "." + f, "must name the measurement it comes from");
  s.table = v["table"].get<std::string>();
  s.cls = v["class"].get<std::string>();
  s.note = v.value("note", std::string());
  return s;
}

// Families in file order, each with every class (a family with "base" starts from that one).
const std::vector<Family>& families() {
  static const std::vector<Family> all = [] {
    const char* text = find_preset("calibration", "model-error");
    if (text == nullptr) throw std::logic_error("model-error.json is not compiled in");
    const nlohmann::json j = nlohmann::json::parse(text);
    std::vector<Family> out;
    for (const auto& f : j.at("families")) {
      Family fam;
      fam.name = f.at("name").get<std::string>();
      const std::string where = fmt::format("{}: families.{}", kFile, fam.name);
      fam.sm_versions = f.value("sm_versions", std::vector<int>{});
      fam.gpus = f.value("gpus", std::vector<std::string>{});
      fam.error.family = fam.name;
      fam.error.classes.resize(kClasses);
      std::vector<bool> have(kClasses, false);
      if (f.contains("base")) {
        const std::string base = f["base"].get<std::string>();
        auto it =
            std::find_if(out.begin(), out.end(), [&](const Family& x) { return x.name == base; });
        if (it == out.end()) throw InputError(where + ".base", "names no earlier family");
        fam.error.classes = it->error.classes;
        have.assign(kClasses, true);
      }
      for (int c = 0; c < kClasses; ++c) {
        const char* name = error_class_name(ErrorClass(c));
        if (f.at("classes").contains(name)) {
          fam.error.classes[std::size_t(c)] =
              parse_source(f["classes"][name], where + ".classes." + name);
          have[std::size_t(c)] = true;
        }
        if (!have[std::size_t(c)]) throw InputError(where + ".classes." + name, "missing");
      }
      out.push_back(std::move(fam));
    }
    return out;
  }();
  return all;
}

}  // namespace

ModelError model_error_for(const GpuSpec& gpu) {
  const auto& all = families();
  for (const auto& f : all)
    if (std::find(f.gpus.begin(), f.gpus.end(), gpu.name) != f.gpus.end()) return f.error;
  for (const auto& f : all)
    if (std::find(f.sm_versions.begin(), f.sm_versions.end(), gpu.sm_version) !=
        f.sm_versions.end())
      return f.error;
  // Nearest measured family by SM version: the newest below, else the oldest.
  const Family* below = nullptr;
  const Family* oldest = nullptr;
  for (const auto& f : all)
    for (int v : f.sm_versions) {
      if (v < gpu.sm_version && (!below || v > below->sm_versions.front())) below = &f;
      if (!oldest || v < oldest->sm_versions.front()) oldest = &f;
    }
  ModelError e = (below ? below : oldest)->error;
  e.family += fmt::format(" (nearest measured family for sm_{})", gpu.sm_version);
  return e;
}

std::vector<ModelError> model_error_families() {
  std::vector<ModelError> out;
  for (const auto& f : families()) out.push_back(f.error);
  return out;
}

}  // namespace specs
}  // namespace llmgps
