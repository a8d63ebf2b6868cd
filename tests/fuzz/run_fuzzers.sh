#!/usr/bin/env bash
# make fuzz: runs each fuzz target built in BUILD for SECONDS on its committed seed corpus
# (tests/fuzz/corpus/<name>, read only); inputs that reach new code go to BUILD/fuzz/corpus/<name>,
# a crash, hang or leak to BUILD/fuzz/crashes/<name>/ and the log to BUILD/fuzz/<name>.log.
# One line per target (executions, seconds, coverage, crashes); exit 1 when any target failed.
# Reproduce one crash: BUILD/fuzz_<name> BUILD/fuzz/crashes/<name>/crash-...
set -u
build=${1:?usage: run_fuzzers.sh BUILD [SECONDS] [TARGET...]}
seconds=${2:-60}
shift $(($# >= 2 ? 2 : $#))
here=$(cd "$(dirname "$0")" && pwd)

targets=("$@")
if ((${#targets[@]} == 0)); then
  for bin in "$build"/fuzz_*; do [[ -f $bin && -x $bin ]] && targets+=("$(basename "$bin")"); done
fi
if ((${#targets[@]} == 0)); then
  echo "run_fuzzers: no fuzz targets in $build" >&2
  exit 2
fi

failed=0
printf '%-24s %12s %8s %6s %8s\n' target executions seconds cov crashes
for name in "${targets[@]}"; do
  short=${name#fuzz_}
  work=$build/fuzz/corpus/$short
  crashes=$build/fuzz/crashes/$short
  log=$build/fuzz/$short.log
  mkdir -p "$work" "$crashes"
  touch "$build/fuzz/.start"
  start=$(date +%s)
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    LSAN_OPTIONS=suppressions=$here/../lsan.supp:print_suppressions=0 \
    "$build/$name" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$work" "$here/corpus/$short" >"$log" 2>&1
  rc=$?
  elapsed=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o ' cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  found=$(find "$crashes" -type f -newer "$build/fuzz/.start" | wc -l)
  printf '%-24s %12s %8s %6s %8s\n' "$name" "${execs:-?}" "$elapsed" "${cov:-?}" "$found"
  if ((rc != 0 || found > 0)); then
    failed=1
    echo "  $name failed (exit $rc); see $log" >&2
    grep -m3 -E '^==[0-9]+==ERROR|runtime error|fuzz oracle|uncaught exception|Test unit written' "$log" | sed 's/^/  /' >&2
  fi
done
exit $failed
