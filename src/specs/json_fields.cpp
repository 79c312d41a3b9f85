#include "llmgps/specs/json_fields.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "llmgps/specs/error.hpp"

namespace llmgps::specs {

using nlohmann::json;

std::string JsonContext::where(const std::string& field) const {
  std::string path = prefix.empty() ? field : prefix + "." + field;
  return file + ": field '" + path + "'";
}

JsonContext JsonContext::child(const std::string& field) const {
  return JsonContext{file, prefix.empty() ? field : prefix + "." + field};
}

json parse_json_text(const std::string& text, const std::string& file) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    // A syntax error or an out-of-range number (1e400). nlohmann's message starts with
    // "[json.exception.parse_error.101] "; keep the useful part.
    std::string msg = e.what();
    auto pos = msg.find("] ");
    if (pos != std::string::npos) msg = msg.substr(pos + 2);
    throw InputError(file, "malformed JSON: " + msg);
  }
}

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(path, "is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(path, "cannot read file");
  return ss.str();
}

const json* find_field(const json& obj, const std::string& field) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

static double as_number(const json& v, const std::string& where) {
  const json* num = &v;
  if (v.is_object()) {
    auto it = v.find("value");
    if (it == v.end()) throw InputError(where, "object form needs a 'value'");
    num = &*it;
  }
  if (!num->is_number()) throw InputError(where, "expected a number");
  double x = num->get<double>();
  if (!std::isfinite(x)) throw InputError(where, "must be finite");
  return x;
}

std::optional<double> optional_number(const json& obj, const std::string& field,
                                      const JsonContext& ctx) {
  const json* v = find_field(obj, field);
  if (!v) return std::nullopt;
  return as_number(*v, ctx.where(field));
}

double number_field(const json& obj, const std::string& field, const JsonContext& ctx) {
  const json* v = find_field(obj, field);
  if (!v) throw InputError(ctx.where(field), "missing");
  return as_number(*v, ctx.where(field));
}

double positive_field(const json& obj, const std::string& field, const JsonContext& ctx) {
  double x = number_field(obj, field, ctx);
  if (!(x > 0)) throw InputError(ctx.where(field), "must be positive (got " + json(x).dump() + ")");
  return x;
}

double nonnegative_field(const json& obj, const std::string& field, const JsonContext& ctx) {
  double x = number_field(obj, field, ctx);
  if (x < 0)
    throw InputError(ctx.where(field), "must not be negative (got " + json(x).dump() + ")");
  return x;
}

double fraction_field(const json& obj, const std::string& field, const JsonContext& ctx) {
  double x = number_field(obj, field, ctx);
  if (!(x > 0 && x <= 1))
    throw InputError(ctx.where(field), "must be in (0, 1] (got " + json(x).dump() + ")");
  return x;
}

static int to_int(double x, const std::string& where) {
  if (x != std::floor(x) || std::fabs(x) > 2147483647.0)
    throw InputError(where, "must be an integer");
  return static_cast<int>(x);
}

int positive_int_field(const json& obj, const std::string& field, const JsonContext& ctx) {
  double x = number_field(obj, field, ctx);
  int i = to_int(x, ctx.where(field));
  if (i <= 0)
    throw InputError(ctx.where(field), "must be positive (got " + std::to_string(i) + ")");
  return i;
}

std::optional<int> optional_int(const json& obj, const std::string& field, const JsonContext& ctx) {
  auto x = optional_number(obj, field, ctx);
  if (!x) return std::nullopt;
  int i = to_int(*x, ctx.where(field));
  if (i < 0)
    throw InputError(ctx.where(field), "must not be negative (got " + std::to_string(i) + ")");
  return i;
}

// A field's value, written plain or as {"value": ..., "source": ...}.
static const json& plain_value(const json& v) {
  return v.is_object() && v.contains("value") ? v["value"] : v;
}

std::optional<bool> optional_bool(const json& obj, const std::string& field,
                                  const JsonContext& ctx) {
  const json* v = find_field(obj, field);
  if (!v) return std::nullopt;
  if (!plain_value(*v).is_boolean()) throw InputError(ctx.where(field), "must be true or false");
  return plain_value(*v).get<bool>();
}

std::optional<std::vector<double>> optional_fraction_list(const json& obj, const std::string& field,
                                                          const JsonContext& ctx,
                                                          std::size_t max_size) {
  const json* v = find_field(obj, field);
  if (!v) return std::nullopt;
  const json& list = plain_value(*v);
  if (!list.is_array() || list.empty() || list.size() > max_size)
    throw InputError(ctx.where(field),
                     "expected a list of 1 to " + std::to_string(max_size) + " numbers");
  std::vector<double> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = ctx.where(field + "[" + std::to_string(i) + "]");
    const double x = as_number(list[i], where);
    if (!(x > 0 && x <= 1)) throw InputError(where, "must be in (0, 1]");
    out.push_back(x);
  }
  return out;
}

std::vector<int> positive_int_list_field(const json& obj, const std::string& field,
                                         const JsonContext& ctx) {
  const json* v = find_field(obj, field);
  if (!v) throw InputError(ctx.where(field), "missing");
  const json* list = &plain_value(*v);
  if (!list->is_array() || list->empty())
    throw InputError(ctx.where(field), "expected a non-empty list of positive integers");
  std::vector<int> out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string where = ctx.where(field + "[" + std::to_string(i) + "]");
    const int x = to_int(as_number((*list)[i], where), where);
    if (x <= 0) throw InputError(where, "must be positive (got " + std::to_string(x) + ")");
    out.push_back(x);
  }
  return out;
}

std::string string_field(const json& obj, const std::string& field, const JsonContext& ctx) {
  const json* v = find_field(obj, field);
  if (!v) throw InputError(ctx.where(field), "missing");
  if (!v->is_string()) throw InputError(ctx.where(field), "expected a string");
  return v->get<std::string>();
}

bool all_numbers_sourced(const json& obj, std::string& missing, const std::string& path) {
  if (obj.is_number()) {
    missing = path;
    return false;
  }
  if (obj.is_object()) {
    if (obj.contains("value") && (obj["value"].is_number() || obj["value"].is_array())) {
      auto s = obj.find("source");
      if (s == obj.end() || !s->is_string() || s->get<std::string>().empty()) {
        missing = path;
        return false;
      }
      return true;
    }
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (!all_numbers_sourced(it.value(), missing,
                               path.empty() ? it.key() : path + "." + it.key()))
        return false;
    }
  }
  if (obj.is_array()) {
    for (size_t i = 0; i < obj.size(); ++i)
      if (!all_numbers_sourced(obj[i], missing, path + "[" + std::to_string(i) + "]")) return false;
  }
  return true;
}

}  // namespace llmgps::specs
