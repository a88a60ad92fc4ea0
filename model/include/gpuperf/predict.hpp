// predict: the roofline of each operation on one card (compute on the right unit, DRAM or L2 traffic,
// wave quantization, fixed per-kernel latency, 4-bit dequant work) and the simulation of one stream
// in which the host issues kernels while the GPU runs them. Pure functions; errors are returned, not thrown.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "gpuperf/graph.hpp"
#include "gpuperf/hardware.hpp"
#include "gpuperf/params.hpp"

namespace gpuperf {

enum class Bound { compute, memory, latency, host };
std::string_view to_string(Bound bound);

struct OpTiming {
  double compute_s = 0;  // FLOPs (and dequant ALU work) at the unit's effective rate, waves included
  double memory_s = 0;   // DRAM bytes at effective DRAM bandwidth + L2-resident bytes at L2 bandwidth
  double latency_s = 0;  // fixed per-kernel GPU time (the floor, and the serial gap between kernels)
  double gpu_s = 0;      // max(compute, memory, latency floor) + gap: the front end overlaps launch with execution
  double gap_s = 0;      // the part of gpu_s that is the dead time between this op's kernels and the next
  double ramp_s =
      0;  // the part of gpu_s that waits for the first DRAM bytes or a GEMV's chain (0 where hidden or absent)
  double dram_bytes = 0;
  double l2_bytes = 0;
  // Of dram_bytes: fused attention's K/V passes after the first, re-read from DRAM because one head's K and
  // V do not fit the L2 share (every query tile streams them; tiles running together are not assumed to
  // share them there).
  double kv_reread_dram_bytes = 0;
  double wave_efficiency = 1;  // busy SM share over the op's waves (1 = no quantization loss)
  Bound bound = Bound::memory;
};

// The card as the model sees it for one architecture's parameters: rates at the sustained clock.
struct EffectiveCard {
  double clock_hz = 0;       // the sustained clock: rated boost x clock_ratio (tensor work, latencies, L2)
  double core_clock_hz = 0;  // the clock of CUDA-core work: the top boost where the spec gives one, else clock_hz
  double dram_bytes_s = 0;
  double l2_bytes_s = 0;
  double l2_resident_bytes = 0;
  double fp32_flops_s = 0;  // FP32-lane peak at the sustained clock times cuda_core_efficiency
  double alu_ops_s = 0;  // integer/FP32 mix on CUDA cores (one warp instruction per scheduler per clock) x efficiency
  std::array<double, kTensorModeCount> tensor_flops_s{};  // 0 = unsupported mode
  int sm_count = 0;
  // Reciprocals with the efficiencies folded in, so that timing an op multiplies instead of divides.
  std::array<double, kTensorModeCount> gemm_s_per_flop{};       // 1 / (peak · tensor_efficiency)
  std::array<double, kTensorModeCount> attention_s_per_flop{};  // 1 / (peak · attention_efficiency)
  double fp32_s_per_flop = 0;
  double dequant_s_per_weight = 0;   // dequant_ops_per_weight / alu_ops_s
  double sfu_s_per_result = 0;       // 1 / (SMs x SFU results per clock x sustained clock): beside tensor work
  double sfu_core_s_per_result = 0;  // the same at core_clock_hz: in kernels without tensor work
  double dram_s_per_byte = 0;
  double l2_s_per_byte = 0;
  double latency_s_per_kernel = 0;
  double gap_s_per_kernel = 0;  // dead time between consecutive kernels, serial with them
  double dram_ramp_s = 0;       // per kernel that reads DRAM: first-byte latency
  double gemv_chain_s = 0;      // per 4-bit GEMV: its serial chain around the weight stream (PDL or not)
  double sm_load_bytes_s = 0;   // what one SM can load per second (sm_load_bytes_per_cycle x clock)
  double cta_overhead_s = 0;    // a tensor-core CTA's fixed time (cta_overhead_cycles / clock)
  // A tensor-core CTA's fixed cost (pipeline fill, epilogue) as the tensor flops its SM could have done
  // in that time: cta_overhead_cycles / clock x the mode's per-SM rate x tensor_efficiency (GEMMs) or
  // attention_efficiency (fused attention).
  std::array<double, kTensorModeCount> cta_overhead_flops{};
  std::array<double, kTensorModeCount> attention_cta_overhead_flops{};
};
EffectiveCard effective_card(const Gpu& gpu, const HardwareParams& hw);

// Efficiency of an op's tiling: the best over the output tiles a library may pick (256x128 down to
// 64x64; smaller tiles reuse operands less) of tile efficiency x busy-SM share over ceil(tiles / SMs)
// waves, with the reduction split in up to 8 slices when that fills the SMs better, times each CTA's
// busy share 2·tile_m·tile_n·(k / split) / (that + cta_overhead_flops): a short reduction leaves a
// tile's fixed cost (pipeline fill, epilogue) exposed, the more so the faster the tensor cores. Fused
// attention: one CTA per `attention_query_tile` queries per (sequence, head), the tile whose K/V
// rereads time_op counts (0: one CTA per sequence and head), busy 4·queries·keys·head_dim of
// (that + cta_overhead_flops): short key sequences (cross-attention to 77 text tokens) expose it.
double wave_efficiency(const Op& op, int sm_count, double attention_query_tile, double cta_overhead_flops);

// Times one op. `l2_input_bytes` of its activation input are read from L2 (produced just before and
// small enough to stay there). The caller checks that the card has the op's tensor mode.
// `tile_efficiency` > 0 is the op's wave_efficiency() computed beforehand (0: compute it here).
// `kernels` > 0 overrides the op's kernel count (a runtime that fuses each op into one kernel).
OpTiming time_op(const EffectiveCard& card, const HardwareParams& hw, const Op& op, double l2_input_bytes,
                 double tile_efficiency = 0, int kernels = 0);

struct ClassBreakdown {
  OpClass op_class = OpClass::elementwise;
  int kernels = 0;
  double gpu_s = 0;
  double compute_s = 0;
  double memory_s = 0;
  double latency_s = 0;
  double flops = 0;
  double dram_bytes = 0;
};

struct StepPrediction {
  std::string error;                // non-empty: no prediction (e.g. the card lacks the op's tensor mode)
  double seconds = 0;               // wall time of one step (one run of the graph)
  double host_s = 0;                // host busy time issuing the step
  double gpu_s = 0;                 // GPU busy time = compute_s + memory_s + latency_s
  double compute_s = 0;             // GPU time of ops bound by compute
  double memory_s = 0;              // GPU time of ops bound by memory traffic
  double latency_s = 0;             // GPU time of ops bound by the fixed per-kernel latency
  double idle_s = 0;                // GPU idle, waiting for the host
  double dram_bytes = 0;            // DRAM traffic of the step
  double kv_reread_dram_bytes = 0;  // of which fused attention's K/V re-read per query tile (OpTiming)
  int kernels = 0;
  Bound bound = Bound::compute;         // host when host_s >= gpu_s or the GPU idles over half the step
  std::vector<ClassBreakdown> classes;  // in OpClass order, classes with no op left out
  std::vector<OpTiming> ops;            // per op, when asked for
};

// Simulates one step of `graph` on one stream: kernel j of op i is issued by the host at
// h = h_prev + host_us_per_kernel (after host_ms_per_step of per-step host work) and runs when both
// the host has issued it and the GPU has finished the previous kernel. With sync_per_step the step
// ends when both are done; without, steps pipeline and a step costs max(host, GPU) time.
StepPrediction simulate_step(const Gpu& gpu, const Graph& graph, const HardwareParams& hw, const StackParams& stack,
                             bool keep_ops = false);

}  // namespace gpuperf
