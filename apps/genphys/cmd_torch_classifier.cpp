// genphys classifier train: the feature network of the Fréchet distance (needs the LibTorch engine).
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli.hpp"
#include "genphys/evaluation.hpp"
#include "torch_cli.hpp"

namespace genphys::cli {

CommandRunner setup_classifier(CLI::App& app) {
  app.require_subcommand(1);
  auto o = std::make_shared<ClassifierTrainOptions>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* train = app.add_subcommand("train", "Train the CNN classifier and report its test accuracy");
  train->add_option("--data", o->data, "fashion-mnist[:DIR] or a folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]")
      ->capture_default_str();
  train->add_option("--out", o->out,
                    std::string("classifier file to write (default: eval's ") + kDefaultClassifierPath + ", folders created)");
  train->add_flag("--overwrite", o->overwrite, "replace an existing classifier file");
  train->add_option("--epochs", o->epochs, "passes over the training set")->capture_default_str();
  train->add_option("--limit", o->limit, "use the first N training images (0: all)")->capture_default_str();
  train->add_option("--test-limit", o->test_limit, "use the first N test images (0: all)")->capture_default_str();
  train->add_option("--batch", o->batch, "batch size")->capture_default_str();
  train->add_option("--lr", o->lr, "AdamW learning rate (decays linearly to 0)")->capture_default_str();
  train->add_option("--width", o->width, "channels of the first conv block")->capture_default_str();
  train->add_option("--features", o->features, "feature (penultimate) dimension")->capture_default_str();
  train->add_option("--seed", o->seed, "seed of initialisation, order and flips")->capture_default_str();
  train->add_option("--threads", o->threads, "CPU threads (0: physical cores)")->capture_default_str();
  train->add_flag("--quiet", *quiet, "no per-epoch lines on stderr");

  return [o, quiet, train]() -> int {
    if (!train->parsed()) throw InputError("usage: genphys classifier train [--out FILE]");
    if (!*quiet) o->messages = print_to_stderr;
    if (o->out.empty()) {  // eval's default, so that `classifier train` then `eval` need no paths
      o->out = kDefaultClassifierPath;
      o->create_folders = true;
    }
    prefer_passive_openmp();
    const ClassifierTrainResult r = train_classifier(*o);
    std::cout << fmt::format("test accuracy {:.2f}% on {} images ({} training images, {} steps, {:.0f} s), "
                             "{} features, {}\n",
                             100.0 * r.test_accuracy, r.test_count, r.train_count, r.steps, r.seconds,
                             r.feature_dim, r.path);
    return 0;
  };
}

}  // namespace genphys::cli
