#!/usr/bin/env bash
# Quick start, first command: set up, build, and run the main job — the survey's three tables
# reproduced by the model (measured, predicted, leave-one-card-out predicted, errors, value per dollar).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
for set in survey-sd512 survey-sd-hires survey-llama13b-4bit; do
  echo "== $set"
  build/bin/gpuperf table --measurements "$set" 2>/dev/null
  echo
done
