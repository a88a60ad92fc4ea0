// peaks: the card's theoretical ceilings computed from what the CUDA runtime reports (memory clock x bus
// width x 2, SMs x clock x per-SM rate), and the refusal rule: a measured figure above its ceiling is a
// measurement bug (a dead-code-eliminated kernel, a cache hit, a wrong byte count) and is never written.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "measurement.hpp"

namespace gpuperf::validate {

// Dense FLOP (2 per FMA) per clock per SM at the die's full rate, by compute capability; mirrors
// specs/arches/*.yaml (a test checks the two agree). nullopt: mode absent or architecture unknown.
struct PerSmRates {
  double fp32_flop_per_clk = 0;  // 2 x FP32 lanes
  std::optional<double> fp16;    // fp16 with fp16 or fp32 accumulate, bf16 (full die rate)
  std::optional<double> tf32;
  std::optional<double> fp8;
  std::optional<double> int8;
};
std::optional<PerSmRates> per_sm_rates(int cc_major, int cc_minor);
// The specs/arches id of a compute capability ("" if unknown).
std::string arch_id_for(int cc_major, int cc_minor);

struct Peaks {
  double clock_mhz = 0;  // the clock the compute peaks assume (the highest the card reports)
  double dram_gb_s = 0;
  // Loose L2 ceiling: SMs x 128 B/clk x clock (no architecture moves more per SM per clock).
  double l2_gb_s = 0;
  std::optional<double> fp32_tflops;
  std::optional<double> fp16_tflops;
  std::optional<double> tf32_tflops;
  std::optional<double> fp8_tflops;
  std::optional<double> int8_tops;
};
Peaks compute_peaks(const DeviceInfo& d);
// The peaks as the measurement file's `peaks:` section (absent modes left out).
std::vector<std::pair<std::string, double>> peaks_for_file(const Peaks& p);

// The refusal rule: nullopt if `m` may be written, else why not (one line naming the figure, its
// ceiling and how the ceiling was computed). Non-finite values and empty samples are refused too, as
// is a rate kind whose ceiling is unknown (an unknown architecture cannot be checked).
std::optional<std::string> refusal(const Measurement& m, const Peaks& p);
// Every refusal of a set, in order.
std::vector<std::string> refusals(const std::vector<Measurement>& ms, const Peaks& p);

// A point of a read-bandwidth sweep over the buffer size.
struct SweepPoint {
  double buffer_mib = 0;
  double gb_s = 0;
};
// The measured L2 size: where the read bandwidth falls halfway from its in-cache plateau (the best
// point) to the DRAM plateau (median of the points at >= 4x the reported L2), interpolated on a log
// size axis. nullopt when the sweep shows no drop (fewer than 2 points on either side).
std::optional<double> l2_knee_mib(std::vector<SweepPoint> sweep, double reported_l2_mib);

// A gpuperf card id for a device name: known cards map to their specs/gpus id ("NVIDIA H100 80GB HBM3"
// -> "h100-sxm"), others to a slug of the name without the vendor ("NVIDIA GeForce RTX 4090" -> "rtx-4090").
std::string card_id_for(std::string_view device_name);

// A GPU spec YAML (specs/README.md format) for the local card, from what was read off the device.
// Keys the device cannot tell (launch price and date; tdp without NVML) are written as null with a
// comment, so the file fails to load until a person fills them in.
std::string emit_gpu_spec(const DeviceInfo& d, const std::string& card_id, const std::string& date);

}  // namespace gpuperf::validate
