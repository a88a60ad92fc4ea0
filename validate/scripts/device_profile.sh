#!/usr/bin/env bash
# Profiles the 4-bit GEMV kernels on the lent GPU machine (after device_run.sh, which leaves the binary):
# instruction mix of their SASS (cuobjdump) and one Nsight Compute report per checked launch of the
# LLaMA-13B q/k/v/o shape (GPUPERF_VALIDATE_GEMV_CHECK_ONLY=1: only the checked launches run; clocks as
# found). Output in $OUT: gemv-sass.txt, ncu-gemv.txt.
set -u -o pipefail
OUT=${OUT:-/tmp/gpuperf-validate-out}
PRE=validate/.prebuilt
BIN=$PRE/gpuperf-validate
[ -x "$BIN" ] || BIN=build-dev/nvcc/gpuperf-validate
[ -x "$BIN" ] || BIN=build-dev/bin/gpuperf-validate
export LD_LIBRARY_PATH="$PRE/lib:${LD_LIBRARY_PATH:-}"
# SASS of the GEMV kernels: per kernel, the instruction count by opcode.
cuobjdump -sass "$BIN" 2>/dev/null | awk '
  /Function :/ { name = $3; keep = (name ~ /gemv_q4_(stream|tiles_db)/) }
  keep && /^ +\/\*[0-9a-f]+\*\// { print name "\t" $2 }' | sed 's/\t\([A-Z0-9_]*\)\..*/\t\1/; s/;//' |
  sort | uniq -c | sort -k2,2 -k1,1nr > "$OUT/gemv-sass.txt"
echo "sass: $(wc -l < "$OUT/gemv-sass.txt") lines"
KNAMES=${KNAMES:-'regex:gemv_q4_(tiles_db|stream)'}
GPUPERF_VALIDATE_GEMV_CHECK_ONLY=1 timeout 300 ncu --clock-control none --set full -k "$KNAMES" --launch-count "${LAUNCHES:-8}" \
  -f -o /tmp/ncu-gemv "$BIN" --only gemv --out /tmp/ncu-m.yaml > /tmp/ncu-run.txt 2>&1
echo "ncu exit $?"; tail -5 /tmp/ncu-run.txt
ncu -i /tmp/ncu-gemv.ncu-rep --page details > "$OUT/ncu-gemv.txt" 2>&1
ncu -i /tmp/ncu-gemv.ncu-rep --page raw --csv --metrics \
  gpu__time_duration.sum,dram__bytes_read.sum.per_second,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__throughput.avg.pct_of_peak_sustained_elapsed,smsp__inst_executed.sum,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__average_warp_latency_issue_stalled_long_scoreboard.ratio,smsp__issue_active.avg.pct_of_peak_sustained_active,launch__registers_per_thread,sm__cycles_elapsed.avg.per_second \
  > "$OUT/ncu-raw.csv" 2>&1
cat "$OUT/ncu-raw.csv" | cut -c1-400
