// The replay's dataflow placement of activations (validate/host/replay_layout.hpp): every region inside
// the ring, each op reading what the op before it wrote, the rest from data a lap old, no GEMM writing
// what it reads; on a synthetic plan and on the SD 1.5 UNet steps the replay runs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "replay_layout.hpp"
#include "replay_plan.hpp"

using namespace gpuperf_replay;

namespace {
ReplayOp bytes_op(double act, double written, double weights = 0) {
  ReplayOp op;
  op.kind = ReplayKind::bytes;
  op.activation_bytes = act;
  op.write_bytes = written;
  op.weight_bytes = weights;
  return op;
}
ReplayOp gemm_op(std::int64_t m, std::int64_t n, std::int64_t k) {
  ReplayOp op;
  op.kind = ReplayKind::gemm;
  op.m = m, op.n = n, op.k = k;
  op.weight_bytes = 2.0 * double(n * k);
  op.activation_bytes = 2.0 * double(m * k);
  op.write_bytes = 2.0 * double(m * n);
  return op;
}
bool overlap(std::size_t a, std::size_t an, std::size_t b, std::size_t bn) { return a < b + bn && b < a + an; }

// The invariants of a layout of `ops` on a card with `l2` bytes of L2.
void check_layout(const std::vector<ReplayOp>& ops, double l2) {
  FlowLayout L = dataflow_layout(ops, l2);
  ASSERT_EQ(L.ops.size(), ops.size());
  EXPECT_GE(double(L.pool_bytes), 4 * l2);
  EXPECT_GE(L.pool_bytes, std::size_t(256) << 20);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const FlowIo& f = L.ops[i];
    ASSERT_EQ(f.out, has_flow(ops[i])) << i;
    if (!f.out) continue;
    EXPECT_EQ(f.out_off % 256, 0u) << i;
    EXPECT_LE(f.out_off + f.out_bytes, L.pool_bytes) << i;
    const FlowIo* prev = i > 0 && L.ops[i - 1].out ? &L.ops[i - 1] : nullptr;
    if (ops[i].kind == ReplayKind::bytes) {
      // As many vectors read as the shared placement reads, split three ways.
      EXPECT_EQ(f.n_hot + f.n_cold + f.n_src, f.n_read) << i;
      if (f.n_hot > 0) {
        ASSERT_NE(prev, nullptr) << i;
        EXPECT_EQ(f.hot_off, prev->out_off) << i;
        EXPECT_LE(f.n_hot * 16, prev->out_bytes) << i;
      }
      EXPECT_EQ(f.cold_off, f.out_off + f.out_bytes) << i;
      EXPECT_LE(f.cold_off + f.n_cold * 16, L.pool_bytes) << i;
    } else {
      EXPECT_LE(f.a_off + f.a_bytes, L.pool_bytes) << i;
      EXPECT_FALSE(overlap(f.a_off, f.a_bytes, f.out_off, f.out_bytes)) << i;  // never writes what it reads
      if (f.a_prev) {
        ASSERT_NE(prev, nullptr) << i;
        EXPECT_EQ(f.a_off, prev->out_off) << i;
        EXPECT_GE(double(prev->written), ops[i].activation_bytes) << i;
      }
    }
  }
}
}  // namespace

TEST(ReplayLayout, EachOpReadsWhatTheOpBeforeItWroteAndTheRestFromOldData) {
  // norm (5 MB) -> GEMM reading it -> residual add reading the GEMM's output and an old 5 MB tensor.
  const double mb5 = 5.0 * 1024 * 1024;
  std::vector<ReplayOp> ops = {bytes_op(mb5, mb5, 640), gemm_op(8192, 320, 320), bytes_op(2 * mb5, mb5)};
  FlowLayout L = dataflow_layout(ops, 50.0 * 1024 * 1024);
  EXPECT_EQ(L.ops[0].n_hot, 0u);  // nothing before it: all from old data (and the gammas from the source)
  EXPECT_EQ(L.ops[0].n_src, 640u / 16);
  EXPECT_TRUE(L.ops[1].a_prev);  // the GEMM's activations are the norm's output
  EXPECT_EQ(L.ops[1].a_off, L.ops[0].out_off);
  EXPECT_EQ(L.ops[2].hot_off, L.ops[1].out_off);  // half the add's input is the GEMM's output...
  EXPECT_EQ(L.ops[2].n_hot * 16, std::size_t(mb5));
  EXPECT_EQ(L.ops[2].n_cold * 16, std::size_t(mb5));  // ...half is old
  EXPECT_DOUBLE_EQ(L.hot_bytes, mb5);
  EXPECT_DOUBLE_EQ(L.cold_bytes, 2 * mb5);
  check_layout(ops, 50.0 * 1024 * 1024);
}

TEST(ReplayLayout, AConvolutionsLargerInputRunsOnPastThePreviousOutputWithoutTouchingItsOwn) {
  // A 3x3 conv as an explicit GEMM reads 9x the previous op's output.
  const double in = 2.0 * 4096 * 320;
  ReplayOp conv = gemm_op(4096, 320, 2880);
  conv.activation_bytes = in;  // the model counts the convolution's real input, not its 9x explicit GEMM
  std::vector<ReplayOp> ops = {bytes_op(in, in), conv};
  FlowLayout L = dataflow_layout(ops, 50.0 * 1024 * 1024);
  EXPECT_TRUE(L.ops[1].a_prev);
  EXPECT_EQ(L.gemm_overhang, 1);
  check_layout(ops, 50.0 * 1024 * 1024);
}

TEST(ReplayLayout, TheSdUnetStepsFitTheirRings) {
  for (bool flash : {false, true}) {
    for (auto [w, h] : {std::pair{512, 512}, std::pair{2048, 1152}}) {
      if (!flash && w != 512) continue;
      ReplayPlan plan = sd_unet_plan(GPUPERF_SPECS_DIR, "sd15", w, h, 1, true, flash);
      SCOPED_TRACE(plan.workload);
      check_layout(plan.ops, 50.0 * 1024 * 1024);
      FlowLayout L = dataflow_layout(plan.ops, 50.0 * 1024 * 1024);
      EXPECT_GT(L.hot_bytes, 0);
      EXPECT_GT(L.cold_bytes, 0);
      EXPECT_GT(L.gemm_prev + L.gemm_overhang, 0);
    }
  }
}
