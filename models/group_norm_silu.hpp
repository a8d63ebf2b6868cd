#pragma once
// silu(GroupNorm(x + shift)) in two passes over x: per-channel sums, then one fused
// scale-shift-SiLU write. LibTorch 1.13's CPU GroupNorm has no fast NHWC path (it made the
// channels-last DDPM++ forward 2.2x slower) and runs the shift, the norm and the SiLU as three
// passes; this kernel handles both NCHW and NHWC float32 CPU tensors when no gradient is recorded.
// Anywhere else (autograd, CUDA, other dtypes) it runs the same formula with torch's own ops.

#include <torch/torch.h>

namespace genphys::engine {

/// y = silu(group_norm(x + shift[:, :, None, None], groups, weight, bias, eps)), or without the
/// SiLU when `silu` is false. x is (B, C, H, W); shift is (B, C) or undefined; weight and bias (C).
/// The moments are accumulated in double.
torch::Tensor group_norm_silu(const torch::Tensor& x, const torch::Tensor& shift, std::int64_t groups,
                              const torch::Tensor& weight, const torch::Tensor& bias, double eps, bool silu = true);

}  // namespace genphys::engine
