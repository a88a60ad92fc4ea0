// attention: a fused (flash-style) attention kernel of gpuperf-validate's own, fp16 in, fp32 accumulate,
// for the head dimensions of Stable Diffusion 1.5 (40, 80, 160; any multiple of 8 up to 160 is built for
// 40, 64, 80, 128, 160). One pass over K and V per tile of queries with an online softmax (running row
// maximum and sum), tensor cores through mma.sync m16n8k16 (sm_80 and later), K/V tiles double-buffered
// in shared memory by cp.async; the score matrix never reaches device memory.
#pragma once

#include <cuda_fp16.h>

#include <vector>

#include "common.cuh"

namespace gpuperf::validate {

// Q and O [bh][q_len][d], K and V [bh][kv_len][d], fp16, rows contiguous (d x 2 bytes each).
struct AttentionArgs {
  const __half* q = nullptr;
  const __half* k = nullptr;
  const __half* v = nullptr;
  __half* o = nullptr;
  int bh = 1;  // batch x heads
  int q_len = 1, kv_len = 1, d = 40;
  float scale = 0;  // softmax scale; 0 = 1 / sqrt(d)
  // 2: a probe that takes a second exponential per score on the SFU (the same value, kept by one min) to
  // measure what an exponential costs the kernel beside its products; 1 in every real use.
  int exps_per_score = 1;
};

// True when the kernel is built for this head dimension.
bool flash_attention_supported(int d);
// Queries per block the launch uses for these arguments (16 per warp).
int flash_attention_block_queries(const AttentionArgs& a);
// Launches the kernel on `s` (programmatic dependent launch when `pdl`); throws for an unsupported d.
void launch_flash_attention(const AttentionArgs& a, cudaStream_t s, bool pdl = false);
// ||out - ref|| / ||ref|| over sampled (bh, query) rows against a float64 host reference computed from the
// device buffers (every key of each sampled row).
double flash_attention_error(const AttentionArgs& a, int rows_per_head = 24);

// The attention micro-benchmark: every SD 1.5 attention shape at 512x512 and 2048x1152 (CFG batch 2),
// checked against float64, then timed (attention_tflops); at the long self-attention shapes also with
// two exponentials per score (attention_exp_probe_tflops: what the softmax's SFU work costs the kernel).
void run_attention(Context& ctx);

}  // namespace gpuperf::validate
