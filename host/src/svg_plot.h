// Line charts as SVG, written by hand (no plotting dependency): one panel per metric, x = step.
#pragma once

#include <string>
#include <vector>

namespace trl::host {

/// One metric's curve: points (step, value) in step order. A NaN value is a gap in the line.
struct PlotSeries {
  std::string name;             ///< the metric name: the panel's title and y-axis label
  std::vector<double> steps;    ///< x values (global steps)
  std::vector<double> values;   ///< y values, same length as steps
};

/// About `target` round tick values ("nice numbers": 1, 2 or 5 times a power of ten) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target);

/// A complete SVG document: `title` on top, then the panels in a grid of up to two columns. Each panel is
/// a <g class="panel"> holding a title, both axes (<line class="axis">), tick marks with labels
/// (<text class="tick-label">), the axis labels "step" and the metric name (<text class="axis-label">),
/// and the curve: one <polyline class="series"> per unbroken run plus one <circle class="point"> per
/// finite value, so a reader can count the logged points.
std::string render_svg_plot(const std::vector<PlotSeries>& panels, const std::string& title);

}  // namespace trl::host
