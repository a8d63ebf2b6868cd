#!/usr/bin/env bash
# Installs the Debian packages genphys needs (when run as root) and checks that they are present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libtorch-dev libgloo-dev libopenblas0-pthread libblas-dev
  libeigen3-dev libboost-math-dev libfftw3-dev catch2
  libcli11-dev libfmt-dev nlohmann-json3-dev libstb-dev zlib1g-dev
  libplplot-dev plplot-driver-cairo fonts-dejavu-core
  dataset-fashion-mnist
  python3 python3-numpy python3-matplotlib python3-nbconvert python3-nbformat python3-ipykernel
  python3-torch
)
# `setup.sh fuzz` (make fuzz): clang and its libFuzzer runtime as well.
if [[ ${1:-} == fuzz ]]; then
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "setup: missing Debian packages: ${missing[*]} (run 'make' as root to install them)" >&2
  exit 2
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
