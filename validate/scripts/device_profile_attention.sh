#!/usr/bin/env bash
# Profiles the replay's decode-attention kernels of one held-out scenario on the lent GPU machine (after
# device_run.sh, which leaves the binary): Nsight Compute's full set on the first launches of each kernel
# (layer 0's check: scores, softmax, P·V), clocks as found. Usage:
#   SCENARIO=llama3-8b-decode-ctx8192 bash validate/scripts/device_profile_attention.sh
# Output in $OUT: ncu-attn.txt (details), ncu-attn-raw.csv (key metrics).
set -u -o pipefail
OUT=${OUT:-/tmp/gpuperf-validate-out}
SCENARIO=${SCENARIO:-llama3-8b-decode-ctx8192}
PRE=validate/.prebuilt
BIN=$PRE/gpuperf-validate
[ -x "$BIN" ] || BIN=build-dev/nvcc/gpuperf-validate
[ -x "$BIN" ] || BIN=build-dev/bin/gpuperf-validate
export LD_LIBRARY_PATH="$PRE/lib:${LD_LIBRARY_PATH:-}"
GPUPERF_VALIDATE_HOLDOUT_ONLY=$SCENARIO timeout 400 ncu --clock-control none --set full -k regex:attn_ \
  --launch-count "${LAUNCHES:-3}" -f -o /tmp/ncu-attn "$BIN" --only holdout --quick --out /tmp/ncu-a.yaml \
  > "$OUT/ncu-run.txt" 2>&1
echo "ncu exit $?"; tail -3 "$OUT/ncu-run.txt"
ncu -i /tmp/ncu-attn.ncu-rep --page details > "$OUT/ncu-attn.txt" 2>&1
ncu -i /tmp/ncu-attn.ncu-rep --page raw --csv --metrics \
  gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_read.sum.per_second,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__throughput.avg.pct_of_peak_sustained_elapsed,smsp__inst_executed.sum,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__average_warp_latency_issue_stalled_long_scoreboard.ratio,launch__registers_per_thread,launch__occupancy_limit_registers,lts__t_sectors_op_write.sum,l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum \
  > "$OUT/ncu-attn-raw.csv" 2>&1
cut -c1-600 "$OUT/ncu-attn-raw.csv"
