#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "genphys/errors.hpp"
#include "genphys/metrics.hpp"
#include "genphys/random.hpp"
#include "genphys/variates.hpp"

using namespace genphys;
using namespace genphys::metrics;

namespace {

// n points of N(mean, scale^2 I) in `dim` dimensions.
Eigen::MatrixXd gaussian_points(int n, int dim, double mean, double scale, std::uint64_t seed) {
  Rng rng(seed);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd x(n, dim);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < dim; ++j) x(i, j) = mean + scale * normal(rng);
  return x;
}

Moments gaussian(const Eigen::VectorXd& mean, const Eigen::MatrixXd& cov) { return {mean, cov, 1000}; }

}  // namespace

TEST_CASE("moment accumulator matches the two-pass mean and covariance, in any batching") {
  // A large common offset: naive sums of squares would lose the covariance to cancellation.
  Eigen::MatrixXd x = gaussian_points(500, 4, 0.0, 1.0, 3);
  x.array() += 1e6;
  const Eigen::VectorXd mean = x.colwise().mean().transpose();
  const Eigen::MatrixXd centred = x.rowwise() - mean.transpose();
  const Eigen::MatrixXd cov = centred.transpose() * centred / 499.0;

  MomentAccumulator acc(4);
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = x;
  acc.add(rows.data(), 7);
  acc.add(rows.data() + 7 * 4, 493);
  const Moments m = acc.moments();
  CHECK(m.count == 500);
  CHECK((m.mean - mean).cwiseAbs().maxCoeff() < 1e-9);
  CHECK((m.cov - cov).cwiseAbs().maxCoeff() < 1e-8);

  MomentAccumulator one(2);
  const float pts[] = {1.0f, 2.0f, 3.0f, 6.0f};
  one.add(pts, 2);
  const Moments two = one.moments();
  CHECK(two.mean(0) == Approx(2.0));
  CHECK(two.mean(1) == Approx(4.0));
  CHECK(two.cov(0, 0) == Approx(2.0));  // ((1-2)^2 + (3-2)^2) / 1
  CHECK(two.cov(0, 1) == Approx(4.0));
  CHECK(two.cov(1, 1) == Approx(8.0));
  MomentAccumulator lone(2);
  lone.add(pts, 1);
  CHECK_THROWS_AS(lone.moments(), InputError);
}

TEST_CASE("matrix square root of a PSD matrix squares back") {
  Eigen::MatrixXd a = gaussian_points(6, 6, 0.0, 1.0, 5);
  const Eigen::MatrixXd psd = a * a.transpose();
  const Eigen::MatrixXd r = sqrt_psd(psd);
  CHECK((r * r - psd).cwiseAbs().maxCoeff() < 1e-9);
  CHECK((r - r.transpose()).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("Fréchet distance matches the closed forms for Gaussians") {
  SECTION("commuting (diagonal) covariances: |dm|^2 + sum (sqrt a - sqrt b)^2") {
    Eigen::VectorXd m1(3), m2(3), v1(3), v2(3);
    m1 << 0, 1, 2;
    m2 << 1, 1, 0;
    v1 << 1, 4, 9;
    v2 << 4, 1, 0.25;
    const double expected = 1 + 0 + 4 + 1 + 1 + 6.25;  // |dm|^2 = 5; (1-2)^2 + (2-1)^2 + (3-0.5)^2
    CHECK(frechet_distance(gaussian(m1, v1.asDiagonal()), gaussian(m2, v2.asDiagonal())) ==
          Approx(expected).epsilon(1e-12));
  }
  SECTION("non-commuting 2x2: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M))") {
    Eigen::MatrixXd c1(2, 2), c2(2, 2);
    c1 << 2.0, 0.6, 0.6, 1.0;
    c2 << 0.5, -0.3, -0.3, 3.0;
    Eigen::VectorXd m = Eigen::VectorXd::Zero(2);
    const Eigen::MatrixXd r1 = sqrt_psd(c1);
    const Eigen::MatrixXd inner = r1 * c2 * r1;
    const double tr_root = std::sqrt(inner.trace() + 2.0 * std::sqrt(inner.determinant()));
    const double expected = c1.trace() + c2.trace() - 2.0 * tr_root;
    const double fd = frechet_distance(gaussian(m, c1), gaussian(m, c2));
    CHECK(fd == Approx(expected).epsilon(1e-12));
    CHECK(fd > 1.0);  // the matrices differ a lot
    CHECK(frechet_distance(gaussian(m, c2), gaussian(m, c1)) == Approx(fd).epsilon(1e-10));  // symmetric
  }
  SECTION("identical Gaussians are at distance 0; a singular covariance is fine") {
    Eigen::MatrixXd c(3, 3);
    c << 1, 1, 0, 1, 1, 0, 0, 0, 2;  // rank 2
    Eigen::VectorXd m = Eigen::VectorXd::Ones(3);
    CHECK(frechet_distance(gaussian(m, c), gaussian(m, c)) < 1e-7);
  }
  SECTION("from samples: N(0, I) vs N(1, 4 I) in 5D is 5 + 5 (2 - 1)^2 = 10") {
    const Moments a = moments_of(gaussian_points(20000, 5, 0.0, 1.0, 1));
    const Moments b = moments_of(gaussian_points(20000, 5, 1.0, 2.0, 2));
    CHECK(frechet_distance(a, b) == Approx(10.0).epsilon(0.03));
  }
  CHECK_THROWS_AS(frechet_distance(gaussian(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2)),
                                   gaussian(Eigen::VectorXd::Zero(3), Eigen::MatrixXd::Identity(3, 3))),
                  InputError);
}

TEST_CASE("1D W2 of empirical measures is exact for unequal sizes") {
  // {0, 1} vs {0, 0.5, 1}: quantiles 0|0 on [0,1/3), 0|0.5 on [1/3,1/2), 1|0.5 on [1/2,2/3), 1|1 after.
  CHECK(wasserstein2_squared_1d({1.0, 0.0}, {0.5, 1.0, 0.0}) == Approx((1.0 / 6) * 0.25 * 2).epsilon(1e-14));
  // A shift by c costs exactly c^2.
  CHECK(wasserstein2_squared_1d({3.0, 1.0, 2.0}, {4.5, 2.5, 3.5}) == Approx(2.25).epsilon(1e-14));
  CHECK(wasserstein2_squared_1d({1.0}, {1.0, 1.0}) == 0.0);
  CHECK_THROWS_AS(wasserstein2_squared_1d({}, {1.0}), InputError);
}

TEST_CASE("sliced Wasserstein of a shifted set is the RMS projected shift") {
  const Eigen::MatrixXd a = gaussian_points(300, 3, 0.0, 1.0, 11);
  Eigen::RowVectorXd shift(3);
  shift << 0.5, -1.0, 2.0;
  const Eigen::MatrixXd b = a.rowwise() + shift;
  const int projections = 64;
  const Eigen::MatrixXd dirs = random_directions(3, projections, 9);
  CHECK((dirs.rowwise().norm().array() - 1.0).abs().maxCoeff() < 1e-12);
  const double expected = std::sqrt((dirs * shift.transpose()).squaredNorm() / projections);
  CHECK(sliced_wasserstein(a, b, projections, 9) == Approx(expected).epsilon(1e-10));
  // On average over directions E[(theta . s)^2] = |s|^2 / d.
  CHECK(sliced_wasserstein(a, b, 4000, 1) == Approx(shift.norm() / std::sqrt(3.0)).epsilon(0.03));
  // Same distribution, different sizes: small. A scaled copy: clearly larger.
  const Eigen::MatrixXd c = gaussian_points(700, 3, 0.0, 1.0, 12);
  CHECK(sliced_wasserstein(a, c, 128, 0) < 0.15);
  CHECK(sliced_wasserstein(a, 2.0 * c, 128, 0) > 0.5);
  CHECK_THROWS_AS(sliced_wasserstein(a, Eigen::MatrixXd(5, 2), 8, 0), InputError);
  CHECK_THROWS_AS(sliced_wasserstein(a, b, 0, 0), InputError);
}

TEST_CASE("unbiased RBF MMD matches the closed form for Gaussians") {
  SECTION("two points per set by hand") {
    Eigen::MatrixXd a(2, 1), b(2, 1);
    a << 0, 1;
    b << 0, 2;
    const double k = [](double d) { return std::exp(-d * d / 2.0); }(1.0);  // h = 1
    const double within_a = std::exp(-0.5), within_b = std::exp(-2.0);
    const double cross = (1.0 + std::exp(-2.0) + std::exp(-0.5) + std::exp(-0.5)) / 4.0;
    CHECK(mmd_squared(a, b, 1.0) == Approx(within_a + within_b - 2.0 * cross).epsilon(1e-14));
    CHECK(k == Approx(within_a));
  }
  SECTION("N(0, s^2 I) vs N(delta, s^2 I): 2 c (1 - exp(-|delta|^2 / (2 (h^2 + 2 s^2))))") {
    const int dim = 2;
    const double s = 1.0, h = 1.5, delta = 1.0;
    // The estimate's spread across seeds is 5.8% of the expected value at n = 3000 (8.9% at 1500),
    // so 20% is 3.4 standard deviations.
    const Eigen::MatrixXd a = gaussian_points(3000, dim, 0.0, s, 21);
    Eigen::MatrixXd b = gaussian_points(3000, dim, 0.0, s, 22);
    b.col(0).array() += delta;
    const double c = std::pow(h * h / (h * h + 2 * s * s), dim / 2.0);
    const double expected = 2 * c * (1 - std::exp(-delta * delta / (2 * (h * h + 2 * s * s))));
    CHECK(mmd_squared(a, b, h) == Approx(expected).epsilon(0.2));
    // One distribution: near zero (unbiased), far below the shifted value.
    const double same = mmd_squared(a, gaussian_points(3000, dim, 0.0, s, 23), h);
    CHECK(std::abs(same) < 0.05 * expected);
  }
  SECTION("median heuristic") {
    Eigen::MatrixXd a(2, 1), b(2, 1);
    a << 0, 1;
    b << 3, 7;
    // Pairwise distances 1, 3, 7, 2, 6, 4: sorted 1 2 3 4 6 7, the upper median is 4.
    CHECK(median_distance(a, b) == 4.0);
    CHECK(mmd_squared(a, b) == Approx(mmd_squared(a, b, 4.0)).epsilon(1e-14));
  }
  CHECK_THROWS_AS(mmd_squared(Eigen::MatrixXd::Zero(1, 2), Eigen::MatrixXd::Zero(3, 2)), InputError);
  CHECK_THROWS_AS(mmd_squared(Eigen::MatrixXd::Zero(3, 2), Eigen::MatrixXd::Zero(3, 2)), InputError);
}

TEST_CASE("sliced KS: 0 for one set, about 1 for disjoint sets, finite for heavy tails, clean errors") {
  Eigen::MatrixXd a(400, 2), b(400, 2), c(400, 2);
  Rng rng(3);
  for (int i = 0; i < 400; ++i) {
    a.row(i) << standard_normal(rng), standard_normal(rng);
    // Cauchy draws: no moments at all, still a statistic in [0, 1].
    c.row(i) << std::tan(M_PI * (uniform01(rng) - 0.5)), std::tan(M_PI * (uniform01(rng) - 0.5));
  }
  b = a.array() + 100.0;
  CHECK(sliced_ks(a, a) == 0.0);
  CHECK(sliced_ks(a, b) > 0.99);
  const double heavy = sliced_ks(a, c);
  CHECK(heavy > 0.05);
  CHECK(heavy < 0.5);
  CHECK_THROWS_AS(sliced_ks(a, Eigen::MatrixXd(0, 2)), InputError);
  CHECK_THROWS_AS(sliced_ks(a, Eigen::MatrixXd(3, 3)), InputError);
  CHECK_THROWS_AS(sliced_ks(a, a, 0), InputError);
}

TEST_CASE("principal axes and the KS statistic along given directions") {
  // Points stretched along (3, 4)/5 in 3D: the first axis is that direction (up to sign), unit length.
  Rng rng(11);
  Eigen::MatrixXd pts(500, 3);
  for (Eigen::Index i = 0; i < pts.rows(); ++i) {
    const double along = 10 * standard_normal(rng), off = 0.1 * standard_normal(rng), z = 0.5 * standard_normal(rng);
    pts.row(i) << 0.6 * along - 0.8 * off, 0.8 * along + 0.6 * off, z;
  }
  const Eigen::MatrixXd axes = metrics::principal_axes(pts, 5);
  REQUIRE(axes.rows() == 3);  // at most the dimension
  CHECK(std::fabs(axes.row(0).dot(Eigen::RowVector3d(0.6, 0.8, 0.0))) == Approx(1.0).margin(1e-3));
  CHECK(std::fabs(axes(1, 2)) == Approx(1.0).margin(1e-3));  // then z (0.5 > 0.1)
  for (Eigen::Index k = 0; k < 3; ++k) CHECK(axes.row(k).norm() == Approx(1.0));
  // Along the random directions of a seed it is sliced_ks itself.
  Eigen::MatrixXd shifted = pts;
  shifted.col(2).array() += 0.3;
  CHECK(metrics::sliced_ks_along(pts, shifted, metrics::random_directions(3, 16, 5)) ==
        metrics::sliced_ks(pts, shifted, 16, 5));
  // Along z only the shift shows; along the first axis it hides in the spread of 10.
  CHECK(metrics::sliced_ks_along(pts, shifted, Eigen::RowVector3d(0, 0, 1)) > 0.15);
  CHECK(metrics::sliced_ks_along(pts, shifted, axes.row(0)) < 0.05);
  CHECK_THROWS_AS(metrics::sliced_ks_along(pts, shifted, Eigen::RowVector2d(1, 0)), InputError);
  CHECK_THROWS_AS(metrics::principal_axes(pts.topRows(1), 2), InputError);
}

TEST_CASE("bootstrap standard error of the Fréchet distance matches the spread over independent sample sets") {
  // Sets of N(0.3, 1.2^2 I) in 4 dimensions scored against N(0, I): the spread of the distance
  // over 200 independent sets is the standard error the bootstrap estimates from one set.
  const int n = 400, dim = 4;
  const Moments reference = gaussian(Eigen::VectorXd::Zero(dim), Eigen::MatrixXd::Identity(dim, dim));
  std::vector<double> fds;
  for (int s = 0; s < 200; ++s)
    fds.push_back(frechet_distance(moments_of(gaussian_points(n, dim, 0.3, 1.2, 1000 + s)), reference));
  double mean = 0.0, var = 0.0;
  for (double v : fds) mean += v / fds.size();
  for (double v : fds) var += (v - mean) * (v - mean) / (fds.size() - 1);
  const double spread = std::sqrt(var);
  // Three single sets, each bootstrapped: within 30% of the spread (the estimate itself varies by
  // about 10% from set to set at n = 400).
  for (std::uint64_t s : {7u, 8u, 9u}) {
    const Eigen::MatrixXd x = gaussian_points(n, dim, 0.3, 1.2, s);
    const double se = frechet_distance_bootstrap_se(x, reference, 200, 0);
    INFO("set " << s << ": bootstrap " << se << ", spread over sets " << spread);
    CHECK(se == Approx(spread).epsilon(0.3));
    CHECK(frechet_distance_bootstrap_se(x, reference, 200, 0) == se);  // seeded: repeats exactly
  }
  // A set identical in every row has no spread; bad input is refused.
  const Eigen::MatrixXd same = Eigen::MatrixXd::Constant(50, dim, 0.5);
  CHECK(frechet_distance_bootstrap_se(same, reference, 20, 0) == Approx(0.0).margin(1e-12));
  CHECK_THROWS_AS(frechet_distance_bootstrap_se(same.topRows(1), reference, 20, 0), InputError);
  CHECK_THROWS_AS(frechet_distance_bootstrap_se(same, reference, 1, 0), InputError);
  CHECK_THROWS_AS(frechet_distance_bootstrap_se(same.leftCols(3), reference, 20, 0), InputError);
}
