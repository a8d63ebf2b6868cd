// genphys green: the point-source solution phi = G(r, t) and its density p in N dimensions.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "cli.hpp"
#include "genphys/density_flow.hpp"
#include "genphys/io.hpp"
#include "genphys/plot.hpp"

namespace genphys::cli {
namespace {

struct GreenOptions {
  std::string pde;
  int dim = 0;
  double t = 0.0;
  std::string radii;
  bool json = false;
  std::string plot;
  ModuleOptions module;
};

// Calls into the module, turning "no Green's function here" and a special function's domain
// error at extreme arguments (t = 1e-200 underflows its argument to 0) into one-line input errors.
template <class F>
auto supported(const PdeModule& m, const GreenOptions& opt, F&& f) {
  try {
    return f();
  } catch (const NotSupported& e) {
    throw InputError(e.what());
  } catch (const std::domain_error& e) {
    throw InputError(fmt::format("{} in N = {} cannot be evaluated at t = {:g}: {}", m.name(), opt.dim, opt.t, e.what()));
  }
}

void write_plot(const PdeModule& m, const GreenOptions& opt, double r_max, const std::string& path) {
  plot::Panel panel;
  panel.title = fmt::format("p = {}, N = {}; each curve / its max |p|", m.density_flow_form().p, opt.dim);
  panel.xlabel = "r = |x - y|";
  panel.ylabel = "p / max |p|";
  panel.lines.push_back({plot::RefLine::Orientation::horizontal, 0.0, "p = 0", std::nullopt});
  const int points = 240;
  for (double factor : {0.25, 0.5, 1.0, 2.0}) {
    const double t = factor * opt.t;
    std::vector<double> rs, logs;
    std::vector<int> signs;
    for (int i = 0; i <= points; ++i) {
      const double r = r_max * i / points;
      const SignedLog p = m.point_flow(r, t, opt.dim).p;
      rs.push_back(r);
      logs.push_back(p.log_abs);
      signs.push_back(p.sign);
    }
    double top = -INFINITY;
    for (std::size_t i = 0; i < rs.size(); ++i)
      if (signs[i] != 0 && std::isfinite(logs[i])) top = std::max(top, logs[i]);
    plot::Series s;
    s.label = fmt::format("t = {:.4g}", t);
    for (std::size_t i = 0; i < rs.size(); ++i) {
      if (signs[i] != 0 && !std::isfinite(logs[i])) continue;  // a singular front
      s.x.push_back(rs[i]);
      s.y.push_back(signs[i] == 0 || !std::isfinite(top) ? 0.0 : signs[i] * std::exp(logs[i] - top));
    }
    panel.series.push_back(std::move(s));
  }
  panel.xmin = 0.0;
  panel.xmax = r_max;
  plot::Figure fig;
  fig.width = 1000;
  fig.height = 650;
  const std::string method = m.green_method(opt.dim);
  fig.title = fmt::format("{}: {} ({})", m.name(), m.equation(), method.substr(0, method.find(':')));
  fig.panels = {panel};
  plot::save_png(fig, path);
}

}  // namespace

CommandRunner setup_green(CLI::App& app) {
  auto opt = std::make_shared<GreenOptions>();
  app.add_option("--pde", opt->pde, "PDE module name or alias")->required()->check(non_empty());
  app.add_option("--dim", opt->dim, "data dimension N")->required();
  app.add_option("--t", opt->t, "time t > 0 (r_D for Poisson/PFGM++)")->required();
  app.add_option("--r", opt->radii, "radii r = |x - y| >= 0, comma-separated")->required()->check(non_empty());
  app.add_flag("--json", opt->json, "one JSON object per radius: r, t, value, log_value, sign, p, log_p, p_sign, method");
  app.add_option("--plot", opt->plot, "write a PNG of p(r) at t/4, t/2, t, 2t (zero line: negative lobes show)")->check(non_empty());
  opt->module.add_to(&app);
  return [opt]() -> int {
    check_dim(opt->dim);
    if (!(opt->t > 0) || !std::isfinite(opt->t)) throw InputError(fmt::format("--t must be > 0, got {}", opt->t));
    const std::vector<double> radii = number_list(opt->radii, "--r", 0.0, HUGE_VAL);
    const auto m = opt->module.make(opt->pde);
    OutputSet outputs;
    outputs.add("-");
    if (!opt->plot.empty()) {
      check_png_path(opt->plot, "--plot");
      outputs.add(opt->plot);
    }
    const std::string method = m->green_method(opt->dim);

    std::string rows;
    for (double r : radii) {
      const SignedLog g = supported(*m, *opt, [&] { return m->green(r, opt->t, opt->dim); });
      if (std::isnan(g.log_abs))
        throw InputError(fmt::format("G(r = {:g}, t = {:g}) in N = {} is not a number for {}", r, opt->t, opt->dim, m->name()));
      const double value = g.value();
      if (opt->json) {
        const SignedLog p = supported(*m, *opt, [&] { return m->point_flow(r, opt->t, opt->dim).p; });
        nlohmann::ordered_json j;
        j["r"] = r;
        j["t"] = opt->t;
        j["value"] = std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
        j["log_value"] = std::isfinite(g.log_abs) ? nlohmann::ordered_json(g.log_abs) : nlohmann::ordered_json(nullptr);
        j["sign"] = g.sign;
        if (std::isnan(p.log_abs))
          throw InputError(fmt::format("p(r = {:g}, t = {:g}) in N = {} is not a number for {}", r, opt->t, opt->dim,
                                       m->name()));
        const double pv = p.value();
        j["p"] = std::isfinite(pv) ? nlohmann::ordered_json(pv) : nlohmann::ordered_json(nullptr);
        j["log_p"] = std::isfinite(p.log_abs) ? nlohmann::ordered_json(p.log_abs) : nlohmann::ordered_json(nullptr);
        j["p_sign"] = p.sign;
        j["method"] = method;
        rows += j.dump() + "\n";
      } else {
        rows += fmt::format("{:.10g} {:.10g} {:.10g} {:.12g} {:+d} {}\n", r, opt->t, value, g.log_abs, g.sign, method);
      }
    }
    if (!opt->plot.empty()) {
      double r_max = *std::max_element(radii.begin(), radii.end());
      if (!(r_max > 0)) r_max = 3 * opt->t * std::max(1.0, std::sqrt(static_cast<double>(opt->dim)));
      supported(*m, *opt, [&] {
        outputs.set_from_file(opt->plot, [&](const std::string& path) { write_plot(*m, *opt, r_max, path); });
        return 0;
      });
    }
    outputs.set("-", rows);
    outputs.commit();
    if (!opt->plot.empty()) std::cerr << "wrote " << opt->plot << "\n";
    return 0;
  };
}

}  // namespace genphys::cli
