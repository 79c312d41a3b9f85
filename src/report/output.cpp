#include "llmgps/report/output.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "llmgps/specs/error.hpp"

namespace llmgps::report {

int& table_width() {
  static int width = 100;
  return width;
}

namespace {

// `text` in lines of at most `width` characters, broken at spaces (a word longer than the width
// is cut).
std::vector<std::string> wrap(const std::string& text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find(' ', at);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(at, end - at);
    at = end + 1;
    while (word.size() > width) {  // cut an overlong word, after a '.', '-', '_' or '/' if any
      if (!line.empty()) lines.push_back(line), line.clear();
      std::size_t cut = word.find_last_of(".-_/", width - 1);
      cut = cut == std::string::npos || cut < width / 3 ? width : cut + 1;
      lines.push_back(word.substr(0, cut));
      word.erase(0, cut);
    }
    if (line.empty())
      line = word;
    else if (line.size() + 1 + word.size() <= width)
      line += " " + word;
    else
      lines.push_back(line), line = word;
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

namespace {

// How narrow each column may get: a number column never narrows; a text column down to its
// header or its longest word (so words stay whole), at most kMaxFloor, at least kMinText.
std::vector<std::size_t> column_floors(const Table& t, const std::vector<std::size_t>& width) {
  constexpr std::size_t kMinText = 12, kMaxFloor = 24;
  std::vector<std::size_t> floor(t.headers.size(), 0);
  for (size_t c = 0; c < t.headers.size(); ++c) {
    if (c < t.right_align.size() && t.right_align[c]) {
      floor[c] = width[c];
      continue;
    }
    std::size_t word = 0;
    for (const auto& r : t.rows)
      if (c < r.size())
        for (std::size_t at = 0; at <= r[c].size();) {
          std::size_t end = r[c].find(' ', at);
          if (end == std::string::npos) end = r[c].size();
          word = std::max(word, end - at);
          at = end + 1;
        }
    floor[c] =
        std::min(width[c], std::max({kMinText, t.headers[c].size(), std::min(word, kMaxFloor)}));
  }
  return floor;
}

std::vector<std::size_t> natural_widths(const Table& t) {
  std::vector<std::size_t> width(t.headers.size(), 0);
  for (size_t c = 0; c < t.headers.size(); ++c) width[c] = t.headers[c].size();
  for (const auto& r : t.rows)
    for (size_t c = 0; c < t.headers.size() && c < r.size(); ++c)
      width[c] = std::max(width[c], r[c].size());
  return width;
}

std::size_t table_total(const std::vector<std::size_t>& width) {
  std::size_t w = width.empty() ? 0 : 2 * (width.size() - 1);
  for (std::size_t x : width) w += x;
  return w;
}

}  // namespace

std::string render_table(const Table& full) {
  const std::size_t limit = std::size_t(std::max(0, table_width()));
  // Too wide even with every text column at its floor: drop optional columns, rightmost first.
  Table t = full;
  std::vector<std::string> dropped;
  while (limit > 0 && table_total(column_floors(t, natural_widths(t))) > limit) {
    std::size_t drop = t.headers.size();
    for (size_t c = 0; c < t.headers.size(); ++c)
      if (c < t.optional.size() && t.optional[c]) drop = c;
    if (drop == t.headers.size()) break;
    dropped.insert(dropped.begin(), t.headers[drop]);
    auto erase = [drop](auto& v) {
      if (drop < v.size()) v.erase(v.begin() + std::ptrdiff_t(drop));
    };
    erase(t.headers);
    erase(t.right_align);
    erase(t.optional);
    for (auto& r : t.rows) erase(r);
  }
  const size_t cols = t.headers.size();
  std::vector<std::size_t> width = natural_widths(t);
  const std::vector<std::size_t> floor = column_floors(t, width);
  // Then narrow the widest text columns, whose cells wrap onto continuation lines.
  while (limit > 0 && table_total(width) > limit) {
    std::size_t widest = cols;
    for (size_t c = 0; c < cols; ++c)
      if (width[c] > floor[c] && (widest == cols || width[c] > width[widest])) widest = c;
    if (widest == cols) break;  // nothing left to narrow
    const std::size_t excess = table_total(width) - limit;
    width[widest] = std::max(floor[widest], width[widest] - std::min(width[widest], excess));
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::vector<std::vector<std::string>> parts(cols);
    std::size_t height = 1;
    for (size_t c = 0; c < cols; ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      parts[c] = cell.size() > width[c] ? wrap(cell, width[c]) : std::vector<std::string>{cell};
      height = std::max(height, parts[c].size());
    }
    for (std::size_t h = 0; h < height; ++h) {
      std::string l;
      for (size_t c = 0; c < cols; ++c) {
        const std::string cell = h < parts[c].size() ? parts[c][h] : "";
        const bool right = c < t.right_align.size() && t.right_align[c];
        const std::string pad(width[c] - std::min(width[c], cell.size()), ' ');
        if (c) l.append("  ");
        if (right)
          l.append(pad).append(cell);
        else
          l.append(cell).append(pad);
      }
      while (!l.empty() && l.back() == ' ') l.pop_back();
      out += l + "\n";
    }
  };
  line(t.headers);
  std::vector<std::string> rule;
  for (size_t c = 0; c < cols; ++c) rule.push_back(std::string(width[c], '-'));
  line(rule);
  for (const auto& r : t.rows) line(r);
  if (!dropped.empty()) {
    std::string names;
    for (const auto& d : dropped) names += (names.empty() ? "" : ", ") + d;
    out += fit_lines("(left out to fit " + std::to_string(table_width()) + " columns: " + names +
                     "; --wide shows them)\n");
  }
  return out;
}

std::string fit_lines(const std::string& text) {
  const std::size_t limit = std::size_t(std::max(0, table_width()));
  if (limit == 0) return text;
  std::string out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    const bool newline = end != std::string::npos;
    if (!newline) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    // Table rows (cells apart by two spaces) are fitted by render_table; only prose wraps.
    const std::size_t first = line.find_first_not_of(' ');
    const bool table_row =
        first != std::string::npos && line.find("  ", first) != std::string::npos;
    if (line.size() <= limit || table_row) {
      out += line;
    } else {
      // Prose: wrapped at spaces, continuation lines indented under the first word.
      const std::vector<std::string> parts = wrap(line, limit - 2);
      for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "\n  " : "") + parts[i];
    }
    if (newline) out += '\n';
  }
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
  FileSet files;
  files.add(path, content);
  files.commit();
}

FileSet::~FileSet() {
  for (const auto& s : staged_) std::remove(s.tmp.c_str());
}

void FileSet::add(const std::string& path, const std::string& content) {
  std::error_code ec;
  // Absolute first: a relative path none of whose parts exists yet stays relative otherwise.
  std::string canonical =
      std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec).string();
  if (ec) canonical = path;
  for (const auto& s : staged_)
    if (s.canonical == canonical)
      throw InputError(path, "named for two outputs of one command (give each its own file)");
  // Created exclusively: a temporary that exists already (another spelling of a staged file the
  // check above missed) fails here instead of being overwritten.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wbx");
  if (!f) throw InputError(path, std::string("cannot write: ") + std::strerror(errno));
  const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    throw InputError(path, "write failed");
  }
  staged_.push_back({tmp, path, std::move(canonical)});
}

void FileSet::commit() {
  // A staged file fails to replace its destination where that is a directory: checked for every
  // file before any is renamed. (A rename failing after that leaves the files renamed before it.)
  for (const auto& s : staged_) {
    struct stat st {};
    if (::lstat(s.path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      throw InputError(s.path, "cannot write: is a directory");
  }
  while (!staged_.empty()) {
    const Staged s = staged_.front();
    if (std::rename(s.tmp.c_str(), s.path.c_str()) != 0) {
      const std::string why = std::strerror(errno);
      throw InputError(s.path, "cannot write: " + why);
    }
    staged_.erase(staged_.begin());
  }
}

}  // namespace llmgps::report
