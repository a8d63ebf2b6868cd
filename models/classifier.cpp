#include "classifier.hpp"

#include "genphys/errors.hpp"

namespace genphys::engine {
namespace nn = torch::nn;

ClassifierNetImpl::ClassifierNetImpl(const ClassifierNetOptions& o) : options_(o) {
  if (o.channels_in() < 1 || o.classes() < 2 || o.width() < 1 || o.features() < 1)
    throw InputError("classifier: channels >= 1, classes >= 2, width and features >= 1");
  const int w = o.width();
  auto conv = [](int in, int out) { return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)); };
  conv1_ = register_module("conv1", conv(o.channels_in(), w));
  bn1_ = register_module("bn1", nn::BatchNorm2d(w));
  conv2_ = register_module("conv2", conv(w, 2 * w));
  bn2_ = register_module("bn2", nn::BatchNorm2d(2 * w));
  conv3_ = register_module("conv3", conv(2 * w, 4 * w));
  bn3_ = register_module("bn3", nn::BatchNorm2d(4 * w));
  feature_ = register_module("feature", nn::Linear(4 * w, o.features()));
  logits_ = register_module("logits", nn::Linear(o.features(), o.classes()));
  dropout_ = register_module("dropout", nn::Dropout(o.dropout()));
}

torch::Tensor ClassifierNetImpl::features(const torch::Tensor& x) {
  auto h = torch::max_pool2d(torch::relu(bn1_(conv1_(x))), 2);
  h = torch::max_pool2d(torch::relu(bn2_(conv2_(h))), 2);
  h = torch::relu(bn3_(conv3_(h)));
  h = h.mean({2, 3});
  return torch::relu(feature_(h));
}

torch::Tensor ClassifierNetImpl::forward(const torch::Tensor& x) { return logits_(dropout_(features(x))); }

}  // namespace genphys::engine
