#!/usr/bin/env bash
# Installs what gpuperf needs from Debian's packages (idempotent: installs only what is missing).
# gnuplot-nox draws `gpuperf plot`'s charts; Debian's python3 packages execute notebooks/ in the tests;
# clang and libclang-rt-14-dev (libFuzzer, the sanitizer runtimes) serve CI's sanitizer + fuzz build.
set -euo pipefail
packages=(build-essential cmake libeigen3-dev libboost-program-options-dev libboost-math-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev clang-format clang libclang-rt-14-dev
  gnuplot-nox fonts-dejavu-core
  python3-matplotlib python3-pandas python3-nbconvert python3-nbformat python3-ipykernel)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
