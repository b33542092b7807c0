// SVG line charts (see svg_plot.h). Coordinates are in SVG user units (px); y grows downwards.
#include "svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace trl::host {
namespace {

constexpr double kPanelWidth = 460, kPanelHeight = 280, kTitleHeight = 40;
// Plot area inside a panel: room on the left for tick labels, below for the x labels.
constexpr double kLeft = 78, kRight = 18, kTop = 34, kBottom = 48;
constexpr int kColumns = 2;
const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"};

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", value);
  return text;
}

// A tick label short enough for the axis: 4 significant digits, -0 as 0.
std::string tick_label(double value, double spacing) {
  if (std::fabs(value) < spacing * 1e-9) value = 0.0;
  char text[32];
  std::snprintf(text, sizeof(text), "%.4g", value);
  return text;
}

void render_panel(std::ostringstream& svg, const PlotSeries& series, double x0, double y0, const char* color) {
  double min_x = HUGE_VAL, max_x = -HUGE_VAL, min_y = HUGE_VAL, max_y = -HUGE_VAL;
  for (size_t i = 0; i < series.steps.size(); ++i) {
    if (!std::isfinite(series.values[i])) continue;
    min_x = std::min(min_x, series.steps[i]);
    max_x = std::max(max_x, series.steps[i]);
    min_y = std::min(min_y, series.values[i]);
    max_y = std::max(max_y, series.values[i]);
  }
  if (min_x > max_x) min_x = 0, max_x = 1, min_y = 0, max_y = 1;  // nothing finite: empty axes
  if (max_x - min_x <= 0) min_x -= 1, max_x += 1;
  if (max_y - min_y <= 0) {
    const double pad = std::fabs(min_y) > 0 ? std::fabs(min_y) * 0.05 : 1.0;
    min_y -= pad, max_y += pad;
  }
  const std::vector<double> x_ticks = nice_ticks(min_x, max_x, 6), y_ticks = nice_ticks(min_y, max_y, 5);
  // The axes span the ticks, so the first and last labels sit on the ends.
  const double lo_x = std::min(min_x, x_ticks.front()), hi_x = std::max(max_x, x_ticks.back());
  const double lo_y = std::min(min_y, y_ticks.front()), hi_y = std::max(max_y, y_ticks.back());
  const double left = x0 + kLeft, right = x0 + kPanelWidth - kRight;
  const double top = y0 + kTop, bottom = y0 + kPanelHeight - kBottom;
  auto px = [&](double x) { return left + (x - lo_x) / (hi_x - lo_x) * (right - left); };
  auto py = [&](double y) { return bottom - (y - lo_y) / (hi_y - lo_y) * (bottom - top); };

  const std::string name = escape_xml(series.name);
  svg << "<g class=\"panel\" data-metric=\"" << name << "\">\n";
  svg << "<text class=\"panel-title\" x=\"" << number((left + right) / 2) << "\" y=\"" << number(y0 + 22)
      << "\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" << name << "</text>\n";
  for (double t : x_ticks) {
    const std::string x = number(px(t));
    svg << "<line class=\"grid\" x1=\"" << x << "\" y1=\"" << number(top) << "\" x2=\"" << x << "\" y2=\""
        << number(bottom) << "\" stroke=\"#e5e5e5\"/>\n";
    svg << "<line class=\"tick\" x1=\"" << x << "\" y1=\"" << number(bottom) << "\" x2=\"" << x << "\" y2=\""
        << number(bottom + 5) << "\" stroke=\"#333\"/>\n";
    svg << "<text class=\"tick-label\" x=\"" << x << "\" y=\"" << number(bottom + 18)
        << "\" text-anchor=\"middle\" font-size=\"11\">" << tick_label(t, x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1)
        << "</text>\n";
  }
  for (double t : y_ticks) {
    const std::string y = number(py(t));
    svg << "<line class=\"grid\" x1=\"" << number(left) << "\" y1=\"" << y << "\" x2=\"" << number(right)
        << "\" y2=\"" << y << "\" stroke=\"#e5e5e5\"/>\n";
    svg << "<line class=\"tick\" x1=\"" << number(left - 5) << "\" y1=\"" << y << "\" x2=\"" << number(left)
        << "\" y2=\"" << y << "\" stroke=\"#333\"/>\n";
    svg << "<text class=\"tick-label\" x=\"" << number(left - 8) << "\" y=\"" << number(py(t) + 4)
        << "\" text-anchor=\"end\" font-size=\"11\">" << tick_label(t, y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1)
        << "</text>\n";
  }
  svg << "<line class=\"axis\" x1=\"" << number(left) << "\" y1=\"" << number(bottom) << "\" x2=\"" << number(right)
      << "\" y2=\"" << number(bottom) << "\" stroke=\"#333\"/>\n";
  svg << "<line class=\"axis\" x1=\"" << number(left) << "\" y1=\"" << number(top) << "\" x2=\"" << number(left)
      << "\" y2=\"" << number(bottom) << "\" stroke=\"#333\"/>\n";
  svg << "<text class=\"axis-label\" x=\"" << number((left + right) / 2) << "\" y=\"" << number(bottom + 38)
      << "\" text-anchor=\"middle\" font-size=\"12\">step</text>\n";
  const std::string label_y = number((top + bottom) / 2), label_x = number(x0 + 16);
  svg << "<text class=\"axis-label\" x=\"" << label_x << "\" y=\"" << label_y << "\" text-anchor=\"middle\" "
      << "font-size=\"12\" transform=\"rotate(-90 " << label_x << " " << label_y << ")\">" << name << "</text>\n";

  // The curve: a polyline per run of finite values (a NaN breaks the line), a dot per value.
  std::string points;
  auto flush = [&] {
    if (!points.empty())
      svg << "<polyline class=\"series\" fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.8\" points=\""
          << points << "\"/>\n";
    points.clear();
  };
  for (size_t i = 0; i < series.steps.size(); ++i) {
    if (!std::isfinite(series.values[i])) {
      flush();
      continue;
    }
    if (!points.empty()) points += ' ';
    points += number(px(series.steps[i])) + "," + number(py(series.values[i]));
  }
  flush();
  for (size_t i = 0; i < series.steps.size(); ++i) {
    if (!std::isfinite(series.values[i])) continue;
    svg << "<circle class=\"point\" cx=\"" << number(px(series.steps[i])) << "\" cy=\"" << number(py(series.values[i]))
        << "\" r=\"2.2\" fill=\"" << color << "\"><title>step " << tick_label(series.steps[i], 1) << ": "
        << tick_label(series.values[i], 0) << "</title></circle>\n";
  }
  svg << "</g>\n";
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo) || target < 1) return {lo};
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double spacing = magnitude;
  for (double factor : {1.0, 2.0, 5.0, 10.0}) {
    spacing = factor * magnitude;
    if (spacing >= raw) break;
  }
  std::vector<double> ticks;
  const double first = std::floor(lo / spacing) * spacing;
  for (double t = first; t <= hi + spacing * 0.5 && ticks.size() < 50; t += spacing) {
    ticks.push_back(t);
    if (t >= hi) break;
  }
  return ticks;
}

std::string render_svg_plot(const std::vector<PlotSeries>& panels, const std::string& title) {
  const size_t columns = std::min<size_t>(kColumns, std::max<size_t>(panels.size(), 1));
  const size_t rows = (panels.size() + columns - 1) / columns;
  const double width = columns * kPanelWidth, height = kTitleHeight + rows * kPanelHeight;
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << number(width) << "\" height=\"" << number(height)
      << "\" viewBox=\"0 0 " << number(width) << " " << number(height) << "\" font-family=\"sans-serif\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text class=\"title\" x=\"" << number(width / 2) << "\" y=\"26\" text-anchor=\"middle\" font-size=\"18\">"
      << escape_xml(title) << "</text>\n";
  for (size_t i = 0; i < panels.size(); ++i) {
    const double x0 = static_cast<double>(i % columns) * kPanelWidth;
    const double y0 = kTitleHeight + static_cast<double>(i / columns) * kPanelHeight;
    render_panel(svg, panels[i], x0, y0, kColors[i % (sizeof(kColors) / sizeof(kColors[0]))]);
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace trl::host
