// gpuperf-validate: measures the card it runs on (memory bandwidth and L2, tensor-core GEMM, FP32 FMA,
// launch costs, a 4-bit weight-only GEMV, a LLaMA decode replay) and writes a measurement YAML. Every
// kernel's output is checked before it is timed; a figure above the card's theoretical peak is refused.
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <sstream>
#include <string>

#include "attention.cuh"
#include "common.cuh"
#include "gemv_q4.cuh"

using namespace gpuperf::validate;

namespace {

const char* kUsage =
    "usage: gpuperf-validate [--out FILE] [--emit-spec FILE] [--card-id ID] [--device N] [--quick]\n"
    "                        [--only memory,gemm,compute,gemv,attention,replay,holdout] [--specs DIR]\n"
    "                        [--replay-out FILE]\n"
    "  --out FILE        write the measurement YAML (atomically)\n"
    "  --emit-spec FILE  write a specs/gpus-style YAML for this card\n"
    "  --card-id ID      id for the card (default: derived from the device name)\n"
    "  --quick           fewer sizes and repeats (smoke run)\n"
    "  --specs DIR       the specs folder the replay loads models from (default: specs)\n"
    "  --replay-out FILE write the replay's workload-level points (tokens/s, it/s); the file's id is its\n"
    "                    stem; a folder: <folder>/<card-id>-replay.yaml. The held-out replays (holdout:\n"
    "                    scenarios no calibration set contains) go beside it, to <stem>-holdout.yaml\n"
    "Exit: 0 ok; 1 error; 2 usage or no GPU; 3 a figure was refused (above the card's peak), nothing written;\n"
    "      4 a correctness check failed (the file is written without those figures).\n";

std::string today_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

DeviceInfo read_device(int dev) {
  DeviceInfo d;
  cudaDeviceProp p{};
  GV_CUDA(cudaGetDeviceProperties(&p, dev));
  d.name = p.name;
  d.cc_major = p.major;
  d.cc_minor = p.minor;
  d.sm_count = p.multiProcessorCount;
  int khz = 0;
  GV_CUDA(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, dev));
  d.sm_clock_max_mhz = khz / 1000.0;
  GV_CUDA(cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, dev));
  d.memory_clock_mhz = khz / 1000.0;
  d.bus_width_bits = p.memoryBusWidth;
  d.l2_bytes = p.l2CacheSize;
  d.memory_bytes = static_cast<double>(p.totalGlobalMem);
  d.max_threads_per_sm = p.maxThreadsPerMultiProcessor;
  GV_CUDA(cudaDriverGetVersion(&d.cuda_driver_version));
  GV_CUDA(cudaRuntimeGetVersion(&d.cuda_runtime_version));
  char bus[32] = {};
  GV_CUDA(cudaDeviceGetPCIBusId(bus, sizeof bus, dev));
  d.pci_bus_id = bus;
  return d;
}

// The replay's workload-level points as a specs/measurements points file; with `holdout`, the held-out
// replays' points (scenarios no calibration set contains).
ReplayPointsFile replay_points_file(const Context& ctx, const std::string& card_id, const std::string& date,
                                    const std::string& path, bool holdout = false) {
  const DeviceInfo& d = ctx.info;
  ReplayPointsFile f;
  f.id = std::filesystem::path(path).stem().string();
  f.gpu = card_id;
  const std::string run_on = d.name + ", driver " + (d.driver.empty() ? std::string("?") : d.driver) +
                             ", CUDA runtime " + std::to_string(d.cuda_runtime_version) + ", " + date + ". ";
  const std::string gemv = "4-bit GEMVs by gpuperf-validate's own kernel " + to_string(default_gemv_kernel());
  if (!holdout) {
    f.description =
        "Workload replay by gpuperf-validate: the model library's own op lists run as CUDA kernels on the card "
        "(tokens/s or it/s = 1 / measured step time).";
    f.conditions = run_on + "LLaMA-13B decode step at context 512 (40 layers; " + gemv +
                   ", fp16 GEMVs and lm_head by cuBLAS; naive attention over the fp16 KV cache; small ops as "
                   "byte-moving kernels of the op's bytes). SD 1.5 UNet step CFG batch 2 at 512x512 and 2048x1152: "
                   "convs and matmuls as cuBLAS GEMMs, attention naive (scores and PV as cuBLAS GEMMs, softmax "
                   "kernel; 512x512 only) or flash (gpuperf-validate's fused kernel: mma.sync, online softmax), "
                   "norms/elementwise as byte-moving kernels. cuda-graph = the step "
                   "captured once and replayed; cuda-graph-pdl = the same graph with programmatic dependent launch "
                   "(LLaMA 4-bit: the best of PDL on the 4-bit GEMVs and on every own kernel); cuda-eager = the "
                   "same kernels launched one by one from C++ (no Python).";
    f.points = ctx.replay_points;
  } else {
    f.description =
        "Held-out workload replays by gpuperf-validate: scenarios that no calibration set contains (other LLaMA "
        "sizes and contexts, other SD resolutions and batches), run like the replay's and kept out of every fit, "
        "to check the model's predictions (tokens/s or it/s = 1 / measured step time).";
    f.conditions = run_on + "Decode steps at batch 1 (" + gemv +
                   ", fp16 GEMVs and lm_head by cuBLAS, attention over the fp16 KV cache naive (scores, softmax and "
                   "P.V kernels) or, in the scenarios with attention: flash, gpuperf-validate's fused decode kernel "
                   "(positions split over blocks, combined by the last), small ops as byte-moving kernels); SD 1.5 "
                   "UNet steps with CFG, convs and matmuls as cuBLAS GEMMs, attention by gpuperf-validate's fused "
                   "kernel. Stacks as in the replay file.";
    f.points = ctx.holdout_points;
  }
  f.sources = {"measured by gpuperf-validate on " + d.name + ", " + date + " (validate/RUNS.md)"};
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path, spec_path, card_id, replay_path;
  int device = 0;
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* what) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gpuperf-validate: %s needs a value\n%s", what, kUsage);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--out")
      out_path = value("--out");
    else if (a == "--emit-spec")
      spec_path = value("--emit-spec");
    else if (a == "--card-id")
      card_id = value("--card-id");
    else if (a == "--device")
      device = std::atoi(value("--device").c_str());
    else if (a == "--specs")
      opt.specs_dir = value("--specs");
    else if (a == "--replay-out")
      replay_path = value("--replay-out");
    else if (a == "--quick")
      opt.quick = true;
    else if (a == "--only") {
      std::stringstream ss(value("--only"));
      for (std::string s; std::getline(ss, s, ',');) opt.only.push_back(s);
    } else if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 0;
    } else {
      std::fprintf(stderr, "gpuperf-validate: unknown argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }

  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    std::fprintf(stderr, "gpuperf-validate: no CUDA GPU found (%s)\n",
                 err == cudaSuccess ? "no device" : cudaGetErrorString(err));
    return 2;
  }
  if (device < 0 || device >= count) {
    std::fprintf(stderr, "gpuperf-validate: --device %d: only %d GPU(s)\n", device, count);
    return 2;
  }

  const auto t0 = std::chrono::steady_clock::now();
  Nvml* nvml = nullptr;
  Context ctx;
  ctx.opt = opt;
  try {
    GV_CUDA(cudaSetDevice(device));
    ctx.info = read_device(device);
    nvml = nvml_open(ctx.info.pci_bus_id);
    nvml_read_static(nvml, ctx.info);
    ctx.sample_clocks = [&] { nvml_sample_clocks(nvml, ctx.info); };
    ctx.nvml = nvml;
    ctx.peaks = compute_peaks(ctx.info);
    if (card_id.empty()) card_id = card_id_for(ctx.info.name);
    GV_CUDA(cudaStreamCreateWithFlags(&ctx.stream, cudaStreamNonBlocking));
    const DeviceInfo& d = ctx.info;
    std::fprintf(stderr,
                 "gpuperf-validate: %s (%s), cc %d.%d, %d SMs, %.0f MHz, %.0f MHz x %d bit, L2 %.0f MiB, %.1f GiB, "
                 "driver %s, runtime %d, NVML %s\n",
                 d.name.c_str(), card_id.c_str(), d.cc_major, d.cc_minor, d.sm_count, d.sm_clock_max_mhz,
                 d.memory_clock_mhz, d.bus_width_bits, d.l2_bytes / 1048576.0, d.memory_bytes / 1073741824.0,
                 d.driver.empty() ? "?" : d.driver.c_str(), d.cuda_runtime_version, nvml ? "yes" : "no");
    std::fprintf(stderr, "peaks: DRAM %.1f GB/s, FP32 %.1f TFLOP/s, fp16 tensor %.1f TFLOP/s at %.0f MHz\n",
                 ctx.peaks.dram_gb_s, ctx.peaks.fp32_tflops.value_or(0), ctx.peaks.fp16_tflops.value_or(0),
                 ctx.peaks.clock_mhz);

    // A suite that throws loses its remaining measurements, not the others'.
    const std::pair<const char*, void (*)(Context&)> suites[] = {
        {"memory", run_memory},       {"gemm", run_gemm},     {"compute", run_compute}, {"gemv", run_gemv},
        {"attention", run_attention}, {"replay", run_replay}, {"holdout", run_holdout}};
    for (const auto& [name, fn] : suites) {
      if (!opt.wants(name)) continue;
      try {
        fn(ctx);
      } catch (const std::exception& e) {
        ctx.fail(std::string(name) + ": " + e.what());
        cudaGetLastError();  // clear a sticky launch error if it is not fatal
      }
    }
    GV_CUDA(cudaStreamDestroy(ctx.stream));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpuperf-validate: error: %s\n", e.what());
    nvml_close(nvml);
    return 1;
  }
  nvml_close(nvml);

  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "gpuperf-validate: %zu measurements in %.1f s\n", ctx.results.size(), secs);

  auto refused = refusals(ctx.results, ctx.peaks);
  if (!refused.empty()) {
    for (const auto& r : refused) std::fprintf(stderr, "gpuperf-validate: REFUSED: %s\n", r.c_str());
    std::fprintf(stderr, "gpuperf-validate: %zu figure(s) refused; nothing written\n", refused.size());
    return 3;
  }

  MeasurementFile file;
  file.date = today_utc();
  file.card_id = card_id;
  file.device = ctx.info;
  file.peaks = peaks_for_file(ctx.peaks);
  file.micro = ctx.results;
  try {
    if (!out_path.empty()) {
      write_file_atomically(out_path, to_yaml(file));
      std::fprintf(stderr, "gpuperf-validate: wrote %s\n", out_path.c_str());
    }
    if (!spec_path.empty()) {
      write_file_atomically(spec_path, emit_gpu_spec(ctx.info, card_id, file.date));
      std::fprintf(stderr, "gpuperf-validate: wrote %s\n", spec_path.c_str());
    }
    if (!replay_path.empty() && std::filesystem::is_directory(replay_path))
      replay_path = (std::filesystem::path(replay_path) / (card_id + "-replay.yaml")).string();
    if (!replay_path.empty() && !ctx.replay_points.empty()) {
      write_file_atomically(replay_path, to_yaml(replay_points_file(ctx, card_id, file.date, replay_path)));
      std::fprintf(stderr, "gpuperf-validate: wrote %s\n", replay_path.c_str());
    }
    if (!replay_path.empty() && !ctx.holdout_points.empty()) {
      const std::filesystem::path rp(replay_path);
      const std::string holdout_path = (rp.parent_path() / (rp.stem().string() + "-holdout.yaml")).string();
      write_file_atomically(holdout_path, to_yaml(replay_points_file(ctx, card_id, file.date, holdout_path, true)));
      std::fprintf(stderr, "gpuperf-validate: wrote %s\n", holdout_path.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpuperf-validate: error: %s\n", e.what());
    return 1;
  }
  if (out_path.empty()) std::fputs(to_yaml(file).c_str(), stdout);
  if (!ctx.failures.empty()) {
    for (const auto& f : ctx.failures) std::fprintf(stderr, "gpuperf-validate: CHECK FAILED: %s\n", f.c_str());
    std::fprintf(stderr, "gpuperf-validate: %zu check(s) failed; those figures are not in the file\n",
                 ctx.failures.size());
    return 4;
  }
  return 0;
}
