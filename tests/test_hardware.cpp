// Derived ceilings: bandwidth, peak rates per tensor mode (with GeForce's half-rate fp32 accumulate),
// ridge points.
#include <gtest/gtest.h>

#include "gpuperf/hardware.hpp"

using namespace gpuperf;

namespace {
Gpu ada_card(bool geforce) {
  Gpu g;
  g.arch.id = "ada";
  g.arch.fp32_lanes_per_sm = 128;
  g.arch.warp_schedulers_per_sm = 4;
  g.arch.sfu_results_per_clk_per_sm = 16;
  g.arch.tensor_cores_per_sm = 4;
  g.arch.l2_bytes_per_clk_per_sm = 64;
  g.arch.tensor_dense_flop_per_clk_per_sm[static_cast<std::size_t>(TensorMode::fp16_acc16)] = 1024;
  g.arch.tensor_dense_flop_per_clk_per_sm[static_cast<std::size_t>(TensorMode::fp16_acc32)] = 1024;
  g.arch.tensor_dense_flop_per_clk_per_sm[static_cast<std::size_t>(TensorMode::int8)] = 2048;
  g.spec.sm_count = 128;
  g.spec.cuda_cores = 128 * 128;
  g.spec.boost_clock_mhz = 2520;
  g.spec.tensor_fp32_accumulate_half = geforce;
  g.spec.memory.bus_width_bits = 384;
  g.spec.memory.data_rate_gbps = 21;
  return g;
}
}  // namespace

TEST(Hardware, BandwidthIsBusTimesDataRate) { EXPECT_DOUBLE_EQ(memory_bandwidth_gb_s(ada_card(true).spec), 1008.0); }

TEST(Hardware, GeForceRunsFp32AccumulateAtHalfRate) {
  Gpu g = ada_card(true);
  EXPECT_NEAR(*tensor_peak_tflops(g, TensorMode::fp16_acc16), 330.3, 0.1);
  EXPECT_NEAR(*tensor_peak_tflops(g, TensorMode::fp16_acc32), 165.2, 0.1);
  EXPECT_NEAR(*tensor_peak_tflops(g, TensorMode::int8), 660.6, 0.1);  // integer modes are not halved
}

TEST(Hardware, ProBoardsRunFp32AccumulateAtFullRate) {
  Gpu g = ada_card(false);
  EXPECT_DOUBLE_EQ(*tensor_peak_tflops(g, TensorMode::fp16_acc32), *tensor_peak_tflops(g, TensorMode::fp16_acc16));
}

TEST(Hardware, AbsentModeIsUnsupportedNotZero) {
  Gpu g = ada_card(true);
  EXPECT_FALSE(tensor_peak_tflops(g, TensorMode::fp8_acc32).has_value());
  EXPECT_FALSE(tensor_ridge_flop_per_byte(g, TensorMode::fp8_acc32).has_value());
}

TEST(Hardware, RidgeIsPeakOverBandwidth) {
  Gpu g = ada_card(true);
  EXPECT_NEAR(*tensor_ridge_flop_per_byte(g, TensorMode::fp16_acc32), 165.15e12 / 1008e9, 0.1);
  EXPECT_NEAR(fp32_ridge_flop_per_byte(g.spec), 82.58e12 / 1008e9, 0.1);
}

TEST(Hardware, Fp32PeakUsesMaxBoostWhereGiven) {
  Gpu g = ada_card(false);
  double at_boost = fp32_peak_tflops(g.spec);
  g.spec.max_boost_clock_mhz = 2520 * 1.1;
  EXPECT_NEAR(fp32_peak_tflops(g.spec), at_boost * 1.1, 1e-9);
}

TEST(Hardware, L2BandwidthScalesWithSmsAndClock) {
  Gpu g = ada_card(true);
  EXPECT_NEAR(l2_bandwidth_gb_s(g), 128 * 64 * 2.52, 1e-6);
}

TEST(Hardware, TensorModeNamesRoundTrip) {
  for (TensorMode m : kAllTensorModes) EXPECT_EQ(tensor_mode_from_string(to_string(m)), m);
  EXPECT_FALSE(tensor_mode_from_string("fp4").has_value());
  EXPECT_EQ(tensor_mode_for("bf16", "fp32"), TensorMode::bf16_acc32);
  EXPECT_FALSE(tensor_mode_for("bf16", "fp16").has_value());
}

TEST(Hardware, PublishedCheckReportsTheMismatch) {
  Gpu g = ada_card(true);
  g.spec.published = PublishedFigures{1100, std::nullopt, {{TensorMode::fp16_acc16, 330.3}}};
  auto checks = check_published(g);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_NEAR(checks[0].relative_error(), 1 - 1008.0 / 1100, 1e-9);
  EXPECT_LT(checks[1].relative_error(), 0.001);
}
