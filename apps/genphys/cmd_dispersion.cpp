// genphys dispersion: the branches omega_j(k) of one or several PDEs as CSV and a plot.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "genphys/check.hpp"
#include "genphys/io.hpp"
#include "genphys/plot.hpp"

namespace genphys::cli {
namespace {

struct DispersionOptions {
  std::string pdes;
  double kmax = 3.0;
  int points = 301;
  std::string csv, plot;
  ModuleOptions module;
};

struct Curve {
  std::string pde, branch;
  std::vector<double> k, re, im;
};

void add_to_plot(const PdeModule& m, const std::vector<Curve>& curves, int color, plot::Panel& im_panel,
                 plot::Panel& re_panel) {
  const C2Analysis c2 = analyse_c2(m.dispersion());
  int b = 0;
  for (const auto& c : curves) {
    plot::Series s;
    s.label = c.pde + ": " + c.branch;
    s.x = c.k;
    s.style = b == std::max(c2.branch, 0) ? plot::Series::Style::line : plot::Series::Style::dashed;
    s.color = plot::palette(color);
    s.y = c.re;
    re_panel.series.push_back(s);
    // The legend lives in the Re panel; the Im panel keeps its plot area clear.
    s.y = c.im;
    s.label.clear();
    im_panel.series.push_back(s);
    ++b;
  }
  if (c2.branch >= 0) {
    const double im0 = m.dispersion()[c2.branch].omega(0.0).imag() + 0.0;  // no "-0"
    auto same = [im0](const plot::RefLine& l) { return l.value == im0; };
    const auto it = std::find_if(im_panel.lines.begin(), im_panel.lines.end(), same);
    if (it == im_panel.lines.end())
      im_panel.lines.push_back({plot::RefLine::Orientation::horizontal, im0, fmt::format("Im w(0) = {:.3g}: {}", im0, m.name()), std::nullopt});
    else
      it->label += ", " + m.name();
  }
  if (c2.k_nondecay > 0)
    im_panel.bands.push_back({0.0, c2.k_nondecay, fmt::format("{}: no decay for k <= {:.3g}", m.name(), c2.k_nondecay)});
}

}  // namespace

CommandRunner setup_dispersion(CLI::App& app) {
  auto opt = std::make_shared<DispersionOptions>();
  app.add_option("--pde", opt->pdes, "PDE module name, or a comma-separated list to overlay")->required()->check(non_empty());
  app.add_option("--kmax", opt->kmax, "largest wave number k")->capture_default_str();
  app.add_option("--points", opt->points, "number of k values in [0, kmax]")->capture_default_str();
  app.add_option("--csv", opt->csv, "write the CSV here (default: standard output)")->check(non_empty());
  app.add_option("--plot", opt->plot, "write a PNG plot of Im and Re omega_j(k) here")->check(non_empty());
  opt->module.add_to(&app);
  return [opt]() -> int {
    if (!(opt->kmax > 0) || !std::isfinite(opt->kmax)) throw InputError("--kmax must be a positive number");
    if (opt->points < 2 || opt->points > 1000000) throw InputError("--points must be in [2, 1000000]");
    const std::vector<std::string> names = split_list(opt->pdes, "--pde");
    opt->module.check_used(names);
    const std::string csv_path = opt->csv.empty() ? "-" : opt->csv;
    OutputSet outputs;
    outputs.add(csv_path);
    if (!opt->plot.empty()) {
      check_png_path(opt->plot, "--plot");
      outputs.add(opt->plot);
    }

    std::ostringstream csv;
    csv << "pde,branch,k,re_omega,im_omega\n";
    plot::Panel im_panel, re_panel;
    im_panel.title = "Im omega_j(k): C2 needs a branch below its Im omega(0) for all k > 0";
    re_panel.title = "Re omega_j(k)";
    im_panel.xlabel = re_panel.xlabel = "k";
    im_panel.ylabel = "Im omega";
    re_panel.ylabel = "Re omega";
    const double ylim = std::max(2.0, 2.0 * opt->kmax);
    int color = 0;
    for (const auto& name : names) {
      const auto m = opt->module.make(name, names.size() > 1);
      std::vector<Curve> curves;
      for (const auto& branch : m->dispersion()) {
        Curve c{m->name(), branch.label, {}, {}, {}};
        for (int i = 0; i < opt->points; ++i) {
          const double k = opt->kmax * i / (opt->points - 1);
          const complex w = branch.omega(k);
          if (!std::isfinite(w.real()) || !std::isfinite(w.imag()))
            throw InputError(fmt::format("{} branch \"{}\": omega({:g}) is not finite; use a smaller --kmax", m->name(),
                                         branch.label, k));
          c.k.push_back(k);
          c.re.push_back(w.real());
          c.im.push_back(w.imag());
          csv << fmt::format("{},\"{}\",{:.10g},{:.10g},{:.10g}\n", m->name(), branch.label, k, w.real(), w.imag());
        }
        curves.push_back(std::move(c));
      }
      add_to_plot(*m, curves, color++, im_panel, re_panel);
    }
    outputs.set(csv_path, csv.str());
    if (!opt->plot.empty()) {
      for (auto* p : {&im_panel, &re_panel}) {
        p->xmin = 0.0;
        p->xmax = opt->kmax;
      }
      im_panel.ymin = -ylim;
      im_panel.ymax = ylim / 2;
      re_panel.ymin = -ylim;
      re_panel.ymax = 2.5 * ylim;  // head-room for the legend
      plot::Figure fig;
      fig.width = 1100;
      fig.height = 1000;
      fig.rows = 2;
      fig.title = "Dispersion relations, phi ~ exp(i(k.x - omega t)); solid: the branch C2 uses";
      fig.panels = {im_panel, re_panel};
      outputs.set_from_file(opt->plot, [&](const std::string& path) { plot::save_png(fig, path); });
    }
    outputs.commit();
    if (!opt->plot.empty()) std::cerr << "wrote " << opt->plot << "\n";
    return 0;
  };
}

}  // namespace genphys::cli
