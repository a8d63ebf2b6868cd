#include "group_norm_silu.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "genphys/errors.hpp"
#include "models.hpp"

// The element loops are compiled twice, for x86-64-v3 (AVX2, FMA) and for the baseline, and the
// loader picks one. (The AVX-512 level measured slower for the SiLU loop on one development
// machine, 2.0 against 1.4 ms for 3.2M values on one thread, and 2x faster on another, an AMD
// EPYC of family 26: 0.16 against 0.34 ms for 0.8M values. Machines differ, so AVX2 it is.)
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define GENPHYS_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define GENPHYS_VECTOR_CLONES
#endif

namespace genphys::engine {
namespace {

// exp(x) by Cody-Waite reduction and Cephes's degree-5 polynomial (a few ulp), branch-free so
// that the loops calling it vectorize; x is clamped to [-87, 88], inside float's normal range.
inline float exp_branchless(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// out = silu(x a + d) (or without the SiLU) over `rows` rows of `width` values, with a and d
// indexed by the position in the row (NHWC: one value per channel)...
GENPHYS_VECTOR_CLONES
void scale_shift_rows(const float* x, float* out, std::int64_t rows, std::int64_t width, const float* a,
                      const float* d, bool silu) {
  for (std::int64_t r = 0; r < rows; ++r, x += width, out += width) {
    if (silu) {
      for (std::int64_t i = 0; i < width; ++i) {
        const float v = x[i] * a[i] + d[i];
        out[i] = v / (1.0f + exp_branchless(-v));
      }
    } else {
      for (std::int64_t i = 0; i < width; ++i) out[i] = x[i] * a[i] + d[i];
    }
  }
}

// ... or by the row (NCHW: one plane per channel).
GENPHYS_VECTOR_CLONES
void scale_shift_planes(const float* x, float* out, std::int64_t planes, std::int64_t size, const float* a,
                        const float* d, bool silu) {
  for (std::int64_t p = 0; p < planes; ++p, x += size, out += size) {
    const float ap = a[p], dp = d[p];
    if (silu) {
      for (std::int64_t i = 0; i < size; ++i) {
        const float v = x[i] * ap + dp;
        out[i] = v / (1.0f + exp_branchless(-v));
      }
    } else {
      for (std::int64_t i = 0; i < size; ++i) out[i] = x[i] * ap + dp;
    }
  }
}

// Per-channel sums of x and x^2 over the rows of one NHWC image (no reduction across lanes, so
// the loop vectorizes without reassociating).
GENPHYS_VECTOR_CLONES
void channel_moments_nhwc(const float* x, std::int64_t rows, std::int64_t channels, double* s1, double* s2) {
  std::fill(s1, s1 + channels, 0.0);
  std::fill(s2, s2 + channels, 0.0);
  for (std::int64_t r = 0; r < rows; ++r, x += channels) {
    for (std::int64_t c = 0; c < channels; ++c) {
      const double v = x[c];
      s1[c] += v;
      s2[c] += v * v;
    }
  }
}

// Sums of one NCHW plane, in eight interleaved accumulators for the same reason.
GENPHYS_VECTOR_CLONES
void plane_moments(const float* x, std::int64_t size, double& sum, double& sum_sq) {
  double s1[8] = {0, 0, 0, 0, 0, 0, 0, 0}, s2[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 8 <= size; i += 8) {
    for (int j = 0; j < 8; ++j) {
      const double v = x[i + j];
      s1[j] += v;
      s2[j] += v * v;
    }
  }
  for (int j = 0; i < size; ++i, ++j) {
    const double v = x[i];
    s1[j] += v;
    s2[j] += v * v;
  }
  sum = sum_sq = 0;
  for (int j = 0; j < 8; ++j) {
    sum += s1[j];
    sum_sq += s2[j];
  }
}

// From per-channel sums of one image to the per-channel a, d of silu(x a + d).
void fold_group_norm(const double* s1, const double* s2, const float* shift, std::int64_t channels,
                     std::int64_t groups, std::int64_t plane, const float* weight, const float* bias, double eps,
                     float* a, float* d) {
  const std::int64_t per_group = channels / groups;
  const double n = double(plane * per_group);
  for (std::int64_t g = 0; g < groups; ++g) {
    double m1 = 0, m2 = 0;
    for (std::int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
      const double t = shift ? shift[c] : 0.0;  // sums of x + t from those of x
      m1 += s1[c] + plane * t;
      m2 += s2[c] + 2 * t * s1[c] + plane * t * t;
    }
    const double mean = m1 / n;
    const double rstd = 1.0 / std::sqrt(std::max(m2 / n - mean * mean, 0.0) + eps);
    for (std::int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
      const double t = shift ? shift[c] : 0.0;
      const double scale = rstd * weight[c];
      a[c] = float(scale);
      d[c] = float((t - mean) * scale + bias[c]);
    }
  }
}

torch::Tensor reference(const torch::Tensor& x, const torch::Tensor& shift, std::int64_t groups,
                        const torch::Tensor& weight, const torch::Tensor& bias, double eps, bool silu) {
  auto h = shift.defined() ? x + shift.unsqueeze(2).unsqueeze(3) : x;
  h = torch::group_norm(h, groups, weight, bias, eps);
  return silu ? torch::silu(h) : h;
}

}  // namespace

torch::Tensor group_norm_silu(const torch::Tensor& x_in, const torch::Tensor& shift, std::int64_t groups,
                              const torch::Tensor& weight, const torch::Tensor& bias, double eps, bool silu) {
  // bfloat16 activations (inference under autocast) are normalised in float, as autocast does.
  const torch::Tensor x = float_activations(x_in);
  if (x.dim() != 4) throw InputError("group_norm_silu: expected a (B, C, H, W) tensor");
  const std::int64_t B = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  if (groups < 1 || C % groups != 0)
    throw InputError("group_norm_silu: " + std::to_string(C) + " channels do not split into " +
                     std::to_string(groups) + " groups");
  const bool grad = torch::GradMode::is_enabled() &&
                    (x.requires_grad() || weight.requires_grad() || bias.requires_grad() ||
                     (shift.defined() && shift.requires_grad()));
  const bool nhwc = x.is_contiguous(torch::MemoryFormat::ChannelsLast) && !x.is_contiguous();
  const bool nchw = x.is_contiguous();
  if (grad || !x.is_cpu() || x.scalar_type() != torch::kFloat32 || !(nhwc || nchw))
    return reference(x, shift, groups, weight, bias, eps, silu);

  const auto w = weight.to(torch::kFloat32).contiguous(), b = bias.to(torch::kFloat32).contiguous();
  const auto t = shift.defined() ? shift.to(torch::kFloat32).contiguous() : torch::Tensor();
  auto out = torch::empty_like(x, nhwc ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous);
  const float* xp = x.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const float* wp = w.data_ptr<float>();
  const float* bp = b.data_ptr<float>();
  const float* tp = t.defined() ? t.data_ptr<float>() : nullptr;

  at::parallel_for(0, B, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<double> s1(C), s2(C);
    std::vector<float> a(C), d(C);
    for (std::int64_t i = begin; i < end; ++i) {
      const float* xi = xp + i * C * HW;
      if (nhwc) {
        channel_moments_nhwc(xi, HW, C, s1.data(), s2.data());
      } else {
        for (std::int64_t c = 0; c < C; ++c) plane_moments(xi + c * HW, HW, s1[c], s2[c]);
      }
      fold_group_norm(s1.data(), s2.data(), tp ? tp + i * C : nullptr, C, groups, HW, wp, bp, eps, a.data(),
                      d.data());
      if (nhwc) {
        scale_shift_rows(xi, op + i * C * HW, HW, C, a.data(), d.data(), silu);
      } else {
        scale_shift_planes(xi, op + i * C * HW, C, HW, a.data(), d.data(), silu);
      }
    }
  });
  return out;
}

}  // namespace genphys::engine
