#!/usr/bin/env bash
# Regenerates the README's pictures (docs/img/*.png) with the built gpuperf (and gnuplot).
set -euo pipefail
cd "$(dirname "$0")/.."
GPUPERF=${GPUPERF:-${BUILD_DIR:-build}/bin/gpuperf}
mkdir -p docs/img
"$GPUPERF" plot scaling --out docs/img/scaling.png
"$GPUPERF" plot roofline --gpu rtx-4090 rtx-3060-12gb --model sd15 --resolution 512x512 --out docs/img/roofline-sd512.png
"$GPUPERF" plot roofline --gpu rtx-4090 rtx-3060-12gb --model llama-13b --weights gptq4-g128 --context 256 \
  --out docs/img/roofline-llama13b.png
"$GPUPERF" plot breakdown --gpu rtx-3060-12gb rtx-3080-10gb rtx-3090 rtx-4070-ti rtx-4080 rtx-4090 \
  --model llama-13b --weights gptq4-g128 --context 256 --out docs/img/breakdown-llama13b.png
"$GPUPERF" plot breakdown --gpu rtx-3060-12gb rtx-3080-10gb rtx-3090 rtx-4070-ti rtx-4080 rtx-4090 \
  --model sd15 --resolution 768x432 --hires 2048x1152 --out docs/img/breakdown-sd-hires.png
"$GPUPERF" plot value specs/scenarios/survey-launch-prices.yaml --out docs/img/value-launch-prices.png
echo "pictures: docs/img/*.png regenerated" >&2
