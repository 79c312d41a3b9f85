#include "llmgps/report/output.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "llmgps/specs/error.hpp"

namespace llmgps::report {

std::string render_table(const Table& t) {
  const size_t cols = t.headers.size();
  std::vector<size_t> width(cols, 0);
  for (size_t c = 0; c < cols; ++c) width[c] = t.headers[c].size();
  for (const auto& r : t.rows)
    for (size_t c = 0; c < cols && c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t c = 0; c < cols; ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      const bool right = c < t.right_align.size() && t.right_align[c];
      const std::string pad(width[c] - cell.size(), ' ');
      if (c) l.append("  ");
      if (right)
        l.append(pad).append(cell);
      else
        l.append(cell).append(pad);
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(t.headers);
  std::vector<std::string> rule;
  for (size_t c = 0; c < cols; ++c) rule.push_back(std::string(width[c], '-'));
  line(rule);
  for (const auto& r : t.rows) line(r);
  return out;
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q;
  q.reserve(s.size() + 2);
  q.push_back('"');
  for (char ch : s) {
    if (ch == '"') q.push_back('"');  // a quote is escaped by doubling it
    q.push_back(ch);
  }
  q.push_back('"');
  return q;
}

std::string render_csv(const Table& t) {
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c) out.push_back(',');
      out.append(csv_escape(cells[c]));
    }
    out.push_back('\n');
  };
  line(t.headers);
  for (const auto& r : t.rows) line(r);
  return out;
}

std::string format_time(double s) {
  const double a = std::fabs(s);
  if (a == 0) return "0";
  if (a < 1e-3) return fmt::format("{:.1f} us", s * 1e6);
  if (a < 1) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.3f} s", s);
}

std::string format_bytes(double b) {
  const double a = std::fabs(b);
  if (a >= 1e9) return fmt::format("{:.2f} GB", b / 1e9);
  if (a >= 1e6) return fmt::format("{:.2f} MB", b / 1e6);
  if (a >= 1e3) return fmt::format("{:.2f} kB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}

std::string format_flops(double f) {
  return fmt::format("{:.1f} TFLOP/s", f / 1e12);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw InputError(path, std::string("cannot write: ") + std::strerror(errno));
  const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    throw InputError(path, "write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw InputError(path, "cannot write: " + why);
  }
}

}  // namespace llmgps::report
