// genphys::train_classifier: the feature network of the Fréchet distance, trained on labelled idx data.
#include <chrono>
#include <cmath>
#include <filesystem>

#include <unistd.h>

#include <fmt/format.h>

#include "engine/classifier_file.hpp"
#include "engine/data.hpp"
#include "engine/runtime.hpp"
#include "genphys/errors.hpp"
#include "genphys/evaluation.hpp"
#include "genphys/io.hpp"
#include "genphys/random.hpp"

namespace genphys {
using namespace engine;
namespace fs = std::filesystem;

namespace {

// The folder of a "fashion-mnist[:DIR]" or plain-folder spec.
std::string labelled_folder(const std::string& spec) {
  if (spec == "fashion-mnist") return fs::path(kFashionMnistTrain).parent_path().string();
  if (spec.rfind("fashion-mnist:", 0) == 0) return spec.substr(14);
  std::error_code ec;
  if (fs::is_directory(spec, ec)) return spec;
  throw InputError("classifier --data '" + spec +
                   "': expected fashion-mnist[:DIR] or a folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]");
}

std::string find_in(const std::string& dir, const std::string& stem) {
  for (const std::string& name : {stem + ".gz", stem}) {
    std::error_code ec;
    const fs::path p = fs::path(dir) / name;
    if (fs::exists(p, ec)) return p.string();
  }
  throw InputError("no " + stem + "[.gz] in " + dir);
}

struct Labelled {
  torch::Tensor x, y;
};

Labelled load_split(const std::string& dir, const std::string& split, std::int64_t limit) {
  Dataset images = read_idx_images(find_in(dir, split + "-images-idx3-ubyte"), limit);
  const auto labels = read_idx_labels(find_in(dir, split + "-labels-idx1-ubyte"), limit);
  if (std::int64_t(labels.size()) != images.size())
    throw InputError(fmt::format("{} split in {}: {} images but {} labels", split, dir, images.size(), labels.size()));
  return {images.x, torch::tensor(labels, torch::kInt64)};
}

double accuracy(ClassifierNet& net, const Labelled& data) {
  torch::NoGradGuard guard;
  net->eval();
  std::int64_t right = 0;
  for (std::int64_t i = 0; i < data.x.size(0); i += 500) {
    const auto end = std::min(data.x.size(0), i + 500);
    right += net->forward(data.x.slice(0, i, end)).argmax(1).eq(data.y.slice(0, i, end)).sum().item<std::int64_t>();
  }
  return double(right) / double(data.x.size(0));
}

// The path's missing folders can be made: the deepest existing ancestor is a writable folder.
void check_creatable(const std::string& path) {
  fs::path existing = fs::path(path).parent_path();
  std::error_code ec;
  while (!existing.empty() && !fs::exists(existing, ec)) existing = existing.parent_path();
  if (existing.empty()) existing = ".";
  if (!fs::is_directory(existing, ec)) throw InputError("cannot write " + path + ": " + existing.string() + " is not a directory");
  if (fs::exists(fs::path(path).parent_path(), ec)) return check_writable(path);
  if (::access(existing.c_str(), W_OK | X_OK) != 0)
    throw InputError("cannot write " + path + ": cannot create folders in " + existing.string());
}

void create_parent_folders(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (parent.empty() || fs::is_directory(parent, ec)) return;
  fs::create_directories(parent, ec);
  if (ec) throw InputError("cannot create " + parent.string() + ": " + ec.message());
}

}  // namespace

ClassifierTrainResult train_classifier(const ClassifierTrainOptions& o) {
  if (o.out.empty()) throw OptionError("out", "FILE is required");
  std::error_code ec;
  if (fs::exists(o.out, ec) && !o.overwrite)
    throw InputError("classifier " + o.out + " already exists (give --overwrite to replace it)");
  if (o.create_folders)
    check_creatable(o.out);
  else
    check_writable(o.out);
  if (o.epochs < 1) throw OptionError("epochs", "must be >= 1");
  if (o.batch < 2) throw OptionError("batch", "must be >= 2");
  if (!(o.lr > 0) || !std::isfinite(o.lr)) throw OptionError("lr", "must be positive and finite");
  if (o.width < 1) throw OptionError("width", "must be >= 1");
  if (o.features < 2) throw OptionError("features", "must be >= 2");
  const std::string dir = labelled_folder(o.data);
  const Labelled train = load_split(dir, "train", o.limit);
  const Labelled test = load_split(dir, "t10k", o.test_limit);
  const std::int64_t classes = train.y.max().item<std::int64_t>() + 1;
  if (classes < 2) throw InputError("classifier data need at least 2 classes");

  setup_runtime("cpu", o.threads);
  {
    // Three 3x3 convolutions of width w, 2w, 4w at full, half and quarter resolution, then two
    // linear layers: refused before allocating when it cannot fit (weights, gradients, AdamW's
    // moments; per image, the activations kept for backward).
    const double w = o.width, c = double(train.x.size(1)), pixels = double(train.x.size(2) * train.x.size(3));
    const double parameters = 9.0 * (c * w + 2.0 * w * w + 8.0 * w * w) + 4.0 * w * o.features + double(o.features) * classes;
    const double state = 4.0 * 4.0 * parameters;
    check_memory(state, "width", fmt::format("{:.3g} parameters with their gradients and AdamW state", parameters));
    const double per_image = 4.0 * 3.0 * w * pixels * (1.0 + 0.5 + 0.25);
    check_memory(state + double(o.batch) * per_image, "batch", fmt::format("a training step on {} images", o.batch));
  }
  torch::manual_seed(mix_seed(o.seed ^ 0x436c617373696669ULL));
  ClassifierInfo info;
  info.channels = int(train.x.size(1));
  info.classes = int(classes);
  info.width = o.width;
  info.features = o.features;
  info.shape = {train.x.size(1), train.x.size(2), train.x.size(3)};
  info.data = o.data;
  ClassifierNet net = make_classifier(info);
  torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(o.lr).weight_decay(1e-4));

  const std::int64_t n = train.x.size(0), per_epoch = std::max<std::int64_t>(1, n / o.batch);
  const std::int64_t total = per_epoch * o.epochs;
  const auto start = std::chrono::steady_clock::now();
  std::int64_t step = 0;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    net->train();
    const auto order = torch::randperm(n, torch::kInt64);
    double loss_sum = 0.0;
    for (std::int64_t b = 0; b < per_epoch; ++b, ++step) {
      // Linear decay to zero: the last steps refine instead of bouncing around.
      const double lr = o.lr * (1.0 - double(step) / double(total));
      for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      const auto idx = order.slice(0, b * o.batch, std::min(n, (b + 1) * o.batch));
      auto x = train.x.index_select(0, idx);
      // Random horizontal flips: garments and shoes look alike mirrored.
      const auto flip = torch::rand({x.size(0), 1, 1, 1}) < 0.5;
      x = torch::where(flip, x.flip({3}), x);
      const auto loss = torch::nn::functional::cross_entropy(net->forward(x), train.y.index_select(0, idx));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
    }
    if (o.messages)
      o.messages(fmt::format("epoch {}/{}: loss {:.4f}, {:.0f} s", epoch + 1, o.epochs, loss_sum / double(per_epoch),
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
  }
  ClassifierTrainResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.test_accuracy = accuracy(net, test);
  r.test_count = test.x.size(0);
  r.train_count = n;
  r.steps = step;
  r.feature_dim = o.features;
  r.path = o.out;
  info.test_accuracy = r.test_accuracy;
  info.test_count = r.test_count;
  if (o.create_folders) create_parent_folders(o.out);
  save_classifier(o.out, info, net);
  return r;
}

}  // namespace genphys
