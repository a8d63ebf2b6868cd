#pragma once
// Class-conditional sampling: one-hot labels, each sample's class from its index, and
// classifier-free guidance (Ho & Salimans 2022) on the model's output. Internal to the engine.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/data.hpp"
#include "engine/network.hpp"

namespace genphys::engine {

/// One-hot rows (B, num_classes) float32 of class ids; an id < 0 gives a zero row ("no class").
torch::Tensor one_hot_labels(const torch::Tensor& ids, int num_classes);
torch::Tensor one_hot_labels(const std::vector<std::int64_t>& ids, int num_classes);

/// A training batch's labels: one-hot rows of data.labels at `index`, zero rows where `dropped`
/// (empty: none dropped).
torch::Tensor batch_labels(const Dataset& data, const std::vector<std::int64_t>& index, const std::vector<char>& dropped);

/// Checks a conditional run's data against its classes (InputError, one line): labels present and
/// `classes` of them (the checkpoint's, on resume).
void require_labels(const Dataset& data, int classes, const std::string& spec);

/// What a class-conditional model is asked for: per-sample labels and the guidance weight.
struct Guidance {
  torch::Tensor labels;  ///< (B, K) one-hot on the model's device; undefined: an unconditional model
  double weight = 1.0;   ///< w in out_u + w (out_c - out_u): 1 conditional, 0 unconditional
};

/// Network passes one guided evaluation takes: 2 for a weight other than 0 and 1, else 1.
int guidance_passes(const Guidance& guidance);

/// The model's output at (x, sigma) under `guidance`: out_u + w (out_c - out_u), where out is the
/// denoised data for a denoiser and dx/dsigma for a velocity model (the velocity of an affine
/// module is affine in D, so guiding D and guiding the velocity are the same). Both halves run as
/// one batch of 2B.
torch::Tensor guided_output(EdmPrecond& model, const torch::Tensor& x, const torch::Tensor& sigma,
                            const Guidance& guidance);

/// Each sample's class: classes[index mod classes.size()] for its index (seed), so that a sample
/// keeps its class whatever else is sampled with it; empty `classes`: 0, 1, ..., num_classes - 1.
/// Throws InputError for a class outside [0, num_classes).
std::vector<std::int64_t> classes_for_indices(const std::vector<std::int64_t>& indices,
                                              const std::vector<std::int64_t>& classes, int num_classes);

/// The order that puts each class's samples on one row, the classes in order of first
/// appearance, and the row length: positions into `labels`, -1 for an empty cell.
std::vector<std::int64_t> class_rows(const std::vector<std::int64_t>& labels, int& columns);

}  // namespace genphys::engine
