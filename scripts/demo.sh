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
