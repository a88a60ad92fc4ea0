// decode_persistent: a LLaMA decode step (batch 1, 4-bit weights in the gemv_q4 layout, fp16 KV cache) as
// one persistent cooperative kernel that walks every layer: each block streams its share of every weight
// matrix with the stream GEMV's ring (gemv_q4_stream.cuh), the small ops (RMSNorm, rotary, KV append,
// attention, silu * up, residual adds) are done inside the kernel between grid-wide barriers, and before
// waiting at a barrier each block issues the loads of the next matrix's weights (they depend on nothing).
// lm_head stays a cuBLAS fp16 GEMV after the kernel. Checked against an unfused chain (the stream GEMV, one
// launch per matrix, and one simple kernel per small op) on the same weights and inputs.
#pragma once

#include <string>

#include "common.cuh"

namespace gpuperf::validate {

struct PersistentDecodeResult {
  double step_ms = 0;  // best configuration's step (embedding copy, kernel, lm_head, argmax) in a graph
  std::string config;  // e.g. "w8-pf4"
};

// Runs the check, then times the decode step in each configuration and the o / down projections in the
// persistent regime; adds the measurements to ctx. `plan` gives the model's shapes and weight bytes.
PersistentDecodeResult run_decode_persistent(Context& ctx, const ReplayPlan& plan, const std::string& tag, int reps);

}  // namespace gpuperf::validate
