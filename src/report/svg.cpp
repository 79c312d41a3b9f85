#include "llmgps/report/svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace llmgps::report {

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

namespace {

// Okabe-Ito colours (distinct under the common colour-vision deficiencies), darkest first.
const char* const kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                "#E69F00", "#56B4E9", "#000000", "#F0E442"};

// About `count` round tick values covering [lo, hi].
std::vector<double> linear_ticks(double lo, double hi, int count) {
  double span = hi - lo;
  if (!(span > 1e-9 * std::max(std::fabs(lo), std::fabs(hi)))) span = std::max(1.0, std::fabs(hi));
  const double raw = span / count;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  // By an integer index, so a step below the values' resolution cannot stall the loop.
  std::vector<double> ticks;
  const double first = std::ceil(lo / step);
  for (int k = 0; k <= 50; ++k) {
    const double v = (first + k) * step;
    if (v > hi + step * 1e-9) break;
    ticks.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  }
  return ticks;
}

std::string tick_label(double v) {
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a >= 1e9) return fmt::format("{:g}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:g}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:g}k", v / 1e3);
  return fmt::format("{:g}", v);
}

// A marker of shape `k` centred at (x, y); hollow: white inside a coloured outline.
std::string marker(int k, double x, double y, const char* color, bool hollow = false) {
  const std::string paint =
      hollow ? fmt::format("fill=\"white\" stroke=\"{}\" stroke-width=\"1.5\"", color)
             : fmt::format("fill=\"{}\"", color);
  switch (k % 4) {
    case 0:
      return fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" {}/>", x, y, paint);
    case 1:
      return fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"7\" height=\"7\" {}/>", x - 3.5,
                         y - 3.5, paint);
    case 2:
      return fmt::format("<path d=\"M{:.1f},{:.1f} l4,7 h-8 z\" {}/>", x, y - 4.5, paint);
    default:
      return fmt::format("<path d=\"M{:.1f},{:.1f} l4,4 l-4,4 l-4,-4 z\" {}/>", x, y - 4, paint);
  }
}

}  // namespace

std::string svg_line_chart(const LineChart& c) {
  const int plot_w = 470, plot_h = 300, left = 78, top = 64;
  const int legend_x = left + plot_w + 24;
  std::size_t longest = 0;
  for (const auto& ser : c.series) longest = std::max(longest, ser.name.size());
  // About 7 px per character of 12 px sans-serif, plus the legend's line sample.
  const int width = std::max(760, legend_x + 40 + int(longest) * 7);
  const int height = std::max(top + plot_h + 56, top + 24 * int(c.series.size()) + 64);
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const auto& s : c.series)
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y) || (c.log_x && x <= 0)) continue;
      x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, y), y_hi = std::max(y_hi, y);
    }
  if (!std::isfinite(x_lo)) x_lo = 1, x_hi = 2, y_lo = 0, y_hi = 1;
  if (c.y_from_zero) y_lo = std::min(0.0, y_lo);
  // A flat series (all values within rounding): a unit-wide band around it.
  if (!(y_hi - y_lo > 1e-9 * std::max(std::fabs(y_lo), std::fabs(y_hi)))) y_lo -= 0.5, y_hi += 0.5;
  const double pad = (y_hi - y_lo) * 0.05;
  y_hi += pad;
  if (!c.y_from_zero) y_lo -= pad;
  auto fx = [&](double x) {
    if (c.log_x) {
      const double a = std::log2(x_lo), b = std::log2(x_hi);
      return left + (b > a ? (std::log2(x) - a) / (b - a) : 0.5) * plot_w;
    }
    return left + (x_hi > x_lo ? (x - x_lo) / (x_hi - x_lo) : 0.5) * plot_w;
  };
  auto fy = [&](double y) { return top + plot_h - (y - y_lo) / (y_hi - y_lo) * plot_h; };

  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#222\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
      width, height);
  s += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
                   left, xml_escape(c.title));
  s += fmt::format("<text x=\"{}\" y=\"42\" font-size=\"11\" fill=\"#444\">{}</text>\n", left,
                   xml_escape(c.subtitle));
  // Axes, grid and ticks.
  std::vector<double> xt;
  if (c.log_x) {
    for (int e = int(std::floor(std::log2(x_lo))), k = 0; k < 64; ++e, ++k) {
      const double v = std::exp2(e);
      if (v > x_hi * (1 + 1e-9)) break;
      if (v >= x_lo * (1 - 1e-9)) xt.push_back(v);
    }
  } else {
    xt = linear_ticks(x_lo, x_hi, 6);
  }
  for (double v : xt)
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#e6e6e6\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        fx(v), top, top + plot_h, top + plot_h + 16, tick_label(v));
  for (double v : linear_ticks(y_lo, y_hi, 5))
    if (v >= y_lo && v <= y_hi)
      s += fmt::format(
          "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#e6e6e6\"/>"
          "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
          left, fy(v), left + plot_w, left - 6, fy(v) + 4, tick_label(v));
  s += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", left,
      top, plot_w, plot_h);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", left + plot_w / 2,
                   top + plot_h + 36, xml_escape(c.x_label));
  s += fmt::format(
      "<text x=\"18\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 18 "
      "{0})\">{1}</text>\n",
      top + plot_h / 2, xml_escape(c.y_label));
  // Series and legend.
  for (std::size_t i = 0; i < c.series.size(); ++i) {
    const auto& ser = c.series[i];
    const char* color = kPalette[i % (sizeof kPalette / sizeof *kPalette)];
    std::string path;
    std::string marks;
    for (std::size_t k = 0; k < ser.points.size(); ++k) {
      const auto [x, y] = ser.points[k];
      if (!std::isfinite(x) || !std::isfinite(y) || (c.log_x && x <= 0)) continue;
      path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "M" : " L", fx(x), fy(y));
      marks += marker(int(i), fx(x), fy(y), color, k < ser.hollow.size() && ser.hollow[k]);
    }
    const char* dash = ser.dashed ? " stroke-dasharray=\"6 4\"" : "";
    s += fmt::format(
        "<g><title>{}</title><path d=\"{}\" fill=\"none\" stroke=\"{}\" "
        "stroke-width=\"2\"{}/>{}</g>\n",
        xml_escape(ser.name), path, color, dash, marks);
    const int ly = top + 8 + 22 * int(i);
    s += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" "
        "stroke-width=\"2\"{}/>{}<text x=\"{}\" y=\"{}\">{}</text>\n",
        legend_x, ly, legend_x + 24, ly, color, dash, marker(int(i), legend_x + 12, ly, color),
        legend_x + 30, ly + 4, xml_escape(ser.name));
  }
  if (!c.hollow_means.empty()) {
    const int ly = top + 8 + 22 * int(c.series.size()) + 6;
    s += fmt::format("{}<text x=\"{}\" y=\"{}\">{}</text>\n",
                     marker(0, legend_x + 12, ly, "#444", true), legend_x + 30, ly + 4,
                     xml_escape(c.hollow_means));
  }
  s += "</svg>\n";
  return s;
}

}  // namespace llmgps::report
