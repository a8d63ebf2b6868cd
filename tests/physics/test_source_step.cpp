// The frozen-source step (genphys/source_step.hpp) for velocity-target modules: its tables against
// the kernels' own radial CDFs and speeds (and the closed forms of an affine module), single-point
// data landed exactly at 9, 17 and 35 NFE, and four points at 9 NFE against the plain steps.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "genphys/exact_sampler.hpp"
#include "genphys/pde.hpp"
#include "genphys/source_step.hpp"

using namespace genphys;

namespace {

std::unique_ptr<GenerativeProcess> process_of(const std::string& name, int dim, const ParamValues& params = {}) {
  return make_module(name, params)->generative(dim);
}

// The radius of quantile u at t, by bisection on the module's radial CDF (not the tables).
double quantile_radius(const GenerativeProcess& p, double u, double t) {
  double lo = std::log(p.sigma(t) * std::sqrt(double(p.dim()))) - 1, hi = lo + 2;
  while (p.radial_cdf(std::exp(lo), t) > u) lo -= 1;
  while (p.radial_cdf(std::exp(hi), t) < u) hi += 1;
  for (int k = 0; k < 100; ++k) {
    const double mid = 0.5 * (lo + hi);
    (p.radial_cdf(std::exp(mid), t) < u ? lo : hi) = mid;
  }
  return std::exp(0.5 * (lo + hi));
}

double logit(double u) { return std::log(u / (1 - u)); }

ExactSamplerOptions heun(int nfe, Stepping stepping = Stepping::source) {
  ExactSamplerOptions o;
  o.nfe = nfe;
  o.stepping = stepping;
  return o;
}

}  // namespace

TEST_CASE("source transport: a quantile moves to the same quantile; the speed inverts to its radius") {
  struct Case {
    std::string name;
    int dim;
  };
  for (const Case& c : std::vector<Case>{{"screened-poisson", 2}, {"screened-poisson", 784},
                                         {"mixed-diffusion-poisson", 2}, {"helmholtz", 2}}) {
    const auto p = process_of(c.name, c.dim);
    const std::vector<double> times = exact_time_grid(*p, heun(9));
    const SourceTransport tr(*p, times);
    REQUIRE(tr.levels() == times.size());
    double worst_z = 0, worst_r = 0;
    for (std::size_t i = 0; i + 2 < times.size(); ++i) {
      const double t = times[i], t_next = times[i + 1];
      for (double u : {1e-6, 0.01, 0.3, 0.5, 0.9, 0.999, 1 - 1e-6}) {
        const double r = quantile_radius(*p, u, t);
        const double moved = tr.transport(i, i + 1, r);
        worst_z = std::max(worst_z, std::fabs(logit(p->radial_cdf(moved, t_next)) - logit(u)));
        // On the rising branch (no radius below r as fast): beyond it the inversion takes the
        // smaller radius by design.
        if (u >= 0.01 && u <= 0.999) {
          const double speed = p->source_radial_speed(r, t);
          bool first = speed > 0;
          for (double f = 0.05; f < 0.99; f += 0.05) first = first && p->source_radial_speed(r * f, t) < speed;
          if (first) worst_r = std::max(worst_r, std::fabs(tr.implied_radius(i, speed) / r - 1));
        }
      }
      CHECK(tr.transport(i, times.size() - 1, 1.0) == 0.0);  // to t = 0: onto the source
    }
    std::printf("%-24s N = %-4d worst |logit F' - logit u| %.2e, worst implied radius error %.2e\n", c.name.c_str(),
                c.dim, worst_z, worst_r);
    CHECK(worst_z < 0.01);
    CHECK(worst_r < 2e-3);
  }
}

// A network's velocity can be faster than any source moves its particle (the 9-NFE screened-Poisson
// network at t = 1.98: |v| up to 3x the table's fastest speed). Extrapolating the speed's last
// segment gave such a particle a source 1e7 away, the next step one 1e129 away, and non-finite
// samples; the radius now stops at the table's last, the radial law's 1 - 1e-12 quantile.
TEST_CASE("source transport: a speed above every source's is given the fastest radius, no further") {
  const auto p = process_of("screened-poisson", 2);
  const std::vector<double> times = exact_time_grid(*p, heun(9));
  const SourceTransport tr(*p, times);
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    const double t = times[i];
    const double edge = quantile_radius(*p, 1 - 1e-12, t);
    // s rises up to the table's edge here (an unbounded kernel in N = 2): the edge is the fastest.
    REQUIRE(p->source_radial_speed(edge, t) > p->source_radial_speed(0.5 * edge, t));
    const double fastest = p->source_radial_speed(edge, t);
    for (double factor : {1.5, 3.0, 1e6}) {
      const double r = tr.implied_radius(i, factor * fastest);
      INFO("t = " << t << ", speed " << factor << " x the fastest");
      CHECK(r == Approx(edge).epsilon(0.02));
    }
    // Just below the fastest speed the inversion is still on the table, and below the edge.
    CHECK(tr.implied_radius(i, 0.99 * fastest) < edge);
  }
}

TEST_CASE("source transport of an affine module is its closed form: r' = r sigma'/sigma, R = 2 t |v|") {
  const auto p = process_of("diffusion", 2);
  const std::vector<double> times = exact_time_grid(*p, heun(9));
  const SourceTransport tr(*p, times);
  for (std::size_t i = 0; i + 2 < times.size(); ++i)
    for (double r : {1e-3, 0.1, 1.0, 30.0}) {
      const double t = times[i];
      if (r > 7 * p->sigma(t)) continue;  // beyond the table's 1 - 1e-12 the logit is extrapolated
      CHECK(tr.transport(i, i + 1, r) == Approx(r * p->sigma(times[i + 1]) / p->sigma(t)).epsilon(2e-3));
      CHECK(tr.implied_radius(i, r / (2 * t)) == Approx(r).epsilon(2e-3));
    }
}

TEST_CASE("frozen-source steps land single-point data on its point at 9, 17 and 35 NFE") {
  Eigen::MatrixXd data(1, 2);
  data << 0.3, -0.2;
  for (const std::string name : {"screened-poisson", "mixed-diffusion-poisson", "helmholtz"}) {
    const auto p = process_of(name, 2);
    for (Solver solver : {Solver::heun, Solver::euler})
      for (int nfe : {9, 17, 35}) {
        ExactSamplerOptions o = heun(nfe);
        o.solver = solver;
        const ExactSamples s = sample_exact(*p, data, 200, 3, o);
        CHECK(s.nfe == nfe);
        const Eigen::VectorXd miss = (s.samples.rowwise() - data.row(0)).rowwise().norm();
        // The inverse-Gaussian mixtures land to ~3e-8: the last step lands on the implied source,
        // off by the speed table's interpolation error times the radius there. Helmholtz lands to
        // ~6e-5, but at 9 NFE some of its first steps start where the truncated kernel's speed has
        // turned negative (its shrinking edge), and the rising-branch inversion puts their source
        // on the wrong side: 1-4% of those samples miss.
        const double tolerance = name == "helmholtz" ? 1e-4 : 1e-6;
        const double landed = (miss.array() < tolerance).cast<double>().mean();
        std::printf("%-24s %-5s %2d NFE: largest distance to the point %.2e, %.1f%% within %g\n", name.c_str(),
                    to_string(solver).c_str(), nfe, miss.maxCoeff(), 100 * landed, tolerance);
        INFO(name << " " << to_string(solver) << " " << nfe << " NFE");
        CHECK(landed >= (name == "helmholtz" && nfe == 9 ? 0.95 : 1.0));
      }
  }
}

TEST_CASE("velocity modules at 9 NFE: frozen-source steps land and keep the isolated share; plain steps do not") {
  // Four points: one isolated at (-1, 0), three within 0.15 of (1, 0) (test_exact_shares). From
  // sigma_max 80, 9 NFE misplaces samples inside the cluster for every module (diffusion's exact
  // frozen-D steps too: README), so only the isolated share and landing are held here. Plain
  // steps: none of the inverse-Gaussian modules' samples lands, Helmholtz's are 11% non-finite.
  Eigen::MatrixXd data(4, 2);
  data << -1.0, 0.0, 1.0, 0.0, 1.1, 0.05, 0.95, -0.1;
  const int n = 400;
  const double four_se = 4 * std::sqrt(0.25 * 0.75 / n);
  for (const std::string name : {"screened-poisson", "mixed-diffusion-poisson", "helmholtz"}) {
    const auto p = process_of(name, 2);
    double landed[2] = {0, 0}, isolated[2] = {0, 0};
    int finite[2] = {0, 0};
    for (int k = 0; k < 2; ++k) {
      const ExactSamples s = sample_exact(*p, data, n, 7, heun(9, k == 0 ? Stepping::source : Stepping::plain));
      for (Eigen::Index i = 0; i < n; ++i) {
        Eigen::Index best = 0;
        const double d = (data.rowwise() - s.samples.row(i)).rowwise().norm().minCoeff(&best);
        if (!std::isfinite(d)) continue;
        ++finite[k];
        landed[k] += d < 1e-2 ? 1.0 / n : 0.0;
        isolated[k] += best == 0 ? 1.0 / n : 0.0;
      }
    }
    std::printf("%-24s Heun 9: source landed %.3f isolated %.3f | plain landed %.3f isolated %.3f (%d finite)\n",
                name.c_str(), landed[0], isolated[0], landed[1], isolated[1], finite[1]);
    INFO(name);
    CHECK(finite[0] == n);
    CHECK(landed[0] >= 0.85);
    // Helmholtz's isolated share at 9 NFE is 0.150 (0.200 when the first step takes the most
    // probable radius instead of the prior centre's hint); it reaches 1/4 at 35 (test_exact_shares).
    if (name != "helmholtz") CHECK(std::fabs(isolated[0] - 0.25) < four_se);
    CHECK(landed[1] < 0.2);
  }
}

TEST_CASE("source transport in N = 784: levels whose speed does not tell the bulk's radii apart step plainly") {
  // In N = 2 every level resolves; screened Poisson in N = 784 has mid-t levels where the speed
  // varies by a few % over the radial law's central 90% (README, "a step by level").
  for (int nfe : {9, 17, 35}) {
    const auto p2 = process_of("screened-poisson", 2);
    const std::vector<double> times2 = exact_time_grid(*p2, heun(nfe));
    const SourceTransport tr2(*p2, times2);
    for (std::size_t i = 0; i < times2.size(); ++i) CHECK(tr2.resolves(i));
  }
  const auto p = process_of("screened-poisson", 784);
  const std::vector<double> times = exact_time_grid(*p, heun(17));
  const SourceTransport tr(*p, times);
  std::string pattern;
  for (std::size_t i = 0; i < times.size(); ++i) pattern += tr.resolves(i) ? 's' : 'p';
  std::printf("screened-poisson N = 784, 17 NFE, source / plain by level: %s\n", pattern.c_str());
  CHECK(tr.resolves(0));                                    // t = 6400: diffusion-like, s ~ r
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (times[i] > 5 && times[i] < 50) CHECK_FALSE(tr.resolves(i));  // s varies 3% over the bulk
    if (times[i] < 0.05) CHECK(tr.resolves(i));                      // Poisson-like near the data
  }

  // A step from an unresolved level is the plain Heun step in lambda.
  std::size_t i = 0;
  while (tr.resolves(i)) ++i;
  const std::vector<double> two{times[i], times[i + 1]}, lambdas{p->step_variable(two[0]), p->step_variable(two[1])};
  const SourceTransport pair(*p, two);
  REQUIRE_FALSE(pair.resolves(0));
  Eigen::MatrixXd x = Eigen::MatrixXd::Random(3, 784) * 5;
  auto velocity = [&](const Eigen::MatrixXd& at, std::size_t level) -> Eigen::MatrixXd {
    return (-0.3 - double(level)) * at.array().sin().matrix();
  };
  const SourceRows<Eigen::MatrixXd> rows{[](const Eigen::MatrixXd& m) {
                                           const Eigen::VectorXd n = m.rowwise().norm();
                                           return std::vector<double>(n.data(), n.data() + n.size());
                                         },
                                         [](const Eigen::MatrixXd& m, const std::vector<double>& f) -> Eigen::MatrixXd {
                                           return Eigen::Map<const Eigen::VectorXd>(f.data(), Eigen::Index(f.size()))
                                                      .asDiagonal() * m;
                                         }};
  int nfe = 0;
  const Eigen::MatrixXd got = integrate_source_steps(Solver::heun, x, two, lambdas, pair, velocity, rows, nfe);
  const double dl = lambdas[1] - lambdas[0];
  const Eigen::MatrixXd d0 = velocity(x, 0) / p->step_rate(two[0]);
  const Eigen::MatrixXd d1 = velocity(x + dl * d0, 1) / p->step_rate(two[1]);
  const Eigen::MatrixXd want = x + 0.5 * dl * (d0 + d1);
  CHECK(nfe == 2);
  CHECK((got - want).cwiseAbs().maxCoeff() < 1e-9 * want.cwiseAbs().maxCoeff());

  // One point in N = 784 still lands: the steps near the data are source steps.
  Eigen::MatrixXd data = Eigen::MatrixXd::Zero(1, 784);
  data(0, 0) = 0.5;
  ExactSamplerOptions o = heun(17);
  const ExactSamples s = sample_exact(*p, data, 50, 5, o);
  const double worst = (s.samples.rowwise() - data.row(0)).rowwise().norm().maxCoeff();
  std::printf("screened-poisson N = 784, one point, Heun 17: largest distance to the point %.2e\n", worst);
  CHECK(worst < 1e-5);
}

TEST_CASE("screened Poisson in N = 784, steps by level: an isolated point and a cluster get their shares") {
  // The four points of test_exact_shares (one isolated, three within 0.15) in the first two of
  // 784 coordinates: the unresolved mid-t levels take plain steps here, and the shares must hold.
  Eigen::MatrixXd data = Eigen::MatrixXd::Zero(4, 784);
  data.leftCols(2) << -1.0, 0.0, 1.0, 0.0, 1.1, 0.05, 0.95, -0.1;
  const auto p = process_of("screened-poisson", 784);
  const int n = 600;
  const ExactSamples s = sample_exact(*p, data, n, 11, heun(17));
  double isolated = 0, landed = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    Eigen::Index best = 0;
    const double d = (data.rowwise() - s.samples.row(i)).rowwise().norm().minCoeff(&best);
    isolated += best == 0 ? 1.0 / n : 0.0;
    landed += d < 1e-2 ? 1.0 / n : 0.0;
  }
  std::printf("screened-poisson N = 784, four points, Heun 17: isolated %.3f, landed %.3f\n", isolated, landed);
  CHECK(std::fabs(isolated - 0.25) < 4 * std::sqrt(0.25 * 0.75 / n));
  CHECK(landed >= 0.99);
}
