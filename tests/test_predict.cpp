// The roofline per op and the host/GPU timeline: each physical rule as a test that can fail.
#include <gtest/gtest.h>

#include <cmath>

#include "gpuperf/io/catalog.hpp"
#include "gpuperf/predict.hpp"

using namespace gpuperf;

namespace {
const io::Catalog& catalog() {
  static const io::Catalog cat = io::load_catalog(GPUPERF_SPECS_DIR);
  return cat;
}
const Gpu& gpu(const char* id) { return *catalog().find_gpu(id); }

HardwareParams hw() {
  HardwareParams h;
  h.tensor_efficiency = 0.7;
  h.attention_efficiency = 0.5;
  h.cuda_core_efficiency = 0.8;
  h.dram_efficiency = 0.9;
  h.l2_efficiency = 0.7;
  h.l2_resident_fraction = 0.5;
  h.clock_ratio = 1.0;
  h.kernel_latency_cycles = 4000;
  h.dequant_ops_per_weight = 6;
  h.attention_query_tile = 64;
  return h;
}

Op gemm(std::int64_t m, std::int64_t n, std::int64_t k, TensorMode mode = TensorMode::fp16_acc32) {
  Op op;
  op.name = "gemm";
  op.op_class = OpClass::gemm;
  op.gemm = {m, n, k, 1};
  op.tensor_mode = mode;
  const auto dm = static_cast<double>(m), dn = static_cast<double>(n), dk = static_cast<double>(k);
  op.flops = 2.0 * dm * dn * dk;
  op.weight_bytes = 2.0 * dn * dk;
  op.activation_bytes = 2.0 * dm * dk;
  op.write_bytes = 2.0 * dm * dn;
  return op;
}

Op tiny(const char* name) {
  Op op;
  op.name = name;
  op.op_class = OpClass::elementwise;
  op.activation_bytes = 1024;
  op.write_bytes = 1024;
  return op;
}
// A fused attention op: bh (batch x heads) sequences, q queries on kv keys, head dimension d, fp16.
Op fused_attention(std::int64_t q, std::int64_t kv, std::int64_t d, std::int64_t bh) {
  Op op;
  op.name = "attn";
  op.op_class = OpClass::attention;
  op.gemm = {q, kv, d, bh};
  op.tensor_mode = TensorMode::fp16_acc32;
  const double dq = static_cast<double>(q), dkv = static_cast<double>(kv), dd = static_cast<double>(d),
               dbh = static_cast<double>(bh);
  op.flops = 4.0 * dbh * dq * dkv * dd;
  op.sfu_results = dbh * dq * dkv;
  op.activation_bytes = dbh * (dq + 2.0 * dkv) * dd * 2;
  op.write_bytes = dbh * dq * dd * 2;
  return op;
}
}  // namespace

TEST(Roofline, GemvIsMemoryBoundAtBatch1) {
  auto card = effective_card(gpu("rtx-4090"), hw());
  OpTiming t = time_op(card, hw(), gemm(1, 5120, 5120), 0);
  EXPECT_EQ(t.bound, Bound::memory);
  EXPECT_GT(t.memory_s, 10 * t.compute_s);
}

TEST(Roofline, LargeGemmIsComputeBound) {
  auto card = effective_card(gpu("rtx-4090"), hw());
  OpTiming t = time_op(card, hw(), gemm(8192, 8192, 8192), 0);
  EXPECT_EQ(t.bound, Bound::compute);
  // 2·8192³ FLOP at 165.2 TFLOPS x 0.7 x tile efficiency.
  EXPECT_NEAR(t.compute_s, 2.0 * std::pow(8192.0, 3) / (165.15e12 * 0.7 * t.wave_efficiency), 1e-6);
}

TEST(Roofline, GeForceFp32AccumulateTakesTwiceTheTimeOfFp16Accumulate) {
  auto card = effective_card(gpu("rtx-4090"), hw());
  double acc32 = time_op(card, hw(), gemm(8192, 8192, 8192, TensorMode::fp16_acc32), 0).compute_s;
  double acc16 = time_op(card, hw(), gemm(8192, 8192, 8192, TensorMode::fp16_acc16), 0).compute_s;
  EXPECT_NEAR(acc32 / acc16, 2.0, 1e-9);
  auto pro = effective_card(gpu("rtx-6000-ada"), hw());
  EXPECT_NEAR(time_op(pro, hw(), gemm(8192, 8192, 8192, TensorMode::fp16_acc32), 0).compute_s /
                  time_op(pro, hw(), gemm(8192, 8192, 8192, TensorMode::fp16_acc16), 0).compute_s,
              1.0, 1e-9);
}

TEST(Roofline, WaveEfficiencyIsAFractionAndDropsWhenTilesDoNotFillTheSms) {
  const Gpu& g = gpu("rtx-4090");
  double big = wave_efficiency(gemm(8192, 8192, 8192), g.spec.sm_count, 64, 0);
  double few = wave_efficiency(gemm(128, 256, 256), g.spec.sm_count, 64, 0);
  EXPECT_LE(big, 1.0);
  EXPECT_GT(big, 0.8);
  EXPECT_LT(few, 0.1);
  EXPECT_GT(few, 0.0);
}

TEST(Roofline, SplitKRescuesFewTilesWithALongReduction) {
  // 20 output tiles on 38 SMs: without splitting the reduction, half the SMs idle.
  EXPECT_GT(wave_efficiency(gemm(512, 1280, 11520), 38, 64, 0), 0.75);
}

TEST(Roofline, EdgeTilesRunWholeSoAPaddedSideWastesWork) {
  // 8192 x 384 and 8192 x 320 (K = 4096) on 132 SMs run the same 256x128 tiles (32 x 3, split 4 ways
  // along K): the 320-column GEMM pays for 384 columns, so its efficiency per useful flop is 5/6.
  const int sms = 132;
  double exact = wave_efficiency(gemm(8192, 384, 4096), sms, 64, 0);
  double padded = wave_efficiency(gemm(8192, 320, 4096), sms, 64, 0);
  EXPECT_NEAR(exact, 384.0 / 396.0, 1e-12);
  EXPECT_NEAR(padded, exact * 320.0 / 384.0, 1e-12);
  // A side shorter than the smallest tile (a GEMV's single row) is not padded: a GEMV kernel runs it.
  EXPECT_GT(wave_efficiency(gemm(1, 5120, 5120), sms, 64, 0), 0.5);
}

TEST(Roofline, AttentionWavesCountOneCtaPerQueryTile) {
  // 4096 queries x 16 (sequence, head) pairs on 28 SMs: 64-query tiles give 1024 CTAs in 37 waves,
  // 128-query tiles 512 CTAs in 19.
  Op a = gemm(4096, 4096, 40);
  a.op_class = OpClass::attention;
  a.gemm.batch = 16;
  EXPECT_DOUBLE_EQ(wave_efficiency(a, 28, 64, 0), 1024.0 / (37 * 28));
  EXPECT_DOUBLE_EQ(wave_efficiency(a, 28, 128, 0), 512.0 / (19 * 28));
  EXPECT_DOUBLE_EQ(wave_efficiency(a, 28, 0, 0), 16.0 / 28);
}

TEST(Roofline, ActivationProducedJustBeforeIsReadFromL2AndEveryOutputIsWrittenBack) {
  auto card = effective_card(gpu("rtx-4090"), hw());
  Op op = tiny("add");
  op.activation_bytes = 8e6;
  op.write_bytes = 8e6;
  OpTiming from_l2 = time_op(card, hw(), op, 8e6);
  OpTiming from_dram = time_op(card, hw(), op, 0);
  // The input left in L2 by the op before is read there; the output, though it fits in L2, is written
  // back to DRAM (write-back cache: later outputs evict it).
  EXPECT_DOUBLE_EQ(from_l2.l2_bytes, 8e6);
  EXPECT_DOUBLE_EQ(from_l2.dram_bytes, 8e6);
  EXPECT_DOUBLE_EQ(from_dram.dram_bytes, 16e6);
  EXPECT_LT(from_l2.memory_s, from_dram.memory_s);
}

TEST(Timeline, AStepRepeatedOnTheSameBuffersFindsItsOperandsInL2) {
  // One GEMM called again and again (a micro-benchmark): A (5.2 MB) and B fit in the H100's L2, so
  // after the first call they are read from there and the kernel waits on no DRAM ramp.
  HardwareParams h = hw();
  h.dram_ramp_us = 3.0;
  Graph g;
  g.ops.push_back(gemm(8192, 320, 320));
  StackParams s{0.0, 0.0, false, true, false};
  StepPrediction cold = simulate_step(gpu("h100-sxm"), g, h, s, true);
  g.warm_l2 = true;
  StepPrediction warm = simulate_step(gpu("h100-sxm"), g, h, s, true);
  const Op& op = g.ops[0];
  EXPECT_DOUBLE_EQ(warm.ops[0].l2_bytes, op.activation_bytes + op.weight_bytes);
  EXPECT_DOUBLE_EQ(warm.ops[0].dram_bytes, op.write_bytes);  // the output is still written back
  EXPECT_NEAR(cold.ops[0].compute_s - warm.ops[0].compute_s, 3e-6, 1e-15);
  // An op too large for the L2 reads DRAM even when repeated.
  Graph big;
  big.ops.push_back(gemm(8192, 8192, 8192));
  big.warm_l2 = true;
  EXPECT_GT(simulate_step(gpu("h100-sxm"), big, h, s, true).ops[0].dram_bytes, big.ops[0].write_bytes);
}

TEST(Roofline, FlashAttentionRereadsKvFromDramWhenOneHeadDoesNotFitInL2) {
  // 2048x1152 self-attention at the UNet's first level: 36864 tokens, 40-dim heads, 16 (batch x heads).
  const Op op = fused_attention(36864, 36864, 40, 16);
  auto ada = effective_card(gpu("rtx-4090"), hw());          // 72 MiB L2: K and V of a head (5.9 MB) stay
  auto ampere = effective_card(gpu("rtx-3060-12gb"), hw());  // 3 MiB L2: they stream from DRAM again
  OpTiming a = time_op(ada, hw(), op, 0);
  OpTiming b = time_op(ampere, hw(), op, 0);
  double rereads = (36864.0 / 64 - 1) * 16 * 2 * 36864.0 * 40 * 2;
  EXPECT_NEAR(a.l2_bytes, rereads, 1);
  EXPECT_NEAR(b.dram_bytes - op.bytes(), rereads, 1);
  EXPECT_EQ(a.kv_reread_dram_bytes, 0);
  EXPECT_NEAR(b.kv_reread_dram_bytes, rereads, 1);
  // A step adds them up with its DRAM traffic.
  Graph g;
  g.ops = {op, op};
  const StepPrediction step = simulate_step(gpu("rtx-3060-12gb"), g, hw(), StackParams{0.0, 0.0, true}, true);
  EXPECT_NEAR(step.kv_reread_dram_bytes, 2 * rereads, 1e-6 * rereads);
  EXPECT_NEAR(step.dram_bytes, step.ops[0].dram_bytes + step.ops[1].dram_bytes, 1e-6 * step.dram_bytes);
  // Causal: each query tile reads the keys up to its last query, half the passes in all (as the FLOPs).
  Op causal = op;
  causal.flops /= 2;
  EXPECT_NEAR(time_op(ampere, hw(), causal, 0).kv_reread_dram_bytes, rereads / 2, 1);
}

TEST(Roofline, FusedAttentionIsBoundByItsExponentialsWhenTheTensorCoresAreFast) {
  // SD 512x512 self-attention at the first level: 4096 tokens, 40-dim heads, 16 (batch x heads). One
  // exponential per score on 16 SFU lanes per SM-clock; 160 tensor FLOP per score.
  const Op op = fused_attention(4096, 4096, 40, 16);
  HardwareParams h = hw();
  h.attention_efficiency = 0.9;  // a FlashAttention-3 class kernel
  const auto hopper = effective_card(gpu("h100-sxm"), h);
  EXPECT_DOUBLE_EQ(hopper.sfu_s_per_result, 1.0 / (132 * 16 * 1830e6));
  const OpTiming fast = time_op(hopper, h, op, 0);
  const double exponentials = op.sfu_results * hopper.sfu_s_per_result;
  EXPECT_NEAR(fast.compute_s, exponentials / fast.wave_efficiency, exponentials * 1e-9);
  EXPECT_GT(exponentials, op.flops * hopper.attention_s_per_flop[static_cast<std::size_t>(TensorMode::fp16_acc32)]);
  // A GeForce card's half-rate FP32-accumulate tensor cores take 5x the exponentials' time: they bind.
  const auto ada = effective_card(gpu("rtx-4090"), h);
  const OpTiming slow = time_op(ada, h, op, 0);
  const double products = op.flops * ada.attention_s_per_flop[static_cast<std::size_t>(TensorMode::fp16_acc32)];
  EXPECT_NEAR(slow.compute_s, products / slow.wave_efficiency, products * 1e-9);
  EXPECT_NEAR(products / (op.sfu_results * ada.sfu_s_per_result), 160.0 / 512 * 16 / 0.9, 1e-9);
  // Naive attention's softmax kernel: its exponentials beside its FP32 work, whichever takes longer.
  Op softmax = tiny("softmax");
  softmax.op_class = OpClass::softmax;
  softmax.flops = 5 * 1e6;
  softmax.sfu_results = 1e6;
  // (On GH100 a kernel without tensor work runs at the top boost clock, 1980 MHz.)
  EXPECT_DOUBLE_EQ(hopper.sfu_core_s_per_result, 1.0 / (132 * 16 * 1980e6));
  const double on_lanes = 5e6 * hopper.fp32_s_per_flop, on_sfu = 1e6 * hopper.sfu_core_s_per_result;
  EXPECT_DOUBLE_EQ(time_op(hopper, h, softmax, 0).compute_s, std::max(on_lanes, on_sfu));
  EXPECT_GT(on_sfu, on_lanes);  // 16 exponentials against 128 FP32 lanes per SM-clock
}

TEST(Roofline, LatencyScalesWithInverseClock) {
  HardwareParams h = hw();
  auto card = effective_card(gpu("rtx-4090"), h);
  double t1 = time_op(card, h, tiny("x"), 0).latency_s;
  h.clock_ratio = 2.0;
  auto fast = effective_card(gpu("rtx-4090"), h);
  EXPECT_NEAR(time_op(fast, h, tiny("x"), 0).latency_s, t1 / 2, 1e-15);
  EXPECT_NEAR(t1, 4000 / 2.52e9, 1e-12);
}

TEST(Roofline, DequantWorkRunsOnCudaCores) {
  auto card = effective_card(gpu("rtx-3060-12gb"), hw());
  Op op = tiny("gemv");
  op.op_class = OpClass::dequant_gemv;
  op.dequant_weights = 1e9;
  double expected = 1e9 * 6 / (3584 * 1777e6 * 0.8);
  EXPECT_NEAR(time_op(card, hw(), op, 0).compute_s, expected, expected * 1e-9);
  // GH100: the power limit that holds tensor work at clock_ratio of 1830 MHz leaves the CUDA cores at the
  // top boost clock, 1980 MHz, whatever the ratio.
  HardwareParams h = hw();
  h.clock_ratio = 0.825;
  auto hopper = effective_card(gpu("h100-sxm"), h);
  EXPECT_DOUBLE_EQ(hopper.core_clock_hz, 1980e6);
  EXPECT_DOUBLE_EQ(hopper.clock_hz, 1830e6 * 0.825);
  const double on_cores = 1e9 * 6 / (16896 * 1980e6 * 0.8);
  EXPECT_NEAR(time_op(hopper, h, op, 0).compute_s, on_cores, on_cores * 1e-9);
  // GA100 has 64 FP32 lanes per SM beside 64 INT32 lanes: the unpacking mix issues at the four
  // schedulers' 128 operations per SM per clock, as on GA10x's 128 FP32 lanes, not at 64.
  auto a100 = effective_card(gpu("a100-sxm-80gb"), hw());
  const double on_ga100 = 1e9 * 6 / (108 * 128 * 1410e6 * 0.8);
  EXPECT_NEAR(time_op(a100, hw(), op, 0).compute_s, on_ga100, on_ga100 * 1e-9);
  EXPECT_DOUBLE_EQ(a100.fp32_flops_s, 2.0 * 6912 * 1410e6 * 0.8);  // FP32 FMA stays at the lane count
}

TEST(Roofline, SustainedClockStopsAtTheTopBoostClock) {
  // GeForce: GPU Boost runs above the rated boost clock, so clock_ratio > 1 raises the clock.
  HardwareParams h = hw();
  h.clock_ratio = 1.15;
  auto geforce = effective_card(gpu("rtx-4070-ti"), h);
  EXPECT_DOUBLE_EQ(geforce.clock_hz, 2610e6 * 1.15);
  // A datacenter card's boost clock is its top clock: the same ratio leaves an L4 at 2040 MHz, and its
  // tensor peak and L2 bandwidth at their published (boost clock) figures.
  auto l4 = effective_card(gpu("l4"), h);
  EXPECT_DOUBLE_EQ(l4.clock_hz, 2040e6);
  auto l4_rated = effective_card(gpu("l4"), hw());
  for (std::size_t m = 0; m < kTensorModeCount; ++m) EXPECT_DOUBLE_EQ(l4.tensor_flops_s[m], l4_rated.tensor_flops_s[m]);
  EXPECT_DOUBLE_EQ(l4.l2_bytes_s, l4_rated.l2_bytes_s);
  // Below the top clock the ratio still applies.
  h.clock_ratio = 0.9;
  EXPECT_DOUBLE_EQ(effective_card(gpu("l4"), h).clock_hz, 2040e6 * 0.9);
}

TEST(Roofline, DramRampDelaysStreamingAndMathAlike) {
  HardwareParams h = hw();
  h.dram_ramp_us = 3.0;
  auto card = effective_card(gpu("h100-sxm"), h);
  auto flat = effective_card(gpu("h100-sxm"), hw());
  // A memory-bound copy waits 3 us for its first bytes; so does a compute-bound GEMM for its operands.
  Op copy = tiny("copy");
  copy.activation_bytes = 64e6;
  copy.write_bytes = 0;
  OpTiming c = time_op(card, h, copy, 0), c0 = time_op(flat, hw(), copy, 0);
  EXPECT_NEAR(c.memory_s - c0.memory_s, 3e-6, 1e-15);
  EXPECT_EQ(c.bound, Bound::memory);
  OpTiming g = time_op(card, h, gemm(4096, 4096, 4096), 0), g0 = time_op(flat, hw(), gemm(4096, 4096, 4096), 0);
  EXPECT_EQ(g.bound, Bound::compute);
  EXPECT_NEAR(g.compute_s - g0.compute_s, 3e-6, 1e-15);
  EXPECT_NEAR(g.gpu_s - g0.gpu_s, 3e-6, 1e-15);
  // An op whose only input is still in L2 reads no DRAM, and its stores are posted: no ramp.
  OpTiming l2 = time_op(card, h, tiny("l2"), 1024);
  OpTiming l2_flat = time_op(flat, hw(), tiny("l2"), 1024);
  EXPECT_EQ(l2.dram_bytes, 1024.0);
  EXPECT_DOUBLE_EQ(l2.compute_s, 0.0);
  EXPECT_DOUBLE_EQ(l2.memory_s, l2_flat.memory_s);
  // In a step's breakdown the ramp is latency (it does not shrink with bandwidth): the copy's memory term
  // is its streaming alone.
  Graph step;
  step.ops.push_back(copy);
  StackParams s{0.0, 0.0, false, true, false};
  StepPrediction with = simulate_step(gpu("h100-sxm"), step, h, s),
                 without = simulate_step(gpu("h100-sxm"), step, hw(), s);
  EXPECT_NEAR(with.latency_s - without.latency_s, 3e-6, 1e-15);
  EXPECT_NEAR(with.memory_s, without.memory_s, 1e-15);
}

TEST(Roofline, AFourBitGemvsChainIsFixedTimeThatDependentLaunchDoesNotHide) {
  HardwareParams h = hw();
  h.dram_ramp_us = 0.8;
  h.gemv_chain_us = 2.0;
  HardwareParams no_chain = h;
  no_chain.gemv_chain_us = 0;
  // A 4096 x 4096 4-bit GEMV streaming its weights from DRAM.
  Op gemv = tiny("gemv");
  gemv.op_class = OpClass::dequant_gemv;
  gemv.gemm = {1, 4096, 4096, 1};
  gemv.weight_bytes = 4096.0 * 4096 * 0.53125;
  gemv.activation_bytes = 8192;
  gemv.write_bytes = 8192;
  gemv.dequant_weights = 4096.0 * 4096;
  Graph step;
  step.ops.push_back(gemv);
  for (bool pdl : {false, true}) {
    StackParams s{0.0, 0.0, false, true, pdl};
    StepPrediction with = simulate_step(gpu("h100-sxm"), step, h, s),
                   without = simulate_step(gpu("h100-sxm"), step, no_chain, s);
    // 2 us more either way (PDL hides the ramp, not the chain), counted as latency in the breakdown.
    EXPECT_NEAR(with.gpu_s - without.gpu_s, 2e-6, 1e-12) << pdl;
    EXPECT_NEAR(with.latency_s - without.latency_s, 2e-6, 1e-12) << pdl;
  }
  // Other ops do not have it: a copy of the same bytes costs the same with and without.
  Op copy = tiny("copy");
  copy.activation_bytes = gemv.weight_bytes;
  copy.write_bytes = 0;
  EXPECT_DOUBLE_EQ(time_op(effective_card(gpu("h100-sxm"), h), h, copy, 0).gpu_s,
                   time_op(effective_card(gpu("h100-sxm"), no_chain), no_chain, copy, 0).gpu_s);
}

TEST(Roofline, ASkinnyProductLoadsThroughTheFewSmsOfItsCtas) {
  // 2 rows x 1280 x 1280 on the H100: one CTA per 128 outputs, 10 CTAs, each loading a tenth of the
  // 3.3 MB of weights (and the 2 rows) at one SM's rate, after the CTA's fixed start.
  HardwareParams h = hw();
  h.sm_load_bytes_per_cycle = 64;
  h.cta_overhead_cycles = 1500;
  auto card = effective_card(gpu("h100-sxm"), h);
  const Op skinny = gemm(2, 1280, 1280);
  OpTiming t = time_op(card, h, skinny, 0);
  const double read = skinny.weight_bytes + skinny.activation_bytes;
  EXPECT_NEAR(t.memory_s, 1500 / card.clock_hz + read / (10 * 64 * card.clock_hz), 1e-12);
  EXPECT_EQ(t.bound, Bound::memory);
  // The same with the long side first (PyTorch's call for x Wᵀ): the same CTAs.
  EXPECT_NEAR(time_op(card, h, gemm(1280, 2, 1280), 0).memory_s, t.memory_s, 1e-12);
  // Twice the SMs' load rate: the streaming part halves.
  HardwareParams fast = h;
  fast.sm_load_bytes_per_cycle = 128;
  EXPECT_NEAR(time_op(effective_card(gpu("h100-sxm"), fast), fast, skinny, 0).memory_s,
              1500 / card.clock_hz + read / (10 * 128 * card.clock_hz), 1e-12);
  // A single row is a matrix-vector product, and a side of 64 gets tiles: no cap, only every SM's share of
  // the DRAM reads, added to the DRAM time.
  HardwareParams flat = h;
  flat.sm_load_bytes_per_cycle = 0;
  auto flat_card = effective_card(gpu("h100-sxm"), flat);
  for (const Op& op : {gemm(1, 1280, 1280), gemm(64, 1280, 1280)}) {
    OpTiming with = time_op(card, h, op, 0), without = time_op(flat_card, flat, op, 0);
    EXPECT_NEAR(with.memory_s - without.memory_s,
                (with.dram_bytes - op.write_bytes) / (card.sm_count * 64 * card.clock_hz), 1e-15)
        << op.gemm.m;
  }
  // Reads from L2 take no SM term of their own (the L2 rate is the SMs').
  EXPECT_DOUBLE_EQ(time_op(card, h, tiny("l2"), 1024).memory_s, time_op(flat_card, flat, tiny("l2"), 1024).memory_s);
}

TEST(Timeline, DependentLaunchHidesTheRampOfWeightStreamsOnly) {
  HardwareParams h = hw();
  h.dram_ramp_us = 3.0;
  Graph g;
  g.ops.push_back(gemm(1, 5120, 5120));  // streams weights
  Op act = tiny("norm");
  act.activation_bytes = 64e6;  // streams an activation too large for L2
  g.ops.push_back(act);
  StackParams plain{0.0, 0.0, false, true, false}, pdl{0.0, 0.0, false, true, true};
  StepPrediction a = simulate_step(gpu("h100-sxm"), g, h, plain, true);
  StepPrediction b = simulate_step(gpu("h100-sxm"), g, h, pdl, true);
  EXPECT_NEAR(a.ops[0].gpu_s - b.ops[0].gpu_s, 3e-6, 1e-15);
  EXPECT_DOUBLE_EQ(a.ops[1].gpu_s, b.ops[1].gpu_s);
}

TEST(Timeline, TheGapBetweenKernelsAddsToEveryKernelWhateverBindsIt) {
  HardwareParams h = hw();
  Graph g;
  g.ops.push_back(gemm(4096, 4096, 4096));  // compute-bound, far longer than any latency
  g.ops.push_back(tiny("a"));               // latency-bound
  StackParams s{0.0, 0.0, false, true, false};
  StepPrediction a = simulate_step(gpu("h100-sxm"), g, h, s, true);
  h.kernel_gap_us = 2.0;
  StepPrediction b = simulate_step(gpu("h100-sxm"), g, h, s, true);
  ASSERT_EQ(a.ops.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(b.ops[i].gpu_s - a.ops[i].gpu_s, 2e-6, 1e-15) << i;
    EXPECT_EQ(b.ops[i].bound, a.ops[i].bound) << i;  // the gap does not change what binds the kernel
  }
  EXPECT_NEAR(b.seconds - a.seconds, 4e-6, 1e-12);
  // In the breakdown the gaps are latency, whatever binds the kernels: the GEMM's compute term is the same.
  EXPECT_NEAR(b.latency_s - a.latency_s, 4e-6, 1e-15);
  EXPECT_NEAR(b.compute_s, a.compute_s, 1e-15);
  EXPECT_NEAR(b.compute_s + b.memory_s + b.latency_s, b.gpu_s, 1e-15);
}

namespace {
Graph tiny_graph(int n) {
  Graph g;
  for (int i = 0; i < n; ++i) g.ops.push_back(tiny("op"));
  return g;
}
}  // namespace

TEST(Timeline, HostBoundWhenTheHostIsSlowerThanTheGpu) {
  StackParams s{20.0, 0.0, true};  // 20 us per kernel on the host
  StepPrediction p = simulate_step(gpu("rtx-4090"), tiny_graph(100), hw(), s);
  EXPECT_EQ(p.bound, Bound::host);
  EXPECT_NEAR(p.host_s, 100 * 20e-6, 1e-12);
  EXPECT_GT(p.seconds, p.host_s);  // the last kernel still runs after the host is done
  EXPECT_LT(p.seconds, p.host_s + 1e-5);
  // The host a little slower than the GPU: the GPU idles only a fraction of the step, but a faster GPU
  // would not shorten it - the host binds. A little faster than the GPU: the GPU binds.
  const Graph g = tiny_graph(100);
  const double per_kernel_us = simulate_step(gpu("rtx-4090"), g, hw(), StackParams{0.0, 0.0, true}).gpu_s / 100 * 1e6;
  StepPrediction slower = simulate_step(gpu("rtx-4090"), g, hw(), StackParams{per_kernel_us * 1.2, 0.0, true});
  EXPECT_LT(slower.idle_s, 0.5 * slower.seconds);
  EXPECT_EQ(slower.bound, Bound::host);
  StepPrediction faster = simulate_step(gpu("rtx-4090"), g, hw(), StackParams{per_kernel_us * 0.8, 0.0, true});
  EXPECT_NE(faster.bound, Bound::host);
}

TEST(Timeline, GpuBoundWhenTheGpuIsSlowerThanTheHost) {
  Graph g;
  g.ops.push_back(gemm(8192, 8192, 8192));
  StackParams s{5.0, 0.0, true};
  StepPrediction p = simulate_step(gpu("rtx-3060-12gb"), g, hw(), s);
  EXPECT_EQ(p.bound, Bound::compute);
  EXPECT_NEAR(p.seconds, 5e-6 + p.gpu_s, 1e-12);
}

TEST(Timeline, CudaGraphStackIsPureGpuTime) {
  StackParams s{0.0, 0.0, false};
  StepPrediction p = simulate_step(gpu("rtx-4090"), tiny_graph(50), hw(), s);
  EXPECT_DOUBLE_EQ(p.seconds, p.gpu_s);
  EXPECT_DOUBLE_EQ(p.idle_s, 0.0);
}

TEST(Timeline, PerStepHostWorkComesBeforeTheFirstKernel) {
  StackParams s{0.0, 2.0, true};
  StepPrediction p = simulate_step(gpu("rtx-4090"), tiny_graph(1), hw(), s);
  EXPECT_NEAR(p.seconds, 2e-3 + p.gpu_s, 1e-12);
  EXPECT_NEAR(p.idle_s, 2e-3, 1e-12);
}

TEST(Timeline, BreakdownAddsUp) {
  Graph g = tiny_graph(10);
  g.ops.push_back(gemm(4096, 4096, 4096));
  g.ops.push_back(gemm(1, 4096, 4096));
  StackParams s{8.0, 1.0, true};
  StepPrediction p = simulate_step(gpu("rtx-4080"), g, hw(), s, true);
  EXPECT_NEAR(p.compute_s + p.memory_s + p.latency_s, p.gpu_s, 1e-12);
  EXPECT_NEAR(p.gpu_s + p.idle_s, p.seconds, 1e-12);
  ASSERT_EQ(p.ops.size(), g.ops.size());
  double classes = 0;
  for (const auto& c : p.classes) classes += c.gpu_s;
  EXPECT_NEAR(classes, p.gpu_s, 1e-12);
}

TEST(Timeline, MissingTensorModeIsAnErrorNotACrash) {
  Graph g;
  g.ops.push_back(gemm(1024, 1024, 1024, TensorMode::bf16_acc32));
  StepPrediction p = simulate_step(gpu("rtx-2080-ti"), g, hw(), StackParams{1, 0, true});
  EXPECT_NE(p.error.find("no bf16_acc32"), std::string::npos) << p.error;
}

TEST(Timeline, SkippingAheadOverIdenticalLayersGivesTheSameStepAsSimulatingEveryOp) {
  // 40 identical "layers" of a small op, a big GEMV and a tiny op; host-bound and GPU-bound stacks.
  Graph g;
  g.ops.push_back(tiny("embedding"));
  for (int layer = 0; layer < 40; ++layer) {
    g.ops.push_back(tiny("norm"));
    g.ops.push_back(gemm(1, 5120, 5120));
    g.ops.back().kernels = 4;
    g.ops.push_back(tiny("add"));
  }
  g.ops.push_back(gemm(1, 32000, 5120));
  auto rb = find_repeated_block(g);
  ASSERT_TRUE(rb.has_value());
  EXPECT_EQ(rb->period * rb->count, 120u);
  for (double host_us : {0.0, 3.0, 30.0}) {
    StackParams s{host_us, 1.0, true};
    Graph plain = g;
    plain.repeat.reset();
    Graph skipping = g;
    skipping.repeat = rb;
    StepPrediction a = simulate_step(gpu("rtx-3060-12gb"), plain, hw(), s);
    StepPrediction b = simulate_step(gpu("rtx-3060-12gb"), skipping, hw(), s);
    EXPECT_NEAR(b.seconds / a.seconds, 1.0, 1e-9) << host_us;
    EXPECT_NEAR(b.idle_s, a.idle_s, 1e-9 * a.seconds) << host_us;
    EXPECT_NEAR(b.gpu_s / a.gpu_s, 1.0, 1e-9) << host_us;
    EXPECT_EQ(b.kernels, a.kernels);
    ASSERT_EQ(b.classes.size(), a.classes.size());
    for (std::size_t c = 0; c < a.classes.size(); ++c) EXPECT_NEAR(b.classes[c].gpu_s / a.classes[c].gpu_s, 1.0, 1e-9);
  }
}

TEST(Timeline, TimingEachOpPairOnceGivesTheSameStepAsTimingEveryOp) {
  // A graph with repeated layers, varied shapes and L2-dependent neighbours, with and without the
  // timing index and the block skip, on cards whose L2 holds different outputs.
  Graph g;
  g.ops.push_back(tiny("embedding"));
  for (int layer = 0; layer < 12; ++layer) {
    g.ops.push_back(tiny("norm"));
    g.ops.push_back(gemm(4096, 1280, 1280));
    g.ops.push_back(gemm(1, 5120, 5120));
    g.ops.back().kernels = 3;
    g.ops.push_back(gemm(64 * (layer % 3 + 1), 640, 2560));
    g.ops.push_back(tiny("add"));
  }
  g.ops.push_back(gemm(1, 32000, 5120));
  const TimingIndex index = index_timings(g);
  ASSERT_EQ(index.key.size(), g.ops.size());
  EXPECT_LT(index.keys, g.ops.size());    // pairs repeat
  EXPECT_EQ(index.key[2], index.key[7]);  // the second layer's first GEMM follows the same norm
  for (const char* card : {"rtx-3060-12gb", "rtx-4090"})
    for (bool one_kernel : {false, true})
      for (double host_us : {0.0, 4.0, 40.0}) {
        StackParams s{host_us, 0.5, true, one_kernel};
        Graph plain = g;
        Graph indexed = g;
        indexed.timing = index;
        indexed.repeat = find_repeated_block(indexed);
        StepPrediction a = simulate_step(gpu(card), plain, hw(), s);
        StepPrediction b = simulate_step(gpu(card), indexed, hw(), s);
        StepPrediction c = simulate_step(gpu(card), indexed, hw(), s, true);  // every op kept
        for (const StepPrediction* x : {&b, &c}) {
          EXPECT_NEAR(x->seconds / a.seconds, 1.0, 1e-12) << card;
          EXPECT_NEAR(x->idle_s, a.idle_s, 1e-12 * a.seconds) << card;
          EXPECT_NEAR(x->compute_s, a.compute_s, 1e-12 * a.seconds) << card;
          EXPECT_NEAR(x->memory_s, a.memory_s, 1e-12 * a.seconds) << card;
          EXPECT_NEAR(x->latency_s, a.latency_s, 1e-12 * a.seconds) << card;
          EXPECT_EQ(x->kernels, a.kernels);
          ASSERT_EQ(x->classes.size(), a.classes.size());
          for (std::size_t k = 0; k < a.classes.size(); ++k) {
            EXPECT_NEAR(x->classes[k].gpu_s, a.classes[k].gpu_s, 1e-12 * a.seconds);
            EXPECT_NEAR(x->classes[k].dram_bytes, a.classes[k].dram_bytes, 1e-9 * a.classes[k].dram_bytes + 1e-9);
            EXPECT_EQ(x->classes[k].kernels, a.classes[k].kernels);
          }
        }
        ASSERT_EQ(c.ops.size(), g.ops.size());
      }
  // An index that does not cover the ops (edited afterwards) is ignored, not misread.
  Graph stale = g;
  stale.timing = index;
  stale.ops.push_back(tiny("extra"));
  Graph fresh = stale;
  fresh.timing = {};
  StackParams s{4.0, 0.5, true};
  EXPECT_DOUBLE_EQ(simulate_step(gpu("rtx-4090"), stale, hw(), s).seconds,
                   simulate_step(gpu("rtx-4090"), fresh, hw(), s).seconds);
}
