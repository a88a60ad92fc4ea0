#!/usr/bin/env bash
# Quick start, first command: set up, build, and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/bin/gpuperf list gpus
