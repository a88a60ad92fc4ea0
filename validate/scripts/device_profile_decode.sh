#!/usr/bin/env bash
# Profiles the replay's fused decode attention (attn_decode_kernel) of held-out flash scenarios on the lent
# GPU machine with the carried binary: Nsight Compute's full set on one launch a scenario (the timed replay's
# first layers, after the layer-0 check's), clocks as found. Output in $OUT per scenario: ncu-<scenario>.txt
# (details), ncu-<scenario>-sass.csv (per SASS instruction: executions and warp stall samples).
# Usage: bash validate/scripts/device_profile_decode.sh [SCENARIO…]
set -u -o pipefail
OUT=${OUT:-/tmp/gpuperf-validate-out}
PRE=validate/.prebuilt
BIN=$PRE/gpuperf-validate
export LD_LIBRARY_PATH="$PRE/lib:${LD_LIBRARY_PATH:-}"
[ $# -gt 0 ] || set -- llama13b-decode-ctx512-gptq4-g128-flash llama3-8b-decode-ctx8192-gptq4-g128-flash
for sc in "$@"; do
  GPUPERF_VALIDATE_HOLDOUT_ONLY=$sc timeout 200 ncu --clock-control none --set full --import-source yes \
    -k regex:attn_decode --launch-skip 1 --launch-count 1 -f -o "/tmp/ncu-$sc" "$BIN" --only holdout --quick \
    --out /tmp/ncu-a.yaml > "$OUT/ncu-run-$sc.txt" 2>&1
  echo "$sc: ncu exit $?"
  ncu -i "/tmp/ncu-$sc.ncu-rep" --page details > "$OUT/ncu-$sc.txt" 2>&1
  ncu -i "/tmp/ncu-$sc.ncu-rep" --page source --csv --print-source sass > "$OUT/ncu-$sc-sass.csv" 2>&1
  grep -E "Duration|DRAM Throughput|Achieved Occupancy|Executed Instructions  |Average SM Active|Elapsed Cycles" \
    "$OUT/ncu-$sc.txt" | head -8
done
