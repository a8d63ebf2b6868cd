# Shared by the CLI tests (source it with the genphys binary as $1): a temporary directory,
# pass/fail counters and expect_error.
genphys=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# expect_error CODE PATTERN -- ARGS...: genphys ARGS exits with CODE and prints exactly one stderr
# line matching PATTERN. Leaves the exit code in last_rc and the output in $tmp/out, $tmp/err.
expect_error() {
  local code=$1 pattern=$2
  shift 3
  "$genphys" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  last_rc=$rc
  local lines
  lines=$(wc -l <"$tmp/err")
  if [[ $rc -ne $code ]]; then bad "$* -> exit $rc, want $code: $(cat "$tmp/err")"; return; fi
  if [[ $lines -ne 1 ]]; then bad "$* -> $lines stderr lines: $(cat "$tmp/err")"; return; fi
  if ! grep -q -- "$pattern" "$tmp/err"; then bad "$* -> '$(cat "$tmp/err")' lacks '$pattern'"; return; fi
  ok
}

# skip_without_engine SUBCOMMAND: ends the script (exit 0, SKIP) when genphys lacks SUBCOMMAND, which
# exists only in a build with LibTorch.
skip_without_engine() {
  if ! "$genphys" --help 2>/dev/null | grep -qE "^ +$1 "; then
    echo "SKIP: genphys built without the LibTorch engine"
    exit 0
  fi
}

# Prints the closing line and returns non-zero when anything failed.
finish() {
  echo "$pass passed, $fail failed"
  [[ $fail -eq 0 ]]
}
