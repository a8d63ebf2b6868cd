#pragma once
// Plots and images written as PNG: line and scatter plots with axes, ticks, labels and a legend,
// and grids of images. No LibTorch here.

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

/// A horizontal or vertical reference line, e.g. Im omega(0).
struct RefLine {
  enum class Orientation { horizontal, vertical };
  Orientation orientation = Orientation::horizontal;
  double value = 0.0;
  std::string label;
  std::optional<Color> color;
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

/// Renders and writes `fig`; throws genphys::InputError when the file cannot be written.
void save_png(const Figure& fig, const std::string& path);

/// Writes `count` images (each channels x height x width floats, channel-major, values in
/// [-1, 1]) as one grid PNG with `cols` columns and a 2-pixel gap. channels is 1 or 3.
void save_image_grid_png(const std::vector<float>& pixels, int count, int channels, int height,
                         int width, int cols, const std::string& path);

}  // namespace genphys::plot
