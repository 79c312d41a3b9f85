#pragma once
// Output helpers shared by every command: aligned terminal tables, CSV, number formatting, and
// atomic file writes (a temporary file renamed into place, so no reader ever sees half a file).
#include <string>
#include <vector>

namespace llmgps::report {

struct Table {
  std::vector<std::string> headers;
  std::vector<bool> right_align;  // per column; numbers align right
  // Per column: detail a narrow terminal can do without. When the table is wider than
  // table_width() even with its text wrapped, these go (rightmost first) and a note says which.
  std::vector<bool> optional;
  std::vector<std::vector<std::string>> rows;
  void add_row(std::vector<std::string> row) { rows.push_back(std::move(row)); }
};

// The width tables and report text fit (100 columns by default; 0: no limit, the CLI's --wide).
int& table_width();
// An aligned table; when wider than table_width() its widest text columns wrap their cells onto
// continuation lines (numbers never wrap).
std::string render_table(const Table& t);
// A report's text with every line longer than table_width() wrapped at spaces (continuations
// indented by two), for the prose beside tables.
std::string fit_lines(const std::string& text);
std::string render_csv(const Table& t);
std::string csv_escape(const std::string& s);

// Human-readable time ("12.3 us", "4.56 ms", "1.23 s") and sizes.
std::string format_time(double seconds);
std::string format_bytes(double bytes);
std::string format_flops(double flops_per_s);  // "312.0 TFLOP/s"

// Writes `content` to `path` atomically. Throws InputError naming the path on failure.
void write_file_atomic(const std::string& path, const std::string& content);

// Files one command writes together (its --out file beside an SVG or a trace): each is staged
// beside its destination as it is added, and only once every one is staged are they renamed into
// place, so a file that cannot be written leaves none of the others. Staged files not committed
// are removed when the set goes.
class FileSet {
 public:
  FileSet() = default;
  FileSet(const FileSet&) = delete;
  FileSet& operator=(const FileSet&) = delete;
  ~FileSet();
  // Stages `content` for `path`; throws InputError naming the path when it cannot be written.
  void add(const std::string& path, const std::string& content);
  // Renames every staged file into place.
  void commit();

 private:
  struct Staged {
    std::string tmp, path, canonical;  // canonical: two spellings of one file compare equal
  };
  std::vector<Staged> staged_;
};

}  // namespace llmgps::report
