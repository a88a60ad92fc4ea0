#include "gpuperf/hardware.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

#include "gpuperf/units.hpp"

namespace gpuperf {

namespace {
constexpr std::array<std::string_view, kTensorModeCount> kModeNames = {
    "fp16_acc16", "fp16_acc32", "bf16_acc32", "tf32", "fp8_acc16", "fp8_acc32", "int8", "int4"};

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}
}  // namespace

std::string_view to_string(TensorMode mode) { return kModeNames[static_cast<std::size_t>(mode)]; }

std::optional<TensorMode> tensor_mode_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kTensorModeCount; ++i)
    if (kModeNames[i] == name) return kAllTensorModes[i];
  return std::nullopt;
}

std::optional<TensorMode> tensor_mode_for(std::string_view dtype, std::string_view accumulate) {
  if (dtype == "fp16" && accumulate == "fp16") return TensorMode::fp16_acc16;
  if (dtype == "fp16" && accumulate == "fp32") return TensorMode::fp16_acc32;
  if (dtype == "bf16" && accumulate == "fp32") return TensorMode::bf16_acc32;
  if (dtype == "tf32" && accumulate == "fp32") return TensorMode::tf32;
  if (dtype == "fp8" && accumulate == "fp16") return TensorMode::fp8_acc16;
  if (dtype == "fp8" && accumulate == "fp32") return TensorMode::fp8_acc32;
  if (dtype == "int8" && accumulate == "int32") return TensorMode::int8;
  if (dtype == "int4" && accumulate == "int32") return TensorMode::int4;
  return std::nullopt;
}

bool uses_fp32_accumulate(TensorMode mode) {
  return mode == TensorMode::fp16_acc32 || mode == TensorMode::bf16_acc32 || mode == TensorMode::tf32 ||
         mode == TensorMode::fp8_acc32;
}

bool is_integer_mode(TensorMode mode) { return mode == TensorMode::int8 || mode == TensorMode::int4; }

std::string_view to_string(Segment segment) {
  switch (segment) {
    case Segment::geforce:
      return "geforce";
    case Segment::workstation:
      return "workstation";
    case Segment::datacenter:
      return "datacenter";
  }
  return "?";
}

double memory_bandwidth_gb_s(const GpuSpec& gpu) { return gpu.memory.bus_width_bits / 8.0 * gpu.memory.data_rate_gbps; }

double fp32_peak_tflops(const GpuSpec& gpu) {
  return units::flops_to_tflops(2.0 * gpu.cuda_cores *
                                units::mhz_to_hz(gpu.max_boost_clock_mhz.value_or(gpu.boost_clock_mhz)));
}

std::optional<double> tensor_peak_tflops(const Gpu& gpu, TensorMode mode) {
  const auto& rate = gpu.arch.tensor_dense_flop_per_clk_per_sm[static_cast<std::size_t>(mode)];
  if (!rate) return std::nullopt;
  double factor = (gpu.spec.tensor_fp32_accumulate_half && uses_fp32_accumulate(mode)) ? 0.5 : 1.0;
  return units::flops_to_tflops(gpu.spec.sm_count * *rate * factor * units::mhz_to_hz(gpu.spec.boost_clock_mhz));
}

double l2_bandwidth_gb_s(const Gpu& gpu) {
  return units::bytes_s_to_gb_s(gpu.spec.sm_count * gpu.arch.l2_bytes_per_clk_per_sm *
                                units::mhz_to_hz(gpu.spec.boost_clock_mhz));
}

std::optional<double> tensor_ridge_flop_per_byte(const Gpu& gpu, TensorMode mode) {
  auto peak = tensor_peak_tflops(gpu, mode);
  if (!peak) return std::nullopt;
  return units::tflops_to_flops(*peak) / units::gb_s_to_bytes_s(memory_bandwidth_gb_s(gpu.spec));
}

double fp32_ridge_flop_per_byte(const GpuSpec& gpu) {
  return units::tflops_to_flops(fp32_peak_tflops(gpu)) / units::gb_s_to_bytes_s(memory_bandwidth_gb_s(gpu));
}

double PublishedCheck::relative_error() const {
  if (!derived || published <= 0) return std::numeric_limits<double>::infinity();
  return std::abs(*derived / published - 1.0);
}

std::vector<PublishedCheck> check_published(const Gpu& gpu) {
  std::vector<PublishedCheck> out;
  if (!gpu.spec.published) return out;
  const auto& pub = *gpu.spec.published;
  const auto& s = gpu.spec;
  out.push_back({"memory_bandwidth_gb_s", pub.memory_bandwidth_gb_s, memory_bandwidth_gb_s(s),
                 std::to_string(s.memory.bus_width_bits) + " bit / 8 x " + fmt(s.memory.data_rate_gbps) +
                     " Gbit/s = " + fmt(memory_bandwidth_gb_s(s)) + " GB/s"});
  if (pub.fp32_tflops)
    out.push_back({"fp32_tflops", *pub.fp32_tflops, fp32_peak_tflops(s),
                   "2 x " + std::to_string(s.cuda_cores) + " lanes x " +
                       fmt(s.max_boost_clock_mhz.value_or(s.boost_clock_mhz)) + " MHz = " + fmt(fp32_peak_tflops(s)) +
                       " TFLOPS"});
  for (const auto& t : pub.tensor) {
    auto derived = tensor_peak_tflops(gpu, t.mode);
    std::string how;
    const auto& rate = gpu.arch.tensor_dense_flop_per_clk_per_sm[static_cast<std::size_t>(t.mode)];
    if (rate) {
      bool half = s.tensor_fp32_accumulate_half && uses_fp32_accumulate(t.mode);
      how = std::to_string(s.sm_count) + " SMs x " + fmt(*rate) + " FLOP/clk" + (half ? " x 0.5" : "") + " x " +
            fmt(s.boost_clock_mhz) + " MHz = " + fmt(*derived);
    } else {
      how = "architecture " + gpu.arch.id + " has no " + std::string(to_string(t.mode)) + " mode";
    }
    out.push_back({"tensor " + std::string(to_string(t.mode)), t.tflops, derived, how});
  }
  return out;
}

}  // namespace gpuperf
