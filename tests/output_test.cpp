#include "llmgps/report/output.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "llmgps/specs/error.hpp"
#include "test_util.hpp"

using namespace llmgps;
using namespace llmgps::report;

TEST(Output, TableAlignsColumns) {
  Table t;
  t.headers = {"name", "n"};
  t.right_align = {false, true};
  t.add_row({"a", "1"});
  t.add_row({"long", "100"});
  EXPECT_EQ(render_table(t), "name    n\n----  ---\na       1\nlong  100\n");
}

TEST(Output, CsvEscapes) {
  Table t;
  t.headers = {"a", "b"};
  t.add_row({"x,y", "say \"hi\""});
  EXPECT_EQ(render_csv(t), "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n");
}

TEST(Output, Formatting) {
  EXPECT_EQ(format_time(12.34e-6), "12.3 us");
  EXPECT_EQ(format_time(4.5678e-3), "4.568 ms");
  EXPECT_EQ(format_time(2.5), "2.500 s");
  EXPECT_EQ(format_bytes(2.5e9), "2.50 GB");
  EXPECT_EQ(format_flops(312e12), "312.0 TFLOP/s");
}

TEST(Output, AtomicWriteReplacesWholeFileAndLeavesNoTemporary) {
  test::TempDir d;
  const std::string path = d.file("out.json");
  write_file_atomic(path, "first");
  write_file_atomic(path, "second");
  EXPECT_EQ(test::slurp(path), "second");
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(d.path)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(Output, UnwritablePathIsAnInputError) {
  EXPECT_THROW(write_file_atomic("/nonexistent-dir/x.json", "x"), InputError);
}
