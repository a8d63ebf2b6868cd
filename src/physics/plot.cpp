// Line and scatter plots drawn by PLplot: its memcairo device renders the figure with cairo
// (anti-aliased strokes and fills) and Pango (real fonts) into an RGB buffer in memory, which is
// encoded as PNG and written through write_file_atomic. Image grids are plain pixel copies.
//
// PLplot keeps global state and is not thread-safe: every figure is drawn under one mutex, in a
// stream of its own (plmkstrm) that is ended (plend1) before the lock is released, also when a
// call throws.

#include "genphys/plot.hpp"

#include <fmt/format.h>
#include <plplot.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <tuple>

#include "genphys/errors.hpp"
#include "genphys/io.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace genphys::plot {

Color palette(int index) {
  // Tableau 10: distinguishable, readable on white.
  static const Color colors[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                                 {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
                                 {188, 189, 34},  {23, 190, 207}};
  const int n = 10;
  return colors[((index % n) + n) % n];
}

namespace {

constexpr Color kText{25, 25, 25};
constexpr Color kFrame{40, 40, 40};
constexpr Color kGrid{225, 225, 225};
constexpr Color kRefLine{60, 60, 60};
// Text sizes are PLplot character heights (about the height of a capital) in pixels.
constexpr double kTextPx = 10;  // ticks, axis labels, legend
constexpr double kPanelTitlePx = 11;
constexpr double kFigTitlePx = 14;
constexpr double kTickPx = 5;
// The cairo devices work at 72 dpi: PLplot's millimetres (character heights, tick lengths, dash
// patterns in micrometres) become pixels through this.
constexpr double kMmPerPx = 25.4 / 72;

// Width of `s` at character height `px` (the sans font's digits are 0.8 px wide, most letters
// less), from above: the margins are laid out before anything is drawn.
double text_width(const std::string& s, double px) {
  std::size_t glyphs = 0;
  for (unsigned char c : s) glyphs += (c & 0xC0) != 0x80;  // UTF-8 lead bytes
  return 0.8 * px * double(glyphs);
}

// Greedy word wrap of `s` into lines at most `avail` pixels wide (a single long word may exceed).
std::vector<std::string> wrap(const std::string& s, double px, double avail) {
  std::vector<std::string> lines;
  std::string line, word;
  auto add = [&] {
    if (word.empty()) return;
    const std::string joined = line.empty() ? word : line + " " + word;
    if (!line.empty() && text_width(joined, px) > avail) lines.push_back(line), line = word;
    else line = joined;
    word.clear();
  };
  for (char c : s) {
    if (c == ' ') add();
    else word += c;
  }
  add();
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// A title: one or two lines at `px`, else one line shrunk to fit (not below 8 pixels).
struct TitleLines {
  std::vector<std::string> lines;
  double px = 0;
  double height() const { return lines.empty() ? 0 : (1.6 * double(lines.size()) - 0.6) * px; }
};
TitleLines title_lines(const std::string& title, double px, double avail) {
  TitleLines t;
  if (title.empty()) return t;
  t.px = px, t.lines = wrap(title, px, avail);
  if (t.lines.size() > 2) t.lines = {title}, t.px = std::max(8.0, px * avail / text_width(title, px));
  return t;
}

int decimals_for(double step) {
  int d = -int(std::floor(std::log10(step) + 1e-9));
  while (d < 15) {
    const double v = step * std::pow(10.0, d);
    if (std::abs(v - std::round(v)) <= 1e-6 * std::max(1.0, v)) break;
    ++d;
  }
  return d;
}

struct Limits {
  double xmin, xmax, ymin, ymax;
};

void check_finite(const std::optional<double>& v, const char* name, int index) {
  if (v && !std::isfinite(*v))
    throw InputError(fmt::format("panel {}: {} must be finite", index, name));
}

// Axis range from data (padded 5%) unless fixed; degenerate ranges are widened.
void axis_range(double dlo, double dhi, const std::optional<double>& fmin,
                const std::optional<double>& fmax, double& lo, double& hi) {
  if (!(dlo <= dhi)) dlo = 0, dhi = 1;  // no data
  double pad = 0.05 * (dhi - dlo);
  if (pad == 0 || !std::isfinite(pad)) pad = dlo != 0 ? 0.1 * std::abs(dlo) : 1.0;
  lo = fmin ? *fmin : dlo - pad;
  hi = fmax ? *fmax : dhi + pad;
  if (!(lo < hi)) {
    const double span = std::max(std::abs(fmin ? lo : hi) * 0.1, 1.0);
    if (fmin) hi = lo + span;
    else lo = hi - span;
  }
  // Data near both ends of the double range: keep hi - lo finite, the drawing divides by it.
  if (!std::isfinite(hi - lo)) {
    const double big = std::numeric_limits<double>::max() / 4;
    lo = std::max(lo, -big), hi = std::min(hi, big);
  }
}

Limits data_limits(const Panel& p, int index) {
  check_finite(p.xmin, "xmin", index), check_finite(p.xmax, "xmax", index);
  check_finite(p.ymin, "ymin", index), check_finite(p.ymax, "ymax", index);
  if (p.xmin && p.xmax && !(*p.xmin < *p.xmax))
    throw InputError(fmt::format("panel {}: xmin must be less than xmax", index));
  if (p.ymin && p.ymax && !(*p.ymin < *p.ymax))
    throw InputError(fmt::format("panel {}: ymin must be less than ymax", index));
  const double inf = std::numeric_limits<double>::infinity();
  double x0 = inf, x1 = -inf, y0 = inf, y1 = -inf;
  for (const auto& s : p.series) {
    if (s.x.size() != s.y.size())
      throw InputError(fmt::format("panel {}: series '{}' has {} x values but {} y values", index,
                                   s.label, s.x.size(), s.y.size()));
    if (!(s.width > 0) || !std::isfinite(s.width))
      throw InputError(fmt::format("panel {}: series '{}' width must be positive", index, s.label));
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      // Points outside a fixed range on one axis do not stretch the other.
      if ((p.xmin && s.x[i] < *p.xmin) || (p.xmax && s.x[i] > *p.xmax)) continue;
      if ((p.ymin && s.y[i] < *p.ymin) || (p.ymax && s.y[i] > *p.ymax)) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  }
  for (const auto& l : p.lines) {
    if (!std::isfinite(l.value))
      throw InputError(fmt::format("panel {}: reference line '{}' is not finite", index, l.label));
    if (l.orientation == RefLine::Orientation::horizontal) y0 = std::min(y0, l.value), y1 = std::max(y1, l.value);
    else x0 = std::min(x0, l.value), x1 = std::max(x1, l.value);
  }
  for (const auto& b : p.bands)
    if (!std::isfinite(b.from) || !std::isfinite(b.to))
      throw InputError(fmt::format("panel {}: band '{}' is not finite", index, b.label));
  Limits L{};
  axis_range(x0, x1, p.xmin, p.xmax, L.xmin, L.xmax);
  axis_range(y0, y1, p.ymin, p.ymax, L.ymin, L.ymax);
  return L;
}

void validate(const Figure& fig) {
  if (fig.width < 32 || fig.height < 32 || fig.width > 16384 || fig.height > 16384)
    throw InputError(fmt::format("figure size {}x{} is outside 32..16384", fig.width, fig.height));
  if (fig.rows < 1 || fig.cols < 1 || fig.rows > 64 || fig.cols > 64)
    throw InputError(fmt::format("figure grid {}x{} is outside 1..64", fig.rows, fig.cols));
  if (fig.panels.size() > std::size_t(fig.rows) * fig.cols)
    throw InputError(fmt::format("figure has {} panels but only {}x{} slots", fig.panels.size(),
                                 fig.rows, fig.cols));
}

struct Layout {
  PlotArea area;
  double xstep = 1, ystep = 1;
  TitleLines title;
  int cell_left = 0;  ///< left edge of the panel's cell, where the y label goes
};

// The 1-2-5 step for about `target` intervals in [lo, hi] (lo < hi): the one whose number of
// intervals is closest, in ratio, to the target.
double nice_step(double lo, double hi, int target) {
  const double raw = (hi - lo) / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag, best = std::numeric_limits<double>::infinity();
  for (double f : {1.0, 2.0, 5.0, 10.0}) {
    const double miss = std::abs(std::log((hi - lo) / (f * mag) / std::max(target, 1)));
    if (miss < best) best = miss, step = f * mag;
  }
  return step;
}

TitleLines figure_title(const Figure& fig) { return title_lines(fig.title, kFigTitlePx, fig.width - 16); }

double title_band(const Figure& fig) {
  const TitleLines t = figure_title(fig);
  return t.lines.empty() ? 0 : t.height() + 18;
}

// Where the y tick labels end (right-aligned) and the x tick labels start, from the frame.
constexpr double kTickLabelGap = kTickPx + 5;

Layout layout(const Figure& fig, int index) {
  const Panel& p = fig.panels[std::size_t(index)];
  const double band = title_band(fig);
  const int r = index / fig.cols, c = index % fig.cols;
  const int cx0 = c * fig.width / fig.cols, cx1 = (c + 1) * fig.width / fig.cols;
  const int cy0 = int(band + r * (fig.height - band) / fig.rows);
  const int cy1 = int(band + (r + 1) * (fig.height - band) / fig.rows);
  const Limits base = data_limits(p, index);

  Layout L;
  L.cell_left = cx0;
  PlotArea& a = L.area;
  L.title = title_lines(p.title, kPanelTitlePx, cx1 - cx0 - 12);
  a.top = cy0 + int(std::ceil(p.title.empty() ? 12 : L.title.height() + 16));
  a.bottom = cy1 - int(std::ceil(kTickLabelGap + kTextPx + (p.xlabel.empty() ? 0 : 8 + kTextPx) + 10));
  double ylabel_w = 0, right_pad = 14;
  // Margins depend on tick label widths, which depend on the limits: iterate to a fixed point.
  for (int iter = 0; iter < 3; ++iter) {
    a.left = cx0 + int(std::ceil(8 + (p.ylabel.empty() ? 0 : kTextPx + 10) + ylabel_w + kTickLabelGap));
    a.right = cx1 - int(std::ceil(right_pad));
    if (a.right - a.left < 16 || a.bottom - a.top < 16)
      throw InputError(fmt::format("figure {}x{} is too small for {}x{} panels", fig.width,
                                   fig.height, fig.rows, fig.cols));
    a.xmin = base.xmin, a.xmax = base.xmax, a.ymin = base.ymin, a.ymax = base.ymax;
    const double W = a.right - a.left, H = a.bottom - a.top;
    if (p.equal_aspect) {
      // Same data units per pixel on both axes: widen the axis that has room to spare.
      const double u = std::max((a.xmax - a.xmin) / W, (a.ymax - a.ymin) / H);
      const double xc = 0.5 * (a.xmin + a.xmax), yc = 0.5 * (a.ymin + a.ymax);
      a.xmin = xc - u * W / 2, a.xmax = xc + u * W / 2;
      a.ymin = yc - u * H / 2, a.ymax = yc + u * H / 2;
    }
    // As many x ticks as fit without their labels crowding each other.
    for (int target = std::clamp(int(W / 75), 2, 12);; --target) {
      a.xticks = nice_ticks(a.xmin, a.xmax, target);
      const double step = L.xstep = nice_step(a.xmin, a.xmax, target), gap = step / (a.xmax - a.xmin) * W;
      double widest = 0;
      for (double t : a.xticks) widest = std::max(widest, text_width(format_tick(t, step), kTextPx));
      if (target <= 2 || gap >= widest + 1.5 * kTextPx) break;
    }
    const int ytarget = std::clamp(int(H / 55), 2, 10);
    a.yticks = nice_ticks(a.ymin, a.ymax, ytarget);
    L.ystep = nice_step(a.ymin, a.ymax, ytarget);
    double w = 0;
    for (double t : a.yticks) w = std::max(w, text_width(format_tick(t, L.ystep), kTextPx));
    double rp = 14;
    if (!a.xticks.empty()) {
      const double last = a.left + (a.xticks.back() - a.xmin) / (a.xmax - a.xmin) * W;
      const double half = text_width(format_tick(a.xticks.back(), L.xstep), kTextPx) / 2;
      rp = std::max(14.0, std::ceil(half - (a.right - last)) + 6);
    }
    if (w == ylabel_w && rp == right_pad) break;
    ylabel_w = w, right_pad = rp;
  }
  return L;
}

// Liang-Barsky: clips the segment a-b to [xl, xr] x [yb, yt]; false when nothing is left.
bool clip(const Point& a, const Point& b, const PlotArea& w, double& t0, double& t1) {
  t0 = 0, t1 = 1;
  const double dx = b.x - a.x, dy = b.y - a.y;
  if (!std::isfinite(dx) || !std::isfinite(dy)) return false;  // beyond double range: a gap
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {a.x - w.xmin, w.xmax - a.x, a.y - w.ymin, w.ymax - a.y};
  for (int k = 0; k < 4; ++k) {
    if (p[k] == 0) {
      if (q[k] < 0) return false;
    } else {
      const double r = q[k] / p[k];
      if (p[k] < 0) t0 = std::max(t0, r);
      else t1 = std::min(t1, r);
    }
  }
  return t0 <= t1;
}

bool inside(const Point& p, const PlotArea& w) {
  return p.x >= w.xmin && p.x <= w.xmax && p.y >= w.ymin && p.y <= w.ymax;
}

// ---- drawing through PLplot ---------------------------------------------------------------

std::mutex& plplot_mutex() {
  static std::mutex m;
  return m;
}

std::string plplot_error;  // the first plabort message of the figure being drawn (under the mutex)
void on_plplot_abort(PLCHAR_VECTOR message) {
  if (plplot_error.empty()) plplot_error = message ? message : "unknown error";
}

// PLplot ends the process on a fatal error after calling this handler: throw instead, so that the
// caller gets an InputError and the stream is still ended (libplplot is built with unwind tables,
// as Debian's C code is; the layout keeps its known fatal cases, such as tick spacings far below
// the axis range, from happening).
int on_plplot_exit(PLCHAR_VECTOR message) {
  throw InputError(std::string("cannot draw the plot: ") + (message ? message : "PLplot failed"));
}

// Without the driver plinit would ask on the terminal for another device: check first.
void require_memcairo() {
  static const bool present = [] {
    std::vector<const char*> menus(256), names(256);
    const char** m = menus.data();
    const char** d = names.data();
    int n = int(names.size());
    plgDevs(&m, &d, &n);
    for (int i = 0; i < n; ++i)
      if (names[std::size_t(i)] && std::strcmp(names[std::size_t(i)], "memcairo") == 0) return true;
    return false;
  }();
  if (!present)
    throw InputError("cannot draw plots: PLplot's cairo driver is missing (Debian package plplot-driver-cairo)");
}

// One PLplot stream drawing into `rgb` (width x height x 3 bytes), ended when this goes away.
class Stream {
 public:
  Stream(int width, int height, unsigned char* rgb) {
    plmkstrm(&id_);
    plsdev("memcairo");
    plsmem(width, height, rgb);
    plscmap0n(256);
    plscolbg(255, 255, 255);
    plinit();
    pladv(0);
  }
  ~Stream() {
    plsstrm(id_);
    plend1();
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

 private:
  PLINT id_ = 0;
};

// Colour-map 0 slot of the legend's translucent background; Pens hand out the slots below it.
constexpr int kLegendSlot = 255;

// Colour-map 0 slots for the colours in use, so that a legend can name several at once.
class Pens {
 public:
  int index(Color c) {
    const auto key = std::make_tuple(c.r, c.g, c.b);
    auto it = slots_.find(key);
    if (it != slots_.end()) return it->second;
    const int last = kLegendSlot - 1;
    const int slot = next_ < last ? next_++ : last;  // past that many colours the last is shared
    plscol0(slot, c.r, c.g, c.b);
    if (slot < last) slots_[key] = slot;
    return slot;
  }
  void use(Color c) { plcol0(index(c)); }

 private:
  std::map<std::tuple<int, int, int>, int> slots_;
  int next_ = 1;  // slot 0 is the background
};

// PLplot text: '#' starts an escape sequence, "##" is a literal '#'.
std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '#' ? "##" : std::string(1, c);
  return out;
}

// The cairo driver also strokes the outline of a fill with the pen width: no outline here.
void fill_polygon(int n, const PLFLT* xs, const PLFLT* ys) {
  plwidth(0);
  plfill(n, xs, ys);
}

// Pixel coordinates of the whole figure: (x, y) from its top-left corner, y downwards.
struct Pixels {
  double width, height;
  void enter() const {
    plvpor(0, 1, 0, 1);
    plwind(0, width, 0, height);
  }
  // Text vertically centred on y; `just` 0 puts its left end at x, 0.5 its middle, 1 its right.
  void text(double x, double y, const std::string& s, double px, double just, bool vertical = false) const {
    if (s.empty()) return;
    plschr(px * kMmPerPx, 1.0);
    plptex(x, height - y, vertical ? 0 : 1, vertical ? 1 : 0, just, escaped(s).c_str());
  }
  void fill(double x0, double y0, double x1, double y1) const {
    PLFLT xs[4] = {x0, x1, x1, x0}, ys[4] = {height - y0, height - y0, height - y1, height - y1};
    fill_polygon(4, xs, ys);
  }
  void line(double x0, double y0, double x1, double y1) const {
    PLFLT xs[2] = {x0, x1}, ys[2] = {height - y0, height - y1};
    plline(2, xs, ys);
  }
};

// Dashes for a stroke `width` pixels wide: 4 w + 4 pixels drawn, 2 w + 4 left out (PLplot takes
// micrometres, and the round caps add a width to every dash).
void dashes(double width) {
  const PLINT length = PLINT(std::lround((3 * width + 4) * kMmPerPx * 1000));
  plstyl(1, &length, &length);
}
void solid() { plstyl(0, nullptr, nullptr); }

// A filled ellipse with semi-axes rx, ry (window units) at (x, y) of the current window.
void disc(double x, double y, double rx, double ry) {
  constexpr int n = 20;
  PLFLT xs[n], ys[n];
  for (int k = 0; k < n; ++k) {
    const double phi = 2 * M_PI * k / n;
    xs[k] = x + rx * std::cos(phi), ys[k] = y + ry * std::sin(phi);
  }
  fill_polygon(n, xs, ys);
}

// A dot `diameter` pixels wide at data point p of panel area a.
void dot(const Point& p, double diameter, const PlotArea& a) {
  disc(p.x, p.y, diameter / 2 * (a.xmax - a.xmin) / (a.right - a.left),
       diameter / 2 * (a.ymax - a.ymin) / (a.bottom - a.top));
}

void polyline(const std::vector<Point>& run) {
  std::vector<PLFLT> xs, ys;
  for (const Point& p : run) xs.push_back(p.x), ys.push_back(p.y);
  plline(PLINT(run.size()), xs.data(), ys.data());
}

struct LegendEntry {
  enum class Kind { series, line, band } kind;
  std::string label;
  Color color;
  Series::Style style;
  double width;
};

void draw_legend(const Pixels& px, Pens& pens, const PlotArea& a, const std::vector<LegendEntry>& entries) {
  if (entries.empty()) return;
  const double row = kTextPx * 2, sample = 30, pad = 7;
  double tw = 0;
  for (const auto& e : entries) tw = std::max(tw, text_width(e.label, kTextPx));
  const double bw = pad + sample + 8 + tw + pad, bh = 2 * pad + double(entries.size()) * row - kTextPx;
  const double x1 = a.right - 8, x0 = x1 - bw, y0 = a.top + 8, y1 = y0 + bh;
  px.enter();
  plscol0a(kLegendSlot, 255, 255, 255, 0.9);
  plcol0(kLegendSlot);
  px.fill(x0, y0, x1, y1);
  pens.use({160, 160, 160});
  plwidth(1);
  solid();
  px.line(x0, y0, x1, y0), px.line(x1, y0, x1, y1), px.line(x1, y1, x0, y1), px.line(x0, y1, x0, y0);
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const auto& e = entries[k];
    const double cy = y0 + pad + kTextPx / 2 + double(k) * row, sx0 = x0 + pad, sx1 = sx0 + sample;
    pens.use(e.color);
    if (e.kind == LegendEntry::Kind::band) {
      px.fill(sx0 + 4, cy - kTextPx / 2 - 1, sx1 - 4, cy + kTextPx / 2 + 1);
    } else if (e.style == Series::Style::points) {
      const double r = std::clamp(e.width, 4.0, 12.0) / 2;
      disc((sx0 + sx1) / 2, px.height - cy, r, r);
    } else {
      plwidth(std::min(e.width, 6.0));
      if (e.style == Series::Style::dashed || e.kind == LegendEntry::Kind::line) dashes(std::min(e.width, 6.0));
      px.line(sx0, cy, sx1, cy);
      solid();
    }
    pens.use(kText);
    px.text(sx1 + 8, cy, e.label, kTextPx, 0);
  }
}

void draw_panel(const Figure& fig, int index, Pens& pens) {
  const Panel& p = fig.panels[std::size_t(index)];
  const Layout L = layout(fig, index);
  const PlotArea& a = L.area;
  const Pixels px{double(fig.width), double(fig.height)};
  plwidth(1);
  solid();
  // Grid lines and ticks sit on pixel centres, so that one pixel wide they stay sharp.
  auto column = [&](double x) {
    const double c = std::floor(a.left + (x - a.xmin) / (a.xmax - a.xmin) * (a.right - a.left));
    return std::clamp(c, double(a.left), a.right - 1.0) + 0.5;
  };
  auto row = [&](double y) {
    const double r = std::floor(a.bottom - (y - a.ymin) / (a.ymax - a.ymin) * (a.bottom - a.top));
    return std::clamp(r, double(a.top), a.bottom - 1.0) + 0.5;
  };
  px.enter();
  pens.use(kGrid);
  for (double t : a.xticks) px.line(column(t), a.top, column(t), a.bottom);
  for (double t : a.yticks) px.line(a.left, row(t), a.right, row(t));
  // The data: the viewport is the plot rectangle in pixels, the window its limits.
  plvpor(a.left / px.width, a.right / px.width, 1 - a.bottom / px.height, 1 - a.top / px.height);
  plwind(a.xmin, a.xmax, a.ymin, a.ymax);
  std::vector<LegendEntry> legend;
  for (const auto& b : p.bands) {
    const double x0 = std::max(std::min(b.from, b.to), a.xmin), x1 = std::min(std::max(b.from, b.to), a.xmax);
    if (x0 < x1) {
      pens.use(b.color);
      PLFLT xs[4] = {x0, x1, x1, x0}, ys[4] = {a.ymin, a.ymin, a.ymax, a.ymax};
      fill_polygon(4, xs, ys);
    }
    if (!b.label.empty()) legend.push_back({LegendEntry::Kind::band, b.label, b.color, {}, 0});
  }

  for (const auto& l : p.lines) {
    const Color c = l.color.value_or(kRefLine);
    const bool horizontal = l.orientation == RefLine::Orientation::horizontal;
    const Point from = horizontal ? Point{a.xmin, l.value} : Point{l.value, a.ymin};
    const Point to = horizontal ? Point{a.xmax, l.value} : Point{l.value, a.ymax};
    if (inside(from, a) && inside(to, a)) {
      pens.use(c);
      plwidth(1.5);
      dashes(1.5);
      polyline({from, to});
      solid();
    }
    if (!l.label.empty()) legend.push_back({LegendEntry::Kind::line, l.label, c, {}, 1.5});
  }

  for (std::size_t k = 0; k < p.series.size(); ++k) {
    const Series& s = p.series[k];
    const Color c = s.color.value_or(palette(int(k)));
    pens.use(c);
    if (s.style == Series::Style::dashed) dashes(s.width);
    for (const auto& run : visible_runs(s, a)) {
      if (run.size() == 1) {
        dot(run[0], s.width, a);
      } else {
        plwidth(s.width);
        polyline(run);
      }
    }
    solid();
    if (!s.label.empty()) legend.push_back({LegendEntry::Kind::series, s.label, c, s.style, s.width});
  }

  // Frame just outside the plot rectangle, outward ticks on the bottom and left edges.
  px.enter();
  pens.use(kFrame);
  plwidth(1);
  const PLFLT fx[5] = {a.left - 0.5, a.right + 0.5, a.right + 0.5, a.left - 0.5, a.left - 0.5};
  const PLFLT fy[5] = {px.height - a.top + 0.5, px.height - a.top + 0.5, px.height - a.bottom - 0.5,
                       px.height - a.bottom - 0.5, px.height - a.top + 0.5};
  plline(5, fx, fy);
  for (double t : a.xticks) px.line(column(t), a.bottom + 1, column(t), a.bottom + 1 + kTickPx);
  for (double t : a.yticks) px.line(a.left - 1 - kTickPx, row(t), a.left - 1, row(t));
  pens.use(kText);
  for (double t : a.xticks)
    px.text(a.left + (t - a.xmin) / (a.xmax - a.xmin) * (a.right - a.left), a.bottom + kTickLabelGap + kTextPx / 2,
            format_tick(t, L.xstep), kTextPx, 0.5);
  for (double t : a.yticks)
    px.text(a.left - kTickLabelGap, a.bottom - (t - a.ymin) / (a.ymax - a.ymin) * (a.bottom - a.top),
            format_tick(t, L.ystep), kTextPx, 1);
  px.text((a.left + a.right) / 2.0, a.bottom + kTickLabelGap + 1.5 * kTextPx + 8,
          p.xlabel, kTextPx, 0.5);
  px.text(L.cell_left + 8 + kTextPx / 2, (a.top + a.bottom) / 2.0, p.ylabel, kTextPx, 0.5, true);
  for (std::size_t k = 0; k < L.title.lines.size(); ++k)
    px.text((a.left + a.right) / 2.0, a.top - 10 - L.title.height() + L.title.px / 2 + double(k) * 1.6 * L.title.px,
            L.title.lines[k], L.title.px, 0.5);
  if (p.legend) draw_legend(px, pens, a, legend);
}

void append_bytes(void* ctx, void* data, int size) {
  auto* out = static_cast<std::vector<unsigned char>*>(ctx);
  const auto* b = static_cast<const unsigned char*>(data);
  out->insert(out->end(), b, b + size);
}

// Encodes in memory, then writes through write_file_atomic: a failure never leaves a partial file.
void write_png(const std::string& path, int w, int h, int comp, const unsigned char* data) {
  if (path.empty()) throw InputError("cannot write PNG: empty path");
  std::vector<unsigned char> png;
  if (!stbi_write_png_to_func(append_bytes, &png, w, h, comp, data, w * comp))
    throw InputError(fmt::format("cannot write {}: PNG encoding failed", path));
  write_file_atomic(path, std::string(png.begin(), png.end()));
}

}  // namespace

// ---- public API -----------------------------------------------------------------------------

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) return {lo};
  const double step = nice_step(lo, hi, target);
  std::vector<double> t;
  const double k0 = std::ceil(lo / step - 1e-9), k1 = std::floor(hi / step + 1e-9);
  for (double k = k0; k <= k1 && t.size() < 1000; k += 1) t.push_back(k * step + 0.0);
  return t;
}

std::string format_tick(double value, double step) {
  if (!std::isfinite(value)) return value != value ? "nan" : (value > 0 ? "inf" : "-inf");
  step = std::abs(step);
  if (!(step > 0) || !std::isfinite(step)) step = value != 0 ? std::abs(value) : 1.0;
  if (std::abs(value) < step * 1e-6) return "0";
  const int d = decimals_for(step);
  if (step >= 1e4 || step < 1.5e-3 || std::abs(value) >= 1e5) {
    const int e = int(std::floor(std::log10(std::abs(value))));
    std::string m = fmt::format("{:.{}e}", value, std::clamp(e + d, 0, 15));
    const auto pos = m.find('e');
    std::string mant = m.substr(0, pos);
    const int ex = std::stoi(m.substr(pos + 1));
    if (mant.find('.') != std::string::npos) {
      while (mant.back() == '0') mant.pop_back();
      if (mant.back() == '.') mant.pop_back();
    }
    return mant + "e" + std::to_string(ex);
  }
  return fmt::format("{:.{}f}", value, std::max(d, 0));
}

std::vector<std::vector<Point>> visible_runs(const Series& s, const PlotArea& area) {
  if (s.x.size() != s.y.size())
    throw InputError(fmt::format("series '{}' has {} x values but {} y values", s.label, s.x.size(), s.y.size()));
  std::vector<std::vector<Point>> runs;
  auto finite = [&](std::size_t i) { return std::isfinite(s.x[i]) && std::isfinite(s.y[i]); };
  const std::size_t n = s.x.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (!finite(i)) continue;
    const Point a{s.x[i], s.y[i]};
    const bool alone = (i == 0 || !finite(i - 1)) && (i + 1 == n || !finite(i + 1));
    if (s.style == Series::Style::points || alone) {
      if (inside(a, area)) runs.push_back({a});
      continue;
    }
    if (i + 1 == n || !finite(i + 1)) continue;
    const Point b{s.x[i + 1], s.y[i + 1]};
    double t0, t1;
    if (!clip(a, b, area, t0, t1)) continue;
    auto at = [&](double t) {
      return t == 0 ? a : t == 1 ? b : Point{a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t};
    };
    const Point p = at(t0), q = at(t1);
    // Continue the current run when this piece starts where the last one ended unclipped.
    const bool joins = t0 == 0 && !runs.empty() && runs.back().size() > 1 &&
                       runs.back().back().x == p.x && runs.back().back().y == p.y && i > 0 && finite(i - 1);
    if (joins) runs.back().push_back(q);
    else runs.push_back({p, q});
  }
  return runs;
}

PlotArea plot_area(const Figure& fig, int index) {
  validate(fig);
  if (index < 0 || std::size_t(index) >= fig.panels.size())
    throw InputError(fmt::format("panel index {} out of range (figure has {} panels)", index,
                                 fig.panels.size()));
  return layout(fig, index).area;
}

void save_png(const Figure& fig, const std::string& path) {
  validate(fig);
  for (std::size_t i = 0; i < fig.panels.size(); ++i) layout(fig, int(i));  // throws before drawing
  if (path.empty()) throw InputError("cannot write PNG: empty path");
  std::vector<unsigned char> rgb(std::size_t(fig.width) * fig.height * 3, 255);
  {
    std::lock_guard<std::mutex> lock(plplot_mutex());
    require_memcairo();
    plplot_error.clear();
    plsabort(on_plplot_abort);
    plsexit(on_plplot_exit);
    {
      Stream stream(fig.width, fig.height, rgb.data());
      Pens pens;
      for (std::size_t i = 0; i < fig.panels.size(); ++i) draw_panel(fig, int(i), pens);
      const TitleLines t = figure_title(fig);
      const Pixels px{double(fig.width), double(fig.height)};
      px.enter();
      pens.use(kText);
      for (std::size_t k = 0; k < t.lines.size(); ++k)
        px.text(fig.width / 2.0, 10 + t.px / 2 + double(k) * 1.6 * t.px, t.lines[k], t.px, 0.5);
    }
    if (!plplot_error.empty()) throw InputError("cannot draw the plot: " + plplot_error);
  }
  write_png(path, fig.width, fig.height, 3, rgb.data());
}

void save_image_grid_png(const std::vector<float>& pixels, int count, int channels, int height,
                         int width, int cols, const std::string& path) {
  if (channels != 1 && channels != 3)
    throw InputError(fmt::format("image grid: channels must be 1 or 3, got {}", channels));
  if (count < 1 || height < 1 || width < 1)
    throw InputError(fmt::format("image grid: count, height and width must be positive, got {}, {}, {}",
                                 count, height, width));
  if (cols < 1) throw InputError(fmt::format("image grid: cols must be at least 1, got {}", cols));
  const long long per = 1LL * channels * height * width;
  if (per * count != (long long)pixels.size())
    throw InputError(fmt::format("image grid: got {} values, expected {} images x {} x {} x {} = {}",
                                 pixels.size(), count, channels, height, width, per * count));
  const int gap = 2, gc = std::min(cols, count), gr = (count + gc - 1) / gc;
  const long long W = 1LL * gc * width + (gc - 1) * gap, H = 1LL * gr * height + (gr - 1) * gap;
  if (W > 65535 || H > 65535) throw InputError(fmt::format("image grid: {}x{} pixels is too large", W, H));
  std::vector<unsigned char> out(std::size_t(W * H * channels), 255);  // white gaps and empty slots
  for (int n = 0; n < count; ++n) {
    const long long ox = 1LL * (n % gc) * (width + gap), oy = 1LL * (n / gc) * (height + gap);
    for (int c = 0; c < channels; ++c)
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
          const float v = pixels[std::size_t(n * per + (1LL * c * height + y) * width + x)];
          const double u = std::isfinite(v) ? std::clamp((double(v) + 1) * 127.5, 0.0, 255.0) : 0.0;
          out[std::size_t(((oy + y) * W + ox + x) * channels + c)] = static_cast<unsigned char>(std::lround(u));
        }
  }
  write_png(path, int(W), int(H), channels, out.data());
}

}  // namespace genphys::plot
