#pragma once
// The classifier file: "GENPHYS-CLASSIFIER 1\n", one line of JSON (architecture, image shape,
// test accuracy, training data), then a LibTorch archive holding the weights (BatchNorm running
// statistics included). Written atomically. Internal to the engine.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "classifier.hpp"

namespace genphys::engine {

struct ClassifierInfo {
  int channels = 1, classes = 10, width = 32, features = 128;
  std::vector<std::int64_t> shape;  ///< {C, H, W}
  double test_accuracy = 0.0;
  std::int64_t test_count = 0;
  std::string data;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ClassifierInfo, channels, classes, width, features, shape, test_accuracy, test_count,
                                   data)

/// Builds the network an info describes.
ClassifierNet make_classifier(const ClassifierInfo& info);

void save_classifier(const std::string& path, const ClassifierInfo& info, ClassifierNet& net);

/// Reads and checks a classifier file; InputError when missing, truncated or not one.
ClassifierNet load_classifier(const std::string& path, ClassifierInfo& info);

}  // namespace genphys::engine
