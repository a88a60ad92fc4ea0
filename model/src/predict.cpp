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
  // The sustained clock: the rated boost clock times `clock_ratio` (GPU Boost runs GeForce cards above
  // their rated boost), but never above the card's top boost clock where the spec gives one (a
  // datacenter card's boost clock is its top clock: an L4 does not run at 1.15 x 2040 MHz).
  const double boost_hz = units::mhz_to_hz(s.boost_clock_mhz);
  c.clock_hz = boost_hz * hw.clock_ratio;
  if (s.max_boost_clock_mhz) c.clock_hz = std::min(c.clock_hz, units::mhz_to_hz(*s.max_boost_clock_mhz));
  const double clock_ratio = c.clock_hz / boost_hz;
  c.dram_bytes_s = units::gb_s_to_bytes_s(memory_bandwidth_gb_s(s)) * hw.dram_efficiency;
  c.l2_bytes_s = units::gb_s_to_bytes_s(l2_bandwidth_gb_s(gpu)) * clock_ratio * hw.l2_efficiency;
  c.l2_resident_bytes = units::mib_to_bytes(s.l2_mib) * hw.l2_resident_fraction;
  // FP32 and integer lanes at the sustained clock. Where a card's top boost clock is above the clock of
  // its tensor figures (GH100: 1980 against 1830 MHz), the power limit that holds dense tensor work at
  // `clock_ratio` of the latter does not bind CUDA-core work: NVML shows 1980 MHz through the decode
  // replays, whose 4-bit GEMVs unpack their weights on the CUDA cores, and 1500 MHz under 8192^3 GEMMs.
  c.core_clock_hz = s.max_boost_clock_mhz ? units::mhz_to_hz(*s.max_boost_clock_mhz) : c.clock_hz;
  c.fp32_flops_s = 2.0 * s.cuda_cores * c.core_clock_hz * hw.cuda_core_efficiency;
  // Integer/FP32 mixes (4-bit weight unpacking) are bound by instruction issue: each warp scheduler
  // issues one warp instruction (32 threads) per clock. Where the FP32 lanes are fewer than that (GA100,
  // TU10x: 64 per SM), separate INT32 lanes take the integer half, so the mix still issues at full rate.
  c.alu_ops_s = static_cast<double>(s.sm_count) * gpu.arch.warp_schedulers_per_sm * 32.0 * c.core_clock_hz *
                hw.cuda_core_efficiency;
  for (TensorMode m : kAllTensorModes) {
    auto peak = tensor_peak_tflops(gpu, m);
    c.tensor_flops_s[static_cast<std::size_t>(m)] = peak ? units::tflops_to_flops(*peak) * clock_ratio : 0.0;
  }
  c.sm_count = s.sm_count;
  for (std::size_t m = 0; m < kTensorModeCount; ++m) {
    double peak = c.tensor_flops_s[m];
    c.gemm_s_per_flop[m] = peak > 0 ? 1.0 / (peak * hw.tensor_efficiency) : 0.0;
    c.attention_s_per_flop[m] = peak > 0 ? 1.0 / (peak * hw.attention_efficiency) : 0.0;
  }
  c.fp32_s_per_flop = 1.0 / c.fp32_flops_s;
  c.dequant_s_per_weight = hw.dequant_ops_per_weight / c.alu_ops_s;
  // Special functions (a softmax's exponentials) on the SMs' multi-function units: in a fused attention
  // kernel at the clock of its tensor work (the same SMs run both), in a kernel without tensor work (naive
  // attention's softmax) at the CUDA cores' clock.
  const double sfu_per_clock = static_cast<double>(s.sm_count) * gpu.arch.sfu_results_per_clk_per_sm;
  c.sfu_s_per_result = sfu_per_clock > 0 ? 1.0 / (sfu_per_clock * c.clock_hz) : 0.0;
  c.sfu_core_s_per_result = sfu_per_clock > 0 ? 1.0 / (sfu_per_clock * c.core_clock_hz) : 0.0;
  c.dram_s_per_byte = 1.0 / c.dram_bytes_s;
  c.l2_s_per_byte = 1.0 / c.l2_bytes_s;
  c.latency_s_per_kernel = hw.kernel_latency_cycles / c.clock_hz;
  c.gap_s_per_kernel = units::us_to_s(hw.kernel_gap_us);
  c.dram_ramp_s = units::us_to_s(hw.dram_ramp_us);
  c.gemv_chain_s = units::us_to_s(hw.gemv_chain_us);
  c.sm_load_bytes_s = hw.sm_load_bytes_per_cycle * c.clock_hz;
  // A CTA's fixed cycles as the tensor flops its SM could have done meanwhile, at the op's efficiency.
  c.cta_overhead_s = hw.cta_overhead_cycles / c.clock_hz;
  const double cta_overhead_s = s.sm_count > 0 ? c.cta_overhead_s / s.sm_count : 0.0;
  for (std::size_t m = 0; m < kTensorModeCount; ++m) {
    c.cta_overhead_flops[m] = cta_overhead_s * c.tensor_flops_s[m] * hw.tensor_efficiency;
    c.attention_cta_overhead_flops[m] = cta_overhead_s * c.tensor_flops_s[m] * hw.attention_efficiency;
  }
  return c;
}

namespace {
// Skinny products: a side shorter than this gets a kernel of its own (GEMV-like, no padding), one CTA
// per kSkinnyTile outputs of its long side.
constexpr std::int64_t kSkinnySide = 64;
constexpr double kSkinnyTile = 128;

double cta_overhead(const EffectiveCard& card, const Op& op) {
  if (!op.tensor_mode) return 0.0;
  const auto m = static_cast<std::size_t>(*op.tensor_mode);
  return op.op_class == OpClass::attention ? card.attention_cta_overhead_flops[m] : card.cta_overhead_flops[m];
}
}  // namespace

double wave_efficiency(const Op& op, int sm_count, double attention_query_tile, double cta_overhead_flops) {
  const GemmShape& g = op.gemm;
  if (g.m <= 0 || g.n <= 0 || sm_count <= 0) return 1.0;
  const double sms = sm_count;
  if (op.op_class == OpClass::attention) {
    // Fused attention: one CTA per query tile per (sequence, head); the key length is looped over.
    const double q_tile = attention_query_tile > 0 ? attention_query_tile : static_cast<double>(g.m);
    double tiles = std::ceil(static_cast<double>(g.m) / q_tile) * static_cast<double>(g.batch);
    // Each CTA: Q·Kᵀ and P·V of its queries against every key.
    const double work = 4.0 * std::min(q_tile, static_cast<double>(g.m)) * static_cast<double>(g.n * g.k);
    return tiles / (std::ceil(tiles / sms) * sms) * work / (work + cta_overhead_flops);
  }
  // A library picks, per shape, the output tile and the split of the reduction (split-K, up to 8 slices
  // of at least 256) that run fastest. A tile's efficiency grows with its operand reuse m·n/(m+n); we
  // take its square root relative to a 256x128 tile. Busy share: tiles / (ceil(tiles / SMs) · SMs).
  // Integer arithmetic throughout: tile sides are powers of two, so ceil-divisions are shifts.
  struct TileShape {
    int log2_m, log2_n;
    double efficiency;  // sqrt((m·n/(m+n)) / (256·128/384))
  };
  static constexpr TileShape kTiles[] = {{8, 7, 1.0},          {7, 8, 1.0},          {7, 7, 0.8660254038},
                                         {7, 6, 0.7071067812}, {6, 7, 0.7071067812}, {6, 6, 0.6123724357}};
  constexpr std::int64_t kMinTileSide = kSkinnySide;
  const std::int64_t s = sm_count;
  const std::int64_t max_split = std::clamp<std::int64_t>(g.k / 256, 1, 8);
  double best = 0;
  for (const auto& t : kTiles) {
    if (t.efficiency <= best) continue;  // cannot win even with perfect waves
    const std::int64_t tiles_m = (g.m + (std::int64_t{1} << t.log2_m) - 1) >> t.log2_m;
    const std::int64_t tiles_n = (g.n + (std::int64_t{1} << t.log2_n) - 1) >> t.log2_n;
    const std::int64_t tiles = tiles_m * tiles_n * g.batch;
    // Tile quantization: edge tiles run whole, so a side that is not a multiple of the tile wastes work.
    // A side shorter than the smallest tile (a GEMV's single row, a few tokens) gets a kernel made for
    // it (GEMV, skinny tiles): no padding counted there.
    const std::int64_t padded_m = g.m < kMinTileSide ? g.m : tiles_m << t.log2_m;
    const std::int64_t padded_n = g.n < kMinTileSide ? g.n : tiles_n << t.log2_n;
    const double fill = static_cast<double>(g.m * g.n) / static_cast<double>(padded_m * padded_n);
    if (t.efficiency * fill <= best) continue;  // nor with its padding
    for (std::int64_t split = 1; split <= max_split; ++split) {
      const std::int64_t ctas = tiles * split;
      const std::int64_t slots = (ctas + s - 1) / s * s;
      const double work = static_cast<double>(std::int64_t{2} << (t.log2_m + t.log2_n)) * static_cast<double>(g.k) /
                          static_cast<double>(split);
      best = std::max(best, t.efficiency * fill * static_cast<double>(ctas) / static_cast<double>(slots) * work /
                                (work + cta_overhead_flops));
      if (slots == ctas) break;
    }
  }
  return best;
}

namespace {
// The body of time_op, inlined into the step loop so that its result stays in registers.
[[gnu::always_inline]] inline OpTiming time_op_inline(const EffectiveCard& card, const HardwareParams& hw, const Op& op,
                                                      double l2_input_bytes, double tile_efficiency, int kernels,
                                                      double inverse_tile_efficiency, bool dependent_launch,
                                                      bool warm_l2 = false) {
  OpTiming t;
  // Compute: tensor cores in the op's mode, or FP32 lanes; 4-bit unpacking on the CUDA cores overlaps.
  if (op.flops > 0) {
    if (op.tensor_mode) {
      const auto mode = static_cast<std::size_t>(*op.tensor_mode);
      double s_per_flop =
          op.op_class == OpClass::attention ? card.attention_s_per_flop[mode] : card.gemm_s_per_flop[mode];
      t.wave_efficiency = tile_efficiency > 0
                              ? tile_efficiency
                              : wave_efficiency(op, card.sm_count, hw.attention_query_tile, cta_overhead(card, op));
      // A fused attention kernel's softmax takes one exponential per score on the SFUs (16 per SM-clock),
      // beside its two products on the tensor cores: other warps keep either unit busy, so the slower
      // one bounds the kernel (on GH100, 4096 tensor FLOP per SM-clock, a kernel reaching 75% of the tensor
      // peak at SD's head dimension of 40 would be bound by its exponentials: 160 FLOP per score).
      t.compute_s = std::max(op.flops * s_per_flop, op.sfu_results * card.sfu_s_per_result) *
                    (tile_efficiency > 0 ? inverse_tile_efficiency : 1.0 / t.wave_efficiency);
    } else {
      t.compute_s = std::max(op.flops * card.fp32_s_per_flop, op.sfu_results * card.sfu_core_s_per_result);
    }
  }
  if (op.dequant_weights > 0) t.compute_s += op.dequant_weights * card.dequant_s_per_weight;
  // Memory: what was produced just before and fits in L2 is read from L2. Writes go to DRAM: the L2 is
  // write-back, so an output it holds for the next op is still written back when later outputs evict it.
  // A step repeated on the same buffers finds the operands of an op that fits in L2 there (weights too).
  const double l2_in = warm_l2 && op.bytes() <= card.l2_resident_bytes ? op.activation_bytes + op.weight_bytes
                                                                       : std::min(l2_input_bytes, op.activation_bytes);
  t.l2_bytes = l2_in;
  t.dram_bytes = op.bytes() - t.l2_bytes;
  // Whether the kernel waits on DRAM: it reads from there (its stores are posted into the L2).
  bool reads_dram = t.dram_bytes > op.write_bytes;
  // Fused attention: every query tile streams the whole K and V of its (sequence, head). The graph
  // counts them once; the other passes hit L2 when one head's K and V fit there, else DRAM.
  if (op.op_class == OpClass::attention && hw.attention_query_tile > 0 && op.gemm.m > 0) {
    double tiles = std::ceil(static_cast<double>(op.gemm.m) / hw.attention_query_tile);
    double kv_per_head = 2.0 * static_cast<double>(op.gemm.n * op.gemm.k) * bytes_per_element(op.dtype);
    // A causal kernel's query tile reads only the keys up to its last query: the passes shrink with the
    // pairs computed (the op's FLOPs against the full product's).
    const double full_flops =
        4.0 * static_cast<double>(op.gemm.m) * static_cast<double>(op.gemm.n * op.gemm.k * op.gemm.batch);
    const double share = op.flops > 0 && full_flops > 0 ? std::min(1.0, op.flops / full_flops) : 1.0;
    double rereads = (tiles - 1) * static_cast<double>(op.gemm.batch) * kv_per_head * share;
    if (kv_per_head <= card.l2_resident_bytes) {
      t.l2_bytes += rereads;
    } else {
      t.dram_bytes += rereads;
      t.kv_reread_dram_bytes = rereads;
      reads_dram = reads_dram || rereads > 0;
    }
  }
  t.memory_s = t.dram_bytes * card.dram_s_per_byte + t.l2_bytes * card.l2_s_per_byte;
  // Loads pass through the SMs, each taking at most `sm_load_bytes_per_cycle`. What an SM loads from DRAM
  // waits for DRAM, then for its SM, with few requests in flight: the two times add (measured: the H200's
  // fp16 decode GEMVs run 1.27x the H100's, where its copy rate is 1.40x). The L2 rate is the SMs' own.
  if (card.sm_load_bytes_s > 0) {
    t.memory_s += std::max(0.0, t.dram_bytes - op.write_bytes) / (card.sm_count * card.sm_load_bytes_s);
    // A product with a side shorter than the smallest tile (a few rows: the time embedding's two) runs a
    // kernel made for it, one CTA per 128 outputs of the long side with the whole reduction: only that
    // many SMs load its operands, after the CTA's fixed start, however fast the L2 or DRAM behind them.
    // (A single row is a matrix-vector product, whose kernels spread the rows over every SM.)
    const GemmShape& g = op.gemm;
    if (op.tensor_mode && op.op_class != OpClass::attention && std::min(g.m, g.n) > 1 &&
        std::min(g.m, g.n) < kSkinnySide) {
      const double ctas =
          std::ceil(static_cast<double>(std::max(g.m, g.n)) / kSkinnyTile) * static_cast<double>(g.batch);
      const double sms = std::min(ctas, static_cast<double>(card.sm_count));
      t.memory_s =
          std::max(t.memory_s, card.cta_overhead_s + (op.bytes() - op.write_bytes) / (sms * card.sm_load_bytes_s));
    }
  }
  // A kernel that reads DRAM waits for its first bytes: a fixed time per kernel (the ramp), which its math
  // waits for as much as its streaming does (a compute-bound kernel cannot start its tiles before their
  // operands arrive). Under programmatic dependent launch a kernel starts while the previous one drains
  // and may stream its weights (which depend on nothing) before it waits: weight streams hide the ramp.
  const int launches = kernels > 0 ? kernels : std::max(1, op.kernels);
  if (reads_dram && card.dram_ramp_s > 0 && !(dependent_launch && op.weight_bytes > 0)) {
    t.ramp_s = card.dram_ramp_s * launches;
    t.memory_s += t.ramp_s;
    t.compute_s += t.ramp_s;
  }
  // A 4-bit GEMV's chain around its weight stream: after the wait for the previous kernel, every CTA stages
  // x from L2 and computes the tiles already in flight; at the end it reduces its rows and writes y. That
  // is serial with the stream whatever binds, and programmatic dependent launch, which overlaps only the
  // weight loads, does not hide it (run 30: the 4096x4096 and 11008x4096 GEMVs of LLaMA-7B, beside 13B's
  // shapes, put ~1.5 us on every GEMV that the bytes do not explain). Counted with the ramp, as fixed time.
  if (op.op_class == OpClass::dequant_gemv && reads_dram && card.gemv_chain_s > 0) {
    const double chain = card.gemv_chain_s * launches;
    t.ramp_s += chain;
    t.memory_s += chain;
    t.compute_s += chain;
  }
  t.latency_s = (kernels > 0 ? kernels : op.kernels) * card.latency_s_per_kernel;
  // The front end prepares the next kernel while the current one runs: a kernel costs its longest term.
  t.gpu_s = std::max({t.compute_s, t.memory_s, t.latency_s});
  if (t.latency_s > std::max(t.compute_s, t.memory_s)) {
    t.bound = Bound::latency;
    t.ramp_s = 0;  // the floor covers it
  } else {
    t.bound = t.compute_s >= t.memory_s ? Bound::compute : Bound::memory;
  }
  // Between two kernels of a stream the front end idles for a fixed gap (the next grid launches after the
  // last block of the previous one retires): serial with the kernel's own time, counted as latency.
  if (card.gap_s_per_kernel > 0) {
    t.gap_s = launches * card.gap_s_per_kernel;
    t.gpu_s += t.gap_s;
    t.latency_s += t.gap_s;
  }
  return t;
}
}  // namespace

OpTiming time_op(const EffectiveCard& card, const HardwareParams& hw, const Op& op, double l2_input_bytes,
                 double tile_efficiency, int kernels) {
  return time_op_inline(card, hw, op, l2_input_bytes, tile_efficiency, kernels,
                        tile_efficiency > 0 ? 1.0 / tile_efficiency : 0.0, false);
}

StepPrediction simulate_step(const Gpu& gpu, const Graph& graph, const HardwareParams& hw, const StackParams& stack,
                             bool keep_ops) {
  StepPrediction p;
  const EffectiveCard card = effective_card(gpu, hw);
  // The first op whose tensor mode the card lacks (skipped blocks repeat simulated ones, so checking
  // the simulated ops checks them all).
  const Op* unsupported = nullptr;
  std::array<ClassBreakdown, kOpClassCount> classes{};
  for (int i = 0; i < kOpClassCount; ++i) classes[static_cast<std::size_t>(i)].op_class = static_cast<OpClass>(i);
  if (keep_ops) p.ops.reserve(graph.ops.size());

  const double host_per_kernel_s = units::us_to_s(stack.host_us_per_kernel);
  double host = stack.host_ms_per_step * 1e-3;  // per-step host work comes first
  double gpu_free = 0;
  double prev_write = 0;
  const Op* prev_op = nullptr;
  OpTiming prev_timing;
  double prev_l2_input = -1;

  const std::size_t n = graph.ops.size();
  const bool indexed = n > 0 && graph.timing.key.size() == n && graph.timing.key_shape.size() == graph.timing.keys;

  // Tile efficiencies depend on the shape alone; a UNet reuses a few dozen shapes hundreds of times.
  // (Indexed graphs number their shapes instead: the table is filled only for graphs without an index.)
  struct TileEntry {
    std::int64_t m, n, k, batch;
    bool attention;
    int mode;
    double efficiency;
    double inverse;
  };
  std::array<TileEntry, 64> tile_cache;
  if (!indexed) tile_cache.fill(TileEntry{-1, 0, 0, 0, false, -1, 0.0, 0.0});
  // Returns the entry (efficiency and its inverse) for a tensor op's shape.
  static const TileEntry kUnit{-1, 0, 0, 0, false, -1, 1.0, 1.0};
  auto tile_efficiency = [&](const Op& op) -> const TileEntry& {
    if (!op.tensor_mode) return kUnit;
    const GemmShape& g = op.gemm;
    const bool attention = op.op_class == OpClass::attention;
    const int mode = static_cast<int>(*op.tensor_mode);
    auto h = static_cast<std::size_t>(g.m * 73856093 ^ g.n * 19349663 ^ g.k * 83492791 ^ g.batch * 2654435761 ^ mode);
    for (std::size_t probe = 0; probe < tile_cache.size(); ++probe) {
      TileEntry& e = tile_cache[(h + probe) % tile_cache.size()];
      if (e.m == -1) {
        double eff = wave_efficiency(op, card.sm_count, hw.attention_query_tile, cta_overhead(card, op));
        e = {g.m, g.n, g.k, g.batch, attention, mode, eff, 1.0 / eff};
        return e;
      }
      if (e.m == g.m && e.n == g.n && e.k == g.k && e.batch == g.batch && e.attention == attention && e.mode == mode)
        return e;
    }
    // A full table (more than 64 shapes) evicts the first slot.
    double eff = wave_efficiency(op, card.sm_count, hw.attention_query_tile, cta_overhead(card, op));
    tile_cache[h % tile_cache.size()] = {g.m, g.n, g.k, g.batch, attention, mode, eff, 1.0 / eff};
    return tile_cache[h % tile_cache.size()];
  };

  // Indexed graphs time each key once, count its runs and add them up once at the end. The per-call
  // tables live in per-thread scratch that keeps its capacity: a prediction allocates nothing.
  struct KeyState {
    OpTiming t;
    const Op* first = nullptr;
    double d = 0;  // one kernel's time
    int k = 1;     // kernels
    std::uint32_t runs = 0;
  };
  thread_local std::vector<KeyState> keyed;
  thread_local std::vector<double> shape_efficiency;
  thread_local std::vector<std::uint32_t> runs_start;
  keyed.assign(indexed ? graph.timing.keys : 0, KeyState{});
  shape_efficiency.assign(indexed ? graph.timing.shapes : 0, 0.0);

  // Adds `times` runs of an op (k kernels, timing t) to the step's and its class's sums.
  auto accumulate = [&](const Op& op, const OpTiming& t, int k, double times) {
    p.kernels += static_cast<int>(times) * k;
    p.gpu_s += times * t.gpu_s;
    p.dram_bytes += times * t.dram_bytes;
    p.kv_reread_dram_bytes += times * t.kv_reread_dram_bytes;
    auto& cl = classes[static_cast<std::size_t>(op.op_class)];
    cl.kernels += static_cast<int>(times) * k;
    cl.gpu_s += times * t.gpu_s;
    cl.flops += times * op.flops;
    cl.dram_bytes += times * t.dram_bytes;
    // An op's GPU time is its longest term, attributed whole to that term, less its fixed per-kernel
    // parts - the wait for the first DRAM bytes and the gap between kernels - which are latency whatever
    // binds the kernel (they do not shrink with more bandwidth or more tensor cores).
    double& step_term = t.bound == Bound::latency ? p.latency_s : t.bound == Bound::compute ? p.compute_s : p.memory_s;
    double& class_term = t.bound == Bound::latency   ? cl.latency_s
                         : t.bound == Bound::compute ? cl.compute_s
                                                     : cl.memory_s;
    const double fixed = t.gap_s + t.ramp_s;
    step_term += times * (t.gpu_s - fixed);
    class_term += times * (t.gpu_s - fixed);
    p.latency_s += times * fixed;
    cl.latency_s += times * fixed;
  };
  // The op's K kernels, each issued c after the last and running d: closed form of
  // free_k = max(host_k, free_{k-1}) + d with host_k = host + k·c.
  const double issue_s = host_per_kernel_s;
  auto issue = [&](int k, double d) {
    double free_new = std::max({gpu_free + k * d, host + k * issue_s + d, host + issue_s + k * d});
    p.idle_s += free_new - gpu_free - k * d;
    gpu_free = free_new;
    host += k * issue_s;
  };
  const int one_kernel = stack.one_kernel_per_op ? 1 : 0;

  auto run_op = [&](const Op& op) {
    if (indexed) {
      // Ops of one (cost, predecessor cost) pair time the same: each pair is timed once.
      KeyState& ks = keyed[graph.timing.key[static_cast<std::size_t>(&op - graph.ops.data())]];
      if (!ks.first) {
        if (op.tensor_mode && card.tensor_flops_s[static_cast<std::size_t>(*op.tensor_mode)] <= 0) {
          if (!unsupported) unsupported = &op;
          return;
        }
        const double l2_input = prev_write <= card.l2_resident_bytes ? prev_write : 0.0;
        const std::int32_t shape = graph.timing.key_shape[static_cast<std::size_t>(&ks - keyed.data())];
        double efficiency = 1.0;
        if (shape >= 0) {
          double& e = shape_efficiency[static_cast<std::size_t>(shape)];
          if (e == 0) e = wave_efficiency(op, card.sm_count, hw.attention_query_tile, cta_overhead(card, op));
          efficiency = e;
        }
        ks.t = time_op_inline(card, hw, op, l2_input, efficiency, one_kernel, 1.0 / efficiency, stack.dependent_launch,
                              graph.warm_l2);
        ks.first = &op;
        ks.k = one_kernel ? 1 : std::max(1, op.kernels);
        ks.d = ks.k == 1 ? ks.t.gpu_s : ks.t.gpu_s / ks.k;
      }
      prev_write = op.write_bytes;
      ++ks.runs;
      issue(ks.k, ks.d);
      if (keep_ops) p.ops.push_back(ks.t);
      return;
    }
    if (op.tensor_mode && card.tensor_flops_s[static_cast<std::size_t>(*op.tensor_mode)] <= 0) {
      if (!unsupported) unsupported = &op;
      return;
    }
    const double l2_input = prev_write <= card.l2_resident_bytes ? prev_write : 0.0;
    prev_write = op.write_bytes;
    const int k = one_kernel ? 1 : std::max(1, op.kernels);
    // Graphs repeat identical ops back to back; reuse the last timing when nothing differs.
    if (!(prev_op && l2_input == prev_l2_input && same_cost(*prev_op, op))) {
      const TileEntry& te = tile_efficiency(op);
      prev_timing = time_op_inline(card, hw, op, l2_input, te.efficiency, one_kernel, te.inverse,
                                   stack.dependent_launch, graph.warm_l2);
    }
    prev_op = &op;
    prev_l2_input = l2_input;
    accumulate(op, prev_timing, k, 1.0);
    issue(k, k == 1 ? prev_timing.gpu_s : prev_timing.gpu_s / k);
    if (keep_ops) p.ops.push_back(prev_timing);
  };

  const RepeatedBlock rb = graph.repeat.value_or(RepeatedBlock{n, 0, 0});
  for (std::size_t i = 0; i < rb.begin && i < n; ++i) run_op(graph.ops[i]);
  if (rb.period > 0 && !keep_ops) {
    // Identical blocks: from the second block on, every block adds the same busy time; once the
    // host/GPU lag settles, it also adds the same idle and issue time, and the rest is extrapolated.
    struct State {
      double host, gpu_free, idle;
    };
    State before{host, gpu_free, p.idle_s};
    std::optional<State> last_delta;
    std::size_t done = 0;
    struct Totals {
      int kernels;
      double gpu_s, compute_s, memory_s, latency_s, dram_bytes, kv_reread_dram_bytes;
    };
    Totals block_start{};
    std::array<ClassBreakdown, kOpClassCount> classes_start{};
    runs_start.assign(keyed.size(), 0);
    while (done < rb.count) {
      block_start = {p.kernels, p.gpu_s, p.compute_s, p.memory_s, p.latency_s, p.dram_bytes, p.kv_reread_dram_bytes};
      classes_start = classes;
      for (std::size_t key = 0; key < keyed.size(); ++key) runs_start[key] = keyed[key].runs;
      for (std::size_t j = 0; j < rb.period; ++j) run_op(graph.ops[rb.begin + done * rb.period + j]);
      ++done;
      State delta{host - before.host, gpu_free - before.gpu_free, p.idle_s - before.idle};
      before = {host, gpu_free, p.idle_s};
      bool settled = done >= 2 && last_delta && delta.host == last_delta->host &&
                     std::abs(delta.gpu_free - last_delta->gpu_free) <= 1e-12 * std::abs(delta.gpu_free) &&
                     std::abs(delta.idle - last_delta->idle) <= 1e-12 * std::max(1e-9, std::abs(delta.idle));
      last_delta = delta;
      if (settled && done < rb.count) {
        const double left = static_cast<double>(rb.count - done);
        host += left * delta.host;
        gpu_free += left * delta.gpu_free;
        p.idle_s += left * delta.idle;
        p.kernels += static_cast<int>(left) * (p.kernels - block_start.kernels);
        p.gpu_s += left * (p.gpu_s - block_start.gpu_s);
        p.compute_s += left * (p.compute_s - block_start.compute_s);
        p.memory_s += left * (p.memory_s - block_start.memory_s);
        p.latency_s += left * (p.latency_s - block_start.latency_s);
        p.dram_bytes += left * (p.dram_bytes - block_start.dram_bytes);
        p.kv_reread_dram_bytes += left * (p.kv_reread_dram_bytes - block_start.kv_reread_dram_bytes);
        for (std::size_t c = 0; c < classes.size(); ++c) {
          auto& cl = classes[c];
          const auto& st = classes_start[c];
          cl.kernels += static_cast<int>(left) * (cl.kernels - st.kernels);
          cl.gpu_s += left * (cl.gpu_s - st.gpu_s);
          cl.compute_s += left * (cl.compute_s - st.compute_s);
          cl.memory_s += left * (cl.memory_s - st.memory_s);
          cl.latency_s += left * (cl.latency_s - st.latency_s);
          cl.flops += left * (cl.flops - st.flops);
          cl.dram_bytes += left * (cl.dram_bytes - st.dram_bytes);
        }
        for (std::size_t key = 0; key < keyed.size(); ++key)
          keyed[key].runs += static_cast<std::uint32_t>(rb.count - done) * (keyed[key].runs - runs_start[key]);
        done = rb.count;
      }
    }
    // The op after the blocks sees the last block's output, as it would without skipping.
    for (std::size_t i = rb.begin + rb.count * rb.period; i < n; ++i) run_op(graph.ops[i]);
  } else {
    for (std::size_t i = rb.begin; i < n; ++i) run_op(graph.ops[i]);
  }
  for (const KeyState& ks : keyed)
    if (ks.runs > 0) accumulate(*ks.first, ks.t, ks.k, static_cast<double>(ks.runs));
  if (unsupported) {
    StepPrediction failed;
    failed.error = gpu.spec.id + " (" + gpu.arch.id + ") has no " + std::string(to_string(*unsupported->tensor_mode)) +
                   " tensor-core mode, which op '" + unsupported->name + "' needs";
    return failed;
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
  // The host binds the step when it takes longer to issue the step than the GPU takes to run it (a
  // faster GPU would only idle more), or when the GPU spends most of the step waiting for it.
  if (p.host_s >= p.gpu_s || p.idle_s > 0.5 * p.seconds) {
    p.bound = Bound::host;
  } else if (p.compute_s >= p.memory_s && p.compute_s >= p.latency_s) {
    p.bound = Bound::compute;
  } else {
    p.bound = p.memory_s >= p.latency_s ? Bound::memory : Bound::latency;
  }
  return p;
}

}  // namespace gpuperf
