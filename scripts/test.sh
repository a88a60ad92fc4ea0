#!/usr/bin/env bash
# Quick start, second command: set up, build, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/check-format.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)"
