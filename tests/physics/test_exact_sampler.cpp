#include <catch2/catch.hpp>

#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "genphys/empirical.hpp"
#include "genphys/errors.hpp"
#include "genphys/exact_sampler.hpp"
#include "genphys/kernels.hpp"
#include "genphys/toy_data.hpp"
#include "genphys/variates.hpp"

using namespace genphys;

namespace {

/// Diffusion written out by hand: q_t = N(y, 2t I), sigma = sqrt(2t), dx/dt = (x - E[y|x,t]) / 2t.
/// Optional birth/death: per-source R/p = ratio_c + ratio_r2 * r^2.
class GaussianTestProcess : public GenerativeProcess {
 public:
  explicit GaussianTestProcess(int dim, double ratio_c = 0.0, double ratio_r2 = 0.0, bool birth_death = false)
      : dim_(dim), c_(ratio_c), k_(ratio_r2), bd_(birth_death) {}
  int dim() const override { return dim_; }
  double sigma(double t) const override { return std::sqrt(2 * t); }
  double time(double sigma) const override { return 0.5 * sigma * sigma; }
  void sample_displacement(Rng& rng, double t, double* out) const override {
    for (int i = 0; i < dim_; ++i) out[i] = sigma(t) * standard_normal(rng);
  }
  double sample_radius(Rng& rng, double t) const override {
    double s = 0;
    for (int i = 0; i < dim_; ++i) s += std::pow(standard_normal(rng), 2);
    return sigma(t) * std::sqrt(s);
  }
  double log_kernel(double r, double t) const override {
    return -r * r / (4 * t) - 0.5 * dim_ * std::log(4 * M_PI * t);
  }
  double radial_cdf(double r, double t) const override { return boost::math::gamma_p(0.5 * dim_, r * r / (4 * t)); }
  double velocity_scale(double t) const override { return 0.5 / t; }
  bool has_birth_death() const override { return bd_; }
  double birth_death_ratio(double r, double t) const override { return c_ + k_ * r * r; }

 private:
  int dim_;
  double c_, k_;
  bool bd_;
};

/// A compactly supported kernel (uniform in the ball r < t), to exercise the no-support fallback.
class BallTestProcess : public GaussianTestProcess {
 public:
  using GaussianTestProcess::GaussianTestProcess;
  double log_kernel(double r, double t) const override {
    return r < t ? 0.0 : -std::numeric_limits<double>::infinity();
  }
};

/// A kernel that is broken beyond r = 1: NaN (or +inf) there, to exercise the field's errors.
class BrokenTestProcess : public GaussianTestProcess {
 public:
  BrokenTestProcess(int dim, double bad) : GaussianTestProcess(dim), bad_(bad) {}
  double log_kernel(double r, double t) const override { return r > 1.0 ? bad_ : GaussianTestProcess::log_kernel(r, t); }

 private:
  double bad_;
};

/// 64 heart points scaled into [-1, 1]^2.
Eigen::MatrixXd heart64() {
  Eigen::MatrixXd y = make_toy("heart", 64, 11);
  return y / y.cwiseAbs().maxCoeff();
}

/// Fraction of rows of x within `tol` of some row of data.
double fraction_near(const Eigen::MatrixXd& x, const Eigen::MatrixXd& data, double tol) {
  int near = 0;
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    near += (data.rowwise() - x.row(i)).rowwise().norm().minCoeff() <= tol;
  return static_cast<double>(near) / static_cast<double>(x.rows());
}

ExactSamplerOptions heun(int nfe) {
  ExactSamplerOptions o;
  o.solver = Solver::heun;
  o.nfe = nfe;
  return o;
}

ExactSamplerOptions rk45(double tol) {
  ExactSamplerOptions o;
  o.solver = Solver::rk45;
  o.rk45.rtol = tol;
  o.rk45.atol = tol;
  return o;
}

}  // namespace

// ---- the field ------------------------------------------------------------------------------

TEST_CASE("empirical field matches a direct posterior computation") {
  const GaussianTestProcess process(3);
  Eigen::MatrixXd data(4, 3);
  data << 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 1, 1;
  const EmpiricalField field(process, data);
  Eigen::MatrixXd x(2, 3);
  x << 0.3, 0.4, -0.2, 2, -1, 0.5;
  const double t = 0.37;
  const Eigen::MatrixXd w = field.posterior_weights(x, t);
  const Eigen::MatrixXd mean = field.posterior_mean(x, t);
  const Eigen::MatrixXd v = field.velocity(x, t);
  for (int i = 0; i < 2; ++i) {
    double z = 0;
    Eigen::RowVectorXd m = Eigen::RowVectorXd::Zero(3);
    std::vector<double> q(4);
    for (int j = 0; j < 4; ++j) {
      q[j] = std::exp(-(x.row(i) - data.row(j)).squaredNorm() / (4 * t));
      z += q[j];
      m += q[j] * data.row(j);
    }
    m /= z;
    for (int j = 0; j < 4; ++j) CHECK(w(i, j) == Approx(q[j] / z).epsilon(1e-12));
    CHECK((mean.row(i) - m).norm() < 1e-12);
    CHECK((v.row(i) - (x.row(i) - m) / (2 * t)).norm() < 1e-12);
  }
}

TEST_CASE("a NaN or +inf log-kernel in any row is an error, not a weight") {
  // Many rows, so the bad one is met inside the parallel loop; only row 700 reaches r > 1.
  Eigen::MatrixXd data = Eigen::MatrixXd::Zero(3, 2);
  Eigen::MatrixXd x = Eigen::MatrixXd::Constant(1000, 2, 0.1);
  x(700, 0) = 5.0;
  const BrokenTestProcess nan_kernel(2, std::numeric_limits<double>::quiet_NaN());
  const BrokenTestProcess inf_kernel(2, std::numeric_limits<double>::infinity());
  CHECK_THROWS_WITH(EmpiricalField(nan_kernel, data).velocity(x, 0.5), Catch::Contains("is NaN"));
  CHECK_THROWS_WITH(EmpiricalField(inf_kernel, data).velocity(x, 0.5), Catch::Contains("+inf"));
  x(700, 0) = 0.1;
  CHECK(EmpiricalField(nan_kernel, data).velocity(x, 0.5).allFinite());
}

TEST_CASE("posterior weights stay finite for 10^4 points in 200 dimensions") {
  // log q is about -1e7 here: exp underflows without log-sum-exp.
  const int dim = 200, n = 10000;
  const GaussianTestProcess process(dim);
  Rng rng = sample_rng(3, 0);
  Eigen::MatrixXd data(n, dim);
  for (Eigen::Index i = 0; i < data.size(); ++i) data.data()[i] = standard_normal(rng);
  const EmpiricalField field(process, data);
  Eigen::MatrixXd x(3, dim);
  x.row(0) = data.row(17) + 0.01 * Eigen::RowVectorXd::Ones(dim);      // near one point
  x.row(1) = 0.5 * (data.row(5) + data.row(6));                          // between two
  x.row(2) = 40.0 * Eigen::RowVectorXd::Ones(dim);                      // far from all
  const double t = 1e-6;
  const Eigen::MatrixXd w = field.posterior_weights(x, t);
  REQUIRE(w.allFinite());
  for (int i = 0; i < 3; ++i) CHECK(w.row(i).sum() == Approx(1.0).epsilon(1e-12));
  CHECK(w(0, 17) == Approx(1.0).epsilon(1e-12));
  CHECK(w(1, 5) + w(1, 6) == Approx(1.0).epsilon(1e-9));
  CHECK(w(1, 5) == Approx(0.5).epsilon(1e-6));  // equidistant up to rounding in r^2
  // Far away the weights follow the nearest point too (differences in r^2 are O(1) / 4t).
  Eigen::Index nearest;
  (data.rowwise() - x.row(2)).rowwise().squaredNorm().minCoeff(&nearest);
  CHECK(w(2, nearest) == Approx(1.0).epsilon(1e-9));
  const Eigen::MatrixXd v = field.velocity(x, t);
  CHECK(v.allFinite());
}

TEST_CASE("a kernel with no support at x falls back on the nearest point") {
  const BallTestProcess process(2);
  Eigen::MatrixXd data(2, 2);
  data << 0, 0, 3, 0;
  const EmpiricalField field(process, data);
  Eigen::MatrixXd x(1, 2);
  x << 2, 0.5;
  const Eigen::MatrixXd w = field.posterior_weights(x, 0.1);
  CHECK(w(0, 0) == 0.0);
  CHECK(w(0, 1) == 1.0);
}

TEST_CASE("the field's R/p is the posterior average of per-source ratios") {
  const GaussianTestProcess process(2, 0.5, 2.0, true);
  const Eigen::MatrixXd data = heart64();
  const EmpiricalField field(process, data);
  Eigen::MatrixXd x(2, 2);
  x << 0.1, 0.2, -0.7, 0.4;
  const double t = 0.05;
  const Eigen::MatrixXd w = field.posterior_weights(x, t);
  const Eigen::VectorXd ratio = field.birth_death_ratio(x, t);
  for (int i = 0; i < 2; ++i) {
    double expect = 0;
    for (int j = 0; j < data.rows(); ++j) expect += w(i, j) * (0.5 + 2.0 * (x.row(i) - data.row(j)).squaredNorm());
    CHECK(ratio(i) == Approx(expect).epsilon(1e-12));
  }
  CHECK(EmpiricalField(GaussianTestProcess(2), data).birth_death_ratio(x, t).isZero());
}

TEST_CASE("the field rejects bad data") {
  const GaussianTestProcess process(2);
  CHECK_THROWS_AS(EmpiricalField(process, Eigen::MatrixXd(0, 2)), InputError);
  CHECK_THROWS_AS(EmpiricalField(process, Eigen::MatrixXd::Zero(3, 3)), InputError);
  Eigen::MatrixXd bad = Eigen::MatrixXd::Zero(3, 2);
  bad(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(EmpiricalField(process, bad), InputError);
  const EmpiricalField field(process, Eigen::MatrixXd::Zero(3, 2));
  CHECK_THROWS_AS(field.velocity(Eigen::MatrixXd::Zero(1, 3), 1.0), InputError);
  CHECK_THROWS_AS(field.velocity(Eigen::MatrixXd::Zero(1, 2), 0.0), InputError);
}

// ---- the sampler ----------------------------------------------------------------------------

TEST_CASE("the time grid is the EDM sigma schedule in the module's time") {
  const GaussianTestProcess process(2);
  const std::vector<double> g = exact_time_grid(process, heun(35));
  REQUIRE(g.size() == 19);  // 18 steps
  CHECK(g.front() == Approx(0.5 * 80 * 80));
  CHECK(g[17] == Approx(0.5 * 0.002 * 0.002));
  CHECK(g.back() == 0.0);
  ExactSamplerOptions euler = heun(1);
  euler.solver = Solver::euler;
  euler.sigma_max = 10;
  const std::vector<double> one = exact_time_grid(process, euler);
  REQUIRE(one.size() == 2);
  CHECK(one[0] == Approx(50.0));
  CHECK(one[1] == 0.0);
}

TEST_CASE("exact field memorises: Gaussian kernel, Heun NFE 35 and RK45") {
  // 1000 samples each. The closest two heart points are 0.005 apart, so "within 1e-2" may not
  // name a unique point; the Heun-vs-RK45 comparison below does.
  const GaussianTestProcess process(2);
  const Eigen::MatrixXd data = heart64();
  const ExactSamples h = sample_exact(process, data, 1000, 42, heun(35));
  CHECK(h.nfe == 35);
  CHECK(fraction_near(h.samples, data, 1e-2) >= 0.99);  // measured 1.000
  const ExactSamples r = sample_exact(process, data, 1000, 42, rk45(1e-6));
  CHECK(fraction_near(r.samples, data, 1e-2) >= 0.99);  // measured 1.000
  CHECK(r.nfe_mean < 300);                              // measured 216
  // Same ODE, same priors: Heun's end points converge to RK45's as NFE grows (the map from
  // prior to data point is sharp, so NFE 35 picks another point for about a quarter).
  auto agreement = [&](const Eigen::MatrixXd& a) { return fraction_near(a - r.samples, Eigen::MatrixXd::Zero(1, 2), 1e-2); };
  const double coarse = agreement(h.samples);
  const double fine = agreement(sample_exact(process, data, 1000, 42, heun(159)).samples);
  CHECK(fine >= 0.97);  // measured 0.99
  CHECK(coarse < fine);  // measured 0.74
}

TEST_CASE("NFE is counted exactly") {
  const GaussianTestProcess process(2);
  EmpiricalField field(process, heart64());
  ExactSamplerOptions o = heun(35);
  o.batch_size = 128;
  ExactSamples s = sample_exact(field, 300, 1, o);  // 3 batches
  CHECK(s.nfe == 35);
  CHECK(s.field_calls == 3 * 35);
  CHECK(field.evaluations() == 3 * 35);

  o.solver = Solver::euler;
  o.nfe = 10;
  field.reset_evaluations();
  s = sample_exact(field, 300, 1, o);
  CHECK(s.nfe == 10);
  CHECK(field.evaluations() == 3 * 10);

  o.solver = Solver::heun;
  o.nfe = 1;  // one Euler step from t_max straight to 0
  field.reset_evaluations();
  s = sample_exact(field, 5, 1, o);
  CHECK(field.evaluations() == 1);

  field.reset_evaluations();
  s = sample_exact(field, 20, 1, rk45(1e-4));  // one field call per evaluation per sample
  CHECK(s.field_calls == field.evaluations());
  CHECK(s.nfe_mean * 20 == Approx(static_cast<double>(s.field_calls)));
  CHECK(s.nfe >= s.nfe_mean);
  CHECK(s.nfe > 7);
}

TEST_CASE("sample i does not depend on n or on batching") {
  const GaussianTestProcess process(2);
  const Eigen::MatrixXd data = heart64();
  for (const ExactSamplerOptions& base : {heun(35), rk45(1e-5)}) {
    ExactSamplerOptions o = base;
    const Eigen::MatrixXd small = sample_exact(process, data, 10, 9, o).samples;
    o.batch_size = 7;
    const Eigen::MatrixXd large = sample_exact(process, data, base.solver == Solver::rk45 ? 100 : 1000, 9, o).samples;
    CHECK((large.topRows(10) - small).cwiseAbs().maxCoeff() <= 1e-12);
  }
}

TEST_CASE("the prior is the kernel at t_max around the data mean, one stream per sample") {
  const GaussianTestProcess process(2);
  const Eigen::MatrixXd data = heart64().array() + 3.0;
  ExactSamplerOptions o = heun(9);
  o.keep_trajectories = 3;
  o.sigma_max = 5.0;
  const ExactSamples s = sample_exact(process, data, 50, 4, o);
  const Eigen::MatrixXd prior = sample_prior_points(process, data.colwise().mean(), 3, 4, process.time(5.0));
  REQUIRE(s.trajectories.size() == 3);
  for (int k = 0; k < 3; ++k) {
    const Trajectory& tr = s.trajectories[k];
    REQUIRE(tr.t.size() == 6);  // 5 Heun steps
    CHECK(tr.t.front() == Approx(12.5));
    CHECK(tr.t.back() == 0.0);
    CHECK(tr.x.row(0) == prior.row(k));
    CHECK(tr.x.row(5) == s.samples.row(k));
    Rng rng = sample_rng(4, k);
    double d[2];
    process.sample_prior(rng, 12.5, d);
    CHECK(prior(k, 0) == data.col(0).mean() + d[0]);
  }
  const ExactSamples r = sample_exact(process, data, 4, 4, [] {
    ExactSamplerOptions q = rk45(1e-4);
    q.keep_trajectories = 2;
    return q;
  }());
  REQUIRE(r.trajectories.size() == 2);
  CHECK(r.trajectories[1].t.back() == 0.0);
  CHECK(r.trajectories[1].x.bottomRows(1) == r.samples.row(1));
  CHECK(static_cast<int>(r.trajectories[1].t.size()) >= 3);
}

TEST_CASE("reweighting integrates d log w / dt = R/p backwards and resamples") {
  const Eigen::MatrixXd data = heart64();
  // Constant R/p = c: every trajectory gets log w = -c t_max (the sign convention), up to
  // c t_min = 5e-7 from the final Euler step.
  const GaussianTestProcess constant(2, 0.25, 0.0, true);
  ExactSamplerOptions o = heun(21);
  o.sigma_max = 3.0;
  o.birth_death = BirthDeath::reweight;
  ExactSamples s = sample_exact(constant, data, 40, 2, o);
  REQUIRE(s.log_weights.size() == 40);
  CHECK(s.log_weights.maxCoeff() == Approx(-0.25 * 4.5).margin(1e-6));
  CHECK(s.log_weights.minCoeff() == Approx(-0.25 * 4.5).margin(1e-6));
  CHECK(s.ess == Approx(40.0));
  for (int j = 0; j < 40; ++j) CHECK(s.ancestors[j] == j);

  // R/p growing with r^2: weights differ; systematic resampling copies trajectory i
  // floor or ceil of n w_i / sum w times.
  const GaussianTestProcess varying(2, 0.0, 3.0, true);
  const int n = 400;
  o.keep_trajectories = n;
  s = sample_exact(varying, data, n, 2, o);
  const Eigen::VectorXd w = (s.log_weights.array() - s.log_weights.maxCoeff()).exp();
  CHECK(s.log_weights.maxCoeff() - s.log_weights.minCoeff() > 0.5);
  CHECK(s.ess == Approx(w.sum() * w.sum() / w.squaredNorm()));
  CHECK(s.ess < n);
  std::vector<int> copies(n, 0);
  for (int j = 0; j < n; ++j) {
    const int a = s.ancestors[j];
    ++copies[a];
    CHECK(s.samples.row(j) == s.trajectories[a].x.bottomRows(1));
  }
  for (int i = 0; i < n; ++i) {
    const double expect = n * w(i) / w.sum();
    CHECK(copies[i] >= std::floor(expect) - 1e-9);
    CHECK(copies[i] <= std::ceil(expect) + 1e-9);
  }
  // Ignore mode follows the same trajectories and keeps them all.
  o.birth_death = BirthDeath::ignore;
  const ExactSamples plain = sample_exact(varying, data, n, 2, o);
  CHECK(plain.log_weights.size() == 0);
  for (int i = 0; i < n; ++i) CHECK(plain.samples.row(i) == s.trajectories[i].x.bottomRows(1));

  // Multinomial resampling also copies final points only.
  o.birth_death = BirthDeath::reweight;
  o.resampling = Resampling::multinomial;
  s = sample_exact(varying, data, n, 2, o);
  for (int j = 0; j < n; ++j) CHECK(s.samples.row(j) == s.trajectories[s.ancestors[j]].x.bottomRows(1));
}

// ---- the modules of kernels.hpp ------------------------------------------------------------

namespace {

struct MemorisationCase {
  const char* name;
  std::unique_ptr<GenerativeProcess> process;
  ExactSamplerOptions heun, rk;
  int n_heun, n_rk;
};

}  // namespace

TEST_CASE("exact field memorises with diffusion, PFGM, PFGM++ and Yukawa") {
  // >= 99% within 1e-2 of a data point. 1000 samples except Yukawa (100 Heun, 30 RK45): its
  // log_kernel is a quadrature at ~15 us a call. Measured: 1.000 in every case.
  const Eigen::MatrixXd data = heart64();
  std::vector<MemorisationCase> cases;
  cases.push_back({"diffusion", make_diffusion_process(2), heun(35), rk45(1e-5), 1000, 1000});
  // PFGM's heavy-tailed prior and kernel need a smaller sigma_min: at EDM's 0.002 only ~95% of
  // samples are within 1e-2 (Heun 35 0.940, Heun 79 0.955, RK45 0.962); at 1e-5 Heun needs NFE 79
  // (NFE 35: 0.948).
  cases.push_back({"pfgm D=1", make_pfgmpp_process(2, 1.0), heun(79), rk45(1e-5), 1000, 1000});
  cases.back().heun.sigma_min = cases.back().rk.sigma_min = 1e-5;
  cases.push_back({"pfgm++ D=128", make_pfgmpp_process(2, 128.0), heun(35), rk45(1e-5), 1000, 1000});
  // Yukawa at sigma_max = 20 (t_max = 400): its log_kernel does not return at t = 6400 (sigma 80).
  cases.push_back({"yukawa m=1", make_yukawa_process(2, 1.0), heun(35), rk45(1e-5), 100, 30});
  cases.back().heun.sigma_max = cases.back().rk.sigma_max = 20.0;
  for (const auto& c : cases) {
    INFO(c.name);
    const ExactSamples h = sample_exact(*c.process, data, c.n_heun, 42, c.heun);
    CHECK(h.nfe == c.heun.nfe);
    CHECK(fraction_near(h.samples, data, 1e-2) >= 0.99);
    const ExactSamples r = sample_exact(*c.process, data, c.n_rk, 42, c.rk);
    CHECK(fraction_near(r.samples, data, 1e-2) >= 0.99);
    CHECK(r.nfe_mean < 300);  // measured 143 (diffusion), 168 (PFGM), 143 (D=128), 182 (Yukawa)
  }
}

TEST_CASE("PFGM++ with D = 1e6 follows diffusion's ODE") {
  // Same 1000 starting points (diffusion's prior at sigma 80) for both; PFGM++ at large D differs
  // from the Gaussian kernel by O(N / D). Measured max distance: 2.2e-6 (Heun 35), 3.6e-7 (RK45).
  const Eigen::MatrixXd data = heart64();
  const auto diffusion = make_diffusion_process(2);
  const auto pfgmpp = make_pfgmpp_process(2, 1e6);
  const EmpiricalField fd(*diffusion, data), fp(*pfgmpp, data);
  const Eigen::MatrixXd x0 = sample_prior_points(*diffusion, data.colwise().mean(), 1000, 5, diffusion->time(80.0));
  for (const ExactSamplerOptions& o : {heun(35), rk45(1e-5)}) {
    INFO(to_string(o.solver));
    const ExactSamples a = integrate_exact(fd, x0, 0, o);
    const ExactSamples b = integrate_exact(fp, x0, 0, o);
    CHECK((a.samples - b.samples).rowwise().norm().maxCoeff() < 1e-4);
  }
  // Each from its own prior: both priors have radius^2 ~ sigma^2 chi2_2 for large D.
  const Eigen::MatrixXd pd = sample_prior_points(*diffusion, Eigen::RowVector2d::Zero(), 4000, 1, diffusion->time(80.0));
  const Eigen::MatrixXd pp = sample_prior_points(*pfgmpp, Eigen::RowVector2d::Zero(), 4000, 1, pfgmpp->time(80.0));
  const double ms_d = pd.rowwise().squaredNorm().mean() / (2 * 80.0 * 80.0);
  const double ms_p = pp.rowwise().squaredNorm().mean() / (2 * 80.0 * 80.0);
  CHECK(ms_d == Approx(1.0).margin(0.05));  // 4000 draws: standard error 0.016
  CHECK(ms_p == Approx(1.0).margin(0.05));
}

TEST_CASE("the same prior seeds with D = 1e6 and with diffusion give matching samples") {
  // Both priors draw the same N normals from stream (seed, i) and scale them by sqrt(A): A = 2t
  // for diffusion, t^2/(2 G), G ~ Gamma(D/2) for PFGM++, equal up to a factor 1 + O(D^-1/2).
  const Eigen::MatrixXd data = heart64();
  const auto diffusion = make_diffusion_process(2);
  const auto pfgmpp = make_pfgmpp_process(2, 1e6);
  const ExactSamples a = sample_exact(*diffusion, data, 500, 11, heun(35));
  const ExactSamples b = sample_exact(*pfgmpp, data, 500, 11, heun(35));
  const Eigen::MatrixXd pa = sample_prior_points(*diffusion, Eigen::RowVector2d::Zero(), 500, 11, diffusion->time(80.0));
  const Eigen::MatrixXd pb = sample_prior_points(*pfgmpp, Eigen::RowVector2d::Zero(), 500, 11, pfgmpp->time(80.0));
  const double prior_gap = ((pa - pb).rowwise().norm().array() / pa.rowwise().norm().array()).maxCoeff();
  CHECK(prior_gap < 1e-2);  // relative; O(sqrt(2/D)) = 1.4e-3 typical
  CHECK(prior_gap > 0.0);   // different kernels, not the same code path
  const Eigen::VectorXd gaps = (a.samples - b.samples).rowwise().norm();
  const double matched = (gaps.array() < 1e-3).cast<double>().mean();
  // Measured 0.998: one of 500 starts on a basin boundary and lands on the neighbouring point.
  INFO("matched " << matched << " max " << gaps.maxCoeff());
  CHECK(matched >= 0.99);
}

TEST_CASE("Yukawa reweighting: death makes every log-weight positive") {
  // Yukawa's own unnormalised flow: R = -m^2 phi < 0, so log w = -int R/p dt > 0 along every
  // trajectory.
  const auto yukawa = make_unnormalised_yukawa_process(2, 1.0);
  Eigen::MatrixXd data(4, 2);
  data << -1, 0, 1, 0, 1.1, 0.1, 0.9, -0.1;
  ExactSamplerOptions o = heun(35);
  o.sigma_max = 5.0;
  o.birth_death = BirthDeath::reweight;
  const ExactSamples s = sample_exact(*yukawa, data, 40, 3, o);
  REQUIRE(s.log_weights.size() == 40);
  CHECK(s.log_weights.allFinite());
  CHECK(s.log_weights.minCoeff() > 0.0);
  CHECK(s.ess > 1.0);
  CHECK(s.ess <= 40.0);
  CHECK(fraction_near(s.samples, data, 1e-2) == 1.0);
}

TEST_CASE("bad sampler input throws InputError") {
  const GaussianTestProcess process(2);
  const Eigen::MatrixXd data = heart64();
  ExactSamplerOptions o = heun(35);
  o.nfe = 0;
  CHECK_THROWS_AS(sample_exact(process, data, 10, 0, o), InputError);
  o.nfe = -3;
  CHECK_THROWS_AS(sample_exact(process, data, 10, 0, o), InputError);
  o.nfe = 34;  // Heun needs 2n - 1
  CHECK_THROWS_WITH(sample_exact(process, data, 10, 0, o), Catch::Contains("odd"));
  o.solver = Solver::euler;
  o.nfe = 0;
  CHECK_THROWS_AS(sample_exact(process, data, 10, 0, o), InputError);
  o.nfe = 34;  // Euler takes any NFE >= 1
  CHECK_NOTHROW(exact_time_grid(process, o));
  CHECK_THROWS_AS(sample_exact(process, data, 0, 0, heun(35)), InputError);
  o = heun(35);
  o.sigma_min = 1.0;
  o.sigma_max = 0.5;
  CHECK_THROWS_AS(sample_exact(process, data, 10, 0, o), InputError);
  o = heun(35);
  o.batch_size = 0;
  CHECK_THROWS_AS(sample_exact(process, data, 10, 0, o), InputError);
  o = rk45(0.0);
  CHECK_THROWS_AS(sample_exact(process, data, 10, 0, o), InputError);
  CHECK_THROWS_AS(sample_exact(process, Eigen::MatrixXd::Zero(5, 3), 10, 0, heun(35)), InputError);
  CHECK_THROWS_AS(parse_solver("rk4"), InputError);
  CHECK_THROWS_AS(parse_birth_death("drop"), InputError);
  CHECK_THROWS_AS(parse_resampling("stratified"), InputError);
  CHECK(parse_solver("rk45") == Solver::rk45);
  CHECK(parse_birth_death("reweight") == BirthDeath::reweight);
  CHECK(to_string(Solver::heun) == "heun");
}

TEST_CASE("solvers are typed: parsed once, unknown names list the valid ones") {
  for (const Solver s : {Solver::euler, Solver::heun, Solver::rk45}) CHECK(parse_solver(to_string(s)) == s);
  auto error_of = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const OptionError& e) {
      return e.field() + ": " + e.message();
    }
    return "(accepted)";
  };
  CHECK(error_of([] { parse_solver("leapfrog"); }) == "solver: 'leapfrog' is unknown (valid: euler, heun, rk45, dpmpp-2m)");
  CHECK(error_of([] { parse_solver("Heun"); }) == "solver: 'Heun' is unknown (valid: euler, heun, rk45, dpmpp-2m)");
  CHECK(error_of([] { check_solver(Solver::heun, 34, 1e-4, 1e-4); }) ==
        "nfe: must be odd and >= 1 for heun (NFE = 2 steps - 1), got 34");
  CHECK(error_of([] { check_solver(Solver::euler, 0, 1e-4, 1e-4); }) == "nfe: must be >= 1 for euler (NFE = steps), got 0");
  CHECK(error_of([] { check_solver(Solver::rk45, 0, 0.0, 1e-4); }) == "rtol: must be > 0 for rk45, got 0");
  CHECK(error_of([] { check_solver(Solver::rk45, 0, 1e-4, -1.0); }) == "atol: must be > 0 for rk45, got -1");
  CHECK(error_of([] { check_solver(Solver::euler, 34, 0.0, 0.0); }) == "(accepted)");  // tolerances are rk45's
  CHECK(solver_levels(Solver::heun, 35) == 18);
  CHECK(solver_levels(Solver::euler, 35) == 35);
}

TEST_CASE("the integration front end: grid steps, the rk45 tail to 0, every evaluation counted") {
  // dx/dlambda = 2 lambda, x = lambda^2 + c: the trapezoid rule is exact for it, so Heun errs only
  // on its last step (an Euler step, no correction at 0); RK45 follows x to lambda_min, then steps
  // to 0 by Euler.
  const std::vector<double> grid{4.0, 2.0, 1.0, 0.0};
  int calls = 0;
  auto velocity = [&calls](double, double lambda) {
    ++calls;
    return 2 * lambda;
  };
  auto norm = [](double err, double x0, double x1, double rtol, double atol) {
    return std::abs(err) / (atol + rtol * std::max(std::abs(x0), std::abs(x1)));
  };
  std::vector<double> seen;
  const StepCallback<double> record = [&seen](int step, double lambda, const double&) {
    CHECK(step == int(seen.size()) + 1);
    seen.push_back(lambda);
  };
  int nfe = 0;
  // Heun is exact on every step but the last, an Euler step to 0: x(1) = 1, then 1 - 2.
  CHECK(integrate_steps(Solver::heun, 16.0, grid, velocity, norm, nfe, {}, record) == -1.0);
  CHECK(nfe == 5);  // 2 per step, none for the correction at 0
  CHECK(calls == 5);
  CHECK(seen == std::vector<double>{2.0, 1.0, 0.0});
  nfe = calls = 0;
  seen.clear();
  // Euler: 16 - (2*4*2 + 2*2*1 + 2*1*1) = 16 - 22.
  CHECK(integrate_steps(Solver::euler, 16.0, grid, velocity, norm, nfe, {}, record) == -6.0);
  CHECK(nfe == 3);
  CHECK(calls == 3);
  nfe = calls = 0;
  seen.clear();
  Rk45Options tight;
  tight.rtol = tight.atol = 1e-10;
  const double end = integrate_steps(Solver::rk45, 16.0, {4.0, 0.5, 0.0}, velocity, norm, nfe, tight, record);
  CHECK(end == Approx(16.0 - 16.0 + 0.25 - 2 * 0.25).margin(1e-7));  // x(0.5) = 0.25, then -2 * 0.5 * 0.5
  CHECK(nfe == calls);
  CHECK((nfe - 2) % 6 == 0);  // the first evaluation, 6 per trial step, the final Euler step
  REQUIRE(seen.size() >= 2);
  CHECK(seen[seen.size() - 2] == Approx(0.5));
  CHECK(seen.back() == 0.0);
  CHECK_THROWS_AS(integrate_steps(Solver::rk45, 16.0, grid, velocity, norm, nfe), std::invalid_argument);
}

TEST_CASE("a field that is not affine: mixed diffusion-Poisson averages per-source velocities and memorises") {
  const auto process = make_mixed_diffusion_poisson_process(2, 1.0, 1.0);
  const Eigen::MatrixXd data = heart64();
  const EmpiricalField field(*process, data);
  Eigen::MatrixXd x(2, 2);
  x << 0.3, -0.2, 1.5, 2.0;
  const double t = 0.4;
  const Eigen::MatrixXd v = field.velocity(x, t), w = field.posterior_weights(x, t);
  for (int i = 0; i < 2; ++i) {
    // Each source's velocity from moving quantiles of its radial law (finite differences in t).
    Eigen::RowVectorXd direct = Eigen::RowVectorXd::Zero(2);
    for (int j = 0; j < data.rows(); ++j) {
      const Eigen::RowVectorXd d = x.row(i) - data.row(j);
      direct += w(i, j) * quantile_radial_velocity(*process, d.norm(), t) / d.norm() * d;
    }
    CHECK((v.row(i) - direct).norm() < 1e-6 * direct.norm());
  }
  // Not the affine form with any single scale: the two rows need different ones.
  const Eigen::MatrixXd m = field.posterior_mean(x, t);
  const double s0 = v(0, 0) / (x(0, 0) - m(0, 0)), s1 = v(1, 0) / (x(1, 0) - m(1, 0));
  CHECK(std::fabs(s0 / s1 - 1) > 0.05);
  // Measured: 1.000 of 100 samples within 1e-2 of a data point (Heun 35, plain steps); 40 here,
  // as each per-source velocity is a finite difference of quadratures (~60 us). This checks the
  // field, so it takes the plain steps; the default frozen-source steps landed 39 of these 40.
  ExactSamplerOptions o;
  o.nfe = 35;
  o.stepping = Stepping::plain;
  const ExactSamples h = sample_exact(*process, data, 40, 42, o);
  CHECK(h.nfe == 35);
  CHECK(fraction_near(h.samples, data, 1e-2) >= 0.99);
}

// With one data point the field of an affine module is dx/dt = c(t) (x - y) with y frozen, whose
// solution is x - y proportional to lambda = step_variable(t): Euler and Heun in lambda are then
// exact, every step scales x - y by lambda'/lambda and the last lands on y. Stepping in the wrong
// variable (sigma for t = m sigma^2) broke both.
TEST_CASE("frozen denoiser: each affine module's steps scale x - y by lambda'/lambda and land on y") {
  Eigen::MatrixXd data(1, 3);
  data << 0.3, -0.2, 0.5;
  std::vector<std::pair<std::string, std::shared_ptr<GenerativeProcess>>> processes = {
      {"diffusion", make_diffusion_process(3)},
      {"pfgm", make_pfgmpp_process(3, 1.0)},
      {"pfgm++ 128", make_pfgmpp_process(3, 128.0)},
      {"fractional 0.5", make_stable_process(3, 0.5)},
      {"fractional 0.75", make_stable_process(3, 0.75)},
      {"third order", make_stable_process(3, 1.0 / 3.0)},
      {"yukawa, unnormalised", make_unnormalised_yukawa_process(3, 2.0)},
  };
  for (const auto& [name, p] : processes)
    for (Solver solver : {Solver::heun, Solver::euler})
      for (int nfe : {9, 17, 35}) {
        INFO(name << ", " << to_string(solver) << " " << nfe);
        ExactSamplerOptions o;
        o.solver = solver;
        o.nfe = nfe;
        o.keep_trajectories = 2;
        o.center_prior = false;
        o.sigma_max = 5.0;
        const ExactSamples s = sample_exact(*p, data, 2, 3, o);
        CHECK(s.nfe == nfe);
        CHECK((s.samples.rowwise() - data.row(0)).cwiseAbs().maxCoeff() < 1e-12);
        for (const Trajectory& tr : s.trajectories) {
          REQUIRE(tr.t.size() >= 3);
          for (std::size_t k = 0; k + 2 < tr.t.size(); ++k) {
            const double ratio = p->step_variable(tr.t[k + 1]) / p->step_variable(tr.t[k]);
            const Eigen::RowVectorXd a = tr.x.row(Eigen::Index(k)) - data.row(0);
            const Eigen::RowVectorXd b = tr.x.row(Eigen::Index(k + 1)) - data.row(0);
            CHECK((b - ratio * a).norm() <= 1e-11 * a.norm() + 1e-14);  // + rounding of x ~ y
          }
        }
      }
}
