#include "llmgps/specs/json_fields.hpp"

#include <gtest/gtest.h>

#include "llmgps/specs/error.hpp"

using namespace llmgps;
using namespace llmgps::specs;
using nlohmann::json;

TEST(JsonFields, ReadsPlainAndSourcedNumbers) {
  json j = json::parse(R"({"a": 3, "b": {"value": 2.5, "source": "x"}})");
  JsonContext ctx{"f.json", ""};
  EXPECT_EQ(number_field(j, "a", ctx), 3);
  EXPECT_EQ(number_field(j, "b", ctx), 2.5);
}

TEST(JsonFields, ErrorsNameFileAndDottedField) {
  json j = json::parse(R"({"eff": {"hbm": -1}})");
  JsonContext ctx{"gpu.json", "efficiency"};
  try {
    positive_field(j["eff"], "hbm", ctx);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "gpu.json: field 'efficiency.hbm'");
  }
  EXPECT_THROW(number_field(j, "missing", ctx), InputError);
  EXPECT_THROW(positive_int_field(json::parse(R"({"n": 1.5})"), "n", ctx), InputError);
  EXPECT_THROW(fraction_field(json::parse(R"({"f": 1.5})"), "f", ctx), InputError);
  EXPECT_THROW(string_field(json::parse(R"({"s": 1})"), "s", ctx), InputError);
}

TEST(JsonFields, MalformedJsonNamesTheFile) {
  try {
    parse_json_text("{\"a\": ", "bad.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "bad.json");
    EXPECT_NE(e.reason().find("malformed JSON"), std::string::npos);
  }
}

TEST(JsonFields, MissingFileNamesThePath) {
  EXPECT_THROW(read_text_file("/nonexistent/llmgps.json"), InputError);
}

TEST(JsonFields, SourcedCheckFindsTheBareNumber) {
  std::string missing;
  EXPECT_TRUE(
      all_numbers_sourced(json::parse(R"({"a": {"value": 1, "source": "s"}, "n": "x"})"), missing));
  EXPECT_FALSE(all_numbers_sourced(json::parse(R"({"a": {"b": 2}})"), missing));
  EXPECT_EQ(missing, "a.b");
  EXPECT_FALSE(all_numbers_sourced(json::parse(R"({"a": {"value": 1, "source": ""}})"), missing));
}

TEST(JsonFields, OptionalBoolsAndFractionListsPlainOrSourced) {
  const JsonContext ctx{"f.json", "link"};
  const json j = json::parse(R"({"a": true, "b": {"value": false, "source": "s"}, "c": "yes",
                                 "l": [0.5, 1], "m": {"value": [0.25], "source": "s"},
                                 "n": [0.5, 0], "o": [1, 1, 1]})");
  EXPECT_EQ(optional_bool(j, "a", ctx), true);
  EXPECT_EQ(optional_bool(j, "b", ctx), false);
  EXPECT_FALSE(optional_bool(j, "absent", ctx).has_value());
  EXPECT_THROW(optional_bool(j, "c", ctx), InputError);
  EXPECT_EQ(*optional_fraction_list(j, "l", ctx, 4), (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(*optional_fraction_list(j, "m", ctx, 4), (std::vector<double>{0.25}));
  EXPECT_FALSE(optional_fraction_list(j, "absent", ctx, 4).has_value());
  try {
    optional_fraction_list(j, "n", ctx, 4);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("link.n[1]"), std::string::npos) << e.where();
  }
  EXPECT_THROW(optional_fraction_list(j, "o", ctx, 2), InputError);  // too long
}
