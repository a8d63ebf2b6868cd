#!/usr/bin/env bash
# GPU check, for a machine with CUDA, CMake and a pip torch (not part of make test):
#   scripts/gpu_check.sh [WORKDIR]
# Builds genphys against the pip torch's LibTorch (its CMake prefix) in build-cuda/, then
#   1. CPU/GPU agreement of one forward pass (a 1-NFE sample) and of a 5-NFE Heun sample of the
#      same checkpoint: max |x_gpu - x_cpu| / max |x_cpu| must stay below 1e-2 (cuDNN may run the
#      convolutions in TF32, whose 10-bit mantissa gives about 1e-3 per pass);
#   2. train images/s (ddpmpp-small on 32x32 images, batch 128) and sampling images/s (Heun 35 NFE);
#   3. with two GPUs or more, a 2-rank NCCL run (train --nproc 2 --device cuda).
# The physics core still needs its libraries (Eigen, Boost.Math, FFTW, PLplot, fmt, nlohmann-json,
# CLI11, stb, zlib); the script lists the missing ones and stops. GENPHYS_DEPS_PREFIX adds a prefix
# (e.g. a conda environment holding them) to CMake's search path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
build=${GENPHYS_CUDA_BUILD:-$root/build-cuda}
py=${PYTHON:-python3}
mkdir -p "$work"

torch_prefix=$($py -c 'import torch; print(torch.utils.cmake_prefix_path)')
read -r torch_version gpus cuda_version <<<"$($py -c 'import torch; print(torch.__version__, torch.cuda.device_count(), torch.version.cuda)')"
if [[ "$gpus" -lt 1 ]]; then
  echo "gpu_check: torch $torch_version sees no GPU (CUDA $cuda_version)" >&2
  exit 2
fi
gpu_name=$($py -c 'import torch; print(torch.cuda.get_device_name(0))')
torch_include=$($py -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "include"))')
nccl_include=$($py -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "include"))' 2>/dev/null || true)

# ---- what the build needs besides LibTorch ---------------------------------------------------
missing=()
cxx=${CXX:-c++}
have_header() { echo "#include <$1>" | $cxx -std=c++17 -x c++ -fsyntax-only $2 - >/dev/null 2>&1; }
extra=""
[[ -n "${GENPHYS_DEPS_PREFIX:-}" ]] && extra="-I$GENPHYS_DEPS_PREFIX/include -I$GENPHYS_DEPS_PREFIX/include/eigen3"
have_header Eigen/Core "-I/usr/include/eigen3 $extra" || missing+=("Eigen3 (libeigen3-dev)")
have_header boost/math/special_functions/gamma.hpp "$extra" || missing+=("Boost.Math (libboost-math-dev)")
have_header fftw3.h "$extra" || missing+=("FFTW3 (libfftw3-dev)")
have_header plplot/plplot.h "$extra" || have_header plplot.h "$extra" || missing+=("PLplot (libplplot-dev plplot-driver-cairo)")
have_header fmt/format.h "$extra" || missing+=("fmt (libfmt-dev)")
have_header nlohmann/json.hpp "$extra" || missing+=("nlohmann-json (nlohmann-json3-dev)")
have_header CLI/CLI.hpp "$extra" || missing+=("CLI11 (libcli11-dev)")
have_header stb_image.h "-I/usr/include/stb $extra" || missing+=("stb (libstb-dev)")
have_header zlib.h "$extra" || missing+=("zlib (zlib1g-dev)")
command -v pkg-config >/dev/null || missing+=("pkg-config")
if ((${#missing[@]})); then
  echo "gpu_check: the physics core and the CLI need: ${missing[*]}" >&2
  echo "gpu_check: Debian/Ubuntu: apt-get install libeigen3-dev libboost-math-dev libfftw3-dev libplplot-dev plplot-driver-cairo libfmt-dev nlohmann-json3-dev libcli11-dev libstb-dev zlib1g-dev pkg-config" >&2
  exit 2
fi
[[ -d "$torch_include/gloo" ]] || echo "gpu_check: note: no gloo headers under $torch_include: CPU ranks will not build" >&2

# ---- build -------------------------------------------------------------------------------------
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGENPHYS_TESTS=OFF \
  -DCMAKE_PREFIX_PATH="$torch_prefix${GENPHYS_DEPS_PREFIX:+;$GENPHYS_DEPS_PREFIX}" \
  ${nccl_include:+-DGENPHYS_NCCL_INCLUDE_DIR=$nccl_include} >"$work/cmake.log"
cmake --build "$build" -j"$(nproc)" --target genphys >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
g=$build/genphys

# 2048 images of 32x32: a bright square at one of 784 places (tests/engine/engine_fixtures.hpp's
# pattern); enough to time the networks, not to judge sample quality.
$py - "$work/squares.idx" <<'PY'
import struct, sys
n, s = 2048, 32
px = bytearray([10]) * (n * s * s)
for k in range(n):
    p = k % ((s - 4) * (s - 4)); r0, c0 = divmod(p, s - 4)
    for r in range(r0, r0 + 4):
        for c in range(c0, c0 + 4):
            px[k * s * s + r * s + c] = 245
open(sys.argv[1], "wb").write(struct.pack(">IIII", 0x803, n, s, s) + bytes(px))
PY
data="idx:$work/squares.idx"
common=(--pde poisson --data "$data" --arch ddpmpp-small --no-progress --grid-every 0 --eval-samples 0)

# ---- 1. CPU/GPU agreement ----------------------------------------------------------------------
"$g" train "${common[@]}" --steps 20 --batch 16 --device cpu --out "$work/run" >/dev/null
compare() {  # relative max difference of two float32 .bin files
  $py - "$1" "$2" <<'PY'
import sys, array
a, b = array.array("f"), array.array("f")
a.frombytes(open(sys.argv[1], "rb").read()); b.frombytes(open(sys.argv[2], "rb").read())
assert len(a) == len(b) > 0
print("%.3g" % (max(abs(x - y) for x, y in zip(a, b)) / max(abs(x) for x in a)))
PY
}
agreement=()
for nfe in 1 5; do
  for dev in cpu cuda; do
    "$g" sample --ckpt "$work/run" --seeds 0-63 --batch 64 --solver heun --nfe $nfe --device $dev --out "$work/s_${dev}_$nfe.bin" >/dev/null
  done
  gap=$(compare "$work/s_cpu_$nfe.bin" "$work/s_cuda_$nfe.bin")
  agreement+=("$nfe NFE: $gap")
  $py -c "import sys; sys.exit(0 if $gap < 1e-2 else 1)" || { echo "gpu_check: FAIL: CPU/GPU gap $gap at $nfe NFE (> 1e-2)"; exit 1; }
done

# ---- 2. speed ----------------------------------------------------------------------------------
train_ips=$("$g" train "${common[@]}" --steps 200 --batch 128 --device cuda --out "$work/speed" | grep -o '[0-9.]* images/s')
start=$(date +%s.%N)
"$g" sample --ckpt "$work/speed" --seeds 0-4095 --batch 1024 --solver heun --nfe 35 --device cuda --out "$work/speed.bin" >/dev/null
sample_ips=$($py -c "print('%.1f images/s' % (4096 / ($(date +%s.%N) - $start)))")

# ---- 3. two ranks on NCCL ----------------------------------------------------------------------
nccl="skipped: one GPU"
if [[ "$gpus" -ge 2 ]]; then
  nccl=$("$g" train "${common[@]}" --steps 200 --batch 256 --device cuda --nproc 2 --out "$work/nccl" | grep -o '[0-9.]* images/s')
  one=$("$g" train "${common[@]}" --steps 200 --batch 256 --device cuda --out "$work/nccl1" | grep -o '[0-9.]* images/s')
  nccl="2 ranks $nccl, 1 rank $one (batch 256)"
fi

cat <<EOF
gpu_check: $gpu_name x $gpus, torch $torch_version, CUDA $cuda_version
  CPU/GPU agreement (max |gpu - cpu| / max |cpu|, 64 samples): ${agreement[*]}
  train ddpmpp-small 32x32, batch 128:  $train_ips
  sample Heun 35 NFE, batch 1024:       $sample_ips
  NCCL: $nccl
EOF
