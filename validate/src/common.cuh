// common: what every benchmark of gpuperf-validate shares — checked CUDA/cuBLAS calls that throw with
// file, line and call text, device buffers, event timing of batches of launches, and the run context
// that collects measurements and prints one progress line per measurement.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "measurement.hpp"
#include "nvml.hpp"
#include "peaks.hpp"
#include "replay_plan.hpp"

namespace gpuperf::validate {

using namespace ::gpuperf_replay;

[[noreturn]] void throw_cuda(const char* call, const char* file, int line, const std::string& what);

#define GV_CUDA(call)                                                                          \
  do {                                                                                         \
    cudaError_t gv_err_ = (call);                                                              \
    if (gv_err_ != cudaSuccess)                                                                \
      ::gpuperf::validate::throw_cuda(#call, __FILE__, __LINE__, cudaGetErrorString(gv_err_)); \
  } while (0)
#define GV_CUBLAS(call)                                                                             \
  do {                                                                                              \
    cublasStatus_t gv_st_ = (call);                                                                 \
    if (gv_st_ != CUBLAS_STATUS_SUCCESS)                                                            \
      ::gpuperf::validate::throw_cuda(#call, __FILE__, __LINE__,                                    \
                                      "cublas status " + std::to_string(static_cast<int>(gv_st_))); \
  } while (0)
// Programmatic dependent launch (sm_90): when `pdl`, `cfg` carries the programmatic-stream-serialization
// attribute, held in `attr` (which must outlive the launch call).
inline void allow_pdl(cudaLaunchConfig_t& cfg, cudaLaunchAttribute& attr, bool pdl) {
  attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr.val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = &attr;
  cfg.numAttrs = pdl ? 1 : 0;
}

// After a kernel launch: the launch error now, not at the next synchronisation.
#define GV_LAUNCHED() GV_CUDA(cudaGetLastError())

// A device allocation that frees itself.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) : count_(count) {
    if (count) GV_CUDA(cudaMalloc(reinterpret_cast<void**>(&ptr_), count * sizeof(T)));
  }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), count_(o.count_) { o.ptr_ = nullptr, o.count_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(count_, o.count_);
    return *this;
  }
  T* get() const { return ptr_; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return count_ * sizeof(T); }

 private:
  T* ptr_ = nullptr;
  std::size_t count_ = 0;
};

struct Options {
  bool quick = false;               // fewer sizes and repeats (a smoke run)
  std::vector<std::string> only;    // suites to run; empty = all
  std::string specs_dir = "specs";  // where the replay loads the model specs from
  bool wants(const std::string& suite) const;
};

// Everything a suite needs: the card, its ceilings, where results go.
struct Context {
  DeviceInfo info;
  Peaks peaks;
  Options opt;
  cudaStream_t stream = nullptr;
  std::vector<Measurement> results;
  std::function<void()> sample_clocks;  // reads NVML clocks into info (no-op without NVML)
  Nvml* nvml = nullptr;                 // for SmClockSampler (nullptr without NVML)
  // Checks that failed: the measurement is left out, and the program ends with exit code 4.
  std::vector<std::string> failures;
  void fail(const std::string& what);
  // Workload-level results of the replay (written with --replay-out).
  std::vector<ReplayPoint> replay_points;
  // The same for the held-out scenarios (holdout suite; written beside the replay's, never calibrated on).
  std::vector<ReplayPoint> holdout_points;

  // Records a measurement and prints its progress line on stderr (with the refusal verdict).
  void add(Measurement m);
  // A measured figure other suites reuse (the DRAM copy bandwidth, say); NaN if absent.
  double value_of(const std::string& id) const;
};

// Seconds per launch: `reps` samples, each one event-timed batch of `inner` calls of `launch(i)` after
// `warmup` batches. `launch` gets a running index so callers can rotate buffers. With `clocks`, the SM
// clock is sampled from after the warm-up until the last timed batch has finished.
std::vector<double> time_batches(cudaStream_t s, int reps, int inner, const std::function<void(int)>& launch,
                                 int warmup = 1, SmClockSampler* clocks = nullptr);
// Seconds per call when `record`'s launches are captured once into a CUDA graph and the graph is
// replayed (`calls` calls per graph). A failed capture is ended so the stream stays usable.
std::vector<double> time_graph(cudaStream_t s, int reps, int calls, const std::function<void()>& record,
                               SmClockSampler* clocks = nullptr);
// Puts a kernel on `s` that keeps the GPU busy for `ms` (one thread spinning on %globaltimer), so that
// what the host issues behind it waits in the stream's queue while the host is timed.
void launch_spin(cudaStream_t s, double ms);
// Host time per call of `call` while the GPU is ahead: each sample issues `batch` calls behind a spin
// kernel of `spin_ms` (host clock around the batch, microseconds per call). A sample whose batch took
// the host longer than 0.8 x spin_ms (the GPU may have run dry, so a call may have waited) is dropped
// and counted in `dropped`; `batch_ms` holds the kept samples' host time per batch.
struct QueuedHostTimes {
  std::vector<double> us_per_call;
  std::vector<double> batch_ms;
  int dropped = 0;
};
QueuedHostTimes host_time_behind_spin(cudaStream_t s, int reps, int batch, double spin_ms,
                                      const std::function<void()>& call, int warmup = 2);
// Adds `q` as a host_dispatch_us measurement (with `batch_host_ms` and `samples_dropped` added to
// `conditions`) if it is sane: at most half of the `reps` samples dropped and every kept sample within
// (0.05, 1000) us per call; else records a failed check.
void add_queued_host_cost(Context& ctx, const std::string& id, const QueuedHostTimes& q, int reps,
                          std::vector<Condition> conditions);
// Picks `inner` so that one batch takes at least `min_batch_s` (estimated from one timed call).
int pick_inner(cudaStream_t s, const std::function<void(int)>& launch, double min_batch_s, int max_inner = 100000);

// Deterministic pseudo-random numbers on the device and host alike (the same function of the index).
__host__ __device__ inline std::uint32_t hash_u32(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<std::uint32_t>(x);
}
// Uniform in [-1, 1).
__host__ __device__ inline float hash_uniform(std::uint64_t i, std::uint32_t seed) {
  return static_cast<float>(hash_u32(i * 0x9E3779B97F4A7C15ULL + seed) >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

// Suites (one file each).
void run_memory(Context& ctx);
void run_gemm(Context& ctx);
void run_compute(Context& ctx);  // FP32 FMA rate, launch latency, dispatch and graph launch cost
void run_gemv(Context& ctx);
void run_replay(Context& ctx);
// Held-out workload replays (replay_plan.hpp holdout_scenarios) into Context::holdout_points.
void run_holdout(Context& ctx);

}  // namespace gpuperf::validate
