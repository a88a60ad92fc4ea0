#!/usr/bin/env bash
# Builds gpuperf-validate for sm_90a on the lent GPU machine and runs the suite; logs and YAML go to $OUT.
# Falls back to plain nvcc when the project's CMake dependencies are missing there.
set -u -o pipefail
OUT=${OUT:-/tmp/gpuperf-validate-out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.limit,temperature.gpu \
  --format=csv 2>&1 | tee "$OUT/nvidia-smi.txt"
BIN=build-dev/bin/gpuperf-validate
if ! { cmake -S . -B build-dev -DGPUPERF_BUILD_TESTS=OFF -DCMAKE_CUDA_ARCHITECTURES=90a >"$OUT/build.log" 2>&1 &&
       cmake --build build-dev -j16 --target gpuperf-validate >>"$OUT/build.log" 2>&1; }; then
  echo "cmake build failed (see build.log); trying nvcc directly" | tee -a "$OUT/build.log"
  mkdir -p build-dev/nvcc && BIN=build-dev/nvcc/gpuperf-validate
  STATS=calibration/src/statistics.cpp
  if ! echo '#include <boost/math/distributions/students_t.hpp>' | g++ -std=c++20 -x c++ -fsyntax-only - 2>/dev/null; then
    # No Boost here: the suite uses median/quantile only; stub the Student-t function.
    sed -e 's|#include <boost/math/distributions/students_t.hpp>||' \
        -e '/double student_t_critical/,/^}/c\double student_t_critical(double, double) { return std::numeric_limits<double>::quiet_NaN(); }' \
        "$STATS" > build-dev/nvcc/statistics.cpp
    STATS=build-dev/nvcc/statistics.cpp
  fi
  for f in validate/host/measurement.cpp validate/host/peaks.cpp validate/src/nvml.cpp "$STATS"; do
    g++ -std=c++20 -O2 -Ivalidate/host -Icalibration/include -Imodel/include -c "$f" \
      -o "build-dev/nvcc/$(basename "$f" .cpp).o" 2>&1 | tee -a "$OUT/build.log" || exit 1
  done
  nvcc -std=c++17 -O3 -gencode=arch=compute_90a,code=sm_90a -lineinfo --expt-relaxed-constexpr \
    -Ivalidate/src -Ivalidate/host -Icalibration/include -Imodel/include \
    validate/main.cu validate/src/*.cu build-dev/nvcc/*.o \
    -o "$BIN" -lcublasLt -lcublas -ldl 2>&1 | tee -a "$OUT/build.log" || exit 1
fi
"$BIN" --out "$OUT/measurements.yaml" --emit-spec "$OUT/spec.yaml" "$@" 2>&1 | tee "$OUT/log.txt"
rc=${PIPESTATUS[0]}
echo "gpuperf-validate exit code: $rc" | tee -a "$OUT/log.txt"
nvidia-smi --query-gpu=clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv 2>&1 | tee -a "$OUT/nvidia-smi.txt"
exit "$rc"
