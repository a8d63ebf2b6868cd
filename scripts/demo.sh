#!/usr/bin/env bash
# The main job: the s-generative check of every PDE module and their dispersion relations.
set -euo pipefail
genphys=$1
out=$2
mkdir -p "$out"
echo "== genphys check --all (dimension 784, the Fashion-MNIST dimension)"
"$genphys" check --all --dim 784
echo
echo "== dispersion relations -> $out/dispersion.csv, $out/dispersion.png"
"$genphys" dispersion --pde diffusion,poisson,screened-poisson,helmholtz,dissipative-wave,biharmonic \
  --kmax 3 --csv "$out/dispersion.csv" --plot "$out/dispersion.png"
echo
echo "== Green's functions: radial density profiles (negative lobes are real) -> $out/green_*.png"
"$genphys" green --pde biharmonic --dim 2 --t 1 --r 0,6 --plot "$out/green_biharmonic.png" >/dev/null
"$genphys" green --pde screened-poisson --m 1 --dim 3 --t 1 --r 0,5 --plot "$out/green_yukawa.png" >/dev/null
"$genphys" green --pde helmholtz --k0 0.5 --dim 784 --t 100 --r 0,100,400,700,790,800 | cut -d" " -f1-5
echo
echo "== Spectral evolution from point sources: diffusion forgets the data, the ideal wave does not"
for pde in diffusion ideal-wave; do
  "$genphys" simulate --pde "$pde" --dim 1 --grid 256 --steps 4 --t-max 20 --out "$out/simulate_$pde.png" | tail -n 2
done
echo
echo "== Exact empirical field of 64 points (no network): every sample lands on a data point"
"$genphys" sample --exact --pde pfgmpp --D 128 --data toy:heart:64 --n 1000 --nfe 35 \
  --csv "$out/exact_pfgmpp128.csv" --plot "$out/exact_pfgmpp128.png" --trajectories 8
"$genphys" sample --exact --pde pfgm --data toy:heart:64 --n 1000 --solver rk45 --rtol 1e-5 --atol 1e-5 \
  --sigma-min 1e-5 --csv "$out/exact_pfgm.csv"

# A small PFGM++ (D = 128) Fashion-MNIST model: about 14 minutes of training on a quiet 2-core machine. A finished run is kept
# (and extended with --resume when DEMO_STEPS grows), never overwritten.
# sigma_max 80 (EDM's): the README's numbers were measured with it; train's default is the module's choice.
steps=${DEMO_STEPS:-1200}
run="$out/pfgmpp128-fashion"
echo
echo "== Training PFGM++ (D = 128) on Fashion-MNIST, $steps steps of 64 images -> $run"
resume=()
[[ -f "$run/last.ckpt" ]] && resume=(--resume)
"$genphys" train --pde pfgmpp --D 128 --data fashion-mnist --out "$run" "${resume[@]}" --steps "$steps" --batch 64 \
  --lr 2e-3 --warmup-images 5000 --ema-halflife-images 20000 --grid-every 400 --ckpt-every 200 --no-progress \
  --sigma-max 80
"$genphys" sample --ckpt "$run/last.ckpt" --nfe 35 --seeds 0-63 --grid "$out/pfgmpp128-fashion-samples.png"
echo
echo "outputs in $out"
