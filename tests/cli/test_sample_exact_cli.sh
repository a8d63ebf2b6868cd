#!/usr/bin/env bash
# genphys sample --exact: samples land on the data, outputs, and one-line errors with exit 2.
set -u
source "$(dirname "$0")/lib.sh" "$1"

out=$("$genphys" sample --exact --pde diffusion --data toy:rings:64 --n 200 --nfe 35 --csv "$tmp/s.csv" --plot "$tmp/s.png" --trajectories 3) \
  || bad "exact diffusion"
grep -q "NFE 35" <<<"$out" && ok || bad "NFE reported: $out"
# The exact field memorises: the median distance to the nearest data point is ~0.
grep -qE "median distance to nearest data point [0-9.e-]+" <<<"$out" && \
  awk -v d="$(sed -E 's/.*nearest data point ([0-9.e+-]+).*/\1/' <<<"$out")" 'BEGIN { exit !(d < 1e-3) }' && ok || bad "memorised: $out"
[[ $(head -1 "$tmp/s.csv") == "x0,x1" && $(wc -l <"$tmp/s.csv") -eq 201 ]] && ok || bad "csv shape"
[[ -s "$tmp/s.png" ]] && ok || bad "plot"
printf 'a,b\n0,0\n1,1\n2,0\n' >"$tmp/pts.csv"
"$genphys" sample --exact --pde pfgm --data "$tmp/pts.csv" --n 20 --nfe 79 --sigma-min 1e-5 --csv "$tmp/p.csv" >/dev/null && ok || bad "csv data"
"$genphys" sample --exact --pde yukawa --data toy:moons:32 --n 20 --sigma-max 10 --csv "$tmp/y.csv" >/dev/null \
  && ok || bad "yukawa normalised flow"
"$genphys" sample --exact --pde yukawa --data toy:moons:32 --n 20 --sigma-max 10 --flow unnormalised --birth-death reweight \
  --csv "$tmp/y.csv" | grep -q ESS && ok || bad "yukawa unnormalised flow, reweighted"

# The prior gap: at EDM's sigma_max = 80 diffusion has forgotten the rings (at the noise floor);
# at sigma_max = 0.5 it has not.
gap() { sed -nE 's/.*sliced KS ([0-9.]+) \(two prior draws: ([0-9.]+).*/\1 \2/p' <<<"$1"; }
far=$("$genphys" sample --exact --pde diffusion --data toy:rings:64 --n 2000 --nfe 5 --prior-gap --csv "$tmp/g.csv") || bad "prior gap"
near=$("$genphys" sample --exact --pde diffusion --data toy:rings:64 --n 2000 --nfe 5 --sigma-max 0.5 --prior-gap --csv "$tmp/g.csv") \
  || bad "prior gap near"
read -r kf ff <<<"$(gap "$far")"; read -r kn fn <<<"$(gap "$near")"
awk -v kf="$kf" -v ff="$ff" -v kn="$kn" 'BEGIN { exit !(kf < 2 * ff + 0.02 && kn > 0.1) }' && ok \
  || bad "prior gap: far $kf (floor $ff), near $kn"

# --auto-sigma-max: sigma_max from the module and the data, reported with its gap; on four points
# (RMS spread 0.87) far below diffusion's 80, and the t range starts there.
printf 'x,y\n-1,0\n1,0\n1.1,0.05\n0.95,-0.1\n' >"$tmp/four.csv"
out=$("$genphys" sample --exact --pde diffusion --data "$tmp/four.csv" --n 50 --auto-sigma-max --csv "$tmp/a.csv") \
  || bad "auto sigma_max"
chosen=$(sed -nE 's/^sigma_max ([0-9.e+-]+) from the module and the data.*/\1/p' <<<"$out")
awk -v s="$chosen" 'BEGIN { exit !(s > 1 && s < 20) }' && ok || bad "auto sigma_max: $out"
tmax=$(sed -nE 's/.*t in \[[0-9.e+-]+, ([0-9.e+-]+)\].*/\1/p' <<<"$out")
awk -v s="$chosen" -v t="$tmax" 'BEGIN { exit !(t > 0.49 * s * s && t < 0.51 * s * s) }' && ok \
  || bad "t_max = sigma_max^2/2 for diffusion: $out"
expect_error 2 "exclude each other" -- sample --exact --pde diffusion --data "$tmp/four.csv" --auto-sigma-max \
  --sigma-max 10 --csv "$tmp/o.csv"

# The dissipative wave (N = 1) ends its flow at the floor sigma_min = 2.531 (eps = 1): data finer
# than 2 sigma_min or wider (RMS about the mean) than 0.4 sigma_max are refused, naming both numbers.
printf 'x\n-30\n30\n33\n28.5\n' >"$tmp/fine.csv"
printf 'x\n-150\n150\n165\n142.5\n' >"$tmp/wide.csv"
printf 'x\n-20\n20\n25.1\n14.9\n' >"$tmp/resolved.csv"
expect_error 2 "spacing 1.5 .*2 sigma_min = 5.063" -- sample --exact --pde dissipative-wave --data "$tmp/fine.csv" --csv "$tmp/o.csv"
expect_error 2 "spread about its mean 131.2 exceeds 0.4 sigma_max = 32" -- sample --exact --pde dissipative-wave \
  --data "$tmp/wide.csv" --csv "$tmp/o.csv"
"$genphys" sample --exact --pde dissipative-wave --data "$tmp/wide.csv" --sigma-max 400 --n 20 --csv "$tmp/w.csv" \
  >/dev/null && ok || bad "a larger --sigma-max forgets the spread"
"$genphys" sample --exact --pde dissipative-wave --data "$tmp/resolved.csv" --n 20 --csv "$tmp/r.csv" >/dev/null \
  && ok || bad "resolved 1D data"
rm -f "$tmp/o.csv"

printf '1,2\n3\n' >"$tmp/ragged.csv"
printf '1,2\nnan,3\n' >"$tmp/nan.csv"
: >"$tmp/empty.csv"
echo keep >"$tmp/keep.csv"
expect_error 2 "ragged\|column" -- sample --exact --pde diffusion --data "$tmp/ragged.csv" --csv "$tmp/keep.csv"
[[ $(cat "$tmp/keep.csv") == keep ]] && ok || bad "bad input overwrote the output"
expect_error 2 "finite\|nan\|NaN" -- sample --exact --pde diffusion --data "$tmp/nan.csv" --csv "$tmp/o.csv"
expect_error 2 "empty" -- sample --exact --pde diffusion --data "$tmp/empty.csv" --csv "$tmp/o.csv"
expect_error 2 "unknown toy" -- sample --exact --pde diffusion --data toy:nope --csv "$tmp/o.csv"
expect_error 2 "NFE" -- sample --exact --pde diffusion --data toy:heart --nfe 0 --csv "$tmp/o.csv"
expect_error 2 "odd" -- sample --exact --pde diffusion --data toy:heart --nfe 34 --csv "$tmp/o.csv"
expect_error 2 "birth-death" -- sample --exact --pde yukawa --flow unnormalised --data toy:heart --csv "$tmp/o.csv"
expect_error 2 "R = 0" -- sample --exact --pde yukawa --birth-death reweight --data toy:heart --csv "$tmp/o.csv"
expect_error 2 "R = 0" -- sample --exact --pde diffusion --flow unnormalised --data toy:heart --csv "$tmp/o.csv"
expect_error 2 "unknown --flow" -- sample --exact --pde yukawa --flow other --data toy:heart --csv "$tmp/o.csv"
expect_error 2 "no exact kernel sampler" -- sample --exact --pde biharmonic --data toy:heart --csv "$tmp/o.csv"
expect_error 2 "needs --pde" -- sample --exact --data toy:heart --csv "$tmp/o.csv"
expect_error 2 "nothing to write" -- sample --exact --pde diffusion --data toy:heart
expect_error 2 "for --exact" -- sample --pde diffusion --data toy:heart --csv "$tmp/o.csv"
[[ ! -e "$tmp/o.csv" ]] && ok || bad "an error left an output file"
finish
