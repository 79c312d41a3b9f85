#pragma once
// A small RFC-4180 CSV reader (quoted fields, doubled quotes) for measurement files.
#include <map>
#include <string>
#include <vector>

namespace llmgps::specs {

struct CsvRow {
  int line = 0;  // 1-based line number in the file
  std::map<std::string, std::string> fields;
  // The named field; throws InputError naming file, line and column when absent.
  const std::string& at(const std::string& column, const std::string& file) const;
  double number(const std::string& column, const std::string& file) const;
};

// A whole file: the header in file order (column numbers in errors) and the rows.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<CsvRow> rows;
  // 1-based position of a column in the header, 0 if absent.
  int column_number(const std::string& column) const;
};
CsvTable parse_csv_table(const std::string& text, const std::string& file);

// Reads a CSV with a header row. Throws InputError (file, line) on a ragged row or unreadable file.
std::vector<CsvRow> read_csv(const std::string& path);
std::vector<CsvRow> parse_csv(const std::string& text, const std::string& file);

}  // namespace llmgps::specs
