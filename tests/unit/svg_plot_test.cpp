// SVG plots: nice tick values, and a document whose panels, axis labels and points a reader can count.
#include <cmath>
#include <limits>
#include <regex>

#include <gtest/gtest.h>

#include "svg_plot.h"

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(NiceTicks, AreRoundAndCoverTheRange) {
  EXPECT_EQ(trl::host::nice_ticks(0, 100, 5), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(trl::host::nice_ticks(1, 120, 6), (std::vector<double>{0, 20, 40, 60, 80, 100, 120}));
  const std::vector<double> small = trl::host::nice_ticks(0.62, 0.70, 5);
  EXPECT_LE(small.front(), 0.62);
  EXPECT_GE(small.back(), 0.70 - 1e-12);
  EXPECT_NEAR(small[1] - small[0], 0.02, 1e-12);
}

TEST(SvgPlot, OnePanelPerSeriesWithLabelsAndEveryFinitePoint) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<trl::host::PlotSeries> panels = {{"loss", {1, 2, 3, 4}, {0.69, 0.6, 0.5, 0.45}},
                                                     {"rewards/accuracies", {1, 2, 3}, {0.5, nan, 0.75}},
                                                     {"a<b", {5}, {1.0}}};
  const std::string svg = trl::host::render_svg_plot(panels, "run: training curves");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_EQ(count(svg, "<g class=\"panel\""), 3u);
  EXPECT_EQ(count(svg, "<circle class=\"point\""), 4u + 2u + 1u);  // the NaN is a gap, not a point
  EXPECT_EQ(count(svg, "<polyline class=\"series\""), 1u + 2u + 1u);
  EXPECT_EQ(count(svg, ">step</text>"), 3u);
  EXPECT_NE(svg.find(">rewards/accuracies</text>"), std::string::npos);
  EXPECT_NE(svg.find(">a&lt;b</text>"), std::string::npos);  // escaped
  EXPECT_NE(svg.find("run: training curves"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

}  // namespace
