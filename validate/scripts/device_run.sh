#!/usr/bin/env bash
# Builds gpuperf-validate for sm_90a on the lent GPU machine and runs the suite; logs and YAML go to $OUT.
# Uses a carried prebuilt binary when it runs there; else builds (CMake, falling back to plain nvcc when
# the project's CMake dependencies are missing there).
set -u -o pipefail
OUT=${OUT:-/tmp/gpuperf-validate-out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.limit,temperature.gpu \
  --format=csv 2>&1 | tee "$OUT/nvidia-smi.txt"
BIN=build-dev/bin/gpuperf-validate
# A binary built here for sm_90a and carried (validate/.prebuilt, with libyaml-cpp) saves the build.
PRE=validate/.prebuilt
if [ -x "$PRE/gpuperf-validate" ] && LD_LIBRARY_PATH="$PRE/lib:${LD_LIBRARY_PATH:-}" "$PRE/gpuperf-validate" --help \
    >/dev/null 2>"$OUT/build.log"; then
  echo "using the carried binary $PRE/gpuperf-validate" | tee -a "$OUT/build.log"
  export LD_LIBRARY_PATH="$PRE/lib:${LD_LIBRARY_PATH:-}"
  BIN=$PRE/gpuperf-validate
elif ! { cmake -S . -B build-dev -DGPUPERF_BUILD_TESTS=OFF -DCMAKE_CUDA_ARCHITECTURES=90a >"$OUT/build.log" 2>&1 &&
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
  # The replay needs the model library and the measurement loader, hence yaml-cpp (carried headers and
  # library in $PRE when the machine has none).
  SRCS="validate/host/measurement.cpp validate/host/peaks.cpp validate/host/replay_plan.cpp validate/src/nvml.cpp
        $STATS calibration/src/io/measurements_loader.cpp $(ls model/src/*.cpp model/src/io/*.cpp model/src/workloads/*.cpp)"
  echo $SRCS | tr ' ' '\n' | xargs -P 16 -I{} sh -c \
    'g++ -std=c++20 -O2 -I'"$PRE"'/include -Ivalidate/host -Icalibration/include -Imodel/include -c {} -o build-dev/nvcc/$(echo {} | tr / _).o' \
    2>&1 | tee -a "$OUT/build.log"
  YAML_LIB=-lyaml-cpp
  [ -e "$PRE/lib/libyaml-cpp.so.0.7" ] && YAML_LIB="$PRE/lib/libyaml-cpp.so.0.7" && export LD_LIBRARY_PATH="$PRE/lib:${LD_LIBRARY_PATH:-}"
  nvcc -std=c++17 -O3 -gencode=arch=compute_90a,code=sm_90a -lineinfo --expt-relaxed-constexpr \
    -Ivalidate/src -Ivalidate/host -Icalibration/include -Imodel/include \
    validate/main.cu validate/src/*.cu build-dev/nvcc/*.o \
    -o "$BIN" $YAML_LIB -lcublasLt -lcublas -ldl -lpthread 2>&1 | tee -a "$OUT/build.log" || exit 1
fi
"$BIN" --out "$OUT/measurements.yaml" --emit-spec "$OUT/spec.yaml" --replay-out "$OUT" "$@" 2>&1 | tee "$OUT/log.txt"
rc=${PIPESTATUS[0]}
echo "gpuperf-validate exit code: $rc" | tee -a "$OUT/log.txt"
nvidia-smi --query-gpu=clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv 2>&1 | tee -a "$OUT/nvidia-smi.txt"
exit "$rc"
