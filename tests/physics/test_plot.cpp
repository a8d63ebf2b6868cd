#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "genphys/errors.hpp"
#include "genphys/plot.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

using namespace genphys;
using namespace genphys::plot;
namespace fs = std::filesystem;

namespace {

struct Image {
  int w = 0, h = 0, n = 0;
  std::vector<unsigned char> px;
  const unsigned char* at(int x, int y) const { return &px[(std::size_t(y) * w + x) * n]; }
};

Image load(const std::string& path) {
  Image im;
  unsigned char* d = stbi_load(path.c_str(), &im.w, &im.h, &im.n, 0);
  REQUIRE(d != nullptr);
  im.px.assign(d, d + std::size_t(im.w) * im.h * im.n);
  stbi_image_free(d);
  return im;
}

fs::path temp_dir() {
  auto d = fs::temp_directory_path() / ("genphys_test_plot_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

bool is_color(const unsigned char* p, int r, int g, int b, int tol = 40) {
  return std::abs(p[0] - r) <= tol && std::abs(p[1] - g) <= tol && std::abs(p[2] - b) <= tol;
}

// A one-panel figure with fixed limits [0, 10] x [0, 1].
Figure fixed_figure(int w = 500, int h = 360) {
  Figure f;
  f.width = w, f.height = h;
  Panel p;
  p.title = "test", p.xlabel = "x", p.ylabel = "y";
  p.xmin = 0.0, p.xmax = 10.0, p.ymin = 0.0, p.ymax = 1.0;
  f.panels.push_back(p);
  return f;
}

// One panel, limits from the data, one line series.
Figure data_figure(std::vector<double> x, std::vector<double> y) {
  Series s;
  s.x = std::move(x), s.y = std::move(y);
  Panel p;
  p.series.push_back(s);
  Figure f;
  f.panels.push_back(p);
  return f;
}

double px_of(const PlotArea& a, double x) {
  return a.left + (x - a.xmin) / (a.xmax - a.xmin) * (a.right - a.left);
}
double py_of(const PlotArea& a, double y) {
  return a.bottom - (y - a.ymin) / (a.ymax - a.ymin) * (a.bottom - a.top);
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A figure with a bit of everything: two panels, lines, dashes, dots, a band, a reference line.
Figure busy_figure(double phase) {
  Figure f;
  f.width = 640, f.height = 300, f.cols = 2, f.title = "busy";
  for (int i = 0; i < 2; ++i) {
    Panel p;
    p.title = "panel", p.xlabel = "x", p.ylabel = "y";
    Series a, b;
    for (int k = 0; k <= 40; ++k) {
      a.x.push_back(0.1 * k), a.y.push_back(std::sin(0.1 * k + phase + i));
      b.x.push_back(0.1 * k), b.y.push_back(std::cos(0.1 * k - phase));
    }
    a.label = "sin", b.label = "cos";
    b.style = i == 0 ? Series::Style::dashed : Series::Style::points;
    p.series = {a, b};
    p.bands.push_back({1.0, 1.5, "band", {255, 220, 200}});
    p.lines.push_back({RefLine::Orientation::horizontal, 0.0, "zero", std::nullopt});
    f.panels.push_back(p);
  }
  return f;
}

}  // namespace

TEST_CASE("nice ticks use 1-2-5 steps inside the range") {
  auto t = nice_ticks(0.0, 1.0, 5);
  REQUIRE(t.size() == 6);
  CHECK(t[0] == Approx(0.0));
  CHECK(t[1] == Approx(0.2));
  CHECK(t[5] == Approx(1.0));
  t = nice_ticks(-0.5, 10.5, 5);
  REQUIRE(t.size() == 6);
  CHECK(t.front() == Approx(0.0));
  CHECK(t.back() == Approx(10.0));
  t = nice_ticks(0.00123, 0.0171, 4);  // step 5e-3
  REQUIRE(t.size() == 3);
  CHECK(t[0] == Approx(0.005));
  CHECK(t[2] == Approx(0.015));
  CHECK(nice_ticks(3.0, 3.0, 5).size() == 1);
}

TEST_CASE("tick labels are compact") {
  CHECK(format_tick(0.5, 0.5) == "0.5");
  CHECK(format_tick(0.30000000000000004, 0.1) == "0.3");
  CHECK(format_tick(-0.30000000000000004, 0.1) == "-0.3");
  CHECK(format_tick(1e-17, 0.1) == "0");
  CHECK(format_tick(3.0, 1.0) == "3");
  CHECK(format_tick(0.25, 0.25) == "0.25");
  CHECK(format_tick(1e-3, 1e-3) == "1e-3");
  CHECK(format_tick(-2e-4, 1e-4) == "-2e-4");
  CHECK(format_tick(2.5e4, 2.5e4) == "2.5e4");
  CHECK(format_tick(15000, 5000) == "15000");
  CHECK(format_tick(1.5e6, 5e5) == "1.5e6");
  CHECK(format_tick(1e6, 5e5) == "1e6");
}


TEST_CASE("the axes of a panel: limits and labelled ticks") {
  Figure f = fixed_figure();
  const PlotArea a = plot_area(f, 0);
  CHECK(a.xmin == 0.0);
  CHECK(a.xmax == 10.0);
  CHECK(a.ymin == 0.0);
  CHECK(a.ymax == 1.0);
  CHECK(a.right - a.left > 300);
  CHECK(a.bottom - a.top > 200);
  // The ticks are nice_ticks of the limits: 1-2-5 steps that include both ends here.
  REQUIRE(a.xticks.size() >= 3);
  REQUIRE(a.yticks.size() >= 3);
  CHECK(a.xticks.front() == Approx(0.0));
  CHECK(a.xticks.back() == Approx(10.0));
  CHECK(a.yticks.front() == Approx(0.0));
  CHECK(a.yticks.back() == Approx(1.0));
  const double xs = a.xticks[1] - a.xticks[0], ys = a.yticks[1] - a.yticks[0];
  CHECK((xs == Approx(1.0) || xs == Approx(2.0) || xs == Approx(5.0)));
  CHECK((ys == Approx(0.1) || ys == Approx(0.2) || ys == Approx(0.5)));
  for (std::size_t i = 1; i < a.xticks.size(); ++i) CHECK(a.xticks[i] - a.xticks[i - 1] == Approx(xs));

  // Data limits are padded by 5% and ticks stay inside them.
  const PlotArea b = plot_area(data_figure({-3.0, 7.0}, {100.0, 300.0}), 0);
  CHECK(b.xmin == Approx(-3.5));
  CHECK(b.xmax == Approx(7.5));
  CHECK(b.ymin == Approx(90.0));
  CHECK(b.ymax == Approx(310.0));
  REQUIRE_FALSE(b.yticks.empty());
  CHECK(b.yticks.front() >= b.ymin);
  CHECK(b.yticks.back() <= b.ymax);
  CHECK(b.yticks.front() == Approx(100.0));
  CHECK(b.yticks.back() == Approx(300.0));
}

TEST_CASE("a line running past the limits is clipped to them") {
  Figure f = fixed_figure();
  const PlotArea a = plot_area(f, 0);
  Series s;
  s.x = {-5.0, 15.0};
  s.y = {0.25, 0.25};
  auto runs = visible_runs(s, a);
  REQUIRE(runs.size() == 1);
  REQUIRE(runs[0].size() == 2);
  CHECK(runs[0][0].x == 0.0);
  CHECK(runs[0][0].y == 0.25);
  CHECK(runs[0][1].x == 10.0);
  CHECK(runs[0][1].y == 0.25);

  // A diagonal leaves through the top: cut where it crosses y = 1; vertices inside are kept.
  s.x = {0.0, 5.0, 20.0};
  s.y = {0.0, 0.5, 2.0};
  runs = visible_runs(s, a);
  REQUIRE(runs.size() == 1);
  REQUIRE(runs[0].size() == 3);
  CHECK(runs[0][1].x == 5.0);
  CHECK(runs[0][2].x == Approx(10.0));
  CHECK(runs[0][2].y == Approx(1.0));

  // Out and back in: two runs; entirely outside: nothing; beyond double range: a gap.
  s.x = {1.0, 2.0, 3.0, 4.0};
  s.y = {0.5, 3.0, 3.0, 0.5};
  runs = visible_runs(s, a);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].front().x == 1.0);
  CHECK(runs[0].back().y == Approx(1.0));
  CHECK(runs[1].front().y == Approx(1.0));
  CHECK(runs[1].back().x == 4.0);
  s.y = {2.0, 3.0, 3.0, 2.0};
  CHECK(visible_runs(s, a).empty());
  s.x = {1.0, 2.0};
  s.y = {-1.7e308, 1.7e308};
  CHECK(visible_runs(s, a).empty());
}

TEST_CASE("NaN and inf break a line; points keep only what is inside") {
  Figure f = fixed_figure();
  const PlotArea a = plot_area(f, 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Series s;
  for (int i = 0; i <= 10; ++i) s.x.push_back(i), s.y.push_back(0.5);
  s.y[5] = nan;
  s.x[8] = std::numeric_limits<double>::infinity();
  auto runs = visible_runs(s, a);
  REQUIRE(runs.size() == 3);
  CHECK(runs[0].size() == 5);  // x = 0..4
  CHECK(runs[0].back().x == 4.0);
  CHECK(runs[1].size() == 2);  // x = 6, 7
  CHECK(runs[1].front().x == 6.0);
  CHECK(runs[2].size() == 2);  // x = 9, 10
  CHECK(runs[2].back().x == 10.0);

  // A finite point between gaps is a one-point run (drawn as a dot); all-NaN and empty: nothing.
  s.x = {1.0, 2.0, 3.0};
  s.y = {nan, 0.5, nan};
  runs = visible_runs(s, a);
  REQUIRE(runs.size() == 1);
  REQUIRE(runs[0].size() == 1);
  CHECK(runs[0][0].x == 2.0);
  s.y = {nan, nan, nan};
  CHECK(visible_runs(s, a).empty());
  CHECK(visible_runs(Series{}, a).empty());

  Series pts;
  pts.style = Series::Style::points;
  pts.x = {2.0, 5.0, 11.0, 8.0, nan};
  pts.y = {0.2, 0.5, 0.5, 0.8, 0.1};
  runs = visible_runs(pts, a);
  REQUIRE(runs.size() == 3);
  CHECK(runs[0][0].x == 2.0);
  CHECK(runs[1][0].y == 0.5);
  CHECK(runs[2][0].x == 8.0);

  Series bad;
  bad.x = {1.0};
  CHECK_THROWS_AS(visible_runs(bad, a), InputError);
}

TEST_CASE("a rendered plot has the figure's size, anti-aliased strokes and text") {
  auto dir = temp_dir();
  Figure f = fixed_figure();
  Series s;
  s.x = {-5.0, 15.0};
  s.y = {0.25, 0.25};
  s.color = Color{255, 0, 0};
  s.width = 3;
  f.panels[0].series.push_back(s);
  Series diag;  // above the red line, never crossing it
  diag.x = {0.0, 10.0};
  diag.y = {0.4, 1.0};
  diag.color = Color{0, 0, 255};
  f.panels[0].series.push_back(diag);
  const PlotArea a = plot_area(f, 0);
  const auto path = (dir / "line.png").string();
  save_png(f, path);
  Image im = load(path);
  REQUIRE(im.w == 500);
  REQUIRE(im.h == 360);
  REQUIRE(im.n == 3);

  // The red line lies on the predicted row, inside the plot rectangle and nowhere else.
  const int row = int(std::floor(py_of(a, 0.25)));
  for (int x = a.left + 2; x < a.right - 2; x += 7) CHECK(is_color(im.at(x, row), 255, 0, 0, 60));
  int red = 0, stray = 0;
  for (int y = 0; y < im.h; ++y)
    for (int x = 0; x < im.w; ++x) {
      const unsigned char* p = im.at(x, y);
      if (p[0] > 150 && p[1] < 120 && p[2] < 120) {
        ++red;
        if (std::abs(y - row) > 2 || x < a.left - 1 || x > a.right) ++stray;
      }
    }
  CHECK(red >= 2 * (a.right - a.left));
  CHECK(stray == 0);
  // The frame runs just outside the rectangle, one sharp pixel wide.
  const int mid = (a.top + a.bottom) / 2 + 3;
  CHECK(is_color(im.at(a.left - 1, mid), 40, 40, 40, 10));
  CHECK(is_color(im.at(a.right, mid), 40, 40, 40, 10));
  CHECK(is_color(im.at(a.left - 2, mid), 255, 255, 255, 10));
  CHECK(is_color(im.at(a.right + 1, mid), 255, 255, 255, 10));

  // The blue diagonal is anti-aliased: across it, blue fades through intermediate levels.
  std::set<int> levels;
  for (int y = a.top + 5; y < a.bottom - 5; ++y)
    for (int x = a.left + 5; x < a.right - 5; ++x) {
      const unsigned char* p = im.at(x, y);
      if (p[0] == p[1] && p[2] > p[0] && p[0] > 20 && p[0] < 235) levels.insert(p[0]);
    }
  CHECK(levels.size() >= 20);

  // Tick labels under the x axis: dark text with grey edges (a real, smoothed font).
  int dark = 0;
  std::set<int> greys;
  for (int y = a.bottom + 6; y < a.bottom + 24 && y < im.h; ++y)
    for (int x = a.left - 10; x < a.right + 10; ++x) {
      const unsigned char* p = im.at(x, y);
      if (p[0] == p[1] && p[1] == p[2]) {
        dark += p[0] < 80;
        if (p[0] > 40 && p[0] < 215) greys.insert(p[0]);
      }
    }
  CHECK(dark >= 30);
  CHECK(greys.size() >= 20);
  // Outside the rectangle the page is white, apart from text and ticks.
  CHECK(is_color(im.at(2, 2), 255, 255, 255, 0));
  CHECK(is_color(im.at(im.w - 3, im.h - 3), 255, 255, 255, 0));
  fs::remove_all(dir);
}

TEST_CASE("points style draws separate dots at the data positions") {
  auto dir = temp_dir();
  Figure f = fixed_figure();
  Series s;
  s.x = {2.0, 5.0, 8.0};
  s.y = {0.2, 0.5, 0.8};
  s.style = Series::Style::points;
  s.color = Color{0, 0, 255};
  s.width = 8;
  f.panels[0].series.push_back(s);
  const PlotArea a = plot_area(f, 0);
  const auto path = (dir / "points.png").string();
  save_png(f, path);
  Image im = load(path);

  auto blue = [&](int x, int y) {
    const unsigned char* p = im.at(x, y);
    return p[2] > 150 && p[0] < 120 && p[1] < 120;
  };
  std::vector<std::pair<double, double>> centres;
  for (std::size_t i = 0; i < 3; ++i) {
    const double cx = px_of(a, s.x[i]), cy = py_of(a, s.y[i]);
    centres.push_back({cx, cy});
    CHECK(blue(int(cx), int(cy)));
    CHECK(blue(int(cx) + 2, int(cy)));
    CHECK(blue(int(cx), int(cy) - 2));
  }
  // Nothing between the dots (not a line), and every blue pixel belongs to a dot.
  CHECK_FALSE(blue(int(px_of(a, 3.5)), int(py_of(a, 0.35))));
  int stray = 0, total = 0;
  for (int y = 0; y < im.h; ++y)
    for (int x = 0; x < im.w; ++x)
      if (blue(x, y)) {
        ++total;
        bool near = false;
        for (auto [cx, cy] : centres) near |= std::hypot(x + 0.5 - cx, y + 0.5 - cy) <= 5.0;
        stray += !near;
      }
  CHECK(stray == 0);
  CHECK(total >= 3 * 30);  // three discs of diameter 8
  fs::remove_all(dir);
}

TEST_CASE("NaN and inf in a rendered line leave gaps and do not crash") {
  auto dir = temp_dir();
  Figure f = fixed_figure();
  Series s;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int i = 0; i <= 10; ++i) s.x.push_back(i), s.y.push_back(0.5);
  s.y[5] = nan;
  s.x[8] = std::numeric_limits<double>::infinity();
  s.color = Color{255, 0, 0};
  f.panels[0].series.push_back(s);
  Series all_nan;
  all_nan.x = {nan, nan};
  all_nan.y = {1.0, nan};
  all_nan.label = "nothing";
  f.panels[0].series.push_back(all_nan);
  f.panels[0].series.push_back(Series{});  // empty
  f.panels[0].legend = false;
  const PlotArea a = plot_area(f, 0);
  const auto path = (dir / "nan.png").string();
  REQUIRE_NOTHROW(save_png(f, path));
  Image im = load(path);
  const int row = int(std::floor(py_of(a, 0.5)));
  auto red = [&](double x) {
    const unsigned char* p = im.at(int(px_of(a, x)), row);
    return p[0] > 150 && p[1] < 120 && p[2] < 120;
  };
  CHECK(red(2.5));
  CHECK(red(6.5));
  CHECK_FALSE(red(4.6));  // segments 4-5 and 5-6 are gone
  CHECK_FALSE(red(5.4));
  CHECK_FALSE(red(7.6));  // segments 7-8 and 8-9 are gone
  CHECK(red(9.5));
  fs::remove_all(dir);
}

TEST_CASE("repeated and concurrent plots do not disturb each other") {
  auto dir = temp_dir();
  const std::string a1 = (dir / "a1.png").string(), a2 = (dir / "a2.png").string();
  const std::string b1 = (dir / "b1.png").string();
  save_png(busy_figure(0.0), a1);
  save_png(busy_figure(1.0), b1);
  save_png(busy_figure(0.0), a2);
  const std::string a = bytes_of(a1), b = bytes_of(b1);
  REQUIRE(a.size() > 1000);
  CHECK(a == bytes_of(a2));
  CHECK(a != b);

  // Four threads, two figures: each output equals the one drawn alone.
  std::vector<std::thread> threads;
  std::vector<std::string> outs;
  for (int t = 0; t < 4; ++t) outs.push_back((dir / ("t" + std::to_string(t) + ".png")).string());
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep) save_png(busy_figure(t % 2 ? 1.0 : 0.0), outs[std::size_t(t)]);
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) CHECK(bytes_of(outs[std::size_t(t)]) == (t % 2 ? b : a));
  fs::remove_all(dir);
}

TEST_CASE("limits come from the data with padding; degenerate and empty data still work") {
  Figure f;
  Panel p;
  Series s;
  s.x = {0.0, 10.0};
  s.y = {3.0, 3.0};  // all equal
  p.series.push_back(s);
  f.panels.push_back(p);
  PlotArea a = plot_area(f, 0);
  CHECK(a.xmin == Approx(-0.5));
  CHECK(a.xmax == Approx(10.5));
  CHECK(a.ymin < 3.0);
  CHECK(a.ymax > 3.0);
  CHECK(std::abs((a.ymin + a.ymax) / 2 - 3.0) < 1e-12);

  f.panels[0].series.clear();
  a = plot_area(f, 0);
  CHECK(a.xmin < a.xmax);
  CHECK(a.ymin < a.ymax);

  // Data spanning the double range: finite limits, a span that does not overflow, a drawing.
  {
    const Figure wide = data_figure({-1.7e308, 1.7e308}, {3.0, 3.0});
    const PlotArea w = plot_area(wide, 0);
    CHECK(std::isfinite(w.xmax - w.xmin));
    CHECK(w.xmin < -1e307);
    CHECK(w.xmax > 1e307);
    CHECK_FALSE(w.xticks.empty());
    auto dir = temp_dir();
    CHECK_NOTHROW(save_png(wide, (dir / "wide.png").string()));
    fs::remove_all(dir);
  }

  // Only ymin fixed: the top still comes from the data.
  f.panels[0].series.push_back(s);
  f.panels[0].ymin = 0.0;
  a = plot_area(f, 0);
  CHECK(a.ymin == 0.0);
  CHECK(a.ymax > 3.0);
  CHECK(a.ymax < 4.0);
}

TEST_CASE("equal_aspect gives the same data scale on both axes") {
  Figure f;
  f.width = 700, f.height = 400;
  Panel p;
  Series s;
  s.x = {-1.0, 1.0};
  s.y = {-3.0, 3.0};
  s.style = Series::Style::points;
  p.series.push_back(s);
  p.equal_aspect = true;
  f.panels.push_back(p);
  const PlotArea a = plot_area(f, 0);
  const double ux = (a.xmax - a.xmin) / (a.right - a.left);
  const double uy = (a.ymax - a.ymin) / (a.bottom - a.top);
  CHECK(ux == Approx(uy).epsilon(1e-9));
  CHECK(a.ymin <= -3.0);
  CHECK(a.ymax >= 3.0);
  CHECK(a.xmin <= -1.0);
}

TEST_CASE("a band shades exactly its x interval") {
  auto dir = temp_dir();
  Figure f = fixed_figure();
  Band b;
  b.from = 2.0, b.to = 4.0, b.color = {90, 200, 250}, b.label = "band";
  f.panels[0].bands.push_back(b);
  f.panels[0].legend = false;
  const PlotArea a = plot_area(f, 0);
  const auto path = (dir / "band.png").string();
  save_png(f, path);
  Image im = load(path);

  const int row = (a.top + a.bottom) / 2 + 3;  // off the horizontal grid lines
  int shaded = 0, first = -1, last = -1;
  for (int x = 0; x < im.w; ++x)
    if (is_color(im.at(x, row), 90, 200, 250, 6)) {
      ++shaded;
      if (first < 0) first = x;
      last = x;
    }
  const double x2 = px_of(a, 2.0), x4 = px_of(a, 4.0);
  CHECK(std::abs(first - x2) <= 1.0);
  CHECK(std::abs(last + 1 - x4) <= 1.0);
  CHECK(shaded >= int(x4 - x2) - 1);
  CHECK(shaded == last - first + 1);  // contiguous
  // It covers the full height of the rectangle, and nothing above or below.
  const int xm = int(px_of(a, 3.0)) + 2;
  CHECK(is_color(im.at(xm, a.top + 1), 90, 200, 250, 6));
  CHECK(is_color(im.at(xm, a.bottom - 2), 90, 200, 250, 6));
  CHECK_FALSE(is_color(im.at(xm, a.top - 3), 90, 200, 250, 30));
  CHECK_FALSE(is_color(im.at(xm, a.bottom + 3), 90, 200, 250, 30));
  fs::remove_all(dir);
}

TEST_CASE("image size equals the figure size; panels tile a rows x cols grid") {
  auto dir = temp_dir();
  Figure f;
  f.width = 517, f.height = 333, f.rows = 2, f.cols = 2, f.title = "grid";
  for (int i = 0; i < 3; ++i) {
    Panel p;
    Series s;
    s.x = {0.0, 1.0, 2.0};
    s.y = {0.0, double(i), 1.0};
    s.style = i == 1 ? Series::Style::dashed : Series::Style::line;
    s.label = "s";
    p.series.push_back(s);
    RefLine l;
    l.value = 0.5;
    l.label = "ref";
    p.lines.push_back(l);
    f.panels.push_back(p);
  }
  const auto path = (dir / "size.png").string();
  save_png(f, path);
  Image im = load(path);
  CHECK(im.w == 517);
  CHECK(im.h == 333);
  CHECK(im.n == 3);
  const PlotArea a0 = plot_area(f, 0), a1 = plot_area(f, 1), a2 = plot_area(f, 2);
  CHECK(a0.right <= 517 / 2);
  CHECK(a1.left >= 517 / 2);
  CHECK(a2.top > a0.bottom);
  CHECK(a0.top > 0);  // below the figure title
  // The unused fourth slot stays white.
  CHECK(is_color(im.at(3 * 517 / 4, 3 * 333 / 4), 255, 255, 255, 0));
  fs::remove_all(dir);
}

TEST_CASE("cramped panels with a single tick still draw") {
  auto dir = temp_dir();
  Figure f;
  f.width = 517, f.height = 333, f.rows = 2, f.cols = 2;
  for (int i = 0; i < 3; ++i) {
    Panel p;
    p.title = "a rather long panel title that needs wrapping", p.xlabel = "x", p.ylabel = "y";
    Series s;
    for (int k = 0; k < 50; ++k) s.x.push_back(k * 1e-4), s.y.push_back(std::sin(k * 0.2) * 1e4 * (i + 1));
    p.series.push_back(s);
    f.panels.push_back(p);
  }
  const PlotArea a = plot_area(f, 2);
  CHECK(a.yticks.size() == 1);  // only 0 fits: the tick spacing still comes from the range
  const auto path = (dir / "cramped.png").string();
  REQUIRE_NOTHROW(save_png(f, path));
  Image im = load(path);
  CHECK(im.w == 517);
  CHECK(im.h == 333);
  fs::remove_all(dir);
}

TEST_CASE("bad figures throw InputError") {
  Figure f = fixed_figure();
  Series bad;
  bad.x = {1.0, 2.0};
  bad.y = {1.0};
  f.panels[0].series.push_back(bad);
  CHECK_THROWS_AS(plot_area(f, 0), InputError);
  f = fixed_figure();
  f.panels[0].xmin = 5.0, f.panels[0].xmax = 5.0;
  CHECK_THROWS_AS(plot_area(f, 0), InputError);
  f = fixed_figure();
  f.rows = 1, f.cols = 1;
  f.panels.push_back(f.panels[0]);  // 2 panels, 1 slot
  CHECK_THROWS_AS(save_png(f, "unused.png"), InputError);
  f = fixed_figure(0, 100);
  CHECK_THROWS_AS(save_png(f, "unused.png"), InputError);
  CHECK_FALSE(fs::exists("unused.png"));
  CHECK_THROWS_AS(plot_area(fixed_figure(), 1), InputError);
}

TEST_CASE("unwritable paths throw InputError and leave no file") {
  auto dir = temp_dir();
  Figure f = fixed_figure();
  const std::string missing = (dir / "no-such-dir" / "x.png").string();
  try {
    save_png(f, missing);
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).rfind("cannot write " + missing + ": ", 0) == 0);
  }
  CHECK_FALSE(fs::exists(missing));
  CHECK_FALSE(fs::exists(missing + ".tmp"));

  // A directory in the way: the temporary file is written, the rename fails and is cleaned up.
  const auto blocker = dir / "blocker";
  fs::create_directories(blocker / "inner");
  CHECK_THROWS_AS(save_png(f, blocker.string()), InputError);
  CHECK(fs::is_directory(blocker));
  CHECK_FALSE(fs::exists(blocker.string() + ".tmp"));
  CHECK_THROWS_AS(save_image_grid_png({0.f}, 1, 1, 1, 1, 1, missing), InputError);
  CHECK_FALSE(fs::exists(missing));

  // Overwriting an existing file works and leaves no temporary behind.
  const auto ok = (dir / "ok.png").string();
  save_png(f, ok);
  save_png(f, ok);
  CHECK(fs::exists(ok));
  CHECK_FALSE(fs::exists(ok + ".tmp"));
  fs::remove_all(dir);
}

TEST_CASE("image grid maps [-1, 1] to 0..255 in a cols-wide grid with 2-pixel gaps") {
  auto dir = temp_dir();
  const int h = 4, w = 5;
  std::vector<float> px;
  for (float v : {-1.f, 0.f, 1.f}) px.insert(px.end(), std::size_t(h * w), v);
  const auto path = (dir / "grid.png").string();
  save_image_grid_png(px, 3, 1, h, w, 2, path);
  Image im = load(path);
  REQUIRE(im.w == 2 * w + 2);
  REQUIRE(im.h == 2 * h + 2);
  REQUIRE(im.n == 1);
  CHECK(int(*im.at(0, 0)) == 0);
  CHECK(int(*im.at(w - 1, h - 1)) == 0);
  CHECK(int(*im.at(w + 2, 0)) == 128);
  CHECK(int(*im.at(2 * w + 1, h - 1)) == 128);
  CHECK(int(*im.at(0, h + 2)) == 255);
  CHECK(int(*im.at(w - 1, 2 * h + 1)) == 255);
  CHECK(int(*im.at(w, 0)) == 255);  // gap
  CHECK(int(*im.at(0, h)) == 255);  // gap

  // Three channels, clamped: a red image (values beyond [-1, 1]) and a grey one, in one row.
  std::vector<float> rgb;
  for (int c = 0; c < 3; ++c) rgb.insert(rgb.end(), std::size_t(h * w), c == 0 ? 3.f : -7.f);
  rgb.insert(rgb.end(), std::size_t(3 * h * w), 0.5f);
  save_image_grid_png(rgb, 2, 3, h, w, 4, path);  // cols > count: one row of 2
  im = load(path);
  REQUIRE(im.w == 2 * w + 2);
  REQUIRE(im.h == h);
  REQUIRE(im.n == 3);
  CHECK(is_color(im.at(1, 1), 255, 0, 0, 0));
  CHECK(is_color(im.at(w + 3, 2), 191, 191, 191, 0));

  CHECK_THROWS_AS(save_image_grid_png(px, 3, 1, h, w + 1, 2, path), InputError);  // wrong count
  CHECK_THROWS_AS(save_image_grid_png(px, 1, 2, h, w, 2, path), InputError);      // channels 2
  CHECK_THROWS_AS(save_image_grid_png(px, 3, 1, h, w, 0, path), InputError);      // cols 0
  CHECK_THROWS_AS(save_image_grid_png({}, 0, 1, h, w, 1, path), InputError);      // no images
  fs::remove_all(dir);
}
