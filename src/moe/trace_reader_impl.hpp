#pragma once
// Template part of trace_reader.hpp.
#include <cstring>

namespace llmgps::moe::detail {

inline bool blank_line(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return false;
  return true;
}

template <typename F>
void for_each_line(const char* data, std::size_t size, std::int64_t first_line, F&& fn) {
  std::size_t at = 0;
  std::int64_t line = first_line - 1;
  while (at < size) {
    ++line;
    const char* start = data + at;
    const void* nl = std::memchr(start, '\n', size - at);
    const std::size_t len = nl ? std::size_t(static_cast<const char*>(nl) - start) : size - at;
    if (!blank_line(start, len)) fn(start, len, line);
    at += len + 1;
  }
}

}  // namespace llmgps::moe::detail
