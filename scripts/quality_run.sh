#!/usr/bin/env bash
# The Fashion-MNIST quality run: PFGM++ D = 128, ddpmpp-small, batch 64, lr 2e-3 after a
# 5000-image warm-up, EMA half-life 20,000 images, a snapshot every 40,000 images, and the lr
# falling linearly to 0 over the last COOLDOWN images (environment; 40000 by default, 0: constant);
# then the FD curve (35 NFE Heun, n = 1000, seeds 0-999, against the first 1000 training images).
#   scripts/quality_run.sh GENPHYS RUN_DIR [IMAGES]      (IMAGES: 320000 by default)
# Resumable: run it again after an interruption and it continues from RUN_DIR/last.ckpt. The
# checkpoint where the cool-down begins is kept as RUN_DIR/stable-<images>.ckpt (with the
# optimizer's state): a longer run starts from a copy of it in a new RUN_DIR (as its last.ckpt),
# not from the cooled last.ckpt, so a run that has cooled down is not continued to another budget.
# Needs the classifier at out/classifier/fashion-mnist.cls (`genphys classifier train`).
set -euo pipefail
if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: scripts/quality_run.sh GENPHYS RUN_DIR [IMAGES]" >&2
  exit 2
fi
genphys=$1
run=$2
images=${3:-320000}
cooldown=${COOLDOWN:-40000}
if ! [[ $images =~ ^[1-9][0-9]*$ ]]; then
  echo "quality_run: IMAGES must be a positive integer, got '$images'" >&2
  exit 2
fi
batch=64
if ! [[ $cooldown =~ ^[0-9]+$ ]] || (( cooldown % batch != 0 || cooldown >= images )); then
  echo "quality_run: COOLDOWN must be a multiple of $batch below IMAGES ($images), got '$cooldown'" >&2
  exit 2
fi
steps=$(((images + batch - 1) / batch))
# train STEPS [OPTIONS...]: the run to STEPS, resumed when it has a checkpoint.
train() {
  local to=$1 resume=()
  shift
  [[ -f "$run/last.ckpt" ]] && resume=(--resume)
  OMP_WAIT_POLICY=PASSIVE "$genphys" train --pde pfgmpp --D 128 --data fashion-mnist --arch ddpmpp-small \
    --out "$run" "${resume[@]}" --steps "$to" --batch "$batch" --lr 2e-3 --warmup-images 5000 \
    --ema-halflife-images 20000 --snapshot-every 40000 --grid-every 0 --ckpt-every 125 --no-progress --seed 0 \
    --sigma-max 80 "$@"
}
stable_steps=$((steps - cooldown / batch))
stable="$run/stable-$(printf %09d $((stable_steps * batch))).ckpt"
for other in "$run"/stable-*.ckpt; do
  if [[ -f $other && $other != "$stable" ]]; then
    echo "quality_run: $run cools down from $other on; start another budget from a copy of that checkpoint in a new RUN_DIR" >&2
    exit 2
  fi
done
if (( cooldown > 0 )); then
  # Stable to the cool-down's start, kept; then the cool-down (a resume may start one).
  if [[ ! -f $stable ]]; then
    train "$stable_steps"
    cp "$run/last.ckpt" "$stable.tmp" && mv "$stable.tmp" "$stable"
  fi
  train "$steps" --lr-cooldown-images "$cooldown"
else
  train "$steps"
fi
sweep="$run/fd-$(date -u +%Y%m%d-%H%M%S)"
"$genphys" eval --ckpt "$run" --snapshots --nfe 35 --n 1000 --out "$sweep"
echo "FD curve: $sweep/snapshots.{csv,png}"
