#!/usr/bin/env bash
# genphys kernel: radii CSV, per-draw streams, and one-line errors with exit code 2.
set -u
genphys=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
expect_error() {
  local pattern=$1
  shift 2
  "$genphys" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [[ $rc -ne 2 ]]; then bad "$* -> exit $rc, want 2"; return; fi
  if [[ $(wc -l <"$tmp/err") -ne 1 ]]; then bad "$* -> stderr: $(cat "$tmp/err")"; return; fi
  grep -q -- "$pattern" "$tmp/err" && ok || bad "$* -> '$(cat "$tmp/err")' lacks '$pattern'"
}

"$genphys" kernel --pde diffusion --dim 784 --t 0.5 --samples 2000 --seed 3 --csv "$tmp/r.csv" 2>/dev/null || bad "kernel diffusion"
[[ $(head -1 "$tmp/r.csv") == radius && $(wc -l <"$tmp/r.csv") -eq 2001 ]] && ok || bad "csv shape"
# Diffusion at t: |x - y|^2 = 2t chi2_N, so the mean of r^2 is 2 t N = 784 (+- 3 sd of the mean: 3 * 784 sqrt(2/784) / sqrt(2000) = 2.5).
awk 'NR > 1 { s += $1 * $1; n++ } END { m = s / n; exit !(m > 781.5 && m < 786.5) }' "$tmp/r.csv" && ok || bad "mean r^2"
# Draw i depends only on (seed, i): the first 10 of 2000 equal 10 drawn alone.
"$genphys" kernel --pde diffusion --dim 784 --t 0.5 --samples 10 --seed 3 2>/dev/null >"$tmp/r10.csv"
diff <(head -11 "$tmp/r.csv") "$tmp/r10.csv" >/dev/null && ok || bad "per-draw streams"
"$genphys" kernel --pde pfgmpp --D 128 --dim 3072 --sigma 2 --samples 100 >/dev/null 2>&1 && ok || bad "pfgm++ sigma"

expect_error "no exact kernel sampler" -- kernel --pde biharmonic --dim 784 --t 1
expect_error "exactly one of --t" -- kernel --pde diffusion --dim 2
expect_error "--dim must be" -- kernel --pde diffusion --dim 0 --t 1
expect_error "--samples" -- kernel --pde diffusion --dim 2 --t 1 --samples 0
expect_error "positive and finite" -- kernel --pde diffusion --dim 2 --t -1
expect_error "does not exist" -- kernel --pde diffusion --dim 2 --t 1 --csv "$tmp/no/dir/r.csv"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
