#include "llmgps/specs/csv.hpp"

#include <cmath>
#include <cstdlib>

#include "llmgps/specs/error.hpp"
#include "llmgps/specs/json_fields.hpp"

namespace llmgps::specs {

const std::string& CsvRow::at(const std::string& column, const std::string& file) const {
  auto it = fields.find(column);
  if (it == fields.end())
    throw InputError(file + ":" + std::to_string(line), "missing column '" + column + "'");
  return it->second;
}

double CsvRow::number(const std::string& column, const std::string& file) const {
  const std::string& s = at(column, file);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v))
    throw InputError(file + ":" + std::to_string(line),
                     "column '" + column + "' is not a number: '" + s + "'");
  return v;
}

namespace {
// Splits one record starting at `pos`; advances pos past the record's line end.
std::vector<std::string> split_record(const std::string& text, size_t& pos, int& line,
                                      const std::string& file) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;
  const int start_line = line;
  while (pos < text.size()) {
    char ch = text[pos++];
    if (quoted) {
      if (ch == '"') {
        if (pos < text.size() && text[pos] == '"') {
          cell.push_back('"');
          ++pos;
        } else {
          quoted = false;
        }
      } else {
        if (ch == '\n') ++line;
        cell.push_back(ch);
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      cells.push_back(cell);
      cell.clear();
    } else if (ch == '\n') {
      ++line;
      break;
    } else if (ch != '\r') {
      cell.push_back(ch);
    }
  }
  if (quoted)
    throw InputError(file + ":" + std::to_string(start_line), "unterminated quoted field");
  cells.push_back(cell);
  return cells;
}
}  // namespace

int CsvTable::column_number(const std::string& column) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == column) return int(i) + 1;
  return 0;
}

CsvTable parse_csv_table(const std::string& text, const std::string& file) {
  // A UTF-8 byte-order mark (spreadsheet exports write one) is not part of the first column.
  size_t pos = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  int line = 1;
  CsvTable table;
  std::vector<CsvRow>& rows = table.rows;
  if (text.empty()) throw InputError(file, "empty CSV file (no header)");
  std::vector<std::string> header = split_record(text, pos, line, file);
  for (size_t i = 0; i < header.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (header[i] == header[j])
        throw InputError(file + ":1", "column '" + header[i] + "' appears twice (columns " +
                                          std::to_string(j + 1) + " and " + std::to_string(i + 1) +
                                          ")");
  while (pos < text.size()) {
    int row_line = line;
    std::vector<std::string> cells = split_record(text, pos, line, file);
    if (cells.size() == 1 && cells[0].empty()) continue;  // blank line
    if (cells.size() != header.size())
      throw InputError(file + ":" + std::to_string(row_line),
                       "expected " + std::to_string(header.size()) + " fields, got " +
                           std::to_string(cells.size()));
    CsvRow r;
    r.line = row_line;
    for (size_t i = 0; i < header.size(); ++i) r.fields[header[i]] = cells[i];
    rows.push_back(std::move(r));
  }
  table.header = std::move(header);
  return table;
}

std::vector<CsvRow> parse_csv(const std::string& text, const std::string& file) {
  return parse_csv_table(text, file).rows;
}

std::vector<CsvRow> read_csv(const std::string& path) {
  return parse_csv(read_text_file(path), path);
}

}  // namespace llmgps::specs
