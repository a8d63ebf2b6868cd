#!/usr/bin/env bash
# Hostile input to every physics command: each case must exit 2 with exactly one stderr line
# naming the problem, print nothing on standard output, leave the output files that were already
# there byte for byte as they were (md5 before/after) and leave no temp file. Exit codes other
# than 2 are counted as crashes (internal errors, signals).
set -u
source "$(dirname "$0")/lib.sh" "$1"

keep=$tmp/keep
mkdir "$keep"
printf 'x0,x1\n1,2\n' >"$keep/a.csv"
printf 'not really a png\n' >"$keep/a.png"
printf 'radius\n1\n' >"$keep/r.csv"
sums() { (cd "$keep" && md5sum a.csv a.png r.csv); }
before=$(sums)
cases=0
crashes=0

# refuse PATTERN -- ARGS...: one case of the corpus.
refuse() {
  cases=$((cases + 1))
  expect_error 2 "$@"
  [[ $last_rc -ne 2 && $last_rc -ne 0 ]] && crashes=$((crashes + 1))
  shift 2
  [[ -s $tmp/out ]] && bad "$* -> wrote to standard output: $(head -c 200 "$tmp/out")"
  [[ $(sums) == "$before" ]] || bad "$* -> changed an existing output file"
  [[ -z $(find "$tmp" -name '*.tmp.*' 2>/dev/null) ]] || bad "$* -> left temp files"
}

# Each case names the flags it needs beyond these (CLI11 refuses a flag given twice).
moons=(sample --exact --pde diffusion)
disp=(dispersion --pde diffusion)
green=(green --pde diffusion)
sim=(simulate --pde diffusion)
ker=(kernel --pde diffusion --dim 2)

# --- command line: unknown commands and flags are named, whatever else is missing.
refuse "unknown command 'nosuchcmd'; valid: check, dispersion" -- nosuchcmd
refuse "unknown option '--bogus-flag' for dispersion" -- dispersion --bogus-flag 1
refuse "unknown option '--bogus-flag' for dispersion" -- "${disp[@]}" --kmax 1 --bogus-flag=1
refuse "unknown option '--sigma' for green" -- "${green[@]}" --dim 3 --t 1 --r 1 --sigma 1
refuse "unexpected argument 'extra' for kernel" -- "${ker[@]}" --t 1 extra
refuse "A subcommand is required" --

# --- empty and non-numeric values are refused, not taken as "not given".
refuse "--D: an empty value" -- dispersion --pde poisson --D ""
refuse "--D: an empty value" -- check --pde diffusion --D ""
refuse "--csv: an empty value" -- "${ker[@]}" --t 1 --csv ""
refuse "--plot: an empty value" -- "${moons[@]}" --data toy:moons:50 --n 10 --csv "$keep/a.csv" --plot ""
refuse "--data: an empty value" -- "${moons[@]}" --n 10 --data "" --csv "$keep/a.csv"
refuse "--pde: an empty value" -- check --pde ""
refuse "Could not convert: --n = 1e9" -- "${moons[@]}" --data toy:moons:50 --n 1e9 --csv "$keep/a.csv"
refuse "Could not convert: --points = 1e9" -- "${disp[@]}" --points 1e9
refuse "Could not convert: --samples = 1e9" -- "${ker[@]}" --t 1 --samples 1e9
refuse "Could not convert: --grid = 1e9" -- "${sim[@]}" --grid 1e9 --out "$keep/a.png"
refuse "Could not convert: --dim = x" -- "${green[@]}" --t 1 --r 1 --dim x

# --- kernel: t and sigma in range, radii finite and > 0.
refuse "--sigma 1e+300 is out of range for diffusion" -- "${ker[@]}" --sigma 1e300 --csv "$keep/r.csv"
refuse "--sigma 9.99989e-321 is out of range for diffusion" -- "${ker[@]}" --sigma 1e-320 --csv "$keep/r.csv"
refuse "--t 1e+300 is out of range for dissipative-wave in N = 1" -- kernel --pde dissipative-wave --dim 1 --t 1e300 --csv "$keep/r.csv"
refuse "the radius drawn for poisson in N = 2 at t = 1e+300 is inf" -- kernel --pde poisson --dim 2 --t 1e300 --csv "$keep/r.csv"
refuse "the radius drawn for poisson in N = 3 at t = 1e-300 is 0" -- kernel --pde poisson --dim 3 --t 1e-300 --csv "$keep/r.csv"
refuse "positive and finite" -- "${ker[@]}" --t nan
refuse "positive and finite" -- "${ker[@]}" --sigma inf
refuse "positive and finite" -- "${ker[@]}" --t -1
refuse "--samples must be in" -- "${ker[@]}" --t 1 --samples 200000000
refuse "it is a directory" -- "${ker[@]}" --t 1 --csv "$keep"
refuse "does not exist" -- "${ker[@]}" --t 1 --csv "$tmp/no/dir/r.csv"

# --- dispersion: finite omegas only; all outputs or none.
refuse "is not finite; use a smaller --kmax" -- "${disp[@]}" --kmax 1e200 --csv "$keep/a.csv"
refuse "--kmax must be a positive number" -- "${disp[@]}" --kmax nan
refuse "--kmax must be a positive number" -- "${disp[@]}" --kmax inf
refuse "--points must be in" -- "${disp[@]}" --points 1
refuse "--plot writes a PNG: '$keep/a.jpg' must end in .png" -- "${disp[@]}" --plot "$keep/a.jpg"
refuse "the same file $keep/a.png is given for two outputs" -- "${disp[@]}" --csv "$keep/a.png" --plot "$keep/a.png"
refuse "cannot write $tmp/no/x.png: directory $tmp/no does not exist" -- "${disp[@]}" --csv "$keep/a.csv" --plot "$tmp/no/x.png"
if [[ -w /dev/full ]]; then
  # The plot fails while being written: the CSV written first in the old order is not replaced.
  refuse "cannot write /dev/full" -- "${disp[@]}" --csv "$keep/a.csv" --plot /dev/full
  refuse "cannot write /dev/full" -- "${green[@]}" --dim 3 --t 1 --r 1 --plot /dev/full
  refuse "cannot write /dev/full" -- "${sim[@]}" --out /dev/full
  refuse "cannot write /dev/full" -- "${moons[@]}" --data toy:moons:50 --n 10 --csv "$keep/a.csv" --plot /dev/full
  refuse "cannot write /dev/full" -- "${moons[@]}" --data toy:moons:50 --n 10 --csv /dev/full --plot "$keep/a.png"
fi

# --- green.
refuse "--t must be > 0" -- "${green[@]}" --dim 3 --r 1 --t nan
refuse "--t must be > 0" -- "${green[@]}" --dim 3 --r 1 --t inf
refuse "is not a finite number" -- "${green[@]}" --dim 3 --t 1 --r 1,nan
refuse "--r: -1 is outside" -- "${green[@]}" --dim 3 --t 1 --r -1
refuse "empty item in --r list '1,,2'" -- "${green[@]}" --dim 3 --t 1 --r 1,,2
refuse "--r: '1e999' is not a finite number" -- "${green[@]}" --dim 3 --t 1 --r 1e999
refuse "--dim must be >= 1" -- "${green[@]}" --t 1 --r 1 --dim 0
refuse "dissipative-wave in N = 2 cannot be evaluated at t = 1e-200" -- green --pde dissipative-wave --dim 2 --t 1e-200 --r 0,1 --json
refuse "--plot writes a PNG: 'g.jpg' must end in .png" -- "${green[@]}" --dim 3 --t 1 --r 1 --plot g.jpg

# --- simulate.
refuse "--out writes a PNG: '$keep/a.csv' must end in .png" -- "${sim[@]}" --out "$keep/a.csv"
refuse "--length must be in \[1e-3, 1e6\], got 1e+300" -- "${sim[@]}" --length 1e300 --out "$keep/a.png"
refuse "--length must be in \[1e-3, 1e6\], got 1e-300" -- "${sim[@]}" --length 1e-300 --out "$keep/a.png"
refuse "--width must be at most a quarter of --length" -- "${sim[@]}" --width 1e300 --out "$keep/a.png"
refuse "--width must be at least two grid cells" -- "${sim[@]}" --width nan --out "$keep/a.png"
refuse "--t-max must be > 0" -- "${sim[@]}" --t-max inf --out "$keep/a.png"
refuse "--grid must be even" -- "${sim[@]}" --grid 1000000 --out "$keep/a.png"

# --- sample --exact: noise range, data range and sizes checked before any work.
refuse "--sigma-max must be in \[1e-06, 1e+100\] (or 0: the default), got 1e+300" -- "${moons[@]}" --data toy:moons:50 --n 10 --sigma-max 1e300 --csv "$keep/a.csv"
refuse "--sigma-max must be in" -- "${moons[@]}" --data toy:moons:50 --n 10 --sigma-max nan --csv "$keep/a.csv"
refuse "--sigma-min must be in" -- "${moons[@]}" --data toy:moons:50 --n 10 --sigma-min -1 --csv "$keep/a.csv"
refuse "--sigma-min must be in" -- "${moons[@]}" --data toy:moons:50 --n 10 --sigma-min inf --csv "$keep/a.csv"
refuse "--sigma-min must be in \[1e-06, 1e+100\] (or 0: the default), got 1e-50" -- "${moons[@]}" --data toy:moons:50 --n 10 --sigma-min 1e-50 --csv "$keep/a.csv"
refuse "--sigma-min (0.5) must be below --sigma-max (0.1)" -- "${moons[@]}" --data toy:moons:50 --n 10 --sigma-min 0.5 --sigma-max 0.1 --csv "$keep/a.csv"
printf '1e308,1\n2,3\n3,4\n' >"$tmp/huge.csv"
refuse "coordinates must be within +-1e+100, found 1e+308" -- "${moons[@]}" --n 10 --data "$tmp/huge.csv" --csv "$keep/a.csv"
printf '1,nan\n2,3\n' >"$tmp/nan.csv"
refuse "is not finite" -- "${moons[@]}" --n 10 --data "$tmp/nan.csv" --csv "$keep/a.csv"
refuse "--n must be in" -- "${moons[@]}" --data toy:moons:50 --n 20000000 --csv "$keep/a.csv"
refuse "bad point count '1000000000'" -- "${moons[@]}" --n 10 --data toy:moons:1000000000 --csv "$keep/a.csv"
refuse "--nfe must be <= 100000" -- "${moons[@]}" --data toy:moons:50 --n 10 --nfe 1000001 --csv "$keep/a.csv"
refuse "need about .* GB; the limit is 16 GB" -- "${moons[@]}" --data toy:moons:50 --n 10000000 --trajectories 10000000 --nfe 9999 --csv "$keep/a.csv"
refuse "--seeds is for a network" -- "${moons[@]}" --data toy:moons:50 --n 10 --seeds 0-3 --csv "$keep/a.csv"
refuse "--plot writes a PNG" -- "${moons[@]}" --data toy:moons:50 --n 10 --csv "$keep/a.csv" --plot "$keep/a.jpg"
refuse "given for two outputs" -- "${moons[@]}" --data toy:moons:50 --n 10 --csv "$keep/a.png" --plot "$keep/a.png"
# EDM's churn, DPM-Solver++(2M) and rho: values, solver and module checked before any work.
refuse "--churn must be finite and >= 0, got -1" -- "${moons[@]}" --data toy:moons:50 --n 10 --churn -1 --csv "$keep/a.csv"
refuse "--s-noise must be finite and > 0, got 0" -- "${moons[@]}" --data toy:moons:50 --n 10 --churn 1 --s-noise 0 --csv "$keep/a.csv"
refuse "--s-tmax must be above --s-tmin (2), got 1" -- "${moons[@]}" --data toy:moons:50 --n 10 --s-tmin 2 --s-tmax 1 --csv "$keep/a.csv"
refuse "--rho must be in \[0.1, 1000\] (EDM: 7), got 0" -- "${moons[@]}" --data toy:moons:50 --n 10 --rho 0 --csv "$keep/a.csv"
refuse "--churn is EDM's stochastic Heun sampler; it needs --solver heun, not euler" -- "${moons[@]}" --data toy:moons:50 --n 10 --churn 1 --solver euler --csv "$keep/a.csv"
refuse "--churn cannot keep the marginals" -- sample --exact --pde poisson --D 128 --data toy:moons:50 --n 10 --churn 1 --csv "$keep/a.csv"
refuse "dpmpp-2m needs a denoiser (affine) module" -- sample --exact --pde screened-poisson --data toy:moons:50 --n 10 --solver dpmpp-2m --csv "$keep/a.csv"
refuse "cannot open point file .*: No such file or directory" -- "${moons[@]}" --n 10 --data "$tmp/none.csv" --csv "$keep/a.csv"
printf '1,2,3\n4,5,6\n' >"$tmp/three.csv"
refuse "--plot draws 2D data" -- "${moons[@]}" --n 10 --data "$tmp/three.csv" --csv "$keep/a.csv" --plot "$keep/a.png"
refuse "nothing to write" -- "${moons[@]}" --data toy:moons:50 --n 10

# --- seeds and dimensions: no wrap-around, no dimension the module machinery cannot handle.
refuse "--seed: must be >= 0, got -1" -- "${ker[@]}" --t 1 --seed -1
refuse "--seed: must be >= 0, got -1" -- "${sim[@]}" --seed -1 --out "$keep/a.png"
refuse "--seed: must be >= 0, got -5" -- "${moons[@]}" --data toy:moons:50 --n 10 --seed -5 --csv "$keep/a.csv"
refuse "--dim must be >= 1 and <= 100000, got 2147483647" -- check --all --dim 2147483647
refuse "--dim must be >= 1 and <= 100000, got 1000000" -- "${green[@]}" --t 1 --r 1 --dim 1000000
refuse "--dim must be >= 1 and <= 100000, got 200000" -- kernel --pde poisson --dim 200000 --t 1

# --- check.
refuse "unknown PDE 'nosuch'" -- check --pde nosuch
refuse "--dim must be >= 1" -- check --pde diffusion --dim 0
refuse "exactly one of --pde NAME or --all" -- check

# --- input quoted in a message keeps it one line: line breaks and control characters are spelled
# out (found by fuzzing the custom-PDE parser, tests/fuzz).
refuse "unexpected 'x' at position 9 in 'phi_t\\\\n+ x phi'" -- dispersion --pde custom --expr $'phi_t\n+ x phi'
refuse "unexpected 'p' at position 1 in 'p\\$\\\\x01hi'" -- check --pde custom --expr $'p$\x01hi'
refuse "cannot open point file 'no\\\\nfile.csv'" -- "${moons[@]}" --n 10 --data $'no\nfile.csv' --csv "$keep/a.csv"

# --- an unreadable folder is reported as such, not as missing (root reads everything).
if [[ $(id -u) -ne 0 ]]; then
  mkdir -p "$tmp/locked/sub"
  chmod 000 "$tmp/locked"
  refuse "directory $tmp/locked/sub: Permission denied" -- "${disp[@]}" --csv "$tmp/locked/sub/x.csv"
  refuse "cannot open point file .*: Permission denied" -- "${moons[@]}" --n 10 --data "$tmp/locked/sub/x.csv" --csv "$keep/a.csv"
  chmod 700 "$tmp/locked"
fi

echo "$cases cases, $crashes crashes"
[[ $crashes -eq 0 ]] || bad "$crashes crashes"
finish
