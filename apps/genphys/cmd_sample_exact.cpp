// genphys sample --exact: generation with the exact empirical field of a data set (no network).
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "cli.hpp"
#include "genphys/check.hpp"
#include "genphys/exact_sampler.hpp"
#include "genphys/io.hpp"
#include "genphys/plot.hpp"
#include "genphys/toy_data.hpp"
#include "sample_cli.hpp"

namespace genphys::cli {
namespace {

// Beyond these the field's squared distances and exponentials leave double's range, or the run
// cannot fit in memory: refused before any work.
constexpr double kMaxCoordinate = 1e100;
constexpr double kMaxBytes = 16e9;

std::vector<double> column(const Eigen::MatrixXd& m, int c) {
  std::vector<double> out(static_cast<size_t>(m.rows()));
  for (Eigen::Index i = 0; i < m.rows(); ++i) out[static_cast<size_t>(i)] = m(i, c);
  return out;
}

// Median over samples of the distance to the nearest data point: near 0 when the exact field
// memorises the data, as it should.
double median_nearest_distance(const Eigen::MatrixXd& samples, const Eigen::MatrixXd& data) {
  std::vector<double> d(static_cast<size_t>(samples.rows()));
  for (Eigen::Index i = 0; i < samples.rows(); ++i)
    d[static_cast<size_t>(i)] = std::sqrt((data.rowwise() - samples.row(i)).rowwise().squaredNorm().minCoeff());
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  return d[d.size() / 2];
}

void save_scatter(const Eigen::MatrixXd& data, const ExactSamples& r, const std::string& title,
                  const std::string& path) {
  plot::Panel panel;
  panel.title = title;
  panel.xlabel = "x1";
  panel.ylabel = "x2";
  panel.equal_aspect = true;
  panel.series.push_back({"data", column(data, 0), column(data, 1), plot::Series::Style::points, plot::Color{150, 150, 150}, 6});
  panel.series.push_back({"samples", column(r.samples, 0), column(r.samples, 1), plot::Series::Style::points, plot::palette(0), 3});
  for (size_t k = 0; k < r.trajectories.size(); ++k) {
    const auto& tr = r.trajectories[k];
    // The prior is far out; the path's last steps are where the field does its work.
    panel.series.push_back({k == 0 ? "trajectories" : "", column(tr.x, 0), column(tr.x, 1), plot::Series::Style::line,
                            plot::palette(3), 1.5});
  }
  Eigen::Vector2d lo = data.colwise().minCoeff(), hi = data.colwise().maxCoeff();
  const Eigen::Vector2d pad = 0.25 * (hi - lo).cwiseMax(1e-9);
  panel.xmin = lo(0) - pad(0);
  panel.xmax = hi(0) + pad(0);
  panel.ymin = lo(1) - pad(1);
  panel.ymax = hi(1) + pad(1);
  plot::Figure fig;
  fig.width = fig.height = 800;
  fig.panels = {panel};
  plot::save_png(fig, path);
}

}  // namespace

void add_exact_sample_options(CLI::App& app, ExactSampleCliOptions& o) {
  app.add_flag("--exact", o.exact, "use the exact empirical field of --data instead of a network");
  app.add_option("--pde", o.pde, "--exact: PDE module name or alias")->check(non_empty());
  app.add_option("--data", o.data, "--exact: toy:NAME[:N] (heart, rings, moons, checkerboard, swiss-roll) or a CSV of points")->check(non_empty());
  app.add_option("--n", o.n, "number of samples, i = 0..n-1 from stream (seed, i) (with --ckpt: --seeds 0-(n-1))")->capture_default_str();
  app.add_option("--csv", o.csv, "--exact: write the samples as CSV")->check(non_empty());
  app.add_option("--plot", o.plot, "--exact: scatter plot of samples over the data (2D data)")->check(non_empty());
  app.add_option("--trajectories", o.trajectories, "--exact: draw this many sample paths on the plot")->capture_default_str();
  app.add_option("--flow", o.flow,
                 "--exact, modules whose PDE has R != 0: normalised (the normalised kernel's own mass-conserving flow) | "
                 "unnormalised (the PDE's own flow with birth/death, needs --birth-death)")
      ->capture_default_str();
  app.add_option("--birth-death", o.birth_death, "--exact --flow unnormalised: ignore (drop R) | reweight (log-weights + resampling)")->check(non_empty());
  app.add_flag("--prior-gap", o.prior_gap,
               "--exact: also report the sliced KS statistic between the prior and the data's forward marginal at "
               "t_max (and its noise floor at --n)");
  app.add_flag("--auto-sigma-max", o.auto_sigma_max,
               "--exact: sigma_max from the module and the data: the smallest at which the prior has forgotten "
               "the data (its prior gap at the noise floor), reported with its gap; the default unless --sigma-max");
  o.module.add_to(&app);
}

int run_exact_sample(const SampleCliOptions& s, const ExactSampleCliOptions& o) {
  if (o.pde.empty()) throw InputError("--exact needs --pde NAME");
  if (o.data.empty()) throw InputError("--exact needs --data toy:NAME or a CSV path");
  if (!s.ckpt.empty()) throw InputError("--exact and --ckpt exclude each other");
  if (o.n < 1 || o.n > 10000000) throw InputError("--n must be in [1, 1e7]");
  if (o.trajectories < 0) throw InputError("--trajectories must be >= 0");
  if (o.csv.empty() && o.plot.empty()) throw InputError("nothing to write: give --csv F.csv and/or --plot F.png");
  if (o.auto_sigma_max && s.sigma_max > 0) throw InputError("--auto-sigma-max and --sigma-max exclude each other");
  OutputSet outputs;
  if (!o.csv.empty()) outputs.add(o.csv);
  if (!o.plot.empty()) {
    check_png_path(o.plot, "--plot");
    outputs.add(o.plot);
  }

  const Eigen::MatrixXd data = load_points(o.data, s.seed);
  if (const double largest = data.cwiseAbs().maxCoeff(); largest > kMaxCoordinate)
    throw InputError(fmt::format("{}: coordinates must be within +-{:g}, found {:g}", o.data, kMaxCoordinate, largest));
  // The samples, their trajectories and the per-sample work space must fit in memory.
  const double kept = std::min(o.trajectories, o.n), batch = std::clamp(s.batch, 1, o.n);
  const double bytes = 8.0 * static_cast<double>(data.cols()) * (4.0 * o.n + static_cast<double>(data.rows())) +
                       8.0 * kept * (std::max(s.nfe, 1) + 2.0) * static_cast<double>(data.cols()) +
                       8.0 * batch * static_cast<double>(data.rows());
  if (bytes > kMaxBytes)
    throw InputError(fmt::format("--n {} samples of {} coordinates need about {:.3g} GB; the limit is {:g} GB", o.n,
                                 data.cols(), bytes / 1e9, kMaxBytes / 1e9));
  const auto module = o.module.make(o.pde);
  if (o.flow != "normalised" && o.flow != "unnormalised")
    throw InputError(fmt::format("unknown --flow '{}'; valid: normalised, unnormalised", o.flow));
  std::unique_ptr<GenerativeProcess> process;
  if (o.flow == "unnormalised") {
    process = module->unnormalised_generative(static_cast<int>(data.cols()));
    if (!process)
      throw InputError(fmt::format("PDE '{}' has R = 0: its flow conserves mass, so --flow unnormalised does not apply",
                                   module->name()));
  } else {
    process = require_process(*module, static_cast<int>(data.cols()));
  }
  // The prior from the module and the data unless sigma_max is given outright.
  std::optional<ForgettingChoice> chosen;
  std::string not_chosen;  // why the default choice fell back on the module's own sigma_max
  if (o.auto_sigma_max || !(s.sigma_max > 0)) {
    try {
      chosen = forgetting_sigma_max(*process, data, s.seed);
    } catch (const std::domain_error& e) {  // a special function beyond its range on the ladder
      if (o.auto_sigma_max)
        throw InputError(fmt::format("{}: no sigma_max could be chosen: {}", module->name(), e.what()));
      not_chosen = e.what();
    }
  }
  if (chosen) {
    if (s.sigma_min > 0 && !(s.sigma_min < chosen->sigma_max))
      throw InputError(fmt::format("--sigma-min ({}) must be below the chosen sigma_max ({:.4g})", s.sigma_min,
                                   chosen->sigma_max));
  }
  const double sigma_max = chosen ? chosen->sigma_max : s.sigma_max;
  check_data_resolution(*process, data, s.sigma_min, sigma_max);  // data finer than a flow's floor
  if (!o.plot.empty() && data.cols() != 2)
    throw InputError(fmt::format("--plot draws 2D data; {} has {} columns", o.data, data.cols()));

  ExactSamplerOptions opt;
  opt.solver = parse_solver(s.solver);
  opt.stepping = parse_stepping(s.stepping);
  opt.nfe = s.nfe;
  opt.sigma_min = s.sigma_min;
  opt.sigma_max = sigma_max;
  opt.rk45.rtol = s.rtol;
  opt.rk45.atol = s.atol;
  opt.rho = s.stochastic.rho;
  opt.churn = s.stochastic.churn;
  require_sampler_fits(*process, opt.solver, opt.churn);
  opt.batch_size = s.batch;
  opt.keep_trajectories = std::min(o.trajectories, o.n);
  if (process->has_birth_death()) {
    if (o.birth_death.empty())
      throw InputError(fmt::format("the unnormalised flow of PDE '{}' has R != 0: choose --birth-death ignore (drop R) or "
                                   "reweight (log-weights + resampling)",
                                   module->name()));
    opt.birth_death = parse_birth_death(o.birth_death);
  } else if (!o.birth_death.empty() && o.birth_death != "ignore") {
    throw InputError(fmt::format("the {} flow of PDE '{}' has R = 0: --birth-death {} does not apply", o.flow,
                                 module->name(), o.birth_death));
  }

  if (o.prior_gap && o.n < 2) throw InputError("--prior-gap needs --n >= 2");
  ExactSamples r;
  try {
    r = sample_exact(*process, data, o.n, s.seed, opt);
  } catch (const std::domain_error& e) {  // a special function beyond its range at these noise levels
    throw InputError(fmt::format("{} cannot be sampled in this noise range: {}", module->name(), e.what()));
  }
  if (!r.samples.allFinite())
    throw InputError(fmt::format("{}: the samples are not finite; narrow the --sigma-min/--sigma-max range or rescale "
                                 "the data", module->name()));
  const double median = median_nearest_distance(r.samples, data);
  // The report goes out after the files: a failed output leaves no report of success.
  std::string report = fmt::format(
      "{} samples of {} ({} data points, N = {}), solver {}{}, NFE {} (mean {:.1f}), t in [{:.4g}, {:.4g}]", o.n,
      module->name(), data.rows(), data.cols(), s.solver,
      opt.churn.active() ? fmt::format(" with churn {:g}", opt.churn.s_churn) : "", r.nfe, r.nfe_mean, r.t_min,
      r.t_max);
  if (opt.birth_death == BirthDeath::reweight) report += fmt::format(", ESS {:.1f}", r.ess);
  report += fmt::format(", median distance to nearest data point {:.3g}\n", median);
  if (chosen)
    report += fmt::format("sigma_max {:.4g} from the module and the data (the module's own {:g}): the prior gap is at "
                          "its noise floor for sigma >= {:.4g} and not at {:.4g}; sliced KS {:.4f} at the choice (two "
                          "prior draws: {:.4f}, n = {})\n",
                          chosen->sigma_max, process->sigma_max(), chosen->forgotten_to, chosen->failed_at,
                          chosen->gap.sliced_ks, chosen->noise_floor, chosen->gap.n);
  if (!not_chosen.empty())
    report += fmt::format("sigma_max {:g}, the module's own: none could be chosen from the module and the data ({})\n",
                          process->sigma_max(), not_chosen);
  if (o.prior_gap) {
    const PriorGap g = prior_gap(*process, data, o.n, s.seed, opt.sigma_max > 0 ? opt.sigma_max : process->sigma_max());
    report += fmt::format("prior vs forward marginal at sigma_max = {:g} (t_max = {:.4g}): sliced KS {:.4f} "
                          "(two prior draws: {:.4f}, n = {})\n",
                          g.sigma_max, g.t_max, g.sliced_ks, g.noise_floor, g.n);
  }
  if (!o.csv.empty()) outputs.set(o.csv, format_csv_points(r.samples));
  if (!o.plot.empty())
    outputs.set_from_file(o.plot, [&](const std::string& path) {
      save_scatter(data, r, fmt::format("{}: exact field, {} NFE {}", module->name(), s.solver, r.nfe), path);
    });
  outputs.commit();
  std::cout << report;
  return 0;
}

}  // namespace genphys::cli
