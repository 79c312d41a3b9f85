#include "llmgps/report/validate_report.hpp"

#include <fmt/format.h>

#include "llmgps/report/output.hpp"

namespace llmgps::report {
namespace {

using nlohmann::ordered_json;

std::string pct(double x) {
  return fmt::format("{:+.1f}%", 100 * x);
}
std::string abs_pct(double x) {
  return fmt::format("{:.1f}%", 100 * x);
}

ordered_json row_json(const calib::Scored& s) {
  return {{"line", s.m.line},
          {"class", s.m.cls},
          {"kind", calib::kind_name(s.m.kind)},
          {"hw", s.m.hw},
          {"shape", s.shape},
          {"measured_s", s.measured_s},
          {"predicted_s", s.reported_s()},
          {"harness_floor_s", s.harness_floor_s},
          {"rel_error", s.rel_error()},
          {"bound", s.bound},
          {"detail", s.detail},
          {"source", s.m.source}};
}

Table samples_table(const std::vector<calib::Scored>& rows) {
  Table t;
  t.headers = {"line", "class", "hw", "shape", "measured", "model", "floor", "error", "bound"};
  t.right_align = {true, false, false, false, true, true, true, true, false};
  t.optional = {true, false, false, false, false, false, true, false, false};
  for (const auto& s : rows)
    t.add_row({std::to_string(s.m.line), s.m.cls, s.m.hw, s.shape, format_time(s.measured_s),
               format_time(s.reported_s()), format_time(s.harness_floor_s), pct(s.rel_error()),
               s.bound});
  return t;
}

Table classes_table(const std::vector<calib::ClassScore>& classes) {
  Table t;
  t.headers = {"class", "n", "median |error|", "bias (mean)", "max |error|", "harness floor"};
  t.right_align = {false, true, true, true, true, true};
  for (const auto& c : classes)
    t.add_row({c.cls, std::to_string(c.n), abs_pct(c.median_abs_error), pct(c.mean_signed_error),
               abs_pct(c.max_abs_error), format_time(c.harness_floor_s)});
  return t;
}

}  // namespace

ordered_json validation_json(const std::vector<calib::Scored>& rows,
                             const std::vector<calib::ClassScore>& classes, bool samples) {
  ordered_json j;
  j["error_convention"] = "(model - measured) / measured on time; negative = model optimistic";
  j["classes"] = ordered_json::array();
  for (const auto& c : classes) {
    ordered_json w = ordered_json::array();
    for (const calib::Scored* s : c.worst) w.push_back(row_json(*s));
    j["classes"].push_back({{"class", c.cls},
                            {"n", c.n},
                            {"median_abs_error", c.median_abs_error},
                            {"mean_signed_error", c.mean_signed_error},
                            {"max_abs_error", c.max_abs_error},
                            {"harness_floor_s", c.harness_floor_s},
                            {"worst", w}});
  }
  if (samples) {
    j["samples"] = ordered_json::array();
    for (const auto& s : rows) j["samples"].push_back(row_json(s));
  }
  return j;
}

std::string validation_table(const std::vector<calib::Scored>& rows,
                             const std::vector<calib::ClassScore>& classes, bool samples) {
  std::string out = render_table(classes_table(classes));
  if (samples) return out + "\n" + render_table(samples_table(rows));
  std::vector<calib::Scored> worst;
  for (const auto& c : classes)
    for (const calib::Scored* s : c.worst) worst.push_back(*s);
  out += "\nworst rows per class (error on time; negative = model optimistic):\n";
  return out + render_table(samples_table(worst));
}

namespace {

std::string values_text(const std::vector<std::string>& fields, const std::vector<double>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < fields.size(); ++i)
    out += fmt::format("{}{} = {:.4g}", i ? ", " : "", fields[i], v[i]);
  return out;
}

Table loso_rows_table(const calib::LosoReport& r) {
  Table t;
  t.headers = {"held-out source", "fit rows", "fitted values", "in-sample",
               "held rows",       "median",   "bias"};
  t.right_align = {false, true, false, true, true, true, true};
  t.add_row({"(none: all sources)", std::to_string(r.rows), values_text(r.fields, r.values),
             abs_pct(r.median), "0", "-", "-"});
  for (const auto& s : r.sources)
    t.add_row({s.source.size() > 72 ? s.source.substr(0, 69) + "..." : s.source,
               std::to_string(s.fit_rows), values_text(r.fields, s.values), abs_pct(s.fit_median),
               std::to_string(s.held_rows), abs_pct(s.held_median), pct(s.held_bias)});
  return t;
}

}  // namespace

ordered_json loso_json(const calib::LosoReport& r) {
  ordered_json j;
  j["fit"] = r.fit;
  j["fields"] = r.fields;
  j["error_convention"] = "(model - measured) / measured on time; negative = model optimistic";
  j["all_sources"] = {{"rows", r.rows}, {"values", r.values}, {"median_abs_error", r.median}};
  ordered_json held = ordered_json::array();
  for (const auto& s : r.sources)
    held.push_back({{"source", s.source},
                    {"fit_rows", s.fit_rows},
                    {"values", s.values},
                    {"in_sample_median_abs_error", s.fit_median},
                    {"held_rows", s.held_rows},
                    {"held_out_median_abs_error", s.held_median},
                    {"held_out_bias", s.held_bias}});
  j["held_out"] = held;
  return j;
}

std::string loso_table(const calib::LosoReport& r) {
  return "leave-one-source-out refit of '" + r.fit + "' (" + values_text(r.fields, r.values) +
         " on all sources)\n\n" + render_table(loso_rows_table(r));
}

}  // namespace llmgps::report
