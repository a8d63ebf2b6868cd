// Data-parallel training and split sampling on c10d: genphys train --nproc 2 and genphys sample
// under torchrun's variables, against one process. Runs the CLI (GENPHYS_CLI) on loopback.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <fmt/format.h>

#include "engine/checkpoint.hpp"
#include "engine_fixtures.hpp"

using namespace genphys;
using namespace genphys::engine;

namespace {

std::string cli() {
  const char* path = std::getenv("GENPHYS_CLI");
  REQUIRE(path != nullptr);  // set by ctest; by hand: GENPHYS_CLI=build/genphys
  return path;
}

int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// `args` as `world` ranks with torchrun's variables on loopback; 0 when every rank exited 0.
int as_ranks(int world, const std::string& args) {
  const int port = 20000 + int(::getpid() % 20000);
  std::string command = "pids=; for r in $(seq 0 " + std::to_string(world - 1) + "); do ";
  command += fmt::format("MASTER_ADDR=127.0.0.1 MASTER_PORT={} RANK=$r LOCAL_RANK=$r WORLD_SIZE={} {} {} & ", port,
                         world, cli(), args);
  command += "pids=\"$pids $!\"; done; rc=0; for p in $pids; do wait $p || rc=1; done; exit $rc";
  return shell("bash -c '" + command + "'");
}

struct Weights {
  std::vector<torch::Tensor> model, ema;
  std::int64_t step = 0;
};

Weights load(const std::string& path) {
  CheckpointReader reader(path, torch::kCPU);
  Weights w;
  w.step = reader.state().step;
  EdmPrecond model = make_model(reader.config()), ema = make_model(reader.config());
  reader.load_model(model, false);
  reader.load_model(ema, true);
  for (const auto& p : model->parameters()) w.model.push_back(p.detach().clone());
  for (const auto& p : ema->parameters()) w.ema.push_back(p.detach().clone());
  return w;
}

// Largest |a - b| over all weights, relative to the largest |a|.
double relative_gap(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  REQUIRE(a.size() == b.size());
  double gap = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    gap = std::max(gap, (a[i] - b[i]).abs().max().item<double>());
    scale = std::max(scale, a[i].abs().max().item<double>());
  }
  return gap / scale;
}

// The weights of two runs that should agree: both at `step`, model and EMA within kTolerance.
void check_same_run(const std::string& a, const std::string& b, std::int64_t step, const std::string& what);

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A small MLP run on two moons; lr high enough that the weights move far from their start.
const std::string kTrain =
    "train --pde poisson --data toy:moons:256 --arch mlp --hidden 32 --depth 2 --batch 64 --lr 3e-3 "
    "--warmup-images 0 --ema-halflife-images 500 --threads 1 --no-progress --grid-every 0 --eval-samples 0 "
    "--log-every 5";

// Measured on this machine: 2 ranks vs 1 process after 30 steps, about 1e-7 relative (float32
// summation order in the batch mean and the all-reduce); a second seed differs by order 1.
constexpr double kTolerance = 1e-5;

void check_same_run(const std::string& a, const std::string& b, std::int64_t step, const std::string& what) {
  const Weights one = load(a), other = load(b);
  CHECK(one.step == step);
  CHECK(other.step == step);
  const double model_gap = relative_gap(one.model, other.model), ema_gap = relative_gap(one.ema, other.ema);
  WARN(what << ": relative gap model " << model_gap << ", EMA " << ema_gap);
  CHECK(model_gap < kTolerance);
  CHECK(ema_gap < kTolerance);
}

}  // namespace

TEST_CASE("two ranks follow one process with the global batch, and rank 0 alone writes", "[distributed]") {
  test::TempDir dir("dist_train");
  REQUIRE(shell(cli() + " " + kTrain + " --seed 7 --steps 30 --out " + dir / "one" + " >/dev/null 2>&1") == 0);
  REQUIRE(shell(cli() + " " + kTrain + " --seed 7 --steps 30 --nproc 2 --out " + dir / "two" + " >" + dir / "two.out" +
                " 2>&1") == 0);
  check_same_run(dir / "one/last.ckpt", dir / "two/last.ckpt", 30, "2 ranks vs 1 process");
  // The tolerance is meaningful: another seed's run is far outside it.
  REQUIRE(shell(cli() + " " + kTrain + " --steps 30 --seed 8 --out " + dir / "other" + " >/dev/null 2>&1") == 0);
  CHECK(relative_gap(load(dir / "one/last.ckpt").model, load(dir / "other/last.ckpt").model) > 1e-2);

  // One checkpoint, one stats line per logged step, one summary line.
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "two"))
    files += e.path().filename().string().rfind("last.ckpt", 0) == 0;
  CHECK(files == 1);
  const std::string stats = read_all(dir / "two/stats.jsonl");
  CHECK(std::count(stats.begin(), stats.end(), '\n') == 1 + 30 / 5);
  CHECK(stats.find("\"ranks\":2") != std::string::npos);
  const std::string out = read_all(dir / "two.out");
  // Rank 0's start-up lines (engine, data, the chosen sigma_max, the run) and summary only.
  CHECK(std::count(out.begin(), out.end(), '\n') <= 5);
}

TEST_CASE("a two-rank run resumed by one process continues as an uninterrupted run", "[distributed]") {
  test::TempDir dir("dist_resume");
  REQUIRE(shell(cli() + " " + kTrain + " --steps 30 --out " + dir / "whole" + " >/dev/null 2>&1") == 0);
  REQUIRE(shell(cli() + " " + kTrain + " --steps 15 --nproc 2 --out " + dir / "split" + " >/dev/null 2>&1") == 0);
  REQUIRE(shell(cli() + " train --resume --steps 30 --threads 1 --no-progress --out " + dir / "split" +
                " >/dev/null 2>&1") == 0);
  check_same_run(dir / "whole/last.ckpt", dir / "split/last.ckpt", 30, "2 ranks to step 15, then 1 to 30, vs 1 process");
}

TEST_CASE("sampling split over ranks is byte-identical to one process", "[distributed]") {
  test::TempDir dir("dist_sample");
  REQUIRE(shell(cli() + " " + kTrain + " --steps 5 --out " + dir / "run" + " >/dev/null 2>&1") == 0);
  // 5 batches of 16 (the last short) over 2 and 3 ranks, Heun and adaptive RK45.
  for (const std::string solver : {"heun --nfe 9", "rk45"}) {
    const std::string args = "sample --ckpt " + dir / "run" + " --seeds 0-71 --batch 16 --threads 1 --solver " + solver;
    REQUIRE(shell(cli() + " " + args + " --out " + dir / "one.bin >/dev/null 2>&1") == 0);
    REQUIRE(as_ranks(2, args + " --out " + dir / "two.bin >/dev/null 2>&1") == 0);
    REQUIRE(as_ranks(3, args + " --out " + dir / "three.bin >/dev/null 2>&1") == 0);
    const std::string one = read_all(dir / "one.bin");
    CHECK(one.size() == 72 * 2 * sizeof(float));
    CHECK(read_all(dir / "two.bin") == one);
    CHECK(read_all(dir / "three.bin") == one);
  }
}
