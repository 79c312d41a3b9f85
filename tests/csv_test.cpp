#include "llmgps/specs/csv.hpp"

#include <gtest/gtest.h>

#include "llmgps/specs/error.hpp"

using namespace llmgps;

TEST(Csv, QuotedFieldsWithCommasAndQuotes) {
  auto rows = specs::parse_csv("a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n\n2,z,3\n", "t.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("b", "t.csv"), "x, y");
  EXPECT_EQ(rows[0].at("c", "t.csv"), "say \"hi\"");
  EXPECT_EQ(rows[1].line, 4);
  EXPECT_EQ(rows[1].number("c", "t.csv"), 3);
}

TEST(Csv, AByteOrderMarkIsNotPartOfTheFirstColumn) {
  // Spreadsheets export UTF-8 CSV with a byte-order mark.
  auto rows = specs::parse_csv("\xEF\xBB\xBFkind,b\ngemm,2\n", "t.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("kind", "t.csv"), "gemm");
}

TEST(Csv, RaggedRowAndBadNumberNameTheLine) {
  try {
    specs::parse_csv("a,b\n1,2\n3\n", "t.csv");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "t.csv:3");
  }
  auto rows = specs::parse_csv("a\nx1\n", "t.csv");
  EXPECT_THROW(rows[0].number("a", "t.csv"), InputError);
  EXPECT_THROW(rows[0].at("zz", "t.csv"), InputError);
  EXPECT_THROW(specs::parse_csv("", "t.csv"), InputError);
}
