// The network sampler's frozen-source steps for velocity-target modules (genphys/source_step.hpp):
// the same step loop as the exact sampler's, on torch tensors.
#include <memory>
#include <utility>
#include <vector>

#include "engine/sampler.hpp"
#include "genphys/source_step.hpp"

namespace genphys::engine {

torch::Tensor integrate_source_velocity(const GenerativeProcess& process, Solver solver, const StepClock& clock,
                                        torch::Tensor x,
                                        const StepVelocity& velocity, const StepCallback<torch::Tensor>& callback,
                                        std::int64_t& nfe, SourceTables* tables) {
  const std::vector<double>& lambdas = clock.lambdas();
  std::vector<ClockPoint> points(lambdas.size());
  std::vector<double> times(lambdas.size());
  for (std::size_t i = 0; i < lambdas.size(); ++i) {
    points[i] = clock.at(lambdas[i]);
    times[i] = i + 1 == lambdas.size() ? 0.0 : points[i].t;
  }
  std::shared_ptr<const SourceTransport> transport =
      tables && tables->times == times ? tables->transport : nullptr;
  if (!transport) transport = std::make_shared<const SourceTransport>(process, times);
  if (tables) {
    tables->times = times;
    tables->transport = transport;
  }
  // dx/dt = dx/dlambda dlambda/dt.
  auto velocity_t = [&](const torch::Tensor& state, std::size_t i) {
    return process.step_rate(points[i].t) * velocity(state, points[i]);
  };
  const SourceRows<torch::Tensor> rows{
      [](const torch::Tensor& m) {
        auto n = m.flatten(1).norm(2, 1).to(torch::kCPU, torch::kFloat64).contiguous();
        return std::vector<double>(n.data_ptr<double>(), n.data_ptr<double>() + n.numel());
      },
      [](const torch::Tensor& m, const std::vector<double>& f) {
        std::vector<std::int64_t> shape(std::size_t(m.dim()), 1);
        shape[0] = m.size(0);
        auto column = torch::tensor(f, torch::TensorOptions().dtype(torch::kFloat64)).to(m.device(), m.scalar_type());
        column = column.view(shape);
        return torch::where(column == 0, torch::zeros_like(m), m * column);
      }};
  int count = 0;
  x = integrate_source_steps(solver, std::move(x), times, lambdas, *transport, velocity_t, rows, count, callback);
  nfe += count;
  return x;
}

}  // namespace genphys::engine
