#pragma once
// Validated reads from JSON spec files. A numeric field may be written as a plain number or as
// {"value": X, "source": "where X comes from"}; presets always use the second form.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace llmgps::specs {

// Context for error messages: the file (or preset) name being read.
struct JsonContext {
  std::string file;
  std::string prefix;  // dotted path of the object being read, e.g. "attention.fa2"
  std::string where(const std::string& field) const;
  JsonContext child(const std::string& field) const;
};

// Parses JSON text; throws InputError("file", "malformed JSON: ...") on a syntax error.
nlohmann::json parse_json_text(const std::string& text, const std::string& file);
// Reads a whole file; throws InputError naming the path if it cannot be read.
std::string read_text_file(const std::string& path);

const nlohmann::json* find_field(const nlohmann::json& obj, const std::string& field);
double number_field(const nlohmann::json& obj, const std::string& field, const JsonContext& ctx);
double positive_field(const nlohmann::json& obj, const std::string& field, const JsonContext& ctx);
double fraction_field(const nlohmann::json& obj, const std::string& field, const JsonContext& ctx);
double nonnegative_field(const nlohmann::json& obj, const std::string& field,
                         const JsonContext& ctx);
int positive_int_field(const nlohmann::json& obj, const std::string& field, const JsonContext& ctx);
std::optional<double> optional_number(const nlohmann::json& obj, const std::string& field,
                                      const JsonContext& ctx);
std::optional<int> optional_int(const nlohmann::json& obj, const std::string& field,
                                const JsonContext& ctx);
std::optional<bool> optional_bool(const nlohmann::json& obj, const std::string& field,
                                  const JsonContext& ctx);
// A list of at most `max_size` numbers in (0, 1], plain or as {"value": [...], "source": ...};
// errors name the entry.
std::optional<std::vector<double>> optional_fraction_list(const nlohmann::json& obj,
                                                          const std::string& field,
                                                          const JsonContext& ctx,
                                                          std::size_t max_size);
// A list of positive integers, written plain or as {"value": [...], "source": ...}.
std::vector<int> positive_int_list_field(const nlohmann::json& obj, const std::string& field,
                                         const JsonContext& ctx);
std::string string_field(const nlohmann::json& obj, const std::string& field,
                         const JsonContext& ctx);
// True if every numeric leaf of `obj` is written as {"value", "source"} with a non-empty source.
// Returns the dotted path of the first number without a source in `missing`.
bool all_numbers_sourced(const nlohmann::json& obj, std::string& missing,
                         const std::string& path = "");

}  // namespace llmgps::specs
