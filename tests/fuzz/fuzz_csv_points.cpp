// The CSV point reader (--data csv:PATH, sample --data PATH): any file is read or refused; what is
// read is finite and survives a write + read round trip unchanged.
#include <Eigen/Dense>

#include "fuzz_common.hpp"
#include "genphys/toy_data.hpp"

using namespace genphys;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = fuzz::scratch_file("points.csv", data, size);
  fuzz::refused_cleanly([&] {
    const Eigen::MatrixXd points = load_csv_points(path);
    if (points.rows() < 1 || points.cols() < 1 || !points.allFinite()) fuzz::fail("an empty or non-finite point set");
    const std::string text = format_csv_points(points);
    const Eigen::MatrixXd again = load_csv_points(fuzz::scratch_file("again.csv", text.data(), text.size()));
    if (again.rows() != points.rows() || again.cols() != points.cols() || again != points)
      fuzz::fail("points change in a write + read round trip");
  });
  return 0;
}
