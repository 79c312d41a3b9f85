#include "llmgps/moe/loads_file.hpp"

#include <gtest/gtest.h>

#include "llmgps/specs/error.hpp"

using namespace llmgps::moe;

TEST(LoadsFile, ParsesLayersOfExpertLoads) {
  const auto m = parse_loads_json("{\"loads\": [[1, 2.5], [3, 0]]}", "f.json");
  EXPECT_EQ(m, (LoadMatrix{{1, 2.5}, {3, 0}}));
}

TEST(LoadsFile, BadInputNamesTheElement) {
  auto what = [](const std::string& t) {
    try {
      parse_loads_json(t, "f.json");
    } catch (const llmgps::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(what("{\"loads\": [[1, 2], [3]]}").find("f.json: loads[1]"), std::string::npos);
  EXPECT_NE(what("{\"loads\": [[1, -2]]}").find("f.json: loads[0][1]"), std::string::npos);
  EXPECT_NE(what("{\"loads\": [[1, \"x\"]]}").find("loads[0][1]: must be a number"),
            std::string::npos);
  EXPECT_NE(what("{\"weights\": []}").find("missing field 'loads'"), std::string::npos);
  EXPECT_NE(what("{\"loads\": [[1,").find("not valid JSON"), std::string::npos);
  EXPECT_NE(what("{\"loads\": []}").find("non-empty"), std::string::npos);
  EXPECT_THROW(load_loads_json("/nonexistent.json"), llmgps::InputError);
}
