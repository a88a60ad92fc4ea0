#include "gpuperf/predict.hpp"

#include <algorithm>
#include <cmath>

#include "gpuperf/units.hpp"

namespace gpuperf {

std::string_view to_string(Bound bound) {
  switch (bound) {
    case Bound::compute:
      return "compute";
    case Bound::memory:
      return "memory";
    case Bound::latency:
      return "latency";
    case Bound::host:
      return "host";
  }
  return "?";
}

EffectiveCard effective_card(const Gpu& gpu, const HardwareParams& hw) {
  EffectiveCard c;
  const GpuSpec& s = gpu.spec;
  c.clock_hz = units::mhz_to_hz(s.boost_clock_mhz) * hw.clock_ratio;
  c.dram_bytes_s = units::gb_s_to_bytes_s(memory_bandwidth_gb_s(s)) * hw.dram_efficiency;
  c.l2_bytes_s = units::gb_s_to_bytes_s(l2_bandwidth_gb_s(gpu)) * hw.clock_ratio * hw.l2_efficiency;
  c.l2_resident_bytes = units::mib_to_bytes(s.l2_mib) * hw.l2_resident_fraction;
  // FP32 lanes at the sustained clock (Hopper's max-boost FP32 figure is not what a loaded card holds).
  c.fp32_flops_s = 2.0 * s.cuda_cores * c.clock_hz * hw.cuda_core_efficiency;
  c.alu_ops_s = static_cast<double>(s.cuda_cores) * c.clock_hz * hw.cuda_core_efficiency;
  for (TensorMode m : kAllTensorModes) {
    auto peak = tensor_peak_tflops(gpu, m);
    c.tensor_flops_s[static_cast<std::size_t>(m)] = peak ? units::tflops_to_flops(*peak) * hw.clock_ratio : 0.0;
  }
  c.sm_count = s.sm_count;
  return c;
}

double wave_efficiency(const Op& op, int sm_count) {
  const GemmShape& g = op.gemm;
  if (g.m <= 0 || g.n <= 0 || sm_count <= 0) return 1.0;
  const double sms = sm_count;
  if (op.op_class == OpClass::attention) {
    // Flash attention: one CTA per 128 queries per (sequence, head); the key length is looped over.
    double tiles = std::ceil(static_cast<double>(g.m) / 128) * static_cast<double>(g.batch);
    return tiles / (std::ceil(tiles / sms) * sms);
  }
  // A library picks, per shape, the output tile and the split of the reduction (split-K, up to 8 slices
  // of at least 256) that run fastest. A tile's efficiency grows with its operand reuse m·n/(m+n); we
  // take its square root relative to a 256x128 tile. Busy share: tiles / (ceil(tiles / SMs) · SMs).
  struct TileShape {
    double m, n;
  };
  static constexpr TileShape kTiles[] = {{256, 128}, {128, 256}, {128, 128}, {128, 64}, {64, 128}, {64, 64}};
  const double best_reuse = 256.0 * 128 / (256 + 128);
  const double max_split = std::clamp(std::floor(static_cast<double>(g.k) / 256), 1.0, 8.0);
  double best = 0;
  for (const auto& t : kTiles) {
    double tiles = std::ceil(static_cast<double>(g.m) / t.m) * std::ceil(static_cast<double>(g.n) / t.n) *
                   static_cast<double>(g.batch);
    double reuse = std::sqrt((t.m * t.n / (t.m + t.n)) / best_reuse);
    for (double split = 1; split <= max_split; ++split) {
      double ctas = tiles * split;
      best = std::max(best, reuse * ctas / (std::ceil(ctas / sms) * sms));
    }
  }
  return best;
}

OpTiming time_op(const EffectiveCard& card, const HardwareParams& hw, const Op& op, double l2_input_bytes) {
  OpTiming t;
  // Compute: tensor cores in the op's mode, or FP32 lanes; 4-bit unpacking on the CUDA cores overlaps.
  if (op.flops > 0) {
    if (op.tensor_mode) {
      double peak = card.tensor_flops_s[static_cast<std::size_t>(*op.tensor_mode)];
      double eff = op.op_class == OpClass::attention ? hw.attention_efficiency : hw.tensor_efficiency;
      t.wave_efficiency = wave_efficiency(op, card.sm_count);
      t.compute_s = op.flops / (peak * eff * t.wave_efficiency);
    } else {
      t.compute_s = op.flops / card.fp32_flops_s;
    }
  }
  if (op.dequant_weights > 0) t.compute_s += op.dequant_weights * hw.dequant_ops_per_weight / card.alu_ops_s;
  // Memory: what was produced just before and fits in L2 is read from L2; a small output stays in L2.
  double l2_in = std::min(l2_input_bytes, op.activation_bytes);
  double l2_out = op.write_bytes <= card.l2_resident_bytes ? op.write_bytes : 0.0;
  t.l2_bytes = l2_in + l2_out;
  t.dram_bytes = op.bytes() - t.l2_bytes;
  // Fused attention: every query tile streams the whole K and V of its (sequence, head). The graph
  // counts them once; the other passes hit L2 when one head's K and V fit there, else DRAM.
  if (op.op_class == OpClass::attention && hw.attention_query_tile > 0 && op.gemm.m > 0) {
    double tiles = std::ceil(static_cast<double>(op.gemm.m) / hw.attention_query_tile);
    double kv_per_head = 2.0 * static_cast<double>(op.gemm.n * op.gemm.k) * bytes_per_element(op.dtype);
    double rereads = (tiles - 1) * static_cast<double>(op.gemm.batch) * kv_per_head;
    if (kv_per_head <= card.l2_resident_bytes) {
      t.l2_bytes += rereads;
    } else {
      t.dram_bytes += rereads;
    }
  }
  t.memory_s = t.dram_bytes / card.dram_bytes_s + t.l2_bytes / card.l2_bytes_s;
  t.latency_s = op.kernels * hw.kernel_latency_cycles / card.clock_hz;
  // The front end prepares the next kernel while the current one runs: a kernel costs its longest term.
  t.gpu_s = std::max({t.compute_s, t.memory_s, t.latency_s});
  if (t.latency_s > std::max(t.compute_s, t.memory_s)) {
    t.bound = Bound::latency;
  } else {
    t.bound = t.compute_s >= t.memory_s ? Bound::compute : Bound::memory;
  }
  return t;
}

StepPrediction simulate_step(const Gpu& gpu, const Graph& graph, const HardwareParams& hw, const StackParams& stack,
                             bool keep_ops) {
  StepPrediction p;
  for (const auto& op : graph.ops) {
    if (op.tensor_mode && !tensor_peak_tflops(gpu, *op.tensor_mode)) {
      p.error = gpu.spec.id + " (" + gpu.arch.id + ") has no " + std::string(to_string(*op.tensor_mode)) +
                " tensor-core mode, which op '" + op.name + "' needs";
      return p;
    }
  }
  const EffectiveCard card = effective_card(gpu, hw);
  std::array<ClassBreakdown, kOpClassCount> classes{};
  for (int i = 0; i < kOpClassCount; ++i) classes[static_cast<std::size_t>(i)].op_class = static_cast<OpClass>(i);
  if (keep_ops) p.ops.reserve(graph.ops.size());

  const double host_per_kernel_s = units::us_to_s(stack.host_us_per_kernel);
  double host = stack.host_ms_per_step * 1e-3;  // per-step host work comes first
  double gpu_free = 0;
  double prev_write = 0;
  for (const auto& op : graph.ops) {
    double l2_input = prev_write <= card.l2_resident_bytes ? prev_write : 0.0;
    OpTiming t = time_op(card, hw, op, l2_input);
    prev_write = op.write_bytes;
    const int kernels = std::max(1, op.kernels);
    const double per_kernel = t.gpu_s / kernels;
    for (int k = 0; k < kernels; ++k) {
      host += host_per_kernel_s;
      double start = std::max(host, gpu_free);
      p.idle_s += start - gpu_free;
      gpu_free = start + per_kernel;
    }
    p.kernels += kernels;
    p.gpu_s += t.gpu_s;
    auto& c = classes[static_cast<std::size_t>(op.op_class)];
    c.kernels += kernels;
    c.gpu_s += t.gpu_s;
    c.flops += op.flops;
    c.dram_bytes += t.dram_bytes;
    // An op's GPU time is its longest term; it is attributed whole to that term.
    double& step_term = t.bound == Bound::latency ? p.latency_s : t.bound == Bound::compute ? p.compute_s : p.memory_s;
    double& class_term = t.bound == Bound::latency ? c.latency_s : t.bound == Bound::compute ? c.compute_s : c.memory_s;
    step_term += t.gpu_s;
    class_term += t.gpu_s;
    if (keep_ops) p.ops.push_back(t);
  }
  p.host_s = host;
  if (stack.sync_per_step) {
    p.seconds = std::max(host, gpu_free);
  } else {
    // Steps pipeline: the host runs ahead, so a step costs the slower side's busy time.
    p.seconds = std::max(host, p.gpu_s);
    p.idle_s = p.seconds - p.gpu_s;
  }
  for (const auto& c : classes)
    if (c.kernels > 0) p.classes.push_back(c);
  if (p.idle_s > 0.5 * p.seconds) {
    p.bound = Bound::host;
  } else if (p.compute_s >= p.memory_s && p.compute_s >= p.latency_s) {
    p.bound = Bound::compute;
  } else {
    p.bound = p.memory_s >= p.latency_s ? Bound::memory : Bound::latency;
  }
  return p;
}

}  // namespace gpuperf
