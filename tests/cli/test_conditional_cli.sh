#!/usr/bin/env bash
# Class-conditional training and sampling from the command line: labels read, a conditional run
# trained briefly on the labelled toy, --class/--guidance honoured, and every refusal one line,
# exit 2 (nothing written).
source "$(dirname "$0")/lib.sh"

quick=(--steps 20 --batch 64 --threads 1 --no-progress --grid-every 0 --eval-samples 0 --hidden 32 --depth 1)

# ---- bad training input ---------------------------------------------------------------------
expect_error 2 "carry no class labels" -- train --pde diffusion --data toy:moons:100 --conditional --out "$tmp/r0" "${quick[@]}"
printf 'x,y\n0,1\n1,0\n' > "$tmp/p.csv"
expect_error 2 "no column named 'label'" -- train --pde diffusion --data "csv:$tmp/p.csv" --conditional --out "$tmp/r0" "${quick[@]}"
printf 'x,y,label\n0,1,0\n1,0,-1\n' > "$tmp/neg.csv"
expect_error 2 "label -1 is not a class id" -- train --pde diffusion --data "csv:$tmp/neg.csv" --conditional --out "$tmp/r0" "${quick[@]}"
expect_error 2 "--label-dropout is for class-conditional training" -- train --pde diffusion --data toy:two-clusters:100 --label-dropout 0.2 --out "$tmp/r0" "${quick[@]}"
expect_error 2 "label-dropout" -- train --pde diffusion --data toy:two-clusters:100 --conditional --label-dropout 1 --out "$tmp/r0" "${quick[@]}"
# idx images whose label file is one short.
python3 - "$tmp" <<'PY'
import gzip, struct, sys
d = sys.argv[1]
with gzip.open(d + "/train-images-idx3-ubyte.gz", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, 3, 8, 8) + bytes(3 * 64))
with gzip.open(d + "/train-labels-idx1-ubyte.gz", "wb") as f:
    f.write(struct.pack(">II", 0x801, 2) + bytes([0, 1]))
with gzip.open(d + "/ok-images-idx3-ubyte.gz", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, 3, 8, 8) + bytes(3 * 64))
with gzip.open(d + "/ok-labels-idx1-ubyte.gz", "wb") as f:
    f.write(struct.pack(">II", 0x801, 3) + bytes([0, 1, 0]))
PY
expect_error 2 "holds 2 labels, but the images file .* holds 3 images" -- train --pde diffusion --data "idx:$tmp" --conditional --arch ddpmpp-small --out "$tmp/r0" "${quick[@]}"
expect_error 2 "unet-small-legacy has no label embedding: class-conditional training needs --arch unet-small or unet or ddpmpp-small or mlp" -- \
  train --pde diffusion --data "idx:$tmp/ok-images-idx3-ubyte.gz" --conditional --arch unet-small-legacy --out "$tmp/r0" "${quick[@]}"
[[ ! -e "$tmp/r0" ]] && ok || bad "a refused run left $tmp/r0"

# ---- a conditional run and an unconditional one ----------------------------------------------
"$genphys" train --pde diffusion --data toy:two-clusters:500 --conditional --out "$tmp/cond" "${quick[@]}" >/dev/null 2>"$tmp/err" \
  && ok || bad "conditional train: $(cat "$tmp/err")"
grep -q "2 classes" "$tmp/err" && ok || bad "the start-up lines do not name the classes: $(cat "$tmp/err")"
"$genphys" train --pde diffusion --data toy:two-clusters:500 --out "$tmp/plain" "${quick[@]}" >/dev/null 2>"$tmp/err" \
  && ok || bad "unconditional train: $(cat "$tmp/err")"

"$genphys" sample --ckpt "$tmp/cond" --seeds 0-9 --class 1 --guidance 2 --nfe 5 --out "$tmp/s.csv" --grid "$tmp/s.png" >/dev/null 2>"$tmp/err" \
  && ok || bad "conditional sample: $(cat "$tmp/err")"
[[ "$(head -1 "$tmp/s.csv")" == "x0,x1,label" ]] && ok || bad "sample csv header: $(head -1 "$tmp/s.csv")"
[[ "$(cut -d, -f3 "$tmp/s.csv" | tail -n +2 | sort -u)" == "1" ]] && ok || bad "--class 1 gave other classes"
grep -q "guidance 2 (2 network passes per evaluation)" "$tmp/err" && ok || bad "no guidance line: $(cat "$tmp/err")"
# Without --class the classes come in turn from the sample index.
"$genphys" sample --ckpt "$tmp/cond" --seeds 4-7 --nfe 5 --out "$tmp/t.csv" >/dev/null 2>&1
[[ "$(cut -d, -f3 "$tmp/t.csv" | tail -n +2 | tr '\n' ' ')" == "0 1 0 1 " ]] && ok || bad "classes in turn: $(cat "$tmp/t.csv")"

# ---- bad sampling input: one line, exit 2, nothing written -----------------------------------
expect_error 2 "class 2 is out of range: the checkpoint has classes 0-1" -- sample --ckpt "$tmp/cond" --class 2 --nfe 5 --out "$tmp/bad.csv"
expect_error 2 "bad --class" -- sample --ckpt "$tmp/cond" --class 1,x --nfe 5 --out "$tmp/bad.csv"
expect_error 2 "guidance must be finite and >= 0" -- sample --ckpt "$tmp/cond" --guidance -1 --nfe 5 --out "$tmp/bad.csv"
expect_error 2 "is unconditional (trained without --conditional): --class needs a class-conditional checkpoint" -- \
  sample --ckpt "$tmp/plain" --class 0 --nfe 5 --out "$tmp/bad.csv"
expect_error 2 "--guidance needs a class-conditional checkpoint" -- sample --ckpt "$tmp/plain" --guidance 2 --nfe 5 --out "$tmp/bad.csv"
[[ ! -e "$tmp/bad.csv" ]] && ok || bad "a refused sample wrote $tmp/bad.csv"

finish
