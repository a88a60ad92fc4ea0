#!/bin/bash
# The model's predictions for gpuperf-validate's replay points on a card (default: h200-sxm), from the
# default calibration (or $CALIBRATION), as a Markdown table. Run before measuring a new card to pre-register
# them; with --holdout, for the held-out replays' scenarios instead (validate/host/replay_plan.cpp).
# Usage: validate/scripts/predict_replay.sh [CARD] [--holdout]   (GPUPERF=path/to/gpuperf)
B=${GPUPERF:-build/bin/gpuperf}
CARD=${1:-h200-sxm}
HOLDOUT=${2:-}
CAL=()
[ -n "${CALIBRATION:-}" ] && CAL=(--calibration "$CALIBRATION")
row() { # label, args...
  label=$1; shift
  $B predict --gpu "$CARD" "$@" "${CAL[@]}" --format json 2>/dev/null | /usr/bin/python3 -c "
import json,sys; d=json.load(sys.stdin); lo,hi=d['interval95']
iv='%.3g .. %.3g'%(lo,hi) if lo is not None and hi is not None else '- (priors: no interval)'
print('| %s | %s | %.2f | %s | %.3f | %s |'%('$label',d['stack'],d['value'],iv,d['seconds_per_step']*1e3,d['bound']))"
}
LL="--model llama-13b --context 512 --kv-dtype fp16 --attention naive"
SD="--model sd15 --cfg --batch 1 --precision fp16"
echo "| point | stack | predicted | 95% interval | ms per step | bound |"
echo "| --- | --- | ---: | --- | ---: | --- |"
if [ "$HOLDOUT" = --holdout ]; then
  LD="--kv-dtype fp16 --attention naive"
  for st in cuda-graph cuda-eager; do row "LLaMA-7B fp16 decode, ctx 512 (tokens/s)" --model llama-7b --context 512 $LD --weights fp16 --stack $st; done
  for m in "llama-7b 2048 7B" "llama-13b 2048 13B" "llama-7b 512 7B"; do
    set -- $m
    for st in cuda-graph cuda-graph-pdl cuda-eager; do
      row "LLaMA-$3 4-bit decode, ctx $2 (tokens/s)" --model "$1" --context "$2" $LD --weights gptq4-g128 --stack $st
    done
  done
  for st in cuda-graph cuda-eager; do row "LLaMA-13B fp16 decode, ctx 2048 (tokens/s)" --model llama-13b --context 2048 $LD --weights fp16 --stack $st; done
  for ctx in 2048 8192 3001; do
    for st in cuda-graph cuda-graph-pdl cuda-eager; do
      row "Llama 3.1 8B 4-bit decode, ctx $ctx (tokens/s)" --model llama3-8b --context $ctx $LD --weights gptq4-g128 --stack $st
    done
  done
  for st in cuda-graph cuda-graph-pdl cuda-eager; do
    row "Llama 2 13B 4-bit decode, ctx 4096 (tokens/s)" --model llama2-13b --context 4096 $LD --weights gptq4-g128 --stack $st
  done
  for st in cuda-graph cuda-eager; do row "Llama 3.1 8B fp16 decode, ctx 512 (tokens/s)" --model llama3-8b --context 512 $LD --weights fp16 --stack $st; done
  # Fused decode attention (one kernel a layer, flash decoding), stop 17.
  LF="--kv-dtype fp16 --attention flash --weights gptq4-g128"
  for m in "llama-13b 512 LLaMA-13B" "llama3-8b 8192 Llama-3.1-8B" "llama2-13b 4096 Llama-2-13B"; do
    set -- $m
    for st in cuda-graph cuda-graph-pdl cuda-eager; do
      row "$3 4-bit decode, ctx $2, fused attention (tokens/s)" --model "$1" --context "$2" $LF --stack $st
    done
  done
  for r in "768x768 1" "1024x1024 1" "512x512 4"; do
    set -- $r
    for st in cuda-graph cuda-eager; do
      row "SD 1.5 UNet $1 batch $2 CFG, fused attention (it/s)" --model sd15 --cfg --precision fp16 --resolution "$1" \
        --batch "$2" --attention flash --stack $st
    done
  done
  exit 0
fi
for st in cuda-graph cuda-graph-pdl cuda-eager; do row "LLaMA-13B 4-bit decode (tokens/s)" $LL --weights gptq4-g128 --stack $st; done
for st in cuda-graph cuda-eager; do row "LLaMA-13B fp16 decode (tokens/s)" $LL --weights fp16 --stack $st; done
for st in cuda-graph cuda-eager; do row "SD 1.5 UNet 512x512 CFG, naive attention (it/s)" $SD --resolution 512x512 --attention naive --stack $st; done
for st in cuda-graph cuda-eager; do row "SD 1.5 UNet 512x512 CFG, fused attention (it/s)" $SD --resolution 512x512 --attention flash --stack $st; done
for st in cuda-graph cuda-eager; do row "SD 1.5 UNet 2048x1152 CFG, fused attention (it/s)" $SD --resolution 2048x1152 --attention flash --stack $st; done
