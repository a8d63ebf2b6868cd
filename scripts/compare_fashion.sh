#!/usr/bin/env bash
# The README's module study on Fashion-MNIST: the feature classifier, then five modules trained
# with the quality run's network and recipe (ddpmpp-small, batch 64, lr 2e-3 after a 5000-image
# warm-up, EMA half-life 20,000 images, sigma_max 80), and `genphys compare` at equal images seen.
# The runs are trained in rounds of ROUND images each (a snapshot per round), so that whenever the
# script stops every run has seen the same images; run it again and it continues.
#   scripts/compare_fashion.sh [GENPHYS_BINARY] [OUT_DIR]
# Knobs (environment): IMAGES (320000: the quality goal's budget), ROUND (40000), N (1000),
# NFE (9,17,35,79), EPOCHS (5, the classifier's), COOLDOWN (40000: the lr falls linearly to 0 over the
# last COOLDOWN images, which must fit in the last round; 0: constant), SEED_RUNS ("diffusion pfgmpp128": the runs trained
# a second time with seed 1, so that the table shows what another training seed changes; "" for
# none), TRAIN_ONLY (1: stop after training), THREADS (0: physical cores).
set -euo pipefail
genphys="${1:-build/genphys}"
out="${2:-out}"
images="${IMAGES:-320000}" round="${ROUND:-40000}" n="${N:-1000}" nfe="${NFE:-9,17,35,79}" epochs="${EPOCHS:-5}"
seed_runs="${SEED_RUNS-diffusion pfgmpp128}" threads="${THREADS:-0}" cooldown="${COOLDOWN:-40000}"
for v in "$images" "$round" "$n" "$epochs"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "compare_fashion: IMAGES, ROUND, N and EPOCHS must be positive integers, got '$v'" >&2; exit 2; }
done
(( round % 64 == 0 && images % round == 0 )) ||
  { echo "compare_fashion: ROUND must be a multiple of 64 and divide IMAGES ($round, $images)" >&2; exit 2; }
[[ $cooldown =~ ^[0-9]+$ ]] && (( cooldown <= round )) ||
  { echo "compare_fashion: COOLDOWN must be an integer from 0 to ROUND ($round), got '$cooldown'" >&2; exit 2; }
declare -A module=(
  [diffusion]="--pde diffusion"
  [pfgmpp128]="--pde poisson --D 128"
  [pfgmpp2048]="--pde poisson --D 2048"
  [pfgm]="--pde poisson --D 1"
  [yukawa]="--pde screened-poisson --m 1"
)
names=(diffusion pfgmpp128 pfgmpp2048 pfgm yukawa)
for base in $seed_runs; do
  [[ -n "${module[$base]+x}" ]] || { echo "compare_fashion: SEED_RUNS names '$base', not one of ${names[*]}" >&2; exit 2; }
  module[$base-seed1]="${module[$base]}"
  names+=("$base-seed1")
done
classifier="$out/classifier/fashion-mnist.cls"
mkdir -p "$out/classifier" "$out/runs"
[[ -e "$classifier" ]] || "$genphys" classifier train --epochs "$epochs" --out "$classifier" --threads "$threads"
snapshot() { printf '%s/runs/%s/snapshots/snapshot-%09d.ckpt' "$out" "$1" "$2"; }

for ((seen = round; seen <= images; seen += round)); do
  for name in "${names[@]}"; do
    [[ -e "$(snapshot "$name" "$seen")" ]] && continue
    dir="$out/runs/$name" seed=0 resume=()
    [[ $name == *-seed1 ]] && seed=1
    [[ -e "$dir/last.ckpt" ]] && resume=(--resume)
    # The cool-down ends the last round (a resume may start one; see README "Training").
    schedule=()
    (( seen == images && cooldown > 0 )) && schedule=(--lr-cooldown-images "$cooldown")
    echo "== $name to $seen images ($(date -u +%H:%M))"
    # shellcheck disable=SC2086  # the module options are words
    OMP_WAIT_POLICY=PASSIVE "$genphys" train ${module[$name]} --data fashion-mnist --arch ddpmpp-small --out "$dir" \
      "${resume[@]}" "${schedule[@]}" --steps $((seen / 64)) --batch 64 --lr 2e-3 --warmup-images 5000 --ema-halflife-images 20000 \
      --sigma-max 80 --snapshot-every "$round" --ckpt-every 125 --grid-every 0 --no-progress --seed "$seed" \
      --threads "$threads"
  done
done
[[ "${TRAIN_ONLY:-0}" == 1 ]] && exit 0

# Every run at IMAGES: NFE, sampling seconds and grids from the same seeds, then the robustness probes.
spec=""
for name in "${names[@]}"; do spec+="${spec:+,}$name=$(snapshot "$name" "$images")"; done
"$genphys" compare --runs "$spec" --nfe "$nfe" --n "$n" --classifier "$classifier" --threads "$threads" \
  --out "$out/compare-$images"
for name in diffusion pfgmpp128 pfgmpp2048 pfgm yukawa; do
  "$genphys" robustness --ckpt "$(snapshot "$name" "$images")" --alpha 0,0.1,0.2 --quant-bits 8,6,5 --n "$n" \
    --classifier "$classifier" --threads "$threads" --out "$out/robustness-$name-$images"
done
