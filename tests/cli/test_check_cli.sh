#!/usr/bin/env bash
# genphys check / dispersion: outputs, JSON, and one-line errors with exit code 2.
set -u
source "$(dirname "$0")/lib.sh" "$1"


# The dissipative wave's floor: check names the smallest resolvable scale with its number.
"$genphys" check --pde dissipative-wave --eps 1 --dim 1 | grep -qE "^kernel: +conditional - .*sigma_min = 2.531 .*smallest resolvable scale is 2 sigma_min = 5.063" \
  && ok || bad "dissipative wave: kernel line must name the resolution limit"

# --- check
out=$("$genphys" check --pde helmholtz --k0 0.5 --dim 2 --json) || bad "check helmholtz failed"
python3 - "$out" <<'PY' && ok || bad "helmholtz JSON"
import json, sys
j = json.loads(sys.argv[1])
assert j["pde"] == "helmholtz" and j["params"] == {"k0": 0.5} and j["dim"] == 2, j
assert j["c2"]["verdict"] == "conditional" and j["verdict"] == "conditional", j
assert j["kernel"]["verdict"] == "yes", j
assert "0 < k <= 0.5" in j["condition"] and "12.57" in j["condition"], j["condition"]
PY
# In N = 784 (the default) its kernel never concentrates: the verdict is no, with the number.
"$genphys" check --pde helmholtz --k0 0.5 | grep -qE "^kernel: +no - .*does not concentrate.*795" && ok \
  || bad "helmholtz in N = 784 must say its kernel does not concentrate"
"$genphys" check --all --dim 784 >"$tmp/all" || bad "check --all failed"
# One row per registered module: the names the unknown-PDE error lists as valid (but custom).
valid=$("$genphys" check --pde nope 2>&1 | sed -n "s/.*valid: \(.*\), custom (with --expr)$/\1/p" | tr -d ' ' | tr ',' '\n')
[[ $(grep -c '' <<<"$valid") -ge 12 && $(grep -c '' "$tmp/all") -eq $(($(grep -c '' <<<"$valid") + 1)) ]] && ok \
  || bad "check --all: want a header and one row per module ($(tr '\n' ' ' <<<"$valid"))"
for name in $valid; do
  grep -qE "^$name " "$tmp/all" || bad "check --all has no row for $name"
done
grep -qE '^fractional-poisson +yes +yes +yes' "$tmp/all" && ok || bad "fractional-poisson row: $(grep fractional-poisson "$tmp/all")"
grep -qE '^biharmonic +no +yes +no ' "$tmp/all" && ok || bad "biharmonic row: $(grep biharmonic "$tmp/all")"
grep -qE '^diffusion +yes +yes +yes' "$tmp/all" && ok || bad "diffusion row"
grep -qE "^helmholtz +conditional +conditional +no +kernel: the kernel does not concentrate" "$tmp/all" && ok || bad "helmholtz row: $(grep helmholtz "$tmp/all")"
grep -qE '^ideal-wave +no +no +no' "$tmp/all" && ok || bad "ideal-wave row"
out=$("$genphys" check --pde custom --expr "phi_tt + lap phi - 0.25 phi" --json) || bad "custom check failed"
grep -q '"c2":{"verdict":"yes"' <<<"$out" && ok || bad "custom yukawa C2: $out"
"$genphys" check --pde pfgm --json | grep -q '"pde":"poisson"' && ok || bad "alias pfgm"

expect_error 2 "unknown PDE 'nope'" -- check --pde nope
expect_error 2 "valid: diffusion" -- check --pde nope
expect_error 2 "no parameter --k0" -- check --pde diffusion --k0 1
expect_error 2 "out of range" -- check --pde helmholtz --k0 -1
expect_error 2 "out of range" -- check --pde screened-poisson --m nan
expect_error 2 "out of range" -- check --pde screened-poisson --m inf
expect_error 2 "--dim must be >= 1" -- check --pde diffusion --dim 0
expect_error 2 "exactly one of" -- check
expect_error 2 "needs --expr" -- check --pde custom
expect_error 2 "custom PDE" -- check --pde custom --expr "phi_tt + x phi"
expect_error 2 "only for --pde custom" -- check --pde diffusion --expr "phi_t"
expect_error 2 "error" -- check --pde helmholtz --k0 abc

# --- dispersion
"$genphys" dispersion --pde diffusion --kmax 2 --points 5 >"$tmp/d.csv" || bad "dispersion to stdout"
[[ $(head -1 "$tmp/d.csv") == "pde,branch,k,re_omega,im_omega" ]] && ok || bad "csv header"
grep -q '^diffusion,"w = -i k^2",2,0,-4$' "$tmp/d.csv" && ok || bad "diffusion at k=2: $(tail -1 "$tmp/d.csv")"
"$genphys" dispersion --pde poisson,helmholtz --k0 0.5 --kmax 3 --csv "$tmp/o.csv" --plot "$tmp/o.png" 2>/dev/null \
  || bad "dispersion overlay"
[[ $(grep -c '^helmholtz' "$tmp/o.csv") -eq 602 ]] && ok || bad "helmholtz rows"
[[ $(head -c 8 "$tmp/o.png" | od -An -tx1 | tr -d ' \n') == "89504e470d0a1a0a" ]] && ok || bad "PNG signature"
echo keep >"$tmp/keep.csv"
expect_error 2 "kmax" -- dispersion --pde diffusion --kmax -1 --csv "$tmp/keep.csv"
[[ $(cat "$tmp/keep.csv") == keep ]] && ok || bad "bad input overwrote the csv"
expect_error 2 "does not exist" -- dispersion --pde diffusion --csv "$tmp/no/such/dir/x.csv"
expect_error 2 "no PDE in the list takes --m" -- dispersion --pde diffusion,poisson --m 1
expect_error 2 "empty item" -- dispersion --pde diffusion,,poisson
expect_error 2 "--points" -- dispersion --pde diffusion --points 1

finish
