#pragma once
// Output helpers shared by every command: aligned terminal tables, CSV, number formatting, and
// atomic file writes (a temporary file renamed into place, so no reader ever sees half a file).
#include <string>
#include <vector>

namespace llmgps::report {

struct Table {
  std::vector<std::string> headers;
  std::vector<bool> right_align;  // per column; numbers align right
  std::vector<std::vector<std::string>> rows;
  void add_row(std::vector<std::string> row) { rows.push_back(std::move(row)); }
};

std::string render_table(const Table& t);
std::string render_csv(const Table& t);
std::string csv_escape(const std::string& s);

// Human-readable time ("12.3 us", "4.56 ms", "1.23 s") and sizes.
std::string format_time(double seconds);
std::string format_bytes(double bytes);
std::string format_flops(double flops_per_s);  // "312.0 TFLOP/s"

// Writes `content` to `path` atomically. Throws InputError naming the path on failure.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace llmgps::report
