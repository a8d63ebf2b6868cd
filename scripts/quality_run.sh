#!/usr/bin/env bash
# The Fashion-MNIST quality run: PFGM++ D = 128, ddpmpp-small, batch 64, lr 2e-3 after a
# 5000-image warm-up, EMA half-life 20,000 images, a snapshot every 40,000 images; then the FD
# curve (35 NFE Heun, n = 1000, seeds 0-999, against the first 1000 training images).
#   scripts/quality_run.sh GENPHYS RUN_DIR [IMAGES]      (IMAGES: 320000 by default)
# Resumable: run it again after an interruption and it continues from RUN_DIR/last.ckpt.
# Needs the classifier at out/classifier/fashion-mnist.cls (`genphys classifier train`).
set -euo pipefail
if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: scripts/quality_run.sh GENPHYS RUN_DIR [IMAGES]" >&2
  exit 2
fi
genphys=$1
run=$2
images=${3:-320000}
if ! [[ $images =~ ^[1-9][0-9]*$ ]]; then
  echo "quality_run: IMAGES must be a positive integer, got '$images'" >&2
  exit 2
fi
batch=64
steps=$(((images + batch - 1) / batch))
resume=()
[[ -f "$run/last.ckpt" ]] && resume=(--resume)
OMP_WAIT_POLICY=PASSIVE "$genphys" train --pde pfgmpp --D 128 --data fashion-mnist --arch ddpmpp-small \
  --out "$run" "${resume[@]}" --steps "$steps" --batch "$batch" --lr 2e-3 --warmup-images 5000 \
  --ema-halflife-images 20000 --snapshot-every 40000 --grid-every 0 --ckpt-every 125 --no-progress --seed 0 \
  --sigma-max 80
sweep="$run/fd-$(date -u +%Y%m%d-%H%M%S)"
"$genphys" eval --ckpt "$run" --snapshots --nfe 35 --n 1000 --out "$sweep"
echo "FD curve: $sweep/snapshots.{csv,png}"
