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
