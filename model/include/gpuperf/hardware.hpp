// hardware: plain descriptions of micro-architectures and cards, as loaded from specs/, plus the
// ceilings derived from them (bandwidth, peak rates, ridge points). Pure values, no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpuperf {

// A tensor-core mode: operand dtype plus accumulate type. Rates differ by both.
enum class TensorMode : std::size_t {
  fp16_acc16,
  fp16_acc32,
  bf16_acc32,
  tf32,
  fp8_acc16,
  fp8_acc32,
  int8,
  int4,
};
inline constexpr std::size_t kTensorModeCount = 8;
inline constexpr std::array<TensorMode, kTensorModeCount> kAllTensorModes = {
    TensorMode::fp16_acc16, TensorMode::fp16_acc32, TensorMode::bf16_acc32, TensorMode::tf32,
    TensorMode::fp8_acc16,  TensorMode::fp8_acc32,  TensorMode::int8,       TensorMode::int4};

std::string_view to_string(TensorMode mode);
std::optional<TensorMode> tensor_mode_from_string(std::string_view name);
// The mode for an operand dtype and accumulate type as vendors print them ("fp16", "fp32").
std::optional<TensorMode> tensor_mode_for(std::string_view dtype, std::string_view accumulate);
// GeForce boards halve exactly these modes.
bool uses_fp32_accumulate(TensorMode mode);
// Integer modes are quoted in TOPS rather than TFLOPS.
bool is_integer_mode(TensorMode mode);

struct ArchSpec {
  std::string id;
  std::string name;
  std::string compute_capability;
  int fp32_lanes_per_sm = 0;
  int warp_schedulers_per_sm = 0;  // each issues one warp instruction (32 threads) per clock
  // Special-function unit (MUFU) results per clock per SM: exponentials, reciprocals, square roots.
  int sfu_results_per_clk_per_sm = 0;
  int tensor_cores_per_sm = 0;
  int max_threads_per_sm = 0;
  int shared_memory_per_sm_kib = 0;
  int registers_per_sm_kib = 0;
  double l2_bytes_per_clk_per_sm = 0;
  // Dense FLOP per clock per SM at the die's full rate; nullopt = the hardware lacks the mode.
  std::array<std::optional<double>, kTensorModeCount> tensor_dense_flop_per_clk_per_sm{};
  std::vector<std::string> sources;
  std::string notes;
};

enum class Segment { geforce, workstation, datacenter };
std::string_view to_string(Segment segment);

struct MemorySpec {
  std::string type;
  int bus_width_bits = 0;
  double data_rate_gbps = 0;
  double capacity_gib = 0;
};

struct PublishedTensorPeak {
  TensorMode mode = TensorMode::fp16_acc16;
  double tflops = 0;  // TOPS for integer modes
};

struct PublishedFigures {
  double memory_bandwidth_gb_s = 0;
  std::optional<double> fp32_tflops;
  std::vector<PublishedTensorPeak> tensor;
};

struct GpuSpec {
  std::string id;
  std::string name;
  std::string arch_id;
  std::string chip;
  Segment segment = Segment::geforce;
  int sm_count = 0;
  int cuda_cores = 0;
  int tensor_cores = 0;
  double base_clock_mhz = 0;
  double boost_clock_mhz = 0;
  // Top boost clock where the vendor quotes non-tensor peaks at a higher clock than tensor peaks (Hopper).
  std::optional<double> max_boost_clock_mhz;
  bool tensor_fp32_accumulate_half = false;
  MemorySpec memory;
  double l2_mib = 0;
  double tdp_w = 0;
  double launch_price_usd = 0;
  std::string launch_price_basis;  // "msrp" or "street-estimate" (no list price exists)
  std::string launch_date;         // YYYY-MM-DD
  // Vendor figures for cross-checking; empty for hypothetical cards.
  std::optional<PublishedFigures> published;
  std::map<std::string, std::string> survey;  // what the survey printed where it differs
  std::vector<std::string> sources;
  std::string notes;
};

// A card with its architecture resolved: everything the model needs about one GPU.
struct Gpu {
  GpuSpec spec;
  ArchSpec arch;
};

// ---- derived ceilings (never typed into specs) ----

double memory_bandwidth_gb_s(const GpuSpec& gpu);
// FP32 FMA peak at the top boost clock (max_boost_clock_mhz where given).
double fp32_peak_tflops(const GpuSpec& gpu);
// Dense tensor peak at boost clock, honouring the board's fp32-accumulate rate; nullopt = unsupported.
std::optional<double> tensor_peak_tflops(const Gpu& gpu, TensorMode mode);
double l2_bandwidth_gb_s(const Gpu& gpu);
// FLOP per DRAM byte at which the unit's roof meets the memory slope.
std::optional<double> tensor_ridge_flop_per_byte(const Gpu& gpu, TensorMode mode);
double fp32_ridge_flop_per_byte(const GpuSpec& gpu);

// One published figure compared with its derivation.
struct PublishedCheck {
  std::string figure;  // e.g. "memory_bandwidth_gb_s", "tensor fp16_acc32"
  double published = 0;
  std::optional<double> derived;  // nullopt: the architecture lacks the mode
  std::string derivation;         // how `derived` was computed, with the numbers
  double relative_error() const;  // |derived/published - 1|; infinity if not derivable
};
std::vector<PublishedCheck> check_published(const Gpu& gpu);
inline constexpr double kPublishedTolerance = 0.03;

}  // namespace gpuperf
