// Shares and landing of the exact field for every velocity-target module in N = 2, plain steps in
// lambda against the frozen-source step, at the NFEs given (default 9, 17, 35), Heun and Euler.
// Four points: one isolated at (-1, 0), three within 0.15 of (1, 0); each should get 1/4.
//   make source_step_shares && build/source_step_shares [n=2000] [nfe list=9,17,35] [sigma_max=0: module's]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "genphys/check.hpp"
#include "genphys/exact_sampler.hpp"
#include "genphys/pde.hpp"

using namespace genphys;

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  std::vector<int> nfes{9, 17, 35};
  if (argc > 2) {
    nfes.clear();
    std::stringstream ss(argv[2]);
    for (std::string item; std::getline(ss, item, ',');) nfes.push_back(std::stoi(item));
  }
  const double sigma_max = argc > 3 ? std::atof(argv[3]) : 0.0;
  const char* only = std::getenv("MODULE");
  Eigen::MatrixXd data(4, 2);
  data << -1.0, 0.0, 1.0, 0.0, 1.1, 0.05, 0.95, -0.1;
  std::vector<ModuleSpec> specs;
  for (const ModuleInfo& m : module_registry()) specs.push_back({m.name, {}, ""});
  specs.push_back({"custom", {}, "phi_tt + lap phi - 0.25 phi"});
  std::printf("%-26s %-6s %-6s %4s  %-6s %-6s %-6s %-6s  %s\n", "module", "solver", "step", "nfe", "iso", "c1", "c2",
              "c3", "landed");
  for (const ModuleSpec& spec : specs) {
    if (only && spec.name != only) continue;
    std::unique_ptr<PdeModule> m;
    std::unique_ptr<GenerativeProcess> p;
    try {
      m = make_module(spec);
      if (check(*m, 2).verdict == Verdict::no) continue;
      p = m->generative(2);
    } catch (const std::exception&) {
      continue;
    }
    if (!p || (p->affine_velocity() != (std::getenv("AFFINE") != nullptr))) continue;
    for (Solver solver : {Solver::heun, Solver::euler})
      for (int nfe : nfes)
        for (Stepping stepping : {Stepping::plain, Stepping::source}) {
          ExactSamplerOptions opt;
          opt.solver = solver;
          opt.nfe = nfe;
          opt.stepping = stepping;
          opt.sigma_max = sigma_max;
          std::vector<double> share(4, 0.0);
          double landed = 0;
          std::string note;
          try {
            const ExactSamples r = sample_exact(*p, data, n, 7, opt);
            for (Eigen::Index i = 0; i < r.samples.rows(); ++i) {
              Eigen::Index best = 0;
              const double d = (data.rowwise() - r.samples.row(i)).rowwise().norm().minCoeff(&best);
              if (!std::isfinite(d)) {
                note = " (non-finite samples)";
                continue;
              }
              share[std::size_t(best)] += 1.0 / n;
              if (d < 1e-2) landed += 1.0 / n;
            }
          } catch (const std::exception& e) {
            note = std::string(" error: ") + e.what();
          }
          std::printf("%-26s %-6s %-6s %4d  %.3f  %.3f  %.3f  %.3f  %5.1f%%%s\n",
                      (spec.name == "custom" ? "custom yukawa m=0.5" : spec.name).c_str(), to_string(solver).c_str(),
                      to_string(stepping).c_str(), opt.nfe, share[0], share[1], share[2], share[3], 100 * landed,
                      note.c_str());
        }
  }
}
