#!/usr/bin/env bash
# genphys eval --bpd: bits/dim through the probability-flow ODE on tiny 2D runs (exact divergence
# and Hutchinson's estimate agree within its error), and its refusals (exit 2, one line).
set -u
source "$(dirname "$0")/lib.sh" "$1"

skip_without_engine eval
py=/usr/bin/python3
common=(--no-progress --threads 1)

for pde in diffusion pfgmpp; do
  "$genphys" train --pde $pde --data toy:moons:512 --arch mlp --batch 64 --steps 300 --warmup-images 0 --grid-every 0 \
    "${common[@]}" --out "$tmp/$pde" >/dev/null 2>"$tmp/err" && ok || bad "train $pde: $(cat "$tmp/err")"
  # Exact divergence (2 dimensions) and Hutchinson's with 8 probes on the same held-out points.
  "$genphys" eval --ckpt "$tmp/$pde" --bpd --n 100 --bpd-steps 40 --threads 1 --json >"$tmp/exact.json" 2>"$tmp/err" \
    && ok || bad "eval --bpd $pde: $(cat "$tmp/err")"
  "$genphys" eval --ckpt "$tmp/$pde" --bpd --hutchinson 8 --n 100 --bpd-steps 40 --threads 1 --json >"$tmp/h.json" \
    2>"$tmp/err" && ok || bad "eval --bpd --hutchinson $pde: $(cat "$tmp/err")"
  $py - "$tmp/exact.json" "$tmp/h.json" <<'PY' && ok || bad "eval --bpd $pde JSON: $(cat "$tmp/exact.json" "$tmp/h.json")"
import json, sys
e, h = (json.load(open(p)) for p in sys.argv[1:])
assert e["divergence"] == "exact" and e["probes"] == 0 and e["bpd_probe_se"] == 0 and e["n"] == 100, e
assert h["divergence"] == "hutchinson" and h["probes"] == 8 and h["bpd_probe_se"] > 0, h
assert e["steps"] == 40 and e["evaluations"] == 80 and e["dim"] == 2, e
# Moons spread about 0.5 in each coordinate: a trained model sits far below the prior's bits/dim
# (sigma_max 80: about 8 bits) and the estimate agrees with the exact value within its error.
assert -2 < e["bpd"] < 3 and e["bpd_se"] > 0, e
assert abs(h["bpd"] - e["bpd"]) < 4 * h["bpd_probe_se"], (h["bpd"], e["bpd"], h["bpd_probe_se"])
PY
done
"$genphys" eval --ckpt "$tmp/diffusion" --bpd --n 20 --bpd-steps 10 --threads 1 >"$tmp/out" 2>"$tmp/err" \
  && grep -q "bits/dim .* over 20 held-out points of toy:moons:512 (divergence exact" "$tmp/out" && ok \
  || bad "eval --bpd text: $(cat "$tmp/out" "$tmp/err")"

# The training set's exact field memorises it: held-out points score far worse than under the network.
"$genphys" eval --ckpt "$tmp/diffusion" --bpd --exact --n 50 --bpd-steps 40 --threads 1 --json >"$tmp/x.json" 2>"$tmp/err" \
  && ok || bad "eval --bpd --exact: $(cat "$tmp/err")"
"$genphys" eval --ckpt "$tmp/diffusion" --bpd --n 50 --bpd-steps 40 --threads 1 --json >"$tmp/net.json" 2>"$tmp/err" \
  && ok || bad "eval --bpd: $(cat "$tmp/err")"
$py - "$tmp/x.json" "$tmp/net.json" <<'PY' && ok || bad "eval --bpd --exact JSON: $(cat "$tmp/x.json" "$tmp/net.json")"
import json, sys
x, net = (json.load(open(p)) for p in sys.argv[1:])
assert x["field"] == "exact field of 512 training points" and net["field"] == "network (EMA)", (x, net)
assert x["bpd"] > net["bpd"] + 3, (x["bpd"], net["bpd"])
PY

# --- refusals
expect_error 2 "--hutchinson goes with a network" -- eval --ckpt "$tmp/diffusion" --bpd --exact --hutchinson 2 --n 10
expect_error 2 "--hutchinson must be >= 1 probes, got 0" -- eval --ckpt "$tmp/diffusion" --bpd --hutchinson 0 --n 10
expect_error 2 "--hutchinson must be >= 1 probes, got -1" -- eval --ckpt "$tmp/diffusion" --bpd --hutchinson -1 --n 10
expect_error 2 "--hutchinson, --bpd-steps and --exact go with --bpd" -- eval --ckpt "$tmp/diffusion" --bpd-steps 100 --n 10
expect_error 2 "--bpd-steps must be >= 1" -- eval --ckpt "$tmp/diffusion" --bpd --bpd-steps 0 --n 10
expect_error 2 "--hutchinson, --bpd-steps and --exact go with --bpd" -- eval --ckpt "$tmp/diffusion" --hutchinson 4 --n 10
expect_error 2 "--bpd does not go with" -- eval --ckpt "$tmp/diffusion" --bpd --grid "$tmp/g.png" --n 10
expect_error 2 "does not exist" -- eval --ckpt "$tmp/none" --bpd --n 10
[[ ! -e "$tmp/g.png" ]] && ok || bad "a refused eval --bpd wrote its grid"
finish
