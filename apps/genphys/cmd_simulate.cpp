// genphys simulate: evolve a few Gaussian bumps exactly in Fourier space and plot snapshots,
// so C2 (whether the data are forgotten) can be seen.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <optional>

#include "cli.hpp"
#include "genphys/io.hpp"
#include "genphys/plot.hpp"
#include "genphys/simulate.hpp"

namespace genphys::cli {
namespace {

struct SimulateOptions {
  std::string pde;
  int dim = 1;
  int grid = 256;
  int steps = 4;
  double t_max = 1.0;
  double length = 10.0;
  std::optional<double> width;  // default: max(0.15, 2 dx)
  int sources = 3;
  std::uint64_t seed = 1;
  std::string out;
  ModuleOptions module;
};

void plot_1d(const PdeModule& m, const SimulationBox& box, const std::vector<Snapshot>& snaps, bool amplitude,
             const std::string& path) {
  plot::Panel panel;
  panel.title = amplitude ? "|phi|^2 (phi-hat evolved by G-hat, phi(0) = sqrt(p0))" : "p(x, t) = p0 * G_t";
  panel.xlabel = "x";
  panel.ylabel = amplitude ? "|phi|^2" : "p";
  panel.lines.push_back({plot::RefLine::Orientation::horizontal, 0.0, "", std::nullopt});
  for (const auto& s : snaps) {
    plot::Series series;
    series.label = fmt::format("t = {:.4g}", s.t);
    for (int i = 0; i < box.grid; ++i) {
      series.x.push_back(box.coordinate(i));
      series.y.push_back(s.density[i]);
    }
    panel.series.push_back(std::move(series));
  }
  panel.xmin = -0.5 * box.length;
  panel.xmax = 0.5 * box.length;
  plot::Figure fig;
  fig.width = 1100;
  fig.height = 650;
  fig.title = fmt::format("{}: {} (exact spectral evolution, periodic box)", m.name(), m.equation());
  fig.panels = {panel};
  plot::save_png(fig, path);
}

// A row of heatmaps on one colour scale: white at 0, red for p > 0, blue for p < 0.
void plot_2d(const SimulationBox& box, const std::vector<Snapshot>& snaps, const std::string& path) {
  double scale = 0;
  for (const auto& s : snaps) scale = std::max({scale, std::fabs(s.min), std::fabs(s.max)});
  if (!(scale > 0)) scale = 1;
  const int n = box.grid, count = static_cast<int>(snaps.size());
  std::vector<float> pixels;
  pixels.reserve(std::size_t(count) * 3 * n * n);
  for (const auto& s : snaps)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x) {
          // Row y of the image is the second axis from the top down.
          const double v = std::clamp(s.density[std::size_t(x) + std::size_t(n) * (n - 1 - y)] / scale, -1.0, 1.0);
          const double a = std::fabs(v);
          double rgb[3] = {1 - a, 1 - a, 1 - a};
          rgb[v >= 0 ? 0 : 2] = 1.0;
          pixels.push_back(static_cast<float>(2 * rgb[c] - 1));
        }
  plot::save_image_grid_png(pixels, count, 3, n, n, count, path);
}

}  // namespace

CommandRunner setup_simulate(CLI::App& app) {
  auto opt = std::make_shared<SimulateOptions>();
  app.add_option("--pde", opt->pde, "PDE module name or alias")->required()->check(non_empty());
  app.add_option("--dim", opt->dim, "1 or 2")->capture_default_str();
  app.add_option("--grid", opt->grid, "grid points per axis (even)")->capture_default_str();
  app.add_option("--steps", opt->steps, "snapshots after t = 0, evenly spaced up to --t-max")->capture_default_str();
  app.add_option("--t-max", opt->t_max, "last snapshot time")->capture_default_str();
  app.add_option("--length", opt->length, "side of the periodic box [-L/2, L/2)")->capture_default_str();
  app.add_option("--width", opt->width, "standard deviation of each initial bump (default max(0.15, 2 dx))");
  app.add_option("--sources", opt->sources, "number of initial bumps (random positions)")->capture_default_str();
  app.add_option("--seed", opt->seed, "random seed for the bump positions")->check(non_negative())->capture_default_str();
  app.add_option("--out", opt->out, "PNG: curves per t (1D) or a row of heatmaps (2D, one colour scale)")->required()->check(non_empty());
  opt->module.add_to(&app);
  return [opt]() -> int {
    SimulationBox box{opt->dim, opt->grid, opt->length};
    box.validate();
    if (!(opt->length >= 1e-3 && opt->length <= 1e6))
      throw InputError(fmt::format("--length must be in [1e-3, 1e6], got {}", opt->length));
    if (opt->steps < 1 || opt->steps > 64) throw InputError(fmt::format("--steps must be in [1, 64], got {}", opt->steps));
    if (!(opt->t_max > 0) || !std::isfinite(opt->t_max))
      throw InputError(fmt::format("--t-max must be > 0, got {}", opt->t_max));
    if (opt->sources < 1 || opt->sources > 1000)
      throw InputError(fmt::format("--sources must be in [1, 1000], got {}", opt->sources));
    const double width = opt->width.value_or(std::max(0.15, 2 * box.dx()));
    if (!(width >= 2 * box.dx()) || !std::isfinite(width))
      throw InputError(fmt::format("--width must be at least two grid cells ({:.4g}), got {}", 2 * box.dx(), width));
    if (width > box.length / 4)
      throw InputError(fmt::format("--width must be at most a quarter of --length ({:.4g}), got {}", box.length / 4, width));
    const auto m = opt->module.make(opt->pde);
    check_png_path(opt->out, "--out");
    OutputSet outputs;
    outputs.add("-");
    outputs.add(opt->out);

    const std::vector<double> initial = gaussian_bumps(box, random_centers(box, opt->sources, opt->seed), width);
    std::vector<double> times;
    for (int i = 0; i <= opt->steps; ++i) times.push_back(opt->t_max * i / opt->steps);
    std::vector<Snapshot> snaps;
    bool amplitude = false;
    try {
      amplitude = evolves_amplitude(*m);
      snaps = simulate_spectral(*m, box, initial, times);
    } catch (const NotSupported& e) {
      throw InputError(e.what());
    }
    std::string table = fmt::format("{:>12} {:>14} {:>14} {:>14} {:>14}\n", "t", "mass", "min", "max", "contrast");
    for (const auto& s : snaps) {
      const bool finite = std::all_of(s.density.begin(), s.density.end(), [](double v) { return std::isfinite(v); });
      if (!finite || !std::isfinite(s.mass))
        throw InputError(fmt::format("the density at t = {:.6g} is not finite (it overflows); use a smaller --t-max", s.t));
      table += fmt::format("{:>12.6g} {:>14.8g} {:>14.6g} {:>14.6g} {:>14.6g}\n", s.t, s.mass, s.min, s.max,
                           s.contrast());
    }
    outputs.set("-", table);
    outputs.set_from_file(opt->out, [&](const std::string& path) {
      if (box.dim == 1) {
        plot_1d(*m, box, snaps, amplitude, path);
      } else {
        plot_2d(box, snaps, path);
      }
    });
    outputs.commit();
    std::cerr << "wrote " << opt->out << "\n";
    return 0;
  };
}

}  // namespace genphys::cli
