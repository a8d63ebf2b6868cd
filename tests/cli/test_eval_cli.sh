#!/usr/bin/env bash
# genphys classifier train / eval / compare / robustness: refusals (exit 2, one line, nothing
# written), outputs and their formats, on tiny runs.
set -u
source "$(dirname "$0")/lib.sh" "$1"

skip_without_engine eval
py=/usr/bin/python3
common=(--no-progress --threads 1)

# --- two tiny 2D runs
for pde in diffusion poisson; do
  "$genphys" train --pde $pde --data toy:moons:512 --arch mlp --batch 64 --steps 300 --warmup-images 0 --grid-every 0 \
    --snapshot-every 6400 "${common[@]}" \
    --out "$tmp/$pde" >/dev/null 2>"$tmp/err" && ok || bad "train $pde: $(cat "$tmp/err")"
done

# --- eval on points: text and JSON
if "$genphys" eval --ckpt "$tmp/diffusion" --nfe 5 --n 200 --threads 1 >"$tmp/out" 2>"$tmp/err"; then ok; else bad "eval: $(cat "$tmp/err")"; fi
grep -q "n 200, seeds 0-199" "$tmp/out" && grep -q "generated  SW" "$tmp/out" && grep -q "noise" "$tmp/out" && ok \
  || bad "eval text: $(cat "$tmp/out")"
"$genphys" eval --ckpt "$tmp/diffusion/last.ckpt" --nfe 35 --n 200 --threads 1 --json --grid "$tmp/e.png" >"$tmp/e.json" 2>"$tmp/err" \
  || bad "eval --json: $(cat "$tmp/err")"
$py - "$tmp/e.json" <<'PY' && ok || bad "eval JSON: $(cat "$tmp/e.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["n"] == 200 and j["seeds"] == "0-199" and j["nfe"] == 35 and j["nfe_requested"] == 35, j
b = j["reference"]["baselines"]
assert 0 <= b["real"]["sw"] < b["noise"]["sw"], b
assert 0 < j["sw"] < b["noise"]["sw"] and "mmd" in j and j["sample_seconds"] > 0, j  # 300 steps beat a Gaussian
PY
[[ -s "$tmp/e.png" ]] && ok || bad "eval --grid wrote nothing"

# --- --bf16: the network in bfloat16 where the CPU has the instructions, refused elsewhere
if grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo; then
  if "$genphys" eval --ckpt "$tmp/diffusion/last.ckpt" --nfe 35 --n 200 --threads 1 --json --bf16 >"$tmp/b.json" 2>"$tmp/err"; then
    ok
  else
    bad "eval --bf16: $(cat "$tmp/err")"
  fi
  $py - "$tmp/e.json" "$tmp/b.json" <<'PY' && ok || bad "eval --bf16 JSON: $(cat "$tmp/b.json")"
import json, sys
f32, b16 = (json.load(open(p)) for p in sys.argv[1:])
assert b16["n"] == 200 and abs(b16["sw"] - f32["sw"]) < 0.25 * f32["sw"], (f32["sw"], b16["sw"])  # same seeds
PY
else
  expect_error 2 "no bfloat16 instructions" -- eval --ckpt "$tmp/diffusion" --nfe 5 --n 20 --bf16
fi
expect_error 2 "is for a network" -- sample --exact --pde diffusion --data toy:moons:64 --n 10 --bf16

# --- --no-ema: the raw weights, from the same seeds (what the EMA buys)
"$genphys" eval --ckpt "$tmp/diffusion/last.ckpt" --nfe 35 --n 200 --threads 1 --json --no-ema >"$tmp/raw.json" 2>"$tmp/err" \
  || bad "eval --no-ema: $(cat "$tmp/err")"
$py - "$tmp/e.json" "$tmp/raw.json" <<'PY' && ok || bad "eval --no-ema JSON: $(cat "$tmp/raw.json")"
import json, sys
ema, raw = (json.load(open(p)) for p in sys.argv[1:])
assert ema["weights"] == "ema" and raw["weights"] == "raw", (ema.get("weights"), raw.get("weights"))
noise = raw["reference"]["baselines"]["noise"]["sw"]
assert raw["sw"] != ema["sw"] and 0 < raw["sw"] < noise, (ema["sw"], raw["sw"], noise)
PY

# --- diagnostics: the loss per sigma bin next to the Bayes-optimal one
if "$genphys" eval --ckpt "$tmp/diffusion" --nfe 5 --n 100 --threads 1 --diagnostics --loss-samples 200 --json \
  >"$tmp/d.json" 2>"$tmp/err"; then ok; else bad "eval --diagnostics: $(cat "$tmp/err")"; fi
$py - "$tmp/d.json" <<'PY' && ok || bad "eval --diagnostics JSON: $(cat "$tmp/d.json")"
import json, sys
d = json.load(open(sys.argv[1]))["loss_diagnostic"]
assert d["n"] == 200 and len(d["sigma_bins"]) == 5 and sum(b["n"] for b in d["sigma_bins"]) == 200, d
assert 0 < d["optimal"] < d["loss"], d  # the optimum is a lower bound
PY

# --- snapshots: eval and compare sweep a run directory's (300 steps of 64: 6400, 12800, 19200 images)
if "$genphys" eval --ckpt "$tmp/diffusion" --snapshots --nfe 3 --n 100 --threads 1 --out "$tmp/sweep" >"$tmp/out" 2>"$tmp/err"; then
  ok
else
  bad "eval --snapshots: $(cat "$tmp/err")"
fi
[[ -s "$tmp/sweep/snapshots.png" && -s "$tmp/sweep/snapshots.json" ]] && ok || bad "eval --snapshots wrote no plot or JSON"
$py - "$tmp/sweep/snapshots.csv" <<'PY' && ok || bad "eval --snapshots CSV: $(cat "$tmp/sweep/snapshots.csv")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [(r["images"], r["step"]) for r in rows] == [("6400", "100"), ("12800", "200"), ("19200", "300")], rows
assert all(r["metric"] == "sw" and float(r["value"]) > 0 and float(r["real"]) > 0 and r["n"] == "100" for r in rows), rows
PY
expect_error 2 "already holds snapshots.csv" -- eval --ckpt "$tmp/diffusion" --snapshots --nfe 3 --n 100 --out "$tmp/sweep"
expect_error 2 "holds no snapshots (train it with --snapshot-every" -- eval --ckpt "$tmp" --snapshots --n 10 --out "$tmp/s0"
expect_error 2 "needs a run directory" -- eval --ckpt "$tmp/diffusion/last.ckpt" --snapshots --n 10 --out "$tmp/s0"
expect_error 2 "--out goes with --snapshots" -- eval --ckpt "$tmp/diffusion" --n 10 --out "$tmp/s0"
[[ ! -e "$tmp/s0" ]] && ok || bad "a refused eval --snapshots made its folder"
if "$genphys" compare --runs "diffusion=$tmp/diffusion,pfgm=$tmp/poisson" --snapshots --nfe 3 --n 100 --threads 1 \
  --out "$tmp/csweep" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "compare --snapshots: $(cat "$tmp/err")"; fi
$py - "$tmp/csweep/snapshots.csv" <<'PY' && ok || bad "compare --snapshots CSV: $(cat "$tmp/csweep/snapshots.csv")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [(r["run"], r["images"]) for r in rows] == [(run, i) for run in ("diffusion", "pfgm") for i in ("6400", "12800", "19200")], rows
PY

# --- refusals
expect_error 2 "does not exist" -- eval --ckpt "$tmp/none" --n 10
expect_error 2 "holds no last.ckpt" -- eval --ckpt "$tmp" --n 10
expect_error 2 "--n must be" -- eval --ckpt "$tmp/diffusion" --n 1
expect_error 2 "odd" -- eval --ckpt "$tmp/diffusion" --n 10 --nfe 4 --threads 1
expect_error 2 "^genphys: error: --n must be <= 1000000 " -- eval --ckpt "$tmp/diffusion" --n 2000000 --nfe 3 --threads 1
expect_error 2 "is not name=RUN_DIR" -- compare --runs "$tmp/diffusion" --out "$tmp/c0" --n 10
expect_error 2 "twice" -- compare --runs "a=$tmp/diffusion,a=$tmp/poisson" --out "$tmp/c0" --n 10
expect_error 2 "is not a finite number" -- compare --runs "a=$tmp/diffusion" --nfe 3,x --out "$tmp/c0" --n 10
expect_error 2 "--out DIR is required" -- compare --runs "a=$tmp/diffusion" --nfe 3 --n 10
# Outputs all or nothing: a missing parent is refused, and a folder made for a run that then fails
# is removed again.
expect_error 2 "^genphys: error: cannot create --out $tmp/no/c0: $tmp/no does not exist$" -- compare --runs "a=$tmp/diffusion" --nfe 3 --out "$tmp/no/c0" --n 10
expect_error 2 "odd" -- compare --runs "a=$tmp/diffusion" --nfe 3,4 --out "$tmp/c0" --n 10 --threads 1
expect_error 2 "odd" -- robustness --ckpt "$tmp/diffusion" --nfe 4 --out "$tmp/r0" --n 10 --threads 1
[[ ! -e "$tmp/c0" && ! -e "$tmp/r0" && ! -e "$tmp/no" ]] && ok || bad "a failed compare or robustness left its folder"
expect_error 2 "outside" -- robustness --ckpt "$tmp/diffusion" --quant-bits 1 --out "$tmp/r0" --n 10
expect_error 2 "not a finite number" -- robustness --ckpt "$tmp/diffusion" --alpha nan --out "$tmp/r0" --n 10
expect_error 2 "fixed-step" -- robustness --ckpt "$tmp/diffusion" --solver rk45 --out "$tmp/r0" --n 10
expect_error 2 "already exists" -- classifier train --out "$tmp/e.json"
expect_error 2 "expected fashion-mnist" -- classifier train --data "$tmp/nowhere" --out "$tmp/c.cls"
expect_error 2 "subcommand is required" -- classifier
[[ ! -e "$tmp/c0" && ! -e "$tmp/r0" && ! -e "$tmp/c.cls" ]] && ok || bad "a refused command wrote output"

# --- compare: table, plot, grids; refuses to overwrite
runs="diffusion=$tmp/diffusion,pfgm=$tmp/poisson"
if "$genphys" compare --runs "$runs" --nfe 3,5 --n 150 --threads 1 --out "$tmp/cmp" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "compare: $(cat "$tmp/err")"; fi
for f in compare.csv compare.json compare.png grid_nfe003.png grid_nfe005.png; do
  [[ -s "$tmp/cmp/$f" ]] && ok || bad "compare wrote no $f"
done
$py - "$tmp/cmp" <<'PY' && ok || bad "compare table: $(cat "$tmp/cmp/compare.csv")"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/compare.csv")))
runs = [r for r in rows if not r["run"].startswith("baseline")]
assert [(r["run"], r["nfe"]) for r in runs] == [("diffusion", "3"), ("pfgm", "3"), ("diffusion", "5"), ("pfgm", "5")], runs
assert all(float(r["sw"]) > 0 and float(r["seconds"]) > 0 and r["n"] == "150" for r in runs), runs
assert {r["run"] for r in rows} >= {"baseline:real", "baseline:noise"}
j = json.load(open(sys.argv[1] + "/compare.json"))
assert len(j["rows"]) == 4 and j["seeds"] == "0-149", j
PY
sum=$(md5sum <"$tmp/cmp/compare.csv")
expect_error 2 "already holds compare.csv" -- compare --runs "$runs" --nfe 3 --n 150 --threads 1 --out "$tmp/cmp"
[[ $(md5sum <"$tmp/cmp/compare.csv") == "$sum" ]] && ok || bad "refused compare changed compare.csv"

# --- robustness: noise injection and quantisation change the samples; full precision matches eval
if "$genphys" robustness --ckpt "$tmp/diffusion" --alpha 0,0.5 --quant-bits 8,2 --nfe 35 --n 200 --threads 1 \
  --out "$tmp/rob" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "robustness: $(cat "$tmp/err")"; fi
for f in robustness.csv robustness.json robustness.png; do [[ -s "$tmp/rob/$f" ]] && ok || bad "robustness wrote no $f"; done
$py - "$tmp/rob/robustness.csv" "$tmp/e.json" <<'PY' && ok || bad "robustness table: $(cat "$tmp/rob/robustness.csv")"
import csv, json, sys
rows = {(r["probe"], r["probe_value"]): float(r["sw"]) for r in csv.DictReader(open(sys.argv[1])) if r["probe"] != "none"}
plain = json.load(open(sys.argv[2]))["sw"]
assert abs(rows[("noise", "0")] - plain) < 1e-5 * plain, (rows, plain)  # the CSV holds 6 digits
assert rows[("noise", "0.5")] != plain and rows[("quant", "2")] != plain, rows
assert rows[("quant", "2")] > rows[("quant", "8")], rows   # 2-bit weights destroy the model
PY

# --- images: a tiny classifier and an image run (Fashion-MNIST subset), when the data are installed
if [[ -e /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]]; then
  if "$genphys" classifier train --limit 1000 --test-limit 300 --epochs 1 --width 8 --features 32 --threads 1 --quiet \
    --out "$tmp/c.cls" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "classifier train: $(cat "$tmp/err")"; fi
  grep -q "test accuracy .*% on 300 images (1000 training images" "$tmp/out" && ok || bad "classifier summary: $(cat "$tmp/out")"
  sum=$(md5sum <"$tmp/c.cls")
  expect_error 2 "already exists" -- classifier train --limit 100 --out "$tmp/c.cls"
  expect_error 2 "^genphys: error: --width needs about .* GiB" -- classifier train --limit 100 --test-limit 100 --width 100000 --out "$tmp/wide.cls"
  [[ ! -e "$tmp/wide.cls" ]] && ok || bad "a refused classifier train wrote its file"
  [[ $(md5sum <"$tmp/c.cls") == "$sum" ]] && ok || bad "refused classifier train changed the file"
  # A newcomer's path: no --out writes eval's default file, making its folders (only after a
  # successful run), and eval then finds it; an explicit --out with a missing folder stays refused.
  mkdir "$tmp/new"
  (cd "$tmp/new" && "$genphys" classifier train --data /nowhere >/dev/null 2>&1)
  [[ ! -e "$tmp/new/out" ]] && ok || bad "a refused default classifier train made its folder"
  if (cd "$tmp/new" && "$genphys" classifier train --limit 200 --test-limit 100 --epochs 1 --width 4 --features 8 --threads 1 \
    --quiet >"$tmp/out" 2>"$tmp/err") && [[ -s "$tmp/new/out/classifier/fashion-mnist.cls" ]]; then ok; else
    bad "classifier train without --out: $(cat "$tmp/err")"
  fi
  grep -q "out/classifier/fashion-mnist.cls$" "$tmp/out" && ok || bad "classifier summary path: $(cat "$tmp/out")"
  expect_error 2 "^genphys: error: cannot write $tmp/no/c.cls: directory $tmp/no does not exist$" -- classifier train --limit 100 --out "$tmp/no/c.cls"
  [[ ! -e "$tmp/no" ]] && ok || bad "classifier train --out made a missing folder"
  if "$genphys" export --ckpt "$tmp/c.cls" --out "$tmp/c.pt" >"$tmp/out" 2>"$tmp/err" \
    && grep -q "classifier tensors" "$tmp/out"; then ok; else bad "export classifier: $(cat "$tmp/err")"; fi
  if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    /usr/bin/python3 - "$tmp/c.pt" <<'PY' && ok || bad "torch.load of the exported classifier"
import json, sys, torch
d = torch.load(sys.argv[1])
info = json.loads(d["info"])
assert info["width"] == 8 and info["features"] == 32, info
assert len(d["classifier"]) > 4 and all(torch.isfinite(v).all() for v in d["classifier"].values())
PY
  fi
  "$genphys" train --pde pfgmpp --D 128 --data fashion-mnist --limit 64 --arch unet-small --channels 8 --batch 8 \
    --steps 2 --grid-every 0 "${common[@]}" --out "$tmp/img" >/dev/null 2>"$tmp/err" || bad "image train: $(cat "$tmp/err")"
  expect_error 2 "does not exist" -- eval --ckpt "$tmp/img" --n 20 --nfe 3 --classifier "$tmp/none.cls"
  if "$genphys" eval --ckpt "$tmp/img" --n 40 --nfe 3 --classifier "$tmp/c.cls" --threads 1 --json --diagnostics --loss-samples 50 \
    >"$tmp/i.json" 2>"$tmp/err"; then
    ok
  else
    bad "image eval: $(cat "$tmp/err")"
  fi
  if (cd "$tmp/new" && "$genphys" eval --ckpt "$tmp/img" --n 20 --nfe 3 --threads 1 >"$tmp/out" 2>"$tmp/err"); then ok; else
    bad "eval with the default classifier: $(cat "$tmp/err")"
  fi
  $py - "$tmp/i.json" <<'PY' && ok || bad "image eval JSON: $(cat "$tmp/i.json")"
import json, sys
j = json.load(open(sys.argv[1]))
b = j["reference"]["baselines"]
assert j["n"] == 40 and j["reference"]["classifier"]["feature_dim"] == 32, j
assert 0 < b["real"]["fd"] < b["noise"]["fd"] and j["fd"] > b["real"]["fd"], j  # 2 training steps: far from real
assert 0 < j["fd_se"] < j["fd"] and 0 < b["real"]["fd_se"] and 0 < b["noise"]["fd_se"], j  # bootstrap over sample sets
m = j["memorisation"]
assert 0 <= m["share"] <= 1 and m["quantile"] == 0.1 and m["threshold"] > 0 and m["median_real"] > 0, m
assert m["training_examples"] == 64 and m["space"] == "pixels", m
PY
fi

finish
