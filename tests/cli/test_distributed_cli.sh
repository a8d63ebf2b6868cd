#!/usr/bin/env bash
# Multi-process runs under torchrun's variables: a missing or bad variable, a busy MASTER_PORT and
# ranks that disagree on WORLD_SIZE are one line and exit 2; a rank killed mid-run makes the others
# exit non-zero (well within GENPHYS_DIST_TIMEOUT: its sockets close); so does train --nproc.
set -u
source "$(dirname "$0")/lib.sh" "$1"

skip_without_engine train

train=(train --pde poisson --data toy:moons:64 --arch mlp --hidden 16 --depth 1 --batch 8 --threads 1 --no-progress
       --grid-every 0 --eval-samples 0)
port=$((20000 + $$ % 20000))
unset RANK WORLD_SIZE LOCAL_RANK LOCAL_WORLD_SIZE MASTER_ADDR MASTER_PORT
export OMP_WAIT_POLICY=PASSIVE  # no re-execution at each start

# --- variables: one line, exit 2, nothing written
export WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port
expect_error 2 "RANK is not set: a multi-process run needs MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE" -- "${train[@]}" --out "$tmp/a"
export RANK=2
expect_error 2 "RANK=2 must be an integer in \[0, 1\] (WORLD_SIZE=2)" -- "${train[@]}" --out "$tmp/a"
export RANK=one
expect_error 2 "RANK=one must be an integer" -- "${train[@]}" --out "$tmp/a"
export RANK=0 WORLD_SIZE=two
expect_error 2 "WORLD_SIZE=two must be an integer" -- "${train[@]}" --out "$tmp/a"
export WORLD_SIZE=2
unset MASTER_PORT
expect_error 2 "MASTER_PORT is not set" -- "${train[@]}" --out "$tmp/a"
export MASTER_PORT=70000
expect_error 2 "MASTER_PORT=70000 must be an integer in \[1, 65535\]" -- "${train[@]}" --out "$tmp/a"
export MASTER_PORT=$port
unset MASTER_ADDR
expect_error 2 "MASTER_ADDR is not set" -- "${train[@]}" --out "$tmp/a"
export MASTER_ADDR=127.0.0.1
expect_error 2 "drop it under torchrun" -- "${train[@]}" --nproc 2 --out "$tmp/a"
[[ -e "$tmp/a" ]] && bad "a refused run left $tmp/a"

# A busy port: rank 0 cannot host the rendezvous.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$tmp/busy" &
holder=$!
for _ in $(seq 50); do [[ -s "$tmp/busy" ]] && break; sleep 0.1; done
export MASTER_PORT=$(cat "$tmp/busy") RANK=0
expect_error 2 "MASTER_PORT=$MASTER_PORT cannot be listened on at 127.0.0.1 (in use by another run? pick a free port)" \
  -- "${train[@]}" --out "$tmp/a"
kill "$holder"

# Ranks that disagree on WORLD_SIZE: the late one is refused at once, rank 0 gives up at the timeout.
export MASTER_PORT=$((port + 1)) GENPHYS_DIST_TIMEOUT=5 RANK=0 WORLD_SIZE=2
"$genphys" "${train[@]}" --steps 5 --out "$tmp/w" >/dev/null 2>"$tmp/root.err" &
root=$!
RANK=1 WORLD_SIZE=3 expect_error 2 "WORLD_SIZE=3 differs from rank 0's WORLD_SIZE=2" -- "${train[@]}" --steps 5 --out "$tmp/w"
wait "$root"
rc=$?
if [[ $rc -ne 1 ]] || ! grep -q "rank 0: rendezvous at 127.0.0.1:$MASTER_PORT timed out after 5 s" "$tmp/root.err" ||
   [[ $(wc -l <"$tmp/root.err") -ne 1 ]]; then
  bad "rank 0 alone: exit $rc, $(cat "$tmp/root.err")"
else
  ok
fi
unset RANK WORLD_SIZE MASTER_ADDR MASTER_PORT

# Rank 0 (the rendezvous host) killed mid-run: the survivor exits non-zero with one line, long
# before the timeout.
export GENPHYS_DIST_TIMEOUT=120
for victim in 0; do
  p=$((port + 2 + victim))
  for r in 0 1; do
    MASTER_ADDR=127.0.0.1 MASTER_PORT=$p RANK=$r WORLD_SIZE=2 \
      "$genphys" "${train[@]}" --steps 1000000 --ckpt-every 0 --out "$tmp/k$victim" >/dev/null 2>"$tmp/k$r.err" &
    pid[$r]=$!
  done
  for _ in $(seq 600); do grep -qs '"images"' "$tmp/k$victim/stats.jsonl" && break; sleep 0.1; done
  kill -KILL "${pid[$victim]}"
  wait "${pid[$victim]}" 2>/dev/null
  survivor=$((1 - victim))
  (sleep 100; kill -KILL "${pid[$survivor]}" 2>/dev/null) &  # a hung survivor: the failure this checks
  watchdog=$!
  wait "${pid[$survivor]}"
  rc=$?
  kill "$watchdog" 2>/dev/null
  if [[ $rc -eq 0 || $rc -eq 137 ]] || [[ $(grep -vc "^genphys engine\|^data: \|^pde " "$tmp/k$survivor.err") -ne 1 ]] ||
     ! grep -q "genphys: error: rank $survivor: .* failed: .* (a rank died, hung past 120 s" "$tmp/k$survivor.err"; then
    bad "rank $victim killed: rank $survivor exit $rc, $(cat "$tmp/k$survivor.err")"
  else
    ok
  fi
done

# eval and compare on 2 ranks: the ranks sample together and rank 0 alone reports; the metrics equal
# one process's (sampling is by per-sample streams, so the samples are the same bytes).
unset GENPHYS_DIST_TIMEOUT
"$genphys" "${train[@]}" --steps 20 --out "$tmp/e" >/dev/null 2>&1 || bad "train for eval failed"
scoring=(--n 200 --nfe 9 --threads 1 --batch 16)
"$genphys" eval --ckpt "$tmp/e" "${scoring[@]}" --json >"$tmp/eval1.json" 2>/dev/null || bad "eval on 1 process failed"
"$genphys" compare --runs a="$tmp/e",b="$tmp/e" --nfe 5,9 "${scoring[@]:0:2}" "${scoring[@]:4}" --out "$tmp/c1" \
  >/dev/null 2>&1 || bad "compare on 1 process failed"
for r in 0 1; do
  MASTER_ADDR=127.0.0.1 MASTER_PORT=$((port + 5)) RANK=$r WORLD_SIZE=2 \
    "$genphys" eval --ckpt "$tmp/e" "${scoring[@]}" --json >"$tmp/eval2.$r.json" 2>"$tmp/eval2.$r.err" &
  pid[$r]=$!
done
wait "${pid[0]}" && wait "${pid[1]}" || bad "eval on 2 ranks failed: $(cat "$tmp"/eval2.*.err)"
without_seconds() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d.pop("sample_seconds"); print(json.dumps(d, sort_keys=True))' "$1"; }
if [[ "$(without_seconds "$tmp/eval1.json")" == "$(without_seconds "$tmp/eval2.0.json")" && ! -s "$tmp/eval2.1.json" ]]; then
  ok
else
  bad "eval on 2 ranks differs from 1 process: $(cat "$tmp/eval2.0.json") vs $(cat "$tmp/eval1.json"); rank 1 printed $(cat "$tmp/eval2.1.json")"
fi
for r in 0 1; do
  MASTER_ADDR=127.0.0.1 MASTER_PORT=$((port + 6)) RANK=$r WORLD_SIZE=2 \
    "$genphys" compare --runs a="$tmp/e",b="$tmp/e" --nfe 5,9 "${scoring[@]:0:2}" "${scoring[@]:4}" --out "$tmp/c2" \
    >/dev/null 2>"$tmp/c2.$r.err" &
  pid[$r]=$!
done
wait "${pid[0]}" && wait "${pid[1]}" || bad "compare on 2 ranks failed: $(cat "$tmp"/c2.*.err)"
# compare.csv without its seconds column (the 8th)
if diff <(cut -d, -f1-7,9- "$tmp/c1/compare.csv") <(cut -d, -f1-7,9- "$tmp/c2/compare.csv") >/dev/null &&
   [[ $(wc -l <"$tmp/c2/compare.csv") -eq 7 ]]; then
  ok
else
  bad "compare on 2 ranks: $(cat "$tmp/c2/compare.csv") vs $(cat "$tmp/c1/compare.csv")"
fi

# train --nproc: a killed rank fails the whole run (exit 128 + 9), and the other is gone too.
"$genphys" "${train[@]}" --steps 1000000 --ckpt-every 0 --nproc 2 --out "$tmp/n" >/dev/null 2>"$tmp/n.err" &
launcher=$!
for _ in $(seq 600); do grep -qs '"images"' "$tmp/n/stats.jsonl" && break; sleep 0.1; done
ranks=$(pgrep -P $launcher)
kill -KILL $(echo "$ranks" | tail -1)
(sleep 100; kill -KILL $launcher $ranks 2>/dev/null) &
watchdog=$!
wait "$launcher"
rc=$?
kill "$watchdog" 2>/dev/null
if [[ $rc -ne 137 ]]; then bad "train --nproc 2 with a rank killed: exit $rc, $(cat "$tmp/n.err")"; else ok; fi
for r in $ranks; do kill -0 "$r" 2>/dev/null && bad "train --nproc left rank pid $r running"; done
[[ $(echo "$ranks" | wc -w) -eq 2 ]] && ok || bad "train --nproc 2 started ranks: $ranks"

finish
