#pragma once
// SVG figures: text escaping, and line charts for sweeps (estimate sweeps: time or throughput vs
// batch; dropout sweeps: speedup vs sequence length per batch). Self-contained SVG 1.1 with a
// viewBox, dark text on white, a colour-blind-safe palette (Okabe and Ito) and a marker shape per
// series, so a chart reads in grey print too.
#include <string>
#include <utility>
#include <vector>

namespace llmgps::report {

// Text for SVG/XML content and attributes (&, <, >, ").
std::string xml_escape(const std::string& s);

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in order
  std::vector<bool> hollow;  // per point (optional): drawn as an outline (e.g. does not fit)
  bool dashed = false;
};

struct LineChart {
  std::string title;     // first line: what is plotted
  std::string subtitle;  // second line: the settings it was computed for
  std::string x_label, y_label;
  bool log_x = false;  // powers of two (batches, sequence lengths)
  bool y_from_zero = true;
  std::string hollow_means;  // legend note for hollow markers ("" when none is drawn)
  std::vector<ChartSeries> series;
};

std::string svg_line_chart(const LineChart& c);

}  // namespace llmgps::report
