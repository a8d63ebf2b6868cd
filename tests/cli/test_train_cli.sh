#!/usr/bin/env bash
# genphys train / sample --ckpt: refusals (exit 2, one line, nothing written), a short run with its
# outputs, refusal to overwrite, resume, SIGINT, and sampling from the checkpoint.
set -u
source "$(dirname "$0")/lib.sh" "$1"

skip_without_engine train

# Small inputs: an 8x8 idx file (gzipped), a truncated copy, PNG folders.
python3 - "$tmp" <<'PY'
import gzip, struct, sys, zlib
d = sys.argv[1]
n = 32
px = bytearray()
for k in range(n):
    img = bytearray([10] * 64)
    r0, c0 = (k % 36) // 6, (k % 36) % 6
    for r in range(r0, r0 + 3):
        for c in range(c0, c0 + 3):
            img[r * 8 + c] = 245
    px += img
raw = struct.pack(">IIII", 0x803, n, 8, 8) + bytes(px)
open(f"{d}/sq.idx.gz", "wb").write(gzip.compress(raw))
open(f"{d}/cut.idx", "wb").write(raw[:-100])
open(f"{d}/labels.idx", "wb").write(struct.pack(">II", 0x801, 3) + bytes(3))
open(f"{d}/blank28.idx", "wb").write(struct.pack(">IIII", 0x803, 4, 28, 28) + bytes(4 * 784))
def png(path, w, h):
    row = b"\x00" + bytes([128] * w)
    chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
    data = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(row * h)) + chunk(b"IEND", b"")
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + data)
import os
os.makedirs(f"{d}/pngs")
png(f"{d}/pngs/a.png", 8, 8)
png(f"{d}/pngs/b.png", 8, 6)
PY

common=(--no-progress --threads 1 --steps 2)

# --- refusals: one line, exit 2, no run directory left behind
expect_error 2 "not s-generative" -- train --pde biharmonic --data toy:moons:100 --out "$tmp/r0" "${common[@]}"
expect_error 2 "C1" -- train --pde biharmonic --data toy:moons:100 --out "$tmp/r0" "${common[@]}"
expect_error 2 "not s-generative" -- train --pde ideal-wave --data toy:moons:100 --out "$tmp/r0" "${common[@]}"
[[ ! -e "$tmp/r0" ]] && ok || bad "a refused run left $tmp/r0"
# Helmholtz k0 = 0.5 is valid in N = 2 but its kernel never concentrates in N = 784.
expect_error 2 "does not concentrate" -- train --pde helmholtz --k0 0.5 --data "idx:$tmp/blank28.idx" --out "$tmp/r0" "${common[@]}"
expect_error 2 "no generative process" -- train --pde dissipative-wave --data toy:moons:100 --out "$tmp/r0" "${common[@]}"
# The dissipative wave's flow ends at the floor sigma_min = 2.531 (eps = 1): train refuses data finer
# than 2 sigma_min or wider than 0.4 sigma_max with sample --exact's own line, and trains on data inside.
printf 'x\n-30\n30\n33\n28.5\n' >"$tmp/fine1d.csv"
printf 'x\n-150\n150\n165\n142.5\n' >"$tmp/wide1d.csv"
printf 'x\n-20\n20\n25.1\n14.9\n' >"$tmp/resolved1d.csv"
for kind in fine wide; do
  "$genphys" sample --exact --pde dissipative-wave --data "$tmp/${kind}1d.csv" --csv "$tmp/o.csv" 2>"$tmp/exact_err" >/dev/null
  expect_error 2 "rescale the data" -- train --pde dissipative-wave --data "csv:$tmp/${kind}1d.csv" --out "$tmp/r0" "${common[@]}"
  cmp -s "$tmp/err" "$tmp/exact_err" && ok || bad "train's refusal of $kind data differs from sample --exact's: $(cat "$tmp/err") vs $(cat "$tmp/exact_err")"
done
grep -q "spread about its mean 131.2 exceeds 0.4 sigma_max = 32" "$tmp/err" && ok || bad "wide data: $(cat "$tmp/err")"
"$genphys" train --pde dissipative-wave --data "csv:$tmp/resolved1d.csv" --arch mlp --out "$tmp/r1d" "${common[@]}" \
  >/dev/null 2>"$tmp/err" && [[ -s "$tmp/r1d/last.ckpt" ]] && ok || bad "resolved 1D data: $(cat "$tmp/err")"
expect_error 2 "unknown PDE" -- train --pde nope --data toy:moons:100 --out "$tmp/r0" "${common[@]}"
expect_error 2 "no parameter --k0" -- train --pde diffusion --k0 1 --data toy:moons:100 --out "$tmp/r0" "${common[@]}"
expect_error 2 "--pde is required" -- train --data toy:moons:100 --out "$tmp/r0" "${common[@]}"
expect_error 2 "--out" -- train --pde diffusion --data toy:moons:100 "${common[@]}"
expect_error 2 "does not exist" -- train --pde diffusion --data "idx:$tmp/none.gz" --out "$tmp/r0" "${common[@]}"
expect_error 2 "truncated" -- train --pde diffusion --data "idx:$tmp/cut.idx" --out "$tmp/r0" "${common[@]}"
expect_error 2 "labels" -- train --pde diffusion --data "mnist:$tmp/labels.idx" --out "$tmp/r0" "${common[@]}"
expect_error 2 "one size" -- train --pde diffusion --data "png:$tmp/pngs" --out "$tmp/r0" "${common[@]}"
expect_error 2 "unknown --data" -- train --pde diffusion --data imagenet --out "$tmp/r0" "${common[@]}"
expect_error 2 "^genphys: error: --arch 'resnet' is unknown (valid: auto, unet-small, unet, ddpmpp-small, mlp)$" -- train --pde diffusion --data toy:moons:100 --arch resnet --out "$tmp/r0" "${common[@]}"
expect_error 2 "needs image data" -- train --pde diffusion --data toy:moons:100 --arch unet-small --out "$tmp/r0" "${common[@]}"
expect_error 2 "CUDA" -- train --pde diffusion --data toy:moons:100 --device cuda:99 --out "$tmp/r0" "${common[@]}"
expect_error 2 "cannot" -- train --pde diffusion --data toy:moons:100 --out /proc/genphys/run "${common[@]}"
expect_error 2 "^genphys: error: --lr-cooldown-images must be >= 0" -- train --pde diffusion --data toy:moons:100 --lr-cooldown-images -5 --out "$tmp/r0" "${common[@]}"
[[ ! -e "$tmp/r0" ]] && ok || bad "a refused run left $tmp/r0"

# --auto-sigma-max: a fresh run's sigma_max from the module and the data, said on stderr and stored
# (stats.jsonl's start event carries the run's range); four points of RMS spread 0.87: far below 80.
printf 'x,y\n-1,0\n1,0\n1.1,0.05\n0.95,-0.1\n' >"$tmp/four.csv"
"$genphys" train --pde diffusion --data "csv:$tmp/four.csv" --arch mlp --auto-sigma-max --out "$tmp/auto" "${common[@]}" \
  >/dev/null 2>"$tmp/err" && ok || bad "train --auto-sigma-max: $(cat "$tmp/err")"
grep -qE "^sigma_max [0-9.]+ from the module and the data \(the module's own 80\)" "$tmp/err" && ok \
  || bad "auto sigma_max line: $(cat "$tmp/err")"
python3 - "$tmp/auto/stats.jsonl" <<'PY' && ok || bad "stored sigma_max"
import json, sys
start = json.loads(open(sys.argv[1]).readline())
assert start["event"] == "start" and 1 < start["sigma_max"] < 20, start
PY
# The module's choice is the default; --sigma-max gives it outright, a resume keeps the checkpoint's.
"$genphys" train --pde diffusion --data "csv:$tmp/four.csv" --arch mlp --out "$tmp/auto2" "${common[@]}" \
  >/dev/null 2>"$tmp/err" && grep -qE "^sigma_max [0-9.]+ from the module and the data" "$tmp/err" && ok \
  || bad "default sigma_max: $(cat "$tmp/err")"
"$genphys" train --pde diffusion --data "csv:$tmp/four.csv" --arch mlp --sigma-max 80 --out "$tmp/s80" "${common[@]}" \
  >/dev/null 2>"$tmp/err" && ! grep -q "from the module and the data" "$tmp/err" && ok || bad "--sigma-max 80: $(cat "$tmp/err")"
python3 -c 'import json,sys; s=json.loads(open(sys.argv[1]).readline()); assert s["sigma_max"] == 80, s' \
  "$tmp/s80/stats.jsonl" && ok || bad "stored --sigma-max 80"
"$genphys" train --resume --out "$tmp/s80" --sigma-max 80 --no-progress --threads 1 --steps 3 >/dev/null 2>&1 && ok \
  || bad "resume with the same --sigma-max"
expect_error 2 "differs from the checkpoint's sigma_max 80" -- train --resume --out "$tmp/s80" --sigma-max 40 \
  --no-progress --threads 1 --steps 4
expect_error 2 "exclude each other" -- train --pde diffusion --data "csv:$tmp/four.csv" --sigma-max 10 --auto-sigma-max \
  --out "$tmp/r0" "${common[@]}"
expect_error 2 "must lie in" -- train --pde diffusion --data "csv:$tmp/four.csv" --sigma-max 500 --out "$tmp/r0" "${common[@]}"
expect_error 2 "must be > 0" -- train --pde diffusion --data "csv:$tmp/four.csv" --sigma-max -1 --out "$tmp/r0" "${common[@]}"
[[ ! -e "$tmp/r0" ]] && ok || bad "a refused run left $tmp/r0"

# --- a short run on 2D points: checkpoint, stats, grids, progress on stderr
run=(train --pde diffusion --data toy:moons:512 --arch mlp --batch 64 --threads 1 --log-every 10 --grid-every 30)
if "$genphys" "${run[@]}" --out "$tmp/run" --steps 60 >"$tmp/out" 2>"$tmp/err"; then ok; else bad "train: $(cat "$tmp/err")"; fi
[[ -s "$tmp/run/last.ckpt" ]] && ok || bad "no last.ckpt"
[[ -s "$tmp/run/grid_0000030.png" && -s "$tmp/run/grid_0000060.png" ]] && ok || bad "grids: $(ls "$tmp/run")"
grep -q "LibTorch" "$tmp/err" && grep -q "thread" "$tmp/err" && ok || bad "start-up line: $(head -2 "$tmp/err")"
grep -q "step 0/60" "$tmp/err" && grep -q "ETA" "$tmp/err" && grep -q "img/s" "$tmp/err" && ok || bad "progress: $(cat "$tmp/err")"
grep -q "steps 0..60" "$tmp/out" && ok || bad "summary: $(cat "$tmp/out")"
python3 - "$tmp/run/stats.jsonl" <<'PY' && ok || bad "stats.jsonl"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps = [r for r in rows if "event" not in r]
assert rows[0]["event"] == "start" and rows[0]["pde"] == "diffusion", rows[0]
assert [r["step"] for r in steps] == list(range(10, 61, 10)), steps
assert all(r["loss"] > 0 and r["images_per_s"] > 0 for r in steps), steps
assert sum(r.get("event") == "eval" for r in rows) == 2
PY
sum=$(md5sum <"$tmp/run/last.ckpt")
expect_error 2 "already holds a checkpoint" -- "${run[@]}" --out "$tmp/run" --steps 60 --no-progress
[[ $(md5sum <"$tmp/run/last.ckpt") == "$sum" ]] && ok || bad "refused run changed last.ckpt"
expect_error 2 "no checkpoint" -- train --resume --out "$tmp/elsewhere" --steps 5 --no-progress
expect_error 2 "not toy:rings" -- train --resume --data toy:rings --out "$tmp/run" --steps 80 --no-progress
expect_error 2 "--pde differs from the checkpoint's" -- train --resume --pde pfgm --out "$tmp/run" --steps 80 --no-progress
if "$genphys" train --resume --out "$tmp/run" --steps 80 --no-progress --threads 1 >"$tmp/out" 2>"$tmp/err"; then ok; else bad "resume: $(cat "$tmp/err")"; fi
grep -q "steps 60..80" "$tmp/out" && ok || bad "resume summary: $(cat "$tmp/out")"
grep -q '"event":"resume"' "$tmp/run/stats.jsonl" && ok || bad "no resume record"
# --resume keeps the run's config: a flag that would change it is refused, the same value is not;
# --steps below the run's step is refused.
expect_error 2 "^genphys: error: --lr 0.002 differs from the run's 0.001" -- train --resume --out "$tmp/run" --lr 2e-3 --steps 90 --no-progress
expect_error 2 "^genphys: error: --batch 32 differs from the run's 64" -- train --resume --out "$tmp/run" --batch 32 --steps 90 --no-progress
expect_error 2 "^genphys: error: --hidden 64 differs from the run's 128" -- train --resume --out "$tmp/run" --hidden 64 --steps 90 --no-progress
expect_error 2 "^genphys: error: --steps 4 is below the run's step 80" -- train --resume --out "$tmp/run" --steps 4 --no-progress
# A cool-down changes no weight already trained: a resume may start one.
if "$genphys" train --resume --out "$tmp/run" --steps 85 --lr-cooldown-images 320 --no-progress --threads 1 >"$tmp/out" 2>"$tmp/err"; then ok; else bad "resume into a cool-down: $(cat "$tmp/err")"; fi
grep -q "cooling to 0 over images 5120..5440" "$tmp/err" && ok || bad "cool-down start-up line: $(grep lr "$tmp/err")"
# A killed run's temp checkpoint is removed, and stats.jsonl lines past the checkpoint (logged by a
# run killed before its next checkpoint) are not left to appear twice.
: >"$tmp/run/last.ckpt.tmp.AbC123"
echo '{"step":90,"loss":1.0}' >>"$tmp/run/stats.jsonl"
if "$genphys" train --resume --out "$tmp/run" --batch 64 --lr 1e-3 --steps 90 --no-progress --threads 1 >"$tmp/out" 2>"$tmp/err"; then ok; else bad "resume with the run's own values: $(cat "$tmp/err")"; fi
[[ ! -e "$tmp/run/last.ckpt.tmp.AbC123" ]] && ok || bad "stale temp checkpoint left"
[[ $(grep -c '"step":90,' "$tmp/run/stats.jsonl") -eq 1 ]] && ok || bad "step 90 logged $(grep -c '"step":90,' "$tmp/run/stats.jsonl") times"

# --- export: the weights for Python's torch.load
if "$genphys" export --ckpt "$tmp/run/last.ckpt" --out "$tmp/w.pt" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "export: $(cat "$tmp/err")"; fi
grep -q "model and EMA) at step 90" "$tmp/out" && ok || bad "export summary: $(cat "$tmp/out")"
torch_python=/usr/bin/python3  # Debian's, with python3-torch (scripts/setup.sh)
if "$torch_python" -c "import torch" 2>/dev/null; then
  "$torch_python" - "$tmp/w.pt" <<'PY' && ok || bad "torch.load of the export"
import json, sys, torch
d = torch.load(sys.argv[1])
assert d["step"] == 90, d["step"]
assert json.loads(d["config"])["module"]["name"] == "diffusion"
assert d["model"].keys() == d["ema"].keys() and len(d["model"]) > 4, list(d["model"])
w = [v for k, v in d["ema"].items() if v.dim() == 2]
assert w and all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in w)
assert any(not torch.equal(d["model"][k], d["ema"][k]) for k in d["model"])  # EMA lags the weights
PY
else
  echo "note: $torch_python without torch: torch.load of the export not checked"
fi
expect_error 2 "does not exist" -- export --ckpt "$tmp/none.ckpt" --out "$tmp/w2.pt"
expect_error 2 "--out is required" -- export --ckpt "$tmp/run/last.ckpt"
[[ ! -e "$tmp/w2.pt" ]] && ok || bad "a refused export left a file"

# --- sampling from the checkpoint
smp=(sample --ckpt "$tmp/run/last.ckpt" --threads 1)
if "$genphys" "${smp[@]}" --nfe 35 --seeds 0-63 --grid "$tmp/g.png" --out "$tmp/s.csv" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "sample: $(cat "$tmp/err")"; fi
grep -q "samples 64, nfe 35" "$tmp/out" && ok || bad "sample summary: $(cat "$tmp/out")"
[[ $(head -c 8 "$tmp/g.png" | od -An -tx1 | tr -d ' \n') == "89504e470d0a1a0a" ]] && ok || bad "grid PNG"
[[ $(wc -l <"$tmp/s.csv") -eq 65 ]] && ok || bad "csv rows: $(wc -l <"$tmp/s.csv")"
"$genphys" "${smp[@]}" --nfe 35 --seeds 0-63 --batch 7 --out "$tmp/s7.csv" >/dev/null 2>&1 || bad "sample --batch 7"
"$genphys" "${smp[@]}" --nfe 35 --seeds 5 --out "$tmp/one.csv" >/dev/null 2>&1 || bad "sample --seeds 5"
# Same samples up to float32 rounding (BLAS blocks differently for other batch sizes).
python3 - "$tmp/s.csv" "$tmp/s7.csv" "$tmp/one.csv" <<'PY' && ok || bad "samples depend on the batch size"
import csv, sys
rows = lambda p: [[float(v) for v in r] for r in list(csv.reader(open(p)))[1:]]
a, b, one = rows(sys.argv[1]), rows(sys.argv[2]), rows(sys.argv[3])
assert len(a) == len(b) == 64 and len(one) == 1
diff = max(abs(x - y) for r, s in zip(a + [one[0]], b + [a[5]]) for x, y in zip(r, s))
assert diff < 1e-5, diff
assert len({tuple(r) for r in a}) == 64  # distinct samples
PY
"$genphys" "${smp[@]}" --solver euler --nfe 10 --seeds 0-9 --out "$tmp/s.bin" >"$tmp/out" 2>/dev/null || bad "euler"
[[ $(stat -c %s "$tmp/s.bin") -eq 80 ]] && ok || bad ".bin size $(stat -c %s "$tmp/s.bin")"
grep -q "nfe 10" "$tmp/out" && ok || bad "euler nfe: $(cat "$tmp/out")"
"$genphys" "${smp[@]}" --solver rk45 --seeds 0-9 --out "$tmp/s.pt" >/dev/null 2>&1 && [[ -s "$tmp/s.pt" ]] && ok || bad "rk45 .pt"
expect_error 2 "odd" -- "${smp[@]}" --nfe 34 --grid "$tmp/x.png"
expect_error 2 "^genphys: error: --solver 'leapfrog' is unknown (valid: euler, heun, rk45, dpmpp-2m)$" -- "${smp[@]}" --solver leapfrog --grid "$tmp/x.png"
expect_error 2 "nothing to write" -- "${smp[@]}"
expect_error 2 "bad --seeds" -- "${smp[@]}" --seeds 3-x --grid "$tmp/x.png"
expect_error 2 "does not exist" -- "${smp[@]}" --grid "$tmp/no/such/dir/g.png"
expect_error 2 "must end in .png" -- "${smp[@]}" --grid "$tmp/g.jpg"
expect_error 2 "unknown format" -- "${smp[@]}" --out "$tmp/s.txt"
# Both outputs or neither: a grid that cannot be written leaves --out's old file as it was.
echo "old" >"$tmp/keep.csv"
sum=$(md5sum <"$tmp/keep.csv")
"$genphys" "${smp[@]}" --nfe 5 --seeds 0-3 --out "$tmp/keep.csv" --grid /dev/full >/dev/null 2>"$tmp/err"
rc=$?
[[ $rc -ne 0 && $(md5sum <"$tmp/keep.csv") == "$sum" ]] && ok || bad "sample --grid /dev/full: rc $rc, --out changed or $(cat "$tmp/err")"
expect_error 2 "does not exist" -- sample --ckpt "$tmp/none.ckpt" --grid "$tmp/x.png"
head -c 5000 "$tmp/run/last.ckpt" >"$tmp/cut.ckpt"
expect_error 2 "truncated" -- sample --ckpt "$tmp/cut.ckpt" --grid "$tmp/x.png"
echo "not a checkpoint" >"$tmp/junk.ckpt"
expect_error 2 "not a genphys checkpoint" -- sample --ckpt "$tmp/junk.ckpt" --grid "$tmp/x.png"
[[ ! -e "$tmp/x.png" ]] && ok || bad "a refused sample wrote $tmp/x.png"
cp "$tmp/cut.ckpt" "$tmp/bad/last.ckpt" 2>/dev/null || { mkdir "$tmp/bad" && cp "$tmp/cut.ckpt" "$tmp/bad/last.ckpt"; }
expect_error 2 "truncated" -- train --resume --out "$tmp/bad" --steps 5 --no-progress

# --- a field that is not affine in E[y|x,t] trains on velocity targets and samples
if "$genphys" train --pde mixed-diffusion-poisson --data toy:moons:256 --arch mlp --batch 32 --steps 5 --grid-every 0 \
  --threads 1 --no-progress --out "$tmp/mixed" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "mixed train: $(cat "$tmp/err")"; fi
grep -q "target velocity" "$tmp/err" && ok || bad "mixed start-up line: $(cat "$tmp/err")"
"$genphys" sample --ckpt "$tmp/mixed/last.ckpt" --nfe 5 --seeds 0-7 --out "$tmp/mixed.csv" --threads 1 >/dev/null 2>&1 \
  && [[ $(wc -l <"$tmp/mixed.csv") -eq 9 ]] && ok || bad "mixed sample"

# --- images: PFGM++ (D = 128) on the idx file, UNet, grid and samples
if "$genphys" train --pde pfgmpp --D 128 --data "idx:$tmp/sq.idx.gz" --arch unet-small --channels 8 --batch 8 --steps 4 \
  --grid-every 4 --grid-nfe 3 --threads 1 --no-progress --out "$tmp/img" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "image train: $(cat "$tmp/err")"; fi
[[ -s "$tmp/img/grid_0000004.png" ]] && ok || bad "image grid"
"$genphys" sample --ckpt "$tmp/img/last.ckpt" --nfe 5 --seeds 0-3 --grid "$tmp/ig.png" --threads 1 >"$tmp/out" 2>/dev/null \
  && grep -q "shape 1 8 8" "$tmp/out" && ok || bad "image sample: $(cat "$tmp/out")"

# --- INT, TERM and HUP save and stop with the shell's code; the run resumes from where it stopped
start_long_run() {  # $1: run dir; sets pid once the run has logged a step
  "$genphys" train --pde diffusion --data toy:moons:512 --arch mlp --batch 64 --threads 1 --log-every 1 --grid-every 0 \
    --steps 100000000 --no-progress --out "$1" >"$1.out" 2>"$1.err" &
  pid=$!
  for _ in $(seq 600); do
    grep -q '"step":' "$1/stats.jsonl" 2>/dev/null && break
    sleep 0.1
  done
}
for sig in INT TERM HUP; do
  start_long_run "$tmp/$sig"
  kill -$sig "$pid"
  wait "$pid"
  rc=$?
  want=$((128 + $(kill -l $sig)))
  [[ $rc -eq $want ]] && ok || bad "SIG$sig exit code $rc, not $want: $(cat "$tmp/$sig.err")"
  grep -q "interrupted at step .* by SIG$sig" "$tmp/$sig.err" && ok || bad "SIG$sig message: $(cat "$tmp/$sig.err")"
  stopped=$(python3 -c "import re,sys; print(re.search(r'steps 0\.\.(\d+)', open(sys.argv[1]).read()).group(1))" "$tmp/$sig.out" 2>/dev/null)
  if [[ -n "$stopped" ]]; then
    ok
    "$genphys" train --resume --out "$tmp/$sig" --steps $((stopped + 3)) --no-progress --threads 1 >"$tmp/out" 2>&1 \
      && grep -q "steps $stopped..$((stopped + 3))" "$tmp/out" && ok || bad "resume after SIG$sig: $(cat "$tmp/out")"
  else
    bad "no step count after SIG$sig: $(cat "$tmp/$sig.out")"
  fi
done

# --- one train per run directory: a second is refused while the first runs
start_long_run "$tmp/locked"
expect_error 2 "^genphys: error: run directory $tmp/locked is in use by another genphys train$" -- train --pde diffusion --data toy:moons:100 --out "$tmp/locked" "${common[@]}"
kill -TERM "$pid"
wait "$pid"
[[ -s "$tmp/locked/last.ckpt" ]] && ok || bad "the first run lost its checkpoint"

# --- sizes are checked before anything is allocated; a refused run leaves no folder
expect_error 2 "^genphys: error: --batch needs about .* GiB for a training step on 100000000 samples; .* GiB is available$" -- train --pde diffusion --data toy:moons:100 --batch 100000000 --out "$tmp/r0" "${common[@]}"
expect_error 2 "^genphys: error: --hidden needs about .* GiB" -- train --pde diffusion --data toy:moons:100 --hidden 100000000 --out "$tmp/r0" "${common[@]}"
expect_error 2 "^genphys: error: --depth needs about .* GiB" -- train --pde diffusion --data toy:moons:100 --depth 100000 --out "$tmp/r0" "${common[@]}"
expect_error 2 "^genphys: error: --lr must be in (0, 1000]$" -- train --pde diffusion --data toy:moons:100 --lr 1e300 --out "$tmp/r0" "${common[@]}"
expect_error 2 "^genphys: error: --threads must be <= " -- train --pde diffusion --data toy:moons:100 --out "$tmp/r0" --no-progress --steps 2 --threads 100000
expect_error 2 "^genphys: error: cannot create run directory $tmp/no/r0: $tmp/no does not exist$" -- train --pde diffusion --data toy:moons:100 --out "$tmp/no/r0" "${common[@]}"
[[ ! -e "$tmp/r0" && ! -e "$tmp/no" ]] && ok || bad "a refused run left a file or folder"

# --- sample --ckpt takes a run directory, --n as seeds 0..n-1, and checks its sigma range
if "$genphys" sample --ckpt "$tmp/run" --n 7 --nfe 3 --out "$tmp/s7.csv" --threads 1 >"$tmp/out" 2>"$tmp/err"; then ok; else bad "sample --n: $(cat "$tmp/err")"; fi
[[ $(wc -l <"$tmp/s7.csv") -eq 8 ]] && ok || bad "sample --n 7 wrote $(wc -l <"$tmp/s7.csv") lines"
expect_error 2 "^genphys: error: give --n or --seeds, not both$" -- sample --ckpt "$tmp/run" --n 7 --seeds 0-3 --out "$tmp/s0.csv"
expect_error 2 "^genphys: error: --sigma-max must be in " -- sample --ckpt "$tmp/run" --sigma-max -1 --out "$tmp/s0.csv"
expect_error 2 "^genphys: error: --sigma-min must be in " -- sample --ckpt "$tmp/run" --sigma-min nan --out "$tmp/s0.csv"
[[ ! -e "$tmp/s0.csv" ]] && ok || bad "a refused sample wrote its output"

# --- engine options are named by their flags
expect_error 2 "--batch must be >= 1" -- train --pde diffusion --data toy:moons:100 --batch 0 --out "$tmp/r0" "${common[@]}"
expect_error 2 "--warmup-images must be >= 0" -- train --pde diffusion --data toy:moons:100 --warmup-images -1 --out "$tmp/r0" "${common[@]}"
expect_error 2 "--threads must be >= 0" -- train --pde diffusion --data toy:moons:100 --threads -2 --out "$tmp/r0" --no-progress --steps 2

finish
