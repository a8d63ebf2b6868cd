#!/usr/bin/env bash
# Executes every notebooks/*.ipynb headless against the genphys CLI and fails if any cell raises.
# Usage: run_notebooks.sh [GENPHYS_BINARY]   (default: $GENPHYS_CLI, else `genphys` on PATH)
# The executed copies go to a temporary directory; the committed notebooks are never modified.
# Set KEEP_NOTEBOOK_OUTPUTS=DIR to keep the executed copies in DIR.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="${NOTEBOOK_PYTHON:-/usr/bin/python3}"   # Debian's interpreter: the one with python3-nbconvert, -ipykernel, -numpy, -matplotlib

bin="${1:-${GENPHYS_CLI:-genphys}}"
if ! resolved="$(command -v "$bin")"; then
  echo "run_notebooks: genphys binary not found: $bin" >&2
  exit 2
fi
bin="$(cd "$(dirname "$resolved")" && pwd)/$(basename "$resolved")"

if [[ ! -x "$py" ]]; then
  echo "run_notebooks: $py not found (run scripts/setup.sh as root to install python3 and the notebook packages)" >&2
  exit 2
fi
if ! missing="$("$py" - <<'PY'
import importlib.util
mods = ["nbconvert", "nbformat", "ipykernel", "numpy", "matplotlib"]
missing = [m for m in mods if importlib.util.find_spec(m) is None]
print(" ".join(missing))
raise SystemExit(1 if missing else 0)
PY
)"; then
  echo "run_notebooks: $py lacks the Python modules: $missing" >&2
  echo "run_notebooks: install the Debian packages python3-nbconvert python3-nbformat python3-ipykernel" \
       "python3-numpy python3-matplotlib (scripts/setup.sh does, as root)" >&2
  exit 2
fi

shopt -s nullglob
notebooks=("$root"/notebooks/*.ipynb)
if ((${#notebooks[@]} == 0)); then
  echo "run_notebooks: no notebooks in $root/notebooks" >&2
  exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
outdir="${KEEP_NOTEBOOK_OUTPUTS:-$tmp/executed}"
mkdir -p "$outdir"

# Kernel "python3" must run Debian's interpreter, whatever kernelspecs the user has installed:
# JUPYTER_PATH comes first in the kernelspec search, so this one wins.
mkdir -p "$tmp/jupyter/kernels/python3"
cat >"$tmp/jupyter/kernels/python3/kernel.json" <<JSON
{"argv": ["$py", "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
 "display_name": "Python 3 (ipykernel)", "language": "python"}
JSON
export JUPYTER_PATH="$tmp/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export JUPYTER_RUNTIME_DIR="$tmp/runtime"     # connection files: never in a shared home
export IPYTHONDIR="$tmp/ipython"
export PYDEVD_DISABLE_FILE_VALIDATION=1
export GENPHYS_CLI="$bin"
unset MPLBACKEND                              # the kernel's inline backend, not a GUI or Agg

echo "genphys: $bin"
fail=0
total_start=$(date +%s.%N)
for nb in "${notebooks[@]}"; do
  name="$(basename "$nb")"
  start=$(date +%s.%N)
  if "$py" -m nbconvert --to notebook --execute \
      --ExecutePreprocessor.timeout=300 --ExecutePreprocessor.kernel_name=python3 \
      --output-dir "$outdir" "$nb" >"$tmp/log" 2>&1; then
    status=ok
  else
    status=FAIL
    fail=1
  fi
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  echo "$status: $name (${secs} s)"
  if [[ $status == FAIL ]]; then
    sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^/    /' "$tmp/log" | tail -n 40   # without ANSI colours
  fi
done
secs=$(awk -v a="$total_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "${#notebooks[@]} notebooks in ${secs} s"
exit "$fail"
