// Software rasteriser for line/scatter plots and image grids, written as PNG.
// Lines and dots are anti-aliased through a per-series coverage mask (max-combined, so joints
// of a polyline do not darken); text is stb_easy_font quads scaled by an integer factor.

#include "genphys/plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "genphys/errors.hpp"
#include "genphys/io.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#include <stb_easy_font.h>
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
constexpr Color kGrid{228, 228, 228};
constexpr Color kRefLine{60, 60, 60};
constexpr int kTextScale = 2;   // ticks, labels, panel titles
constexpr int kTitleScale = 3;  // figure title
constexpr int kTickLen = 5;
constexpr double kFar = 1e12;   // pixel coordinates beyond this are treated as gaps

// ---- canvas -------------------------------------------------------------------------------

struct Canvas {
  int w, h;
  std::vector<float> px;  // RGB, 0..255
  Canvas(int w_, int h_) : w(w_), h(h_), px(std::size_t(w_) * h_ * 3, 255.f) {}

  void blend(int x, int y, Color c, double a) {
    if (x < 0 || y < 0 || x >= w || y >= h || a <= 0) return;
    a = std::min(a, 1.0);
    float* p = &px[(std::size_t(y) * w + x) * 3];
    p[0] = float(p[0] * (1 - a) + c.r * a);
    p[1] = float(p[1] * (1 - a) + c.g * a);
    p[2] = float(p[2] * (1 - a) + c.b * a);
  }

  // Rectangle in continuous coordinates; partial pixels get their covered area as alpha.
  void fill(double x0, double y0, double x1, double y1, Color c, double alpha = 1.0) {
    if (x1 <= x0 || y1 <= y0) return;
    const int i0 = std::max(0, int(std::floor(x0))), i1 = std::min(w - 1, int(std::ceil(x1)) - 1);
    const int j0 = std::max(0, int(std::floor(y0))), j1 = std::min(h - 1, int(std::ceil(y1)) - 1);
    for (int j = j0; j <= j1; ++j) {
      const double cy = std::min(y1, j + 1.0) - std::max(y0, double(j));
      for (int i = i0; i <= i1; ++i) {
        const double cx = std::min(x1, i + 1.0) - std::max(x0, double(i));
        blend(i, j, c, alpha * cx * cy);
      }
    }
  }

  std::vector<unsigned char> bytes() const {
    std::vector<unsigned char> out(px.size());
    for (std::size_t i = 0; i < px.size(); ++i)
      out[i] = static_cast<unsigned char>(std::lround(std::clamp(px[i], 0.f, 255.f)));
    return out;
  }
};

// Coverage mask over the plot rectangle; shapes combine by max, then composite in one colour.
struct Mask {
  int x0, y0, w, h;
  std::vector<float> cov;
  Mask(int x0_, int y0_, int w_, int h_)
      : x0(x0_), y0(y0_), w(std::max(w_, 0)), h(std::max(h_, 0)), cov(std::size_t(w) * h, 0.f) {}

  void put(int i, int j, double c) {
    if (i < x0 || j < y0 || i >= x0 + w || j >= y0 + h || c <= 0) return;
    float& m = cov[std::size_t(j - y0) * w + (i - x0)];
    m = std::max(m, float(std::min(c, 1.0)));
  }

  // Round-capped thick segment; coverage falls off linearly over the last pixel.
  void segment(double ax, double ay, double bx, double by, double width) {
    const double hw = std::max(width, 1.0) / 2, gain = std::min(width, 1.0), R = hw + 0.5;
    const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    const bool steep = std::abs(dy) > std::abs(dx);
    double a0 = steep ? ay : ax, a1 = steep ? by : bx, b0 = steep ? ax : ay, b1 = steep ? bx : by;
    if (a0 > a1) std::swap(a0, a1), std::swap(b0, b1);
    const double slope = a1 - a0 > 1e-12 ? (b1 - b0) / (a1 - a0) : 0.0;
    const double ext = R * std::sqrt(1 + slope * slope) + 1;
    const int lo_major = steep ? y0 : x0, hi_major = lo_major + (steep ? h : w) - 1;
    const int lo_minor = steep ? x0 : y0, hi_minor = lo_minor + (steep ? w : h) - 1;
    const int i0 = std::max(lo_major, int(std::floor(a0 - R))),
              i1 = std::min(hi_major, int(std::ceil(a1 + R)));
    for (int i = i0; i <= i1; ++i) {
      const double c = i + 0.5, m = b0 + (std::clamp(c, a0, a1) - a0) * slope;
      const int j0 = std::max(lo_minor, int(std::floor(m - ext))),
                j1 = std::min(hi_minor, int(std::ceil(m + ext)));
      for (int j = j0; j <= j1; ++j) {
        const double px = steep ? j + 0.5 : c, py = steep ? c : j + 0.5;
        double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0;
        t = std::clamp(t, 0.0, 1.0);
        const double d = std::hypot(px - (ax + t * dx), py - (ay + t * dy));
        const int xi = steep ? j : i, yi = steep ? i : j;
        put(xi, yi, gain * std::clamp(R - d, 0.0, 1.0));
      }
    }
  }

  void disc(double cx, double cy, double diameter) {
    const double r = std::max(diameter, 1.0) / 2, gain = std::min(diameter, 1.0), R = r + 0.5;
    for (int j = int(std::floor(cy - R)); j <= int(std::ceil(cy + R)); ++j)
      for (int i = int(std::floor(cx - R)); i <= int(std::ceil(cx + R)); ++i)
        put(i, j, gain * std::clamp(R - std::hypot(i + 0.5 - cx, j + 0.5 - cy), 0.0, 1.0));
  }

  void composite(Canvas& cv, Color c) {
    for (int j = 0; j < h; ++j)
      for (int i = 0; i < w; ++i) {
        float& m = cov[std::size_t(j) * w + i];
        if (m > 0) cv.blend(x0 + i, y0 + j, c, m);
        m = 0;
      }
  }
};

// Liang-Barsky: clips the segment to [xl, xr] x [yt, yb]; returns false when nothing is left.
bool clip(double ax, double ay, double bx, double by, double xl, double yt, double xr, double yb,
          double& t0, double& t1) {
  t0 = 0, t1 = 1;
  const double dx = bx - ax, dy = by - ay;
  const double p[4] = {-dx, dx, -dy, dy}, q[4] = {ax - xl, xr - ax, ay - yt, yb - ay};
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

struct Pt {
  double x, y;
};

// Strokes a polyline into the mask, clipped to the mask (plus the stroke's reach); dashed
// strokes keep their dash phase along the whole run.
void stroke(Mask& mk, const std::vector<Pt>& run, double width, bool dashed) {
  if (run.size() == 1) {
    mk.disc(run[0].x, run[0].y, width);
    return;
  }
  const double reach = width + 2;
  const double xl = mk.x0 - reach, xr = mk.x0 + mk.w + reach;
  const double yt = mk.y0 - reach, yb = mk.y0 + mk.h + reach;
  const double on = 4 * width + 4, period = on + 2 * width + 4;
  double phase = 0;
  for (std::size_t k = 0; k + 1 < run.size(); ++k) {
    const Pt a = run[k], b = run[k + 1];
    const double len = std::hypot(b.x - a.x, b.y - a.y);
    double t0, t1;
    if (clip(a.x, a.y, b.x, b.y, xl, yt, xr, yb, t0, t1)) {
      auto at = [&](double s) { return Pt{a.x + (b.x - a.x) * s, a.y + (b.y - a.y) * s}; };
      if (!dashed || len <= 0) {
        const Pt p = at(t0), q = at(t1);
        mk.segment(p.x, p.y, q.x, q.y, width);
      } else {
        // Walk the visible part [t0, t1] in arc length, emitting the "on" pieces.
        double s = t0 * len, ph = std::fmod(phase + s, period);
        const double end = t1 * len;
        while (s < end) {
          const double piece_end = std::min(end, s + (ph < on ? on - ph : period - ph));
          if (ph < on) {
            const Pt p = at(s / len), q = at(piece_end / len);
            mk.segment(p.x, p.y, q.x, q.y, width);
          }
          ph = std::fmod(ph + (piece_end - s), period);
          s = piece_end;
        }
      }
    }
    phase = std::fmod(phase + len, period);
  }
}

// ---- text ---------------------------------------------------------------------------------

// stb_easy_font indexes a table by (c - 32): keep printable ASCII only.
std::string printable(const std::string& s) {
  std::string out;
  for (char c : s) out += (c >= 32 && c < 127) ? c : (c == '\n' || c == '\t' ? ' ' : '?');
  return out;
}

int text_width(const std::string& s, int scale) {
  if (s.empty()) return 0;
  std::string t = printable(s);
  return (stb_easy_font_width(t.data()) - 1) * scale;  // drop the trailing inter-letter gap
}
constexpr int kCapHeight = 7;  // font units, top of capitals to baseline

// Largest scale up to `max_scale` at which `s` fits in `avail` pixels.
int fit_scale(const std::string& s, int max_scale, double avail) {
  int k = max_scale;
  while (k > 1 && text_width(s, k) > avail) --k;
  return k;
}

// Greedy word wrap of `s` into lines at most `avail` pixels wide (a single long word may exceed).
std::vector<std::string> wrap(const std::string& s, int scale, double avail) {
  std::vector<std::string> lines;
  std::string line, word;
  auto add = [&] {
    if (word.empty()) return;
    const std::string joined = line.empty() ? word : line + " " + word;
    if (!line.empty() && text_width(joined, scale) > avail) lines.push_back(line), line = word;
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

// A panel title: one or two lines at the normal text scale, else one line at scale 1.
struct TitleLines {
  std::vector<std::string> lines;
  int scale = kTextScale;
  int height() const {
    return lines.empty() ? 0 : int(lines.size()) * kCapHeight * scale + (int(lines.size()) - 1) * 6;
  }
};
TitleLines title_lines(const std::string& title, double avail) {
  TitleLines t;
  if (title.empty()) return t;
  t.lines = wrap(title, kTextScale, avail);
  if (t.lines.size() > 2) t.lines = {title}, t.scale = 1;
  return t;
}

enum class Align { left, center, right };

// Draws `s` with its top-left (or top-centre / top-right) at (x, y). `vertical` rotates it
// counter-clockwise about (x, y), which then names the centre of the rotated text.
void draw_text(Canvas& cv, const std::string& s, double x, double y, int scale, Color color,
               Align align = Align::left, bool vertical = false) {
  if (s.empty()) return;
  std::string t = printable(s);
  std::vector<char> buf(t.size() * 64 * 48 + 64);
  const int quads = stb_easy_font_print(0, 0, t.data(), nullptr, buf.data(), int(buf.size()));
  const double tw = text_width(s, scale);
  x = std::round(x), y = std::round(y);
  if (!vertical) {
    if (align == Align::center) x -= std::round(tw / 2);
    if (align == Align::right) x -= tw;
  }
  for (int q = 0; q < quads; ++q) {
    float qx0 = 1e9f, qy0 = 1e9f, qx1 = -1e9f, qy1 = -1e9f;
    for (int v = 0; v < 4; ++v) {
      float vx, vy;
      std::memcpy(&vx, &buf[std::size_t(q * 4 + v) * 16], 4);
      std::memcpy(&vy, &buf[std::size_t(q * 4 + v) * 16 + 4], 4);
      qx0 = std::min(qx0, vx), qx1 = std::max(qx1, vx), qy0 = std::min(qy0, vy), qy1 = std::max(qy1, vy);
    }
    if (!vertical) {
      cv.fill(x + qx0 * scale, y + qy0 * scale, x + qx1 * scale, y + qy1 * scale, color);
    } else {
      // Glyph u (along the text) runs upwards, v (down the glyph) runs rightwards.
      const double ox = x - std::round(kCapHeight * scale / 2.0), oy = y + std::round(tw / 2);
      cv.fill(ox + qy0 * scale, oy - qx1 * scale, ox + qy1 * scale, oy - qx0 * scale, color);
    }
  }
}

// ---- axes ---------------------------------------------------------------------------------

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

struct Layout {
  PlotArea area;
  std::vector<double> xticks, yticks;
  double xstep = 1, ystep = 1;
};

double tick_step(const std::vector<double>& t) { return t.size() >= 2 ? t[1] - t[0] : 1.0; }

void validate(const Figure& fig) {
  if (fig.width < 32 || fig.height < 32 || fig.width > 16384 || fig.height > 16384)
    throw InputError(fmt::format("figure size {}x{} is outside 32..16384", fig.width, fig.height));
  if (fig.rows < 1 || fig.cols < 1 || fig.rows > 64 || fig.cols > 64)
    throw InputError(fmt::format("figure grid {}x{} is outside 1..64", fig.rows, fig.cols));
  if (fig.panels.size() > std::size_t(fig.rows) * fig.cols)
    throw InputError(fmt::format("figure has {} panels but only {}x{} slots", fig.panels.size(),
                                 fig.rows, fig.cols));
}

int title_band(const Figure& fig) { return fig.title.empty() ? 0 : kCapHeight * kTitleScale + 18; }

Layout layout(const Figure& fig, int index) {
  const Panel& p = fig.panels[std::size_t(index)];
  const int s = kTextScale, th = kCapHeight * s, band = title_band(fig);
  const int r = index / fig.cols, c = index % fig.cols;
  const int cx0 = c * fig.width / fig.cols, cx1 = (c + 1) * fig.width / fig.cols;
  const int cy0 = band + r * (fig.height - band) / fig.rows;
  const int cy1 = band + (r + 1) * (fig.height - band) / fig.rows;
  const Limits base = data_limits(p, index);

  Layout L;
  PlotArea& a = L.area;
  const TitleLines tl = title_lines(p.title, cx1 - cx0 - 8);
  a.top = cy0 + (p.title.empty() ? 12 : tl.height() + 18);
  a.bottom = cy1 - (kTickLen + 6 + th + (p.xlabel.empty() ? 0 : 10 + th) + 14);
  int ylabel_w = 0, right_pad = 14;
  // Margins depend on tick label widths, which depend on the limits: iterate to a fixed point.
  for (int iter = 0; iter < 3; ++iter) {
    a.left = cx0 + 10 + (p.ylabel.empty() ? 0 : th + 10) + ylabel_w + 6 + kTickLen;
    a.right = cx1 - right_pad;
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
      L.xticks = nice_ticks(a.xmin, a.xmax, target);
      const double step = tick_step(L.xticks), gap = step / (a.xmax - a.xmin) * W;
      int widest = 0;
      for (double t : L.xticks) widest = std::max(widest, text_width(format_tick(t, step), s));
      if (target <= 2 || gap >= widest + 3 * s * 3) break;
    }
    L.yticks = nice_ticks(a.ymin, a.ymax, std::clamp(int(H / 55), 2, 10));
    L.xstep = tick_step(L.xticks), L.ystep = tick_step(L.yticks);
    int w = 0;
    for (double t : L.yticks) w = std::max(w, text_width(format_tick(t, L.ystep), s));
    int rp = 14;
    if (!L.xticks.empty()) {
      const double last = a.left + (L.xticks.back() - a.xmin) / (a.xmax - a.xmin) * W;
      const int half = text_width(format_tick(L.xticks.back(), L.xstep), s) / 2;
      rp = std::max(14, int(std::ceil(half - (a.right - last))) + 6);
    }
    if (w == ylabel_w && rp == right_pad) break;
    ylabel_w = w, right_pad = rp;
  }
  return L;
}

struct Mapper {
  PlotArea a;
  double px(double x) const { return a.left + (x - a.xmin) / (a.xmax - a.xmin) * (a.right - a.left); }
  double py(double y) const { return a.bottom - (y - a.ymin) / (a.ymax - a.ymin) * (a.bottom - a.top); }
};

struct LegendEntry {
  enum class Kind { series, line, band } kind;
  std::string label;
  Color color;
  Series::Style style;
  double width;
};

void draw_legend(Canvas& cv, const PlotArea& a, const std::vector<LegendEntry>& entries) {
  if (entries.empty()) return;
  const int s = kTextScale, row = kCapHeight * s + 10, sample = 32, pad = 8;
  int tw = 0;
  for (const auto& e : entries) tw = std::max(tw, text_width(e.label, s));
  const int bw = pad + sample + 8 + tw + pad, bh = pad + int(entries.size()) * row - 10 + pad;
  const int x1 = a.right - 8, x0 = x1 - bw, y0 = a.top + 8;
  cv.fill(x0, y0, x1, y0 + bh, {255, 255, 255}, 0.92);
  cv.fill(x0, y0, x1, y0 + 1, {160, 160, 160});
  cv.fill(x0, y0 + bh - 1, x1, y0 + bh, {160, 160, 160});
  cv.fill(x0, y0, x0 + 1, y0 + bh, {160, 160, 160});
  cv.fill(x1 - 1, y0, x1, y0 + bh, {160, 160, 160});
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const auto& e = entries[k];
    const int ty = y0 + pad + int(k) * row;
    const double cy = ty + kCapHeight * s / 2.0, sx0 = x0 + pad, sx1 = sx0 + sample;
    Mask mk(int(sx0) - 4, ty - 6, sample + 8, kCapHeight * s + 12);
    if (e.kind == LegendEntry::Kind::band) {
      cv.fill(sx0 + 4, ty - 2, sx1 - 4, ty + kCapHeight * s + 2, e.color);
    } else if (e.kind == LegendEntry::Kind::line) {
      stroke(mk, {{sx0, cy}, {sx1, cy}}, 1.5, true);
    } else if (e.style == Series::Style::points) {
      mk.disc((sx0 + sx1) / 2, cy, std::min(std::max(e.width, 4.0), 12.0));
    } else {
      stroke(mk, {{sx0, cy}, {sx1, cy}}, std::min(e.width, 6.0), e.style == Series::Style::dashed);
    }
    mk.composite(cv, e.color);
    draw_text(cv, e.label, sx1 + 8, ty, s, kText);
  }
}

void draw_panel(Canvas& cv, const Figure& fig, int index) {
  const Panel& p = fig.panels[std::size_t(index)];
  const Layout L = layout(fig, index);
  const PlotArea& a = L.area;
  const Mapper m{a};
  const int s = kTextScale, th = kCapHeight * s;

  for (double t : L.xticks) cv.fill(std::floor(m.px(t)), a.top, std::floor(m.px(t)) + 1, a.bottom, kGrid);
  for (double t : L.yticks) cv.fill(a.left, std::floor(m.py(t)), a.right, std::floor(m.py(t)) + 1, kGrid);

  std::vector<LegendEntry> legend;
  for (const auto& b : p.bands) {
    const double x0 = std::max(m.px(std::min(b.from, b.to)), double(a.left));
    const double x1 = std::min(m.px(std::max(b.from, b.to)), double(a.right));
    cv.fill(x0, a.top, x1, a.bottom, b.color);
    if (!b.label.empty()) legend.push_back({LegendEntry::Kind::band, b.label, b.color, {}, 0});
  }

  Mask mk(a.left, a.top, a.right - a.left, a.bottom - a.top);
  for (const auto& l : p.lines) {
    const Color c = l.color.value_or(kRefLine);
    if (l.orientation == RefLine::Orientation::horizontal)
      stroke(mk, {{double(a.left), m.py(l.value)}, {double(a.right), m.py(l.value)}}, 1.5, true);
    else
      stroke(mk, {{m.px(l.value), double(a.top)}, {m.px(l.value), double(a.bottom)}}, 1.5, true);
    mk.composite(cv, c);
    if (!l.label.empty()) legend.push_back({LegendEntry::Kind::line, l.label, c, {}, 1.5});
  }

  for (std::size_t k = 0; k < p.series.size(); ++k) {
    const Series& sr = p.series[k];
    const Color c = sr.color.value_or(palette(int(k)));
    std::vector<Pt> run;
    auto flush = [&] {
      if (!run.empty() && sr.style != Series::Style::points)
        stroke(mk, run, sr.width, sr.style == Series::Style::dashed);
      run.clear();
    };
    for (std::size_t i = 0; i < sr.x.size(); ++i) {
      const double X = m.px(sr.x[i]), Y = m.py(sr.y[i]);
      // NaN/inf (or absurdly far) points break the line.
      if (!std::isfinite(X) || !std::isfinite(Y) || std::abs(X) > kFar || std::abs(Y) > kFar) {
        flush();
        continue;
      }
      if (sr.style == Series::Style::points) mk.disc(X, Y, sr.width);
      else run.push_back({X, Y});
    }
    flush();
    mk.composite(cv, c);
    if (!sr.label.empty()) legend.push_back({LegendEntry::Kind::series, sr.label, c, sr.style, sr.width});
  }

  // Frame just outside the data rectangle, so data at the edges stays visible.
  cv.fill(a.left - 1, a.top - 1, a.right + 1, a.top, kFrame);
  cv.fill(a.left - 1, a.bottom, a.right + 1, a.bottom + 1, kFrame);
  cv.fill(a.left - 1, a.top - 1, a.left, a.bottom + 1, kFrame);
  cv.fill(a.right, a.top - 1, a.right + 1, a.bottom + 1, kFrame);
  for (double t : L.xticks) {
    const double x = std::floor(m.px(t));
    cv.fill(x, a.bottom + 1, x + 1, a.bottom + 1 + kTickLen, kFrame);
    draw_text(cv, format_tick(t, L.xstep), x + 0.5, a.bottom + kTickLen + 6, s, kText, Align::center);
  }
  for (double t : L.yticks) {
    const double y = std::floor(m.py(t));
    cv.fill(a.left - 1 - kTickLen, y, a.left - 1, y + 1, kFrame);
    draw_text(cv, format_tick(t, L.ystep), a.left - kTickLen - 6, y + 0.5 - th / 2.0, s, kText, Align::right);
  }
  const int cx0 = (index % fig.cols) * fig.width / fig.cols;
  if (!p.xlabel.empty())
    draw_text(cv, p.xlabel, (a.left + a.right) / 2.0, a.bottom + kTickLen + 6 + th + 10, s, kText, Align::center);
  if (!p.ylabel.empty())
    draw_text(cv, p.ylabel, cx0 + 10 + th / 2.0, (a.top + a.bottom) / 2.0, s, kText, Align::left, true);
  const int cx1 = (index % fig.cols + 1) * fig.width / fig.cols;
  const TitleLines tl = title_lines(p.title, cx1 - cx0 - 8);
  for (std::size_t k = 0; k < tl.lines.size(); ++k)
    draw_text(cv, tl.lines[k], (a.left + a.right) / 2.0,
              a.top - 10 - tl.height() + int(k) * (kCapHeight * tl.scale + 6), tl.scale, kText, Align::center);
  if (p.legend) draw_legend(cv, a, legend);
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
  const double raw = (hi - lo) / std::max(target, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  // The 1-2-5 step whose number of intervals is closest (in ratio) to the target.
  double step = mag, best = std::numeric_limits<double>::infinity();
  for (double f : {1.0, 2.0, 5.0, 10.0}) {
    const double miss = std::abs(std::log((hi - lo) / (f * mag) / std::max(target, 1)));
    if (miss < best) best = miss, step = f * mag;
  }
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

PlotArea plot_area(const Figure& fig, int index) {
  validate(fig);
  if (index < 0 || std::size_t(index) >= fig.panels.size())
    throw InputError(fmt::format("panel index {} out of range (figure has {} panels)", index,
                                 fig.panels.size()));
  return layout(fig, index).area;
}

void save_png(const Figure& fig, const std::string& path) {
  validate(fig);
  Canvas cv(fig.width, fig.height);
  for (std::size_t i = 0; i < fig.panels.size(); ++i) draw_panel(cv, fig, int(i));
  if (!fig.title.empty()) {
    const int ts = fit_scale(fig.title, kTitleScale, fig.width - 8);
    draw_text(cv, fig.title, fig.width / 2.0, 12 + kCapHeight * (kTitleScale - ts) / 2.0, ts, kText, Align::center);
  }
  const auto bytes = cv.bytes();
  write_png(path, fig.width, fig.height, 3, bytes.data());
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
