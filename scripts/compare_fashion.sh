#!/usr/bin/env bash
# The README's Poisson-vs-diffusion comparison on Fashion-MNIST: the feature classifier, five
# models with the same network (unet-small) and budget, and `genphys compare` at equal NFE.
# Usage: scripts/compare_fashion.sh [GENPHYS_BINARY] [OUT_DIR]
# Budget knobs (environment): STEPS (300), BATCH (32), N (500), NFE (9,17,35), EPOCHS (5).
# Existing runs and the classifier are reused, so an interrupted invocation continues.
set -euo pipefail
genphys="${1:-build/genphys}"
out="${2:-out}"
steps="${STEPS:-300}" batch="${BATCH:-32}" n="${N:-500}" nfe="${NFE:-9,17,35}" epochs="${EPOCHS:-5}"
classifier="$out/classifier/fashion-mnist.cls"
mkdir -p "$out/classifier" "$out/runs"

[[ -e "$classifier" ]] || "$genphys" classifier train --epochs "$epochs" --out "$classifier"

declare -A runs=(
  [pfgm]="--pde poisson --D 1"
  [pfgmpp128]="--pde poisson --D 128"
  [pfgmpp2048]="--pde poisson --D 2048"
  [diffusion]="--pde diffusion"
  [yukawa]="--pde screened-poisson --m 1"
)
spec=""
for name in pfgm pfgmpp128 pfgmpp2048 diffusion yukawa; do
  dir="$out/runs/$name"
  if [[ ! -e "$dir/last.ckpt" ]]; then
    # shellcheck disable=SC2086  # the module options are words
    "$genphys" train ${runs[$name]} --data fashion-mnist --arch unet-small --steps "$steps" --batch "$batch" \
      --warmup-images 2000 --grid-every 0 --no-progress --sigma-max 80 --out "$dir"
  fi
  spec+="${spec:+,}$name=$dir"
done
"$genphys" compare --runs "$spec" --nfe "$nfe" --n "$n" --classifier "$classifier" --out "$out/compare"
