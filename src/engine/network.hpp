#pragma once
// EDM preconditioning around any registered network (model_registry.hpp). Internal to the engine
// (includes LibTorch).

#include <torch/torch.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "engine/model_registry.hpp"

namespace genphys::engine {

/// How the network's output is turned into what the ODE needs.
struct PrecondOptions {
  double sigma_data = 0.5;
  /// false: a denoiser D(x, sigma) ~ E[y | x, sigma] (fields affine in the posterior mean).
  /// true: the velocity dx/dsigma itself, regressed on each source's own velocity.
  bool velocity = false;
  /// Heavy-tailed kernels: precondition with a per-sample scale s read from the input,
  /// s^2 = max(sigma^2, |x - centre|^2/N - tau^2), instead of sigma.
  bool scale_from_input = false;
  /// tau^2 above: the largest |y - centre|^2/N over the training set, so that no clean point
  /// switches to its own scale. < 0: sigma_data^2 (checkpoints written before it was stored).
  double spread_threshold = -1.0;
  /// With scale_from_input: the network is conditioned on c_noise = ln(s)/4 instead of
  /// ln(sigma)/4, and a velocity model's output and loss weight carry the gain s/sigma.
  bool noise_from_scale = false;
  std::vector<double> centre;  ///< data mean, per coordinate (empty: the origin)
};

/// EDM preconditioning (Karras et al. 2022, Table 1) with the effective scale s (= sigma unless
/// scale_from_input), c_in = 1/sqrt(s^2 + sd^2), c_noise = ln(sigma)/4 (ln(s)/4 with
/// noise_from_scale):
///   denoiser: D = c_skip x + c_out F, c_skip = sd^2/(s^2 + sd^2), c_out = s sd/sqrt(s^2 + sd^2);
///   velocity: G = s (x - centre)/(s^2 + sd^2) + sd/sqrt(s^2 + sd^2) F, the same parameterisation
///   written for the noise (x - y)/sigma, whose optimum it is for diffusion (times s/sigma with
///   noise_from_scale: written for the displacement's own scale, converted to dx/dsigma).
class EdmPrecondImpl : public torch::nn::Module {
 public:
  EdmPrecondImpl(Network net, double sigma_data);
  EdmPrecondImpl(Network net, PrecondOptions options);
  /// x: (B, ...), sigma: (B). Computed in float32. class_labels: (B, label_dim) one-hot rows, zero
  /// rows for "no class" (NetworkImpl::forward_labelled); undefined: unconditional.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& class_labels = {});
  /// The per-sample scale s, shape (B), float32.
  torch::Tensor effective_sigma(const torch::Tensor& x, const torch::Tensor& sigma);
  /// Per-sample loss weight making the target of F unit-variance, shape (B).
  torch::Tensor loss_weight(const torch::Tensor& x, const torch::Tensor& sigma);
  /// Heavy-tailed velocity models (noise_from_scale): s/sigma, the factor from the parameterisation
  /// written for the displacement's scale s to dx/dsigma, shape (B).
  torch::Tensor velocity_gain(const torch::Tensor& x, const torch::Tensor& sigma);
  double sigma_data() const { return options_.sigma_data; }
  bool predicts_velocity() const { return options_.velocity; }
  const PrecondOptions& options() const { return options_; }
  Network net() const { return net_; }
  /// Inference in bfloat16: without gradients and on the CPU, the network's convolutions, linears
  /// and matrix products run under LibTorch's CPU autocast (norms in float, the output back in
  /// float32). Off by default; training never uses it.
  void set_inference_bfloat16(bool on) { bfloat16_ = on; }
  bool inference_bfloat16() const { return bfloat16_; }

 private:
  torch::Tensor centred(const torch::Tensor& x);
  Network net_;
  PrecondOptions options_;
  bool bfloat16_ = false;
  torch::Tensor centre_;  ///< (1, ...) float32, or undefined for the origin
};
TORCH_MODULE(EdmPrecond);

/// Per-sample weighted loss loss_weight * mean_j (out_j - target_j)^2, shape (B). The target is
/// the clean data y for a denoiser, each source's dx/dsigma for a velocity model.
torch::Tensor edm_loss(EdmPrecond& model, const torch::Tensor& target, const torch::Tensor& x,
                       const torch::Tensor& sigma, const torch::Tensor& class_labels = {});

/// Loads `archive` into `module`. Module::load replaces each tensor whatever its shape, so the
/// shapes the module had are compared afterwards: returns the name of the first parameter or
/// buffer that came back with another shape (empty when all match).
std::string load_matching_shapes(torch::nn::Module& module, torch::serialize::InputArchive& archive);

/// Runs `build` with torch's CPU allocations capped at twice `file_bytes` plus 64 MiB (what
/// building allocates beside the weights), each tensor counted 4 KiB more for its module; when it
/// needs more, throws InputError("<what>
/// describes a network larger than the file holds"). A network that a file describes (a
/// checkpoint's config, a classifier's meta line) has its weights in that file, so a crafted
/// description is refused before it exhausts memory. Not for concurrent use.
void build_within(std::size_t file_bytes, const std::string& what, const std::function<void()>& build);

}  // namespace genphys::engine
