#pragma once
// Measuring trained models: a feature classifier for images, reference sets with baselines, and
// the scores of generated samples (Fréchet distance in classifier features for images; sliced
// Wasserstein and MMD against held-out points for low-dimensional data). No LibTorch here.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "genphys/engine.hpp"
#include "genphys/metrics.hpp"

namespace genphys {

/// Where eval/compare/robustness look for the classifier unless told otherwise.
inline const char* const kDefaultClassifierPath = "out/classifier/fashion-mnist.cls";

struct ClassifierTrainOptions {
  /// fashion-mnist[:DIR] or a folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
  std::string data = "fashion-mnist";
  std::string out;          ///< the classifier file (written atomically)
  /// Create the missing folders above `out` (for eval's default path only: an explicit path whose
  /// folder is missing stays an error). Made after training, so a refused run leaves no folder.
  bool create_folders = false;
  bool overwrite = false;   ///< replace an existing file
  int epochs = 5;
  std::int64_t limit = 0;       ///< > 0: first `limit` training images
  std::int64_t test_limit = 0;  ///< > 0: first `test_limit` test images
  int batch = 128;
  double lr = 2e-3;
  int width = 32;           ///< channels of the first conv block
  int features = 128;       ///< feature dimension
  std::uint64_t seed = 0;
  int threads = 0;
  bool progress = true;
  MessageSink messages;  ///< a line per epoch
};

struct ClassifierTrainResult {
  double test_accuracy = 0.0;
  std::int64_t test_count = 0, train_count = 0, steps = 0;
  double seconds = 0.0;
  int feature_dim = 0;
  std::string path;
};

/// Trains the CNN and writes it with its test accuracy. Throws InputError for bad input (missing
/// data or labels, an existing file without overwrite, an unwritable path) before training.
ClassifierTrainResult train_classifier(const ClassifierTrainOptions& options);

/// A trained classifier used as a feature map.
class FeatureClassifier {
 public:
  /// Throws InputError for a missing or corrupt file.
  FeatureClassifier(const std::string& path, int threads = 0);
  ~FeatureClassifier();
  FeatureClassifier(FeatureClassifier&&) noexcept;
  FeatureClassifier& operator=(FeatureClassifier&&) noexcept;

  int feature_dim() const;
  std::vector<std::int64_t> image_shape() const;  ///< {C, H, W} it was trained on
  double test_accuracy() const;                   ///< as measured when it was trained
  int classes() const;                            ///< classes it tells apart
  std::string data() const;                       ///< what it was trained on
  /// Penultimate features of `count` images (count x C x H x W floats in [-1, 1]; values are
  /// clamped to [-1, 1] first, as when writing a PNG), accumulated into moments.
  metrics::Moments feature_moments(const std::vector<float>& images, std::int64_t count, int batch = 250) const;
  /// The same features, one row per image.
  Eigen::MatrixXd features(const std::vector<float>& images, std::int64_t count, int batch = 250) const;
  /// Class predictions, for accuracy checks.
  std::vector<std::int64_t> predict(const std::vector<float>& images, std::int64_t count) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Scores of one sample set against a reference: `fd` for images, `sw` and `mmd` for points
/// (the others NaN).
struct SampleScore {
  double fd = std::numeric_limits<double>::quiet_NaN();
  /// Images: the bootstrap standard error of fd over sample sets of the same size
  /// (metrics::frechet_distance_bootstrap_se, 100 resamples); the noise a comparison must exceed.
  double fd_se = std::numeric_limits<double>::quiet_NaN();
  double sw = std::numeric_limits<double>::quiet_NaN();
  double mmd = std::numeric_limits<double>::quiet_NaN();
};

/// What samples are measured against, with the two baselines at the same n: a second real set
/// (images: the test split, or the next n training images when there is none; points: a fresh
/// held-out draw) and a noise set (images: uniform pixels in [-1, 1]; points: a Gaussian with the
/// data's mean and covariance).
struct EvalReference {
  bool is_image = false;
  std::string data;
  std::int64_t n = 0;
  std::uint64_t seed = 0;
  std::string reference_set, real_set, noise_set;  ///< descriptions
  metrics::Moments moments;   ///< images: classifier features of the reference set
  Eigen::MatrixXd points;     ///< points: the reference set
  double bandwidth = 0.0;     ///< points: the MMD kernel width, median distance reference-real, fixed for all scores
  SampleScore real, noise;    ///< the baselines
};

/// Builds the reference for `data` (a training data spec, as stored in a checkpoint) with n
/// samples per set. Images need `classifier`. Toy data: the reference and real sets are fresh
/// draws with seeds different from training's. Throws InputError when the data give fewer than n.
EvalReference make_eval_reference(const std::string& data, std::int64_t n, std::uint64_t seed,
                                  const FeatureClassifier* classifier);

/// Scores samples against the reference (sliced Wasserstein: 256 projections from the reference's seed).
SampleScore score_samples(const SampleResult& samples, const EvalReference& reference,
                          const FeatureClassifier* classifier);

/// Scores `count` points (count x dim, row-major) or images against the reference.
SampleScore score_values(const std::vector<float>& values, std::int64_t count, const EvalReference& reference,
                         const FeatureClassifier* classifier);

/// One class's scores of a class-conditional model's image samples.
struct ClassScore {
  std::int64_t label = 0;
  std::string name;       ///< the data's name for it; empty when unnamed
  std::int64_t n = 0;     ///< samples of this class (and reference images of it)
  double fd = std::numeric_limits<double>::quiet_NaN();       ///< against the class's reference images
  double real_fd = std::numeric_limits<double>::quiet_NaN();  ///< baseline: the class's held-out real images
  /// Share of the class's samples the classifier assigns to this class (NaN when the classifier's
  /// classes are not the data's), and the same for the held-out real images.
  double accuracy = std::numeric_limits<double>::quiet_NaN();
  double real_accuracy = std::numeric_limits<double>::quiet_NaN();
};

/// Scores labelled image samples (SampleResult::labels) class by class against `data`'s own
/// labelled images: for class k with n_k samples, the reference is the first n_k training images
/// of class k, the real baseline the first n_k test images of class k (the training images after
/// the reference when the data have no test split). The accuracy takes the classifier's class k
/// for the data's class k (true of Fashion-MNIST and its classifier), and is NaN when their class
/// counts differ. Throws InputError when the data hold too few images of a class.
std::vector<ClassScore> score_by_class(const SampleResult& samples, const std::string& data,
                                       const FeatureClassifier& classifier);

/// The data spec, image flag and PDE label stored in a checkpoint.
struct CheckpointSummary {
  std::string data, pde;
  bool is_image = false;
  std::int64_t step = 0;
  int num_classes = 0;  ///< class-conditional checkpoints: their classes; else 0
};
CheckpointSummary read_checkpoint_summary(const std::string& path);

/// One noise-level bin of a loss diagnostic: the network's mean weighted loss and the
/// Bayes-optimal one on the same samples.
struct SigmaBinLoss {
  double sigma_from = 0.0, sigma_to = 0.0;  ///< sigma in [from, to); to = +inf for the last bin
  std::int64_t n = 0;
  double loss = std::numeric_limits<double>::quiet_NaN();
  double optimal = std::numeric_limits<double>::quiet_NaN();
};
struct LossDiagnostic {
  std::int64_t n = 0;  ///< evaluation samples with a finite optimum
  double loss = std::numeric_limits<double>::quiet_NaN(), optimal = std::numeric_limits<double>::quiet_NaN();
  std::vector<SigmaBinLoss> bins;  ///< five, at the training sigma distribution's quantiles
};
/// The checkpoint's network (its EMA when it has one) on the run's fixed evaluation set of n
/// samples (as the trainer's --eval-samples n draws it), per sigma bin, next to the Bayes-optimal
/// loss of the exact empirical field over the run's training examples. Costs n x (training
/// examples) kernel evaluations. InputError for a run trained on a process given in code.
LossDiagnostic loss_diagnostic(const std::string& checkpoint, int n, int threads = 0);

/// How close samples lie to the training set, against held-out real images. For each image, d =
/// the distance to its nearest training example (pixel space, root mean square over pixels; the
/// run's training examples as it saw them: its --limit, their mirror images when it used --hflip).
/// `threshold` is the `quantile` of d over the held-out real images (the first n test images);
/// `share` is the fraction of samples with d below it. A model that generalises like the data
/// scores about `quantile` (0.1); one that copies training images scores up to 1.
struct MemorisationScore {
  std::int64_t n = 0, training_examples = 0;
  double quantile = 0.1, threshold = 0.0, share = 0.0;
  double median_samples = 0.0, median_real = 0.0;  ///< median d of the samples and of the real images
  std::string real_set;
};
/// InputError for points, or for image data without a test split.
MemorisationScore memorisation_score(const SampleResult& samples, const std::string& checkpoint, double quantile = 0.1);

}  // namespace genphys
