#!/usr/bin/env bash
# scripts/compare_fashion.sh's orchestration, with a stand-in for genphys that logs its arguments
# and writes the snapshot a training call would: refusals (exit 2, one line, nothing made), every
# run reaching a round before any run starts the next, resumes, seeds, and a second invocation
# continuing where the first stopped.
set -u
source "$(dirname "$0")/lib.sh" "$1"
script="${GENPHYS_SOURCE_DIR:-$(dirname "$0")/../..}/scripts/compare_fashion.sh"

fake="$tmp/fake-genphys"
cat >"$fake" <<'EOF'
#!/usr/bin/env bash
# Logs "command args..." and, for train, writes last.ckpt and the snapshot of the steps reached.
echo "$*" >>"$FAKE_LOG"
out="" steps=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=$2; shift ;;
    --steps) steps=$2; shift ;;
  esac
  shift
done
if [[ ${FAIL_AT_CALL:-0} -gt 0 && $(wc -l <"$FAKE_LOG") -ge $FAIL_AT_CALL ]]; then exit 1; fi
case $out in
  *.cls) touch "$out" ;;
  *runs/*) mkdir -p "$out/snapshots" && touch "$out/last.ckpt" "$out/snapshots/snapshot-$(printf %09d $((steps * 64))).ckpt" ;;
  *) mkdir -p "$out" ;;
esac
EOF
chmod +x "$fake"
export FAKE_LOG="$tmp/log"

# expect_script_error PATTERN ENV...: the script exits 2 with one stderr line matching PATTERN and makes nothing.
expect_script_error() {
  local pattern=$1
  shift
  rm -rf "$tmp/refused"
  env "$@" bash "$script" "$fake" "$tmp/refused" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [[ $rc -ne 2 ]]; then bad "$* -> exit $rc, want 2: $(cat "$tmp/err")"; return; fi
  if [[ $(wc -l <"$tmp/err") -ne 1 ]] || ! grep -q -- "$pattern" "$tmp/err"; then bad "$* -> '$(cat "$tmp/err")'"; return; fi
  if [[ -e "$tmp/refused" ]]; then bad "$* made $tmp/refused"; return; fi
  ok
}
expect_script_error "must be positive integers" IMAGES=abc
expect_script_error "must be positive integers" N=0
expect_script_error "multiple of 64" ROUND=100 IMAGES=200
expect_script_error "divide IMAGES" ROUND=128 IMAGES=200
expect_script_error "SEED_RUNS names 'yukawa2'" SEED_RUNS=yukawa2
expect_script_error "COOLDOWN must be an integer from 0 to ROUND" COOLDOWN=-1
expect_script_error "COOLDOWN must be an integer from 0 to ROUND (128)" COOLDOWN=200 ROUND=128 IMAGES=256

# A study of 2 rounds of 128 images with one seed run, stopped by a failing call after the first
# round's six trainings (call 1 is the classifier, call 8 fails), then continued.
study="$tmp/study"
: >"$FAKE_LOG"
if FAIL_AT_CALL=8 IMAGES=256 ROUND=128 COOLDOWN=64 SEED_RUNS=diffusion bash "$script" "$fake" "$study" >/dev/null 2>&1; then
  bad "the interrupted study exited 0"
else
  ok
fi
first=$(grep -c '^train' "$FAKE_LOG")
[[ $first -eq 7 ]] && ok || bad "interrupted study: $first training calls, want 7"
for name in diffusion pfgmpp128 pfgmpp2048 pfgm yukawa diffusion-seed1; do
  [[ -e "$study/runs/$name/snapshots/snapshot-000000128.ckpt" ]] && ok || bad "$name did not reach round 1"
done
IMAGES=256 ROUND=128 COOLDOWN=64 SEED_RUNS=diffusion bash "$script" "$fake" "$study" >/dev/null 2>"$tmp/err" && ok ||
  bad "the continued study failed: $(cat "$tmp/err")"
/usr/bin/python3 - "$FAKE_LOG" <<'PY' && ok || bad "call log: $(cat "$FAKE_LOG")"
import sys
calls = [l.split() for l in open(sys.argv[1])]
assert calls[0][:2] == ["classifier", "train"], calls[0]
assert sum(c[:2] == ["classifier", "train"] for c in calls) == 1  # the second invocation reuses it
trains = [c for c in calls if c[0] == "train"]
def opt(c, name):
    return c[c.index(name) + 1] if name in c else None
# Round 1 for every run; diffusion's round 2 fails (the 8th call); the second invocation skips
# round 1 and runs round 2 for every run.
runs = ["diffusion", "pfgmpp128", "pfgmpp2048", "pfgm", "yukawa", "diffusion-seed1"]
order = [(opt(c, "--out").split("/")[-1], opt(c, "--steps")) for c in trains]
assert order == [(r, "2") for r in runs] + [("diffusion", "4")] + [(r, "4") for r in runs], order
for c in trains:
    name = opt(c, "--out").split("/")[-1]
    assert opt(c, "--seed") == ("1" if name.endswith("-seed1") else "0"), c
    assert ("--resume" in c) == (opt(c, "--steps") == "4"), c
    assert opt(c, "--arch") == "ddpmpp-small" and opt(c, "--batch") == "64" and opt(c, "--sigma-max") == "80", c
    assert opt(c, "--snapshot-every") == "128", c
    # The last round (to 4 steps = 256 images) ends in the cool-down; earlier rounds keep the lr.
    assert opt(c, "--lr-cooldown-images") == ("64" if opt(c, "--steps") == "4" else None), c
assert [opt(c, "--D") for c in trains[:5]] == [None, "128", "2048", "1", None], trains[:5]
compare = [c for c in calls if c[0] == "compare"]
assert len(compare) == 1 and opt(compare[0], "--nfe") == "9,17,35,79" and opt(compare[0], "--n") == "1000", compare
spec = dict(item.split("=") for item in opt(compare[0], "--runs").split(","))
assert sorted(spec) == sorted(runs) and all(p.endswith("snapshot-000000256.ckpt") for p in spec.values()), spec
assert sum(c[0] == "robustness" for c in calls) == 5, calls
PY

# scripts/quality_run.sh: stable to the cool-down's start (kept as stable-<images>.ckpt), then the
# cool-down; a second invocation goes on with the cool-down alone; another budget is refused.
quality="${GENPHYS_SOURCE_DIR:-$(dirname "$0")/../..}/scripts/quality_run.sh"
qrun="$tmp/q/runs/quality"
COOLDOWN=100 bash "$quality" "$fake" "$qrun" 256 >/dev/null 2>"$tmp/err"
[[ $? -eq 2 && $(wc -l <"$tmp/err") -eq 1 ]] && grep -q "COOLDOWN must be a multiple of 64 below IMAGES (256), got '100'" "$tmp/err" &&
  [[ ! -e $qrun ]] && ok || bad "COOLDOWN=100: $(cat "$tmp/err")"
: >"$FAKE_LOG"
COOLDOWN=128 bash "$quality" "$fake" "$qrun" 256 >/dev/null 2>"$tmp/err" && ok || bad "quality run: $(cat "$tmp/err")"
[[ -f $qrun/stable-000000128.ckpt ]] && ok || bad "no stable-000000128.ckpt: $(ls "$qrun")"
COOLDOWN=128 bash "$quality" "$fake" "$qrun" 256 >/dev/null 2>"$tmp/err" && ok || bad "quality run again: $(cat "$tmp/err")"
/usr/bin/python3 - "$FAKE_LOG" <<'PY' && ok || bad "quality call log: $(cat "$FAKE_LOG")"
import sys
calls = [l.split() for l in open(sys.argv[1])]
def opt(c, name):
    return c[c.index(name) + 1] if name in c else None
trains = [c for c in calls if c[0] == "train"]
# (steps, resumed, cool-down) of each training call: stable, cool-down; then the cool-down again.
got = [(opt(c, "--steps"), "--resume" in c, opt(c, "--lr-cooldown-images")) for c in trains]
assert got == [("2", False, None), ("4", True, "128"), ("4", True, "128")], got
assert sum(c[:1] == ["eval"] and "--snapshots" in c for c in calls) == 2, calls
PY
COOLDOWN=128 bash "$quality" "$fake" "$qrun" 512 >/dev/null 2>"$tmp/err"
[[ $? -eq 2 && $(wc -l <"$tmp/err") -eq 1 ]] && grep -q "cools down from .*stable-000000128.ckpt on" "$tmp/err" &&
  ok || bad "another budget: $(cat "$tmp/err")"

finish
