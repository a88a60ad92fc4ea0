#!/usr/bin/env bash
# Per-kernel GPU times of one gpuperf-validate suite on the lent GPU machine (after device_run.sh, which
# leaves the binary), from an Nsight Systems trace with every CUDA-graph node traced: for each kernel name,
# grid and block, the launch count and the median, minimum and maximum duration. Selects kernels by a
# regular expression on their names (KERNELS, default the replay's decode attention). Usage:
#   KERNELS='attn_' bash validate/scripts/device_kernel_times.sh holdout
# Output in $OUT: kernel-times.csv (name, grid, block, launches, median/min/max µs), nsys-run.txt.
set -u -o pipefail
OUT=${OUT:-/tmp/gpuperf-validate-out}
SUITE=${1:-holdout}
KERNELS=${KERNELS:-attn_}
PRE=validate/.prebuilt
BIN=$PRE/gpuperf-validate
[ -x "$BIN" ] || BIN=build-dev/nvcc/gpuperf-validate
[ -x "$BIN" ] || BIN=build-dev/bin/gpuperf-validate
export LD_LIBRARY_PATH="$PRE/lib:${LD_LIBRARY_PATH:-}"
NSYS=$(command -v nsys || ls /usr/local/cuda/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys \
  /opt/nvidia/nsight-compute/*/host/target-linux-x64/nsys 2>/dev/null | head -1)
[ -n "$NSYS" ] || { echo "no nsys on this machine"; exit 3; }
# POST_ONLY=1 summarises the trace a previous call left in /tmp (the machine still warm).
if [ "${POST_ONLY:-0}" != 1 ]; then
  rm -f /tmp/kt.qdstrm /tmp/kt.nsys-rep /tmp/kt*.csv
  timeout 400 "$NSYS" profile --cuda-graph-trace=node --trace=cuda -f true -o /tmp/kt "$BIN" --only "$SUITE" \
    --out /tmp/kt-m.yaml > "$OUT/nsys-run.txt" 2>&1
  echo "nsys exit $?"
fi
# The nsys that ships inside Nsight Compute leaves the raw stream: its importer makes the report.
if [ ! -e /tmp/kt.nsys-rep ] && [ -e /tmp/kt.qdstrm ]; then
  IMP=$(ls /opt/nvidia/nsight-compute/*/host/*/QdstrmImporter 2>/dev/null | head -1)
  [ -n "$IMP" ] && "$IMP" -i /tmp/kt.qdstrm > "$OUT/import.txt" 2>&1
fi
"$NSYS" stats --report cuda_gpu_trace --format csv -o /tmp/kt /tmp/kt.nsys-rep > /dev/null 2>&1
CSV=$(ls /tmp/kt*cuda_gpu_trace*.csv | head -1)
# Columns by header name; durations in ns. Sorted by kernel, grid, block, then duration for the medians.
python3 - "$CSV" "$KERNELS" > "$OUT/kernel-times.csv" <<'PY'
import csv, re, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
pat = re.compile(sys.argv[2])
groups = {}
for r in rows:
    name = r.get("Name", "")
    if not pat.search(name):
        continue
    key = (name.split("(")[0], f'{r["GrdX"]}x{r["GrdY"]}x{r["GrdZ"]}', f'{r["BlkX"]}x{r["BlkY"]}x{r["BlkZ"]}')
    groups.setdefault(key, []).append(float(r["Duration (ns)"]) / 1000)
print("kernel,grid,block,launches,median_us,min_us,max_us")
for (n, g, b), d in sorted(groups.items()):
    print(f"{n},{g},{b},{len(d)},{statistics.median(d):.2f},{min(d):.2f},{max(d):.2f}")
PY
cat "$OUT/kernel-times.csv"
