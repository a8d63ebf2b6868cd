#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <fstream>
#include <string>

#include "genphys/errors.hpp"
#include "genphys/toy_data.hpp"

using namespace genphys;

namespace {

// A fresh file in the temp directory holding `text`; unique per process so ctest -j is safe.
std::string temp_file(const std::string& text) {
  static int counter = 0;
  const auto path = std::filesystem::temp_directory_path() /
                    ("genphys_test_toy_data_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".csv");
  std::ofstream(path) << text;
  return path.string();
}

std::string error_of(const std::string& text) {
  const std::string path = temp_file(text);
  try {
    load_csv_points(path);
  } catch (const InputError& e) {
    std::filesystem::remove(path);
    return e.what();
  }
  std::filesystem::remove(path);
  return "no error";
}

}  // namespace

TEST_CASE("toy data are deterministic per seed and per point") {
  for (const auto& name : toy_names()) {
    INFO(name);
    const Eigen::MatrixXd a = make_toy(name, 500, 7);
    const Eigen::MatrixXd b = make_toy(name, 500, 7);
    const Eigen::MatrixXd c = make_toy(name, 500, 8);
    const Eigen::MatrixXd prefix = make_toy(name, 20, 7);
    CHECK(a.rows() == 500);
    CHECK(a.cols() == 2);
    CHECK(a == b);                         // bit-identical
    CHECK((a - c).cwiseAbs().maxCoeff() > 0.1);  // another seed, other points
    CHECK(prefix == a.topRows(20));        // one stream per point: n does not matter
  }
}

TEST_CASE("toy data are roughly unit scale and centred") {
  for (const auto& name : toy_names()) {
    INFO(name);
    const Eigen::MatrixXd x = make_toy(name, 20000, 1);
    const Eigen::RowVectorXd mean = x.colwise().mean();
    const Eigen::RowVectorXd sd = ((x.rowwise() - mean).array().square().colwise().sum() / (x.rows() - 1)).sqrt();
    CHECK(mean.cwiseAbs().maxCoeff() < 0.15);
    CHECK(sd.minCoeff() > 0.6);
    CHECK(sd.maxCoeff() < 1.25);
    CHECK(x.cwiseAbs().maxCoeff() < 3.0);
  }
}

TEST_CASE("toy shapes: checkerboard squares, ring radii, heart curve") {
  const Eigen::MatrixXd board = make_toy("checkerboard", 5000, 3);
  for (Eigen::Index i = 0; i < board.rows(); ++i) {
    const int parity = static_cast<int>(std::floor(board(i, 0)) + std::floor(board(i, 1)));
    REQUIRE(parity % 2 == 0);  // only the filled squares
  }

  // Ring radii 0.5, 1, 1.5, 2 with noise sd 0.03: a point within 0.15 of a ring is a 5 sd event.
  const Eigen::MatrixXd rings = make_toy("rings", 5000, 3);
  int off_ring = 0;
  for (Eigen::Index i = 0; i < rings.rows(); ++i) {
    const double r = rings.row(i).norm();
    const double nearest = std::min({std::fabs(r - 0.5), std::fabs(r - 1.0), std::fabs(r - 1.5), std::fabs(r - 2.0)});
    off_ring += nearest > 0.15;
  }
  CHECK(off_ring == 0);

  // Heart: every point within 0.15 of the curve (16 sin^3 s, 13 cos s - 5 cos 2s - 2 cos 3s - cos 4s) / 9.
  const Eigen::MatrixXd heart = make_toy("heart", 2000, 3);
  Eigen::MatrixXd curve(4000, 2);
  for (int k = 0; k < curve.rows(); ++k) {
    const double s = 2 * M_PI * k / curve.rows();
    curve(k, 0) = 16 * std::pow(std::sin(s), 3) / 9;
    curve(k, 1) = (13 * std::cos(s) - 5 * std::cos(2 * s) - 2 * std::cos(3 * s) - std::cos(4 * s)) / 9;
  }
  double worst = 0.0;
  for (Eigen::Index i = 0; i < heart.rows(); ++i)
    worst = std::max(worst, (curve.rowwise() - heart.row(i)).rowwise().norm().minCoeff());
  CHECK(worst < 0.15);
}

TEST_CASE("toy specs parse names and counts") {
  CHECK(is_toy_spec("toy:heart"));
  CHECK_FALSE(is_toy_spec("heart.csv"));
  ToySpec s = parse_toy_spec("toy:heart", 123);
  CHECK(s.name == "heart");
  CHECK(s.n == 123);
  s = parse_toy_spec("toy:swiss-roll:500");
  CHECK(s.name == "swiss-roll");
  CHECK(s.n == 500);
  CHECK(load_points("toy:rings:100", 5) == make_toy("rings", 100, 5));

  CHECK_THROWS_AS(parse_toy_spec("toy:nope"), InputError);
  CHECK_THROWS_WITH(make_toy("spiral", 10, 0), Catch::Contains("spiral") && Catch::Contains("checkerboard"));
  CHECK_THROWS_AS(parse_toy_spec("toy:heart:0"), InputError);
  CHECK_THROWS_AS(parse_toy_spec("toy:heart:-3"), InputError);
  CHECK_THROWS_AS(parse_toy_spec("toy:heart:12x"), InputError);
  CHECK_THROWS_AS(parse_toy_spec("toy:heart:"), InputError);
  CHECK_THROWS_AS(parse_toy_spec("heart"), InputError);
  CHECK_THROWS_AS(make_toy("heart", 0, 0), InputError);
}

TEST_CASE("CSV points round-trip exactly") {
  Eigen::MatrixXd x(4, 3);
  x << 0.1, -2.5e-300, 1.0 / 3.0,  //
      1e300, -0.0, 7,              //
      M_PI, -M_E, 123456789.123456789, //
      5e-324, 2.2250738585072014e-308, -1.7976931348623157e308;
  for (bool header : {true, false}) {
    const std::string path = temp_file("");
    write_csv_points(path, x, header);
    const Eigen::MatrixXd y = load_csv_points(path);
    CHECK(y == x);
    CHECK(load_points(path) == x);
    std::filesystem::remove(path);
  }
}

TEST_CASE("CSV reader: header, comments, blank lines, CRLF, spaces") {
  const std::string path = temp_file("# points\r\nx, y\r\n\r\n 1.5 , -2\r\n+3,4e-1\r\n\n# end\n");
  const Eigen::MatrixXd x = load_csv_points(path);
  std::filesystem::remove(path);
  REQUIRE(x.rows() == 2);
  REQUIRE(x.cols() == 2);
  CHECK(x(0, 0) == 1.5);
  CHECK(x(0, 1) == -2.0);
  CHECK(x(1, 0) == 3.0);
  CHECK(x(1, 1) == 0.4);

  const std::string one_col = temp_file("1\n2\n3\n");
  CHECK(load_csv_points(one_col).rows() == 3);
  std::filesystem::remove(one_col);
}

TEST_CASE("CSV reader rejects bad files with the file, line and reason") {
  const std::string missing = "/nonexistent/genphys/points.csv";
  CHECK_THROWS_WITH(load_csv_points(missing), Catch::Contains(missing));
  CHECK_THROWS_WITH(load_points(missing), Catch::Contains("cannot open"));

  CHECK_THAT(error_of(""), Catch::Contains("no data rows"));
  CHECK_THAT(error_of("x,y\n"), Catch::Contains("no data rows"));
  CHECK_THAT(error_of("\n# only a comment\n"), Catch::Contains("no data rows"));
  CHECK_THAT(error_of("1,2\n3,4\n5\n"), Catch::Contains("line 3") && Catch::Contains("1 columns, expected 2"));
  CHECK_THAT(error_of("x,y\n1,2\n3,4,5\n"), Catch::Contains("line 3") && Catch::Contains("3 columns"));
  CHECK_THAT(error_of("1,2\n3,abc\n"), Catch::Contains("line 2, column 2") && Catch::Contains("'abc' is not a number"));
  CHECK_THAT(error_of("1,2\n3,4x\n"), Catch::Contains("'4x' is not a number"));
  CHECK_THAT(error_of("1,,2\n"), Catch::Contains("line 1, column 2: empty field"));
  CHECK_THAT(error_of("1,2\nnan,4\n"), Catch::Contains("line 2, column 1") && Catch::Contains("not finite"));
  CHECK_THAT(error_of("1,2\n3,-inf\n"), Catch::Contains("line 2, column 2") && Catch::Contains("not finite"));
  CHECK_THAT(error_of("1,1e999\n"), Catch::Contains("out of double range"));
  // A first line that mixes numbers and text is a bad data row, not a header.
  CHECK_THAT(error_of("x,2\n1,2\n"), Catch::Contains("line 1, column 1"));
  // Messages name the file.
  const std::string path = temp_file("1,2\n3\n");
  CHECK_THROWS_WITH(load_csv_points(path), Catch::Contains(path));
  std::filesystem::remove(path);
}

TEST_CASE("CSV writer reports unwritable paths") {
  CHECK_THROWS_AS(write_csv_points("/nonexistent/dir/out.csv", Eigen::MatrixXd::Zero(2, 2)), InputError);
}

TEST_CASE("format_csv_points refuses NaN and infinite coordinates") {
  Eigen::MatrixXd x(2, 2);
  x << 1, 2, 3, 4;
  CHECK(format_csv_points(x) == "x0,x1\n1,2\n3,4\n");
  CHECK(format_csv_points(x, false) == "1,2\n3,4\n");
  x(1, 0) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(format_csv_points(x), Catch::Contains("NaN or infinite"));
  x(1, 0) = std::nan("");
  CHECK_THROWS_AS(format_csv_points(x), InputError);
}
