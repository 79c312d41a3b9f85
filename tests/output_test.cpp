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

TEST(Output, AFileSetWritesEveryFileOrNone) {
  test::TempDir d;
  auto count_files = [&] {
    int n = 0;
    for (auto& e : std::filesystem::directory_iterator(d.path)) n += e.is_regular_file();
    return n;
  };
  {
    FileSet files;  // one unwritable file: the one staged before it goes with the set
    files.add(d.file("trace.json"), "trace");
    EXPECT_THROW(files.add(d.file("missing/out.json"), "out"), InputError);
  }
  EXPECT_EQ(count_files(), 0);
  {
    FileSet files;  // staged but never committed (the command failed later): nothing is left
    files.add(d.file("map.svg"), "svg");
  }
  EXPECT_EQ(count_files(), 0);
  {
    FileSet files;  // one path for two outputs is refused, not overwritten, however spelled
    files.add(d.file("a.json"), "one");
    EXPECT_THROW(files.add(d.file("a.json"), "two"), InputError);
    EXPECT_THROW(files.add((d.path / "." / "a.json").string(), "two"), InputError);
  }
  std::filesystem::create_directory(d.file("dir"));
  {
    FileSet files;  // a destination that is a directory fails before any file is renamed
    files.add(d.file("first.json"), "first");
    files.add(d.file("dir"), "x");
    EXPECT_THROW(files.commit(), InputError);
  }
  EXPECT_EQ(count_files(), 0);
  FileSet files;
  files.add(d.file("a.json"), "a");
  files.add(d.file("b.svg"), "b");
  files.commit();
  EXPECT_EQ(test::slurp(d.file("a.json")), "a");
  EXPECT_EQ(test::slurp(d.file("b.svg")), "b");
  EXPECT_EQ(count_files(), 2);
}

namespace {
std::size_t widest_line(const std::string& s) {
  std::size_t w = 0, at = 0;
  while (at <= s.size()) {
    std::size_t end = s.find('\n', at);
    if (end == std::string::npos) end = s.size();
    w = std::max(w, end - at);
    at = end + 1;
  }
  return w;
}
}  // namespace

// Tables fit table_width(): text columns wrap at spaces, numbers never do, optional columns go
// (with a note) when wrapping is not enough; width 0 (--wide) keeps everything on one line.
TEST(Output, TablesFitTheWidthByWrappingTextAndDroppingDetail) {
  Table t;
  t.headers = {"name", "time", "detail"};
  t.right_align = {false, true, false};
  t.add_row({"op", "12.3 ms",
             std::string(60, 'x') + " and some more words to wrap " + std::string(40, 'y')});
  report::table_width() = 50;
  const std::string fitted = render_table(t);
  EXPECT_LE(widest_line(fitted), 50u) << fitted;
  EXPECT_NE(fitted.find("12.3 ms"), std::string::npos);  // the number whole, on one line
  EXPECT_NE(fitted.find("words to wrap"), std::string::npos) << fitted;
  // Numbers alone too wide: optional columns are dropped and named.
  Table n;
  for (int c = 0; c < 8; ++c) {
    n.headers.push_back("column" + std::to_string(c));
    n.right_align.push_back(true);
    n.optional.push_back(c >= 4);
  }
  n.add_row(std::vector<std::string>(8, "123456789"));
  const std::string dropped = render_table(n);
  EXPECT_LE(widest_line(dropped), 50u) << dropped;
  EXPECT_NE(dropped.find("left out to fit 50 columns: column"), std::string::npos) << dropped;
  EXPECT_NE(dropped.find("--wide"), std::string::npos);
  // Prose wraps with a hanging indent; table rows (cells two spaces apart) are left alone.
  const std::string prose = fit_lines(std::string(30, 'a') + " " + std::string(30, 'b') + " " +
                                      std::string(30, 'c') + "\nx  y\n");
  EXPECT_EQ(prose, std::string(30, 'a') + "\n  " + std::string(30, 'b') + "\n  " +
                       std::string(30, 'c') + "\nx  y\n");
  report::table_width() = 0;
  EXPECT_EQ(widest_line(render_table(t)), 4 + 2 + 7 + 2 + t.rows[0][2].size());
  report::table_width() = 100;
}
