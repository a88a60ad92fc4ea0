#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan, asserts on) into build-fuzz/ (or $BUILD_DIR) and
# runs each for SECONDS (default 60), one after the other. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# Targets: arch gpu model stack calibration measurements scenario cli (default: all).
# Corpora grow in $BUILD_DIR/fuzz-corpus/TARGET (seeded read-only from the folders in fuzz/seeds.txt);
# crashing inputs land in $BUILD_DIR/fuzz-artifacts/TARGET/, logs in $BUILD_DIR/fuzz-logs/TARGET.log.
# Exits non-zero when any target finds a crash, a timeout, a leak or an out-of-memory.
# FUZZ_NO_BUILD=1 skips the build; FUZZ_JOBS sets the build's parallelism (default: nproc); FUZZ_BIN runs
# the targets from another folder (default: $BUILD_DIR/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-60}
shift || true
all=(arch gpu model stack calibration measurements scenario cli)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
BUILD_DIR=${BUILD_DIR:-build-fuzz}
case $BUILD_DIR in /*) out=$BUILD_DIR ;; *) out=$root/$BUILD_DIR ;; esac
if [ -z "${FUZZ_NO_BUILD:-}" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DGPUPERF_FUZZ=ON -DGPUPERF_BUILD_TESTS=OFF \
    -DGPUPERF_ENABLE_CUDA=OFF >/dev/null
  cmake --build "$BUILD_DIR" -j "${FUZZ_JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}"
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
printf '%-14s %8s %12s %8s %s\n' target seconds executions corpus result
for t in "${targets[@]}"; do
  exe="${FUZZ_BIN:-$BUILD_DIR/bin}/fuzz_$t"
  [ -x "$exe" ] || { echo "fuzz: no target '$t' ($exe)" >&2; exit 2; }
  seeds=()
  read -r -a seeds <<<"$(awk -v t="$t" '$1 == t { $1 = ""; print }' fuzz/seeds.txt)"
  seed_dirs=()
  for d in "${seeds[@]}"; do [ -d "$d" ] && seed_dirs+=("$root/$d"); done
  dict=fuzz/yaml.dict
  [ "$t" = cli ] && dict=fuzz/cli.dict
  # Absolute ($out): a target may change its working folder while an input runs.
  corpus="$out/fuzz-corpus/$t"
  artifacts="$out/fuzz-artifacts/$t"
  log="$out/fuzz-logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  start=$(date +%s)
  rc=0
  # libFuzzer may end without running atexit handlers: the targets' temp folders go under $out.
  rm -rf "$out/fuzz-tmp/$t" && mkdir -p "$out/fuzz-tmp/$t"
  TMPDIR="$out/fuzz-tmp/$t" "$exe" "$corpus" "${seed_dirs[@]}" -dict="$root/$dict" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1 || rc=$?
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  size=$(find "$corpus" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    result="FAILED (exit $rc; see $log and $artifacts/)"
    failed+=("$t")
  fi
  printf '%-14s %8s %12s %8s %s\n' "$t" "$took" "${execs:-?}" "$size" "$result"
done
if ((${#failed[@]})); then
  echo "fuzz: findings in: ${failed[*]}" >&2
  exit 1
fi
