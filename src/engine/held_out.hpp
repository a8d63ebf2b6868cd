#pragma once
// Held-out data for evaluation (evaluation.cpp): the test split of an image spec and fresh points
// of a toy. Internal to the engine.

#include <cstdint>
#include <string>

#include <Eigen/Dense>

namespace genphys::engine {

/// The test split that goes with an image spec ("fashion-mnist" -> "fashion-mnist-test", an idx
/// folder's t10k file), or "" when there is none.
std::string test_split_of(const std::string& data);

/// n held-out points: a toy's draws with `seed`, or a CSV's rows [skip, skip + n) (InputError when
/// it holds fewer).
Eigen::MatrixXd held_out_points(const std::string& data, std::int64_t n, std::uint64_t seed, std::int64_t skip);

}  // namespace genphys::engine
