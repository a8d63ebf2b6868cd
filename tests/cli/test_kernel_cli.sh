#!/usr/bin/env bash
# genphys kernel: radii CSV, per-draw streams, and one-line errors with exit code 2.
set -u
source "$(dirname "$0")/lib.sh" "$1"

"$genphys" kernel --pde diffusion --dim 784 --t 0.5 --samples 2000 --seed 3 --csv "$tmp/r.csv" 2>/dev/null || bad "kernel diffusion"
[[ $(head -1 "$tmp/r.csv") == radius && $(wc -l <"$tmp/r.csv") -eq 2001 ]] && ok || bad "csv shape"
# Diffusion at t: |x - y|^2 = 2t chi2_N, so the mean of r^2 is 2 t N = 784 (+- 3 sd of the mean: 3 * 784 sqrt(2/784) / sqrt(2000) = 2.5).
awk 'NR > 1 { s += $1 * $1; n++ } END { m = s / n; exit !(m > 781.5 && m < 786.5) }' "$tmp/r.csv" && ok || bad "mean r^2"
# Draw i depends only on (seed, i): the first 10 of 2000 equal 10 drawn alone.
"$genphys" kernel --pde diffusion --dim 784 --t 0.5 --samples 10 --seed 3 2>/dev/null >"$tmp/r10.csv"
diff <(head -11 "$tmp/r.csv") "$tmp/r10.csv" >/dev/null && ok || bad "per-draw streams"
"$genphys" kernel --pde pfgmpp --D 128 --dim 3072 --sigma 2 --samples 100 >/dev/null 2>&1 && ok || bad "pfgm++ sigma"

expect_error 2 "no exact kernel sampler" -- kernel --pde biharmonic --dim 784 --t 1
expect_error 2 "exactly one of --t" -- kernel --pde diffusion --dim 2
expect_error 2 "--dim must be" -- kernel --pde diffusion --dim 0 --t 1
expect_error 2 "--samples" -- kernel --pde diffusion --dim 2 --t 1 --samples 0
expect_error 2 "positive and finite" -- kernel --pde diffusion --dim 2 --t -1
expect_error 2 "does not exist" -- kernel --pde diffusion --dim 2 --t 1 --csv "$tmp/no/dir/r.csv"
finish
