#pragma once
// Plots and images written as PNG: line and scatter plots with axes, ticks, labels and a legend
// (drawn by PLplot's cairo driver: anti-aliased, real fonts), and grids of images. No LibTorch here.

#include <optional>
#include <string>
#include <vector>

namespace genphys::plot {

struct Color {
  unsigned char r, g, b;
};

/// A qualitative palette; series without an explicit colour take palette(i) in order.
Color palette(int index);

struct Series {
  enum class Style { line, dashed, points };
  std::string label;  ///< shown in the legend; empty: not listed
  std::vector<double> x, y;
  Style style = Style::line;
  std::optional<Color> color;
  double width = 2.0;  ///< line width or point diameter, pixels
};

struct Point {
  double x, y;
};

/// A horizontal or vertical reference line, e.g. Im omega(0).
struct RefLine {
  enum class Orientation { horizontal, vertical };
  Orientation orientation = Orientation::horizontal;
  double value = 0.0;
  std::string label;
  std::optional<Color> color;  ///< unset: dark grey
};

/// A shaded x-interval, e.g. the k-range where C2 fails.
struct Band {
  double from = 0.0, to = 0.0;
  std::string label;
  Color color{255, 220, 200};
};

struct Panel {
  std::string title, xlabel, ylabel;
  std::vector<Series> series;
  std::vector<RefLine> lines;
  std::vector<Band> bands;
  std::optional<double> xmin, xmax, ymin, ymax;  ///< unset: from the data, padded
  bool legend = true;
  bool equal_aspect = false;  ///< same scale on both axes (scatter plots of 2D data)
};

/// A figure of rows x cols panels, saved as an RGB PNG.
struct Figure {
  int width = 900, height = 600;
  int rows = 1, cols = 1;
  std::string title;
  std::vector<Panel> panels;  ///< row-major; missing panels are left blank
};

/// Where panel `index` of `fig` draws its data: the plot rectangle in pixels (pixel (i, j) covers
/// [i, i+1) x [j, j+1); data fill columns [left, right) and rows [top, bottom)) and the axis
/// limits in use after padding and equal_aspect. A data point (x, y) lands at
///   px = left + (x - xmin) / (xmax - xmin) * (right - left),
///   py = bottom - (y - ymin) / (ymax - ymin) * (bottom - top).
/// xticks and yticks are the labelled tick values: nice_ticks of the limits, labelled by
/// format_tick with the 1-2-5 step they were chosen with.
struct PlotArea {
  int left = 0, top = 0, right = 0, bottom = 0;
  double xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  std::vector<double> xticks, yticks;
};
PlotArea plot_area(const Figure& fig, int index);

/// What series `s` draws inside the limits of `area`, in data coordinates. A line is cut at every
/// point whose x or y is not finite and clipped to [xmin, xmax] x [ymin, ymax]: each run is a
/// polyline, and a run of one point (a finite point between gaps) shows as a dot of the line's
/// width. A points series gives one single-point run per point inside the limits.
std::vector<std::vector<Point>> visible_runs(const Series& s, const PlotArea& area);

/// Tick values in [lo, hi] with a 1-2-5 step, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target);

/// A compact tick label for `value` on an axis with tick spacing `step`: "0.5", "1e-3", "2.5e4".
std::string format_tick(double value, double step);

/// Renders and writes `fig`; throws genphys::InputError for an invalid figure (x/y lengths
/// differ, min >= max, more panels than slots, too small) or when the file cannot be written.
void save_png(const Figure& fig, const std::string& path);

/// Writes `count` images (each channels x height x width floats, channel-major, values in
/// [-1, 1]) as one grid PNG with `cols` columns and a 2-pixel gap. channels is 1 or 3.
void save_image_grid_png(const std::vector<float>& pixels, int count, int channels, int height,
                         int width, int cols, const std::string& path);

}  // namespace genphys::plot
