#!/usr/bin/env bash
# genphys green: output formats, values and exit codes. $1: the genphys binary.
set -u
bin="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {  # check DESCRIPTION COMMAND...
  local what="$1"
  shift
  if ! "$@"; then
    echo "FAIL: $what"
    fail=1
  fi
}

# One line per radius: r t value log_value sign method.
out="$("$bin" green --pde poisson --dim 3 --t 1 --r 0,0.5,2)"
check "poisson exit 0" test $? -eq 0
check "three lines" test "$(printf '%s\n' "$out" | wc -l)" -eq 3
# phi(0) = c/(N+D-2) t^-2 with c = 1/pi^2 in N = 3, D = 1: 0.0506605918...
check "poisson value at r = 0" awk 'NR == 1 { exit !($1 == 0 && $2 == 1 && $3 > 0.05066059 && $3 < 0.05066060 && $5 == "+1") }' <<<"$out"
check "method named" grep -q "closed form" <<<"$out"

# JSON: one object per radius with r, t, value, log_value, method; N = 784 stays finite in logs.
json="$("$bin" green --pde screened-poisson --m 1 --dim 784 --t 1 --r 0,10 --json)"
check "json exit 0" test $? -eq 0
check "two json lines" test "$(printf '%s\n' "$json" | wc -l)" -eq 2
for key in '"r":' '"t":' '"value":' '"log_value":' '"method":'; do
  check "json key $key" grep -q "$key" <<<"$json"
done
check "finite log in N = 784" grep -q '"log_value":-\?[0-9]' <<<"$json"

# Numerical route and an honest negative lobe: the biharmonic kernel at r = 6, t = 1 in 2D.
bih="$("$bin" green --pde biharmonic --dim 2 --t 1 --r 6)"
check "biharmonic negative lobe" awk '{ exit !($3 < 0 && $5 == "-1") }' <<<"$bih"
check "biharmonic numerical" grep -q "numerical" <<<"$bih"

# Plot.
"$bin" green --pde helmholtz --k0 0.5 --dim 3 --t 1 --r 0,8 --plot "$tmp/g.png" >/dev/null 2>&1
check "plot exit 0" test $? -eq 0
check "plot written" test -s "$tmp/g.png"

# Bad input: one line on stderr, exit 2.
bad() {
  local err
  err="$("$bin" green "$@" 2>&1 >/dev/null)"
  local rc=$?
  check "exit 2 for: $*" test $rc -eq 2
  check "one error line for: $*" test "$(printf '%s\n' "$err" | wc -l)" -eq 1
}
bad --pde nosuch --dim 3 --t 1 --r 1
bad --pde poisson --dim 0 --t 1 --r 1
bad --pde poisson --dim 3 --t 0 --r 1
bad --pde poisson --dim 3 --t -1 --r 1
bad --pde poisson --dim 3 --t 1 --r 1,-0.5
bad --pde poisson --dim 3 --t abc --r 1
bad --pde poisson --dim 3 --t 1 --r 1,x
bad --pde poisson --dim 3 --t 1 --r 1,,2
bad --pde schrodinger --dim 3 --t 1 --r 1
bad --pde biharmonic --dim 784 --t 1 --r 1
bad --pde poisson --k0 2 --dim 3 --t 1 --r 1
bad --pde poisson --dim 3 --t 1 --r 1 --plot /nonexistent-dir/x.png
# genphys simulate (the spectral evolution behind C2): summary table, PNG, mass, bad input.
sim="$("$bin" simulate --pde diffusion --dim 1 --grid 256 --steps 4 --t-max 2 --out "$tmp/s1.png" 2>/dev/null)"
check "simulate 1D exit 0" test $? -eq 0
check "simulate 1D png" test -s "$tmp/s1.png"
check "simulate header + 5 rows" test "$(printf '%s\n' "$sim" | wc -l)" -eq 6
check "diffusion keeps mass 1" awk 'NR > 1 { if ($2 < 0.9999999999 || $2 > 1.0000000001) bad = 1 } END { exit bad }' <<<"$sim"
check "diffusion contrast decays" awk 'NR == 2 { c0 = $5 } END { exit !($5 < 0.2 * c0) }' <<<"$sim"
"$bin" simulate --pde ideal-wave --dim 2 --grid 64 --steps 3 --t-max 1 --out "$tmp/s2.png" >/dev/null 2>&1
check "simulate 2D heatmaps" test -s "$tmp/s2.png"
"$bin" simulate --pde schrodinger --dim 1 --grid 128 --steps 2 --t-max 1 --out "$tmp/s3.png" >/dev/null 2>&1
check "simulate schrodinger" test -s "$tmp/s3.png"
badsim() {
  local err
  err="$("$bin" simulate "$@" 2>&1 >/dev/null)"
  local rc=$?
  check "simulate exit 2 for: $*" test $rc -eq 2
  check "simulate one error line for: $*" test "$(printf '%s\n' "$err" | wc -l)" -eq 1
}
badsim --pde diffusion --dim 3 --out "$tmp/x.png"
badsim --pde diffusion --grid 7 --out "$tmp/x.png"
badsim --pde diffusion --t-max 0 --out "$tmp/x.png"
badsim --pde diffusion --steps 0 --out "$tmp/x.png"
badsim --pde diffusion --sources 0 --out "$tmp/x.png"
badsim --pde nosuch --out "$tmp/x.png"
badsim --pde diffusion --out /nonexistent-dir/x.png
exit $fail
