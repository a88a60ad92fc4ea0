// replay: whole-workload replay on the GPU. The op list comes from the model library's graphs
// (replay_plan.hpp): a LLaMA-13B decode step at context 512 with 4-bit GPTQ-like weights (own GEMV) and
// with fp16 weights (cuBLAS), and a Stable Diffusion 1.5 UNet step (512x512, CFG batch 2, naive
// attention; every conv and matmul a cuBLAS GEMM of the op's implicit-GEMM shape, the weight GEMMs called
// as PyTorch calls them: output features as cuBLAS's m, D tokens x out row-major). Every weight matrix
// has its own memory (all 40 layers: nothing stays in L2 between steps); decode attention reads the
// layer's K/V cache; the other small ops are one kernel each that reads the op's input bytes and writes
// its output bytes. Each workload runs eagerly and as a CUDA graph; the 4-bit one also with programmatic
// dependent launch on its GEMVs, on every own kernel, with the GEMVs that share an input fused (q/k/v,
// gate/up: one GEMV over their concatenated rows), and both; per op class, a graph of only that class's
// ops is timed too, and for the SD 512x512 flash step the step without each class (run 28). The SD
// plans' activations follow a network's dataflow (replay_layout.hpp: each op writes its own region of a
// ring larger than the L2 and reads what the op before it wrote, the rest of its input from old data); the
// LLaMA plans' small ops, and one comparison figure of the SD 512x512 flash step (`-shared`), read one
// shared source buffer and write one shared destination, as every op did until run 26, with the one-range
// byte kernel of those runs (the three-range one only where an op has dataflow regions, run 29). Results:
// replay_ms / replay_gb_s / replay_floor_ratio measurements, and workload-level points (tokens/s, it/s) for
// --replay-out.
#include <cooperative_groups.h>
#include <cublas_v2.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>

#include "attention.cuh"
#include "common.cuh"
#include "decode_persistent.cuh"
#include "gemv_q4.cuh"
#include "ptx.cuh"
#include "replay_layout.hpp"

namespace gpuperf::validate {

namespace {

// ---- kernels. Each starts with griddepcontrol: under programmatic dependent launch (the graph-pdl modes)
// it lets its successor launch at once and waits for its predecessor before reading anything; without
// the launch attribute both are no-ops.

__device__ __forceinline__ void pdl_enter() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Launches `k` on `s`, with the programmatic-stream-serialization attribute when `pdl`.
template <typename... KArgs, typename... Args>
void launch_k(void (*k)(KArgs...), dim3 grid, dim3 block, cudaStream_t s, bool pdl, Args... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.stream = s;
  cudaLaunchAttribute attr;
  allow_pdl(cfg, attr, pdl);
  GV_CUDA(cudaLaunchKernelEx(&cfg, k, args...));
}

// Reads `nr` and writes `nw` 16-byte vectors (the written value depends on what was read): the byte ops
// without dataflow regions (the LLaMA plans, the SD `-shared` figures), one source range and one
// destination, as until run 26. What it writes (the shared `dst`) is read by nothing, so it is not masked.
__global__ void bytes_kernel(const uint4* __restrict__ src, size_t nr, uint4* __restrict__ dst, size_t nw) {
  pdl_enter();
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  const size_t n = nr > nw ? nr : nw;
  unsigned acc = 0;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    uint4 v = i < nr ? src[i] : make_uint4(acc, 1, 2, 3);
    acc += v.x ^ v.w;
    if (i < nw) dst[i] = make_uint4(v.y, v.z, v.w, acc);
  }
  if (acc == 0x9E3779B9u && nw > 0) dst[0].x = acc;  // keeps reads past nw alive
}

// The byte ops with dataflow regions (run 27): reads n0 + n1 + n2 16-byte vectors (vector i from s0[i],
// then s1, then s2: the previous op's output, old data, the op's weights) and writes `nw` (the written
// value depends on what was read). What it writes is fp16 pairs with the exponent's top bit cleared
// (|x| < 2, finite), because the next GEMM reads them as its activations. Only these ops run it (run 29):
// its three ranges cost ~30-60 ns per tiny launch against bytes_kernel (run 27's LLaMA class graphs).
__global__ void flow_bytes_kernel(const uint4* __restrict__ s0, size_t n0, const uint4* __restrict__ s1, size_t n1,
                                  const uint4* __restrict__ s2, size_t n2, uint4* __restrict__ dst, size_t nw) {
  pdl_enter();
  constexpr unsigned kFinite = 0xBFFFBFFFu;
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  const size_t n01 = n0 + n1, nr = n01 + n2;
  const size_t n = nr > nw ? nr : nw;
  unsigned acc = 0;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    uint4 v = i < n0 ? s0[i] : i < n01 ? s1[i - n0] : i < nr ? s2[i - n01] : make_uint4(acc, 1, 2, 3);
    acc += v.x ^ v.w;
    if (i < nw) dst[i] = make_uint4(v.y & kFinite, v.z & kFinite, v.w & kFinite, acc & kFinite);
  }
  if (acc == 0x9E3779B9u && nw > 0) dst[0].x = acc & kFinite;  // keeps reads past nw alive
}

// Decode attention for one token, head dim 128: K/V cache [pos][kv_heads][128] fp16; query heads
// kvh * group … kvh * group + group - 1 read K/V head kvh (grouped-query attention; group 1 without). Each
// K and V row is loaded once for all the query heads of its group (run 39; before, once per query head).
// Scores (runs 42, 44): a warp takes 16 positions of one K/V head, each half-warp 8 of them, a 256-byte row of
// K read by the half-warp as one 16-byte vector per lane (all 8 loads issued before any arithmetic). Every
// lane holds 8 dims of its half's 8 rows; per query head the partial dot products are summed across the
// half-warp by a transposing butterfly (4 + 2 + 1 shuffles leave lanes 2i and 2i + 1 with halves of row i's
// sum, one more shuffle adds them; one sum per row would take 4 shuffles a row), and the warp writes the head's
// 16 consecutive scores at once. At most 64 registers a thread (8 blocks of 128 threads an SM: run 43 found
// 167 registers, 3 blocks an SM and 1.3 waves at context 8192), and the warps loop over the tiles, the grid
// no larger than the card holds at once.
constexpr int kScoreRowsPerHalf = 8;
constexpr int kScoreThreads = 128;
constexpr int kScoreBlocksPerSm = 8;
__global__ void __launch_bounds__(kScoreThreads, kScoreBlocksPerSm)
    attn_scores_kernel(const __half* __restrict__ q, const __half* __restrict__ kc, float* __restrict__ s, int heads,
                       int group, int ctx, float scale) {
  pdl_enter();
  const int lane = int(threadIdx.x & 31), sub = lane & 15, half_id = lane >> 4;
  const int kv_heads = heads / group, chunks = (ctx + 2 * kScoreRowsPerHalf - 1) / (2 * kScoreRowsPerHalf);
  const int warps = int(gridDim.x * blockDim.x) >> 5;
  for (int w = int((blockIdx.x * blockDim.x + threadIdx.x) >> 5); w < kv_heads * chunks; w += warps) {
    const int kvh = w / chunks;
    const int p0 = (w - kvh * chunks) * 2 * kScoreRowsPerHalf + half_id * kScoreRowsPerHalf;
    uint4 kv[kScoreRowsPerHalf];
#pragma unroll
    for (int j = 0; j < kScoreRowsPerHalf; ++j) {
      const int p = p0 + j;
      kv[j] = p < ctx ? *reinterpret_cast<const uint4*>(kc + (size_t(p) * kv_heads + kvh) * 128 + sub * 8)
                      : make_uint4(0, 0, 0, 0);
    }
    for (int g = 0; g < group; ++g) {  // uniform across the warp
      const int h = kvh * group + g;
      const uint4 qv = *reinterpret_cast<const uint4*>(q + size_t(h) * 128 + sub * 8);
      const std::uint32_t qw[4] = {qv.x, qv.y, qv.z, qv.w};
      float2 qf[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) qf[e] = __half22float2(*reinterpret_cast<const __half2*>(&qw[e]));
      float v[kScoreRowsPerHalf];
#pragma unroll
      for (int j = 0; j < kScoreRowsPerHalf; ++j) {
        const std::uint32_t kw[4] = {kv[j].x, kv[j].y, kv[j].z, kv[j].w};
        float d = 0.0f;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float2 kf = __half22float2(*reinterpret_cast<const __half2*>(&kw[e]));
          d += kf.x * qf[e].x + kf.y * qf[e].y;
        }
        v[j] = d;
      }
      // Butterfly: at offset o, a lane keeps the upper half of its rows when its bit o is set, sends the other
      // half to its partner and adds what the partner sent; after offsets 8, 4, 2 lane `sub` holds part of row
      // sub / 2, and offset 1 adds the two parts.
#pragma unroll
      for (int o = 8, n = kScoreRowsPerHalf / 2; n >= 1; o >>= 1, n >>= 1) {
        const bool upper = (sub & o) != 0;
#pragma unroll
        for (int j = 0; j < n; ++j) {
          const float keep = upper ? v[j + n] : v[j];
          const float send = upper ? v[j] : v[j + n];
          v[j] = keep + __shfl_xor_sync(0xffffffffu, send, o);
        }
      }
      v[0] += __shfl_xor_sync(0xffffffffu, v[0], 1);
      const int p = p0 + (sub >> 1);
      if ((sub & 1) == 0 && p < ctx) s[size_t(h) * ctx + p] = v[0] * scale;
    }
  }
}

// Softmax of each head's row in place, one block per head, the row held in registers: each thread loads up to
// kSoftmaxVectors 16-byte vectors of it at once, the block reduces the maximum, then the sum of exponentials
// (each a warp's shuffles, then warp 0's over the warps' partials), and the probabilities are written from the
// registers (run 39; before, three passes over the row in global memory by 256 threads: 10.6 µs a row of
// 8192 in run 37). Threads: a multiple of 32 from 64 to 1024, two vectors each up to 1024 threads, then up to
// kSoftmaxVectors each; rows of
// up to 32768 scores (attn_softmax_threads). Zeroes the head's output for attn_pv's accumulation.
constexpr int kSoftmaxVectors = 8;
constexpr int kSoftmaxMaxThreads = 1024;
int attn_softmax_threads(int ctx) {
  const int vectors = (ctx + 3) / 4;
  const int threads = (vectors + 1) / 2;  // two vectors a thread where the block allows (run 44)
  return std::min(kSoftmaxMaxThreads, std::max(64, (threads + 31) / 32 * 32));
}
// The block's reduction of one value per thread (max, or sum), the result in every thread.
template <bool MAX>
__device__ inline float block_reduce(float v, float* red) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = MAX ? fmaxf(v, w) : v + w;
  }
  const int warps = int(blockDim.x >> 5);
  __syncthreads();  // `red` may still be read from the previous reduction
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = int(threadIdx.x) < warps ? red[threadIdx.x] : (MAX ? -INFINITY : 0.0f);
    for (int o = 16; o > 0; o >>= 1) {
      const float w = __shfl_xor_sync(0xffffffffu, v, o);
      v = MAX ? fmaxf(v, w) : v + w;
    }
    if (threadIdx.x == 0) red[32] = v;
  }
  __syncthreads();
  return red[32];
}
__global__ void __launch_bounds__(kSoftmaxMaxThreads)
    attn_softmax_kernel(float* __restrict__ s, float* __restrict__ out, int ctx) {
  __shared__ float red[33];
  pdl_enter();
  float* row = s + size_t(blockIdx.x) * ctx;
  const bool vec = (ctx & 3) == 0;  // every row starts 16-byte aligned: 16-byte loads, else four scalar ones
  const int n = (ctx + 3) / 4;      // groups of four scores in the row
  const int stride = int(blockDim.x);
  float4 v[kSoftmaxVectors];
  float m = -INFINITY;
#pragma unroll
  for (int r = 0; r < kSoftmaxVectors; ++r) v[r] = make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
#pragma unroll
  for (int r = 0; r < kSoftmaxVectors; ++r) {
    const int i = int(threadIdx.x) + r * stride;
    if (i < n) {
      if (vec) {
        v[r] = reinterpret_cast<const float4*>(row)[i];
      } else {
        const int e = 4 * i;
        v[r] = make_float4(row[e], e + 1 < ctx ? row[e + 1] : -INFINITY, e + 2 < ctx ? row[e + 2] : -INFINITY,
                           e + 3 < ctx ? row[e + 3] : -INFINITY);
      }
      m = fmaxf(m, fmaxf(fmaxf(v[r].x, v[r].y), fmaxf(v[r].z, v[r].w)));
    }
  }
  m = block_reduce<true>(m, red);
  float sum = 0.0f;
#pragma unroll
  for (int r = 0; r < kSoftmaxVectors; ++r) {
    if (int(threadIdx.x) + r * stride < n) {  // a -INFINITY past the row's end gives 0
      v[r].x = __expf(v[r].x - m);
      v[r].y = __expf(v[r].y - m);
      v[r].z = __expf(v[r].z - m);
      v[r].w = __expf(v[r].w - m);
      sum += (v[r].x + v[r].y) + (v[r].z + v[r].w);
    }
  }
  const float inv = 1.0f / block_reduce<false>(sum, red);
#pragma unroll
  for (int r = 0; r < kSoftmaxVectors; ++r) {
    const int i = int(threadIdx.x) + r * stride;
    if (i < n) {
      const float4 p = make_float4(v[r].x * inv, v[r].y * inv, v[r].z * inv, v[r].w * inv);
      if (vec) {
        reinterpret_cast<float4*>(row)[i] = p;
      } else {
        const int e = 4 * i;
        row[e] = p.x;
        if (e + 1 < ctx) row[e + 1] = p.y;
        if (e + 2 < ctx) row[e + 2] = p.z;
        if (e + 3 < ctx) row[e + 3] = p.w;
      }
    }
  }
  // Every one of the head's 128 outputs (a block of 64 threads, from context 512 down, zeroes two each).
  for (int i = int(threadIdx.x); i < 128; i += int(blockDim.x)) out[blockIdx.x * 128 + i] = 0.0f;
}

// out[h][d] += sum over this block's positions of P[h][p] V[p][kvh][d] for the GROUP query heads h of K/V
// head kvh; grid (kv heads, splits of pv_positions_per_block), 256 threads: 16 lanes cover a 256-byte row of V
// (8 dims each, one 16-byte load), 16 such groups take the block's positions round-robin, loads issued before
// the arithmetic;
// the groups' sums meet in shared memory, one head at a time, and are added to the output.
constexpr int kPvThreads = 256;
// At most 64 registers a thread up to 2 query heads a K/V head (4 blocks of 256 threads an SM); with 4 the
// accumulators need 80 (3 blocks an SM, as in run 43): capped at 64 they spill.
template <int GROUP>
__global__ void __launch_bounds__(kPvThreads, GROUP <= 2 ? 4 : (GROUP == 4 ? 3 : 2))
    attn_pv_kernel(const float* __restrict__ pr, const __half* __restrict__ vc, float* __restrict__ out, int heads,
                   int ctx, int per_split) {
  __shared__ float red[kPvThreads / 16][128];
  pdl_enter();
  const int kvh = int(blockIdx.x), sub = int(threadIdx.x & 15), grp = int(threadIdx.x >> 4);
  const int kv_heads = heads / GROUP;
  const int p0 = int(blockIdx.y) * per_split, p1 = min(ctx, p0 + per_split);
  float acc[GROUP][8] = {};
  for (int pb = p0 + grp; pb < p1; pb += 4 * (kPvThreads / 16)) {
    uint4 v[4];
    float pw[4][GROUP];
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const int p = pb + u * (kPvThreads / 16);
      v[u] = p < p1 ? *reinterpret_cast<const uint4*>(vc + (size_t(p) * kv_heads + kvh) * 128 + sub * 8)
                    : make_uint4(0, 0, 0, 0);
#pragma unroll
      for (int g = 0; g < GROUP; ++g) pw[u][g] = p < p1 ? pr[size_t(kvh * GROUP + g) * ctx + p] : 0.0f;
    }
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const std::uint32_t vw[4] = {v[u].x, v[u].y, v[u].z, v[u].w};
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&vw[j]));
#pragma unroll
        for (int g = 0; g < GROUP; ++g) {
          acc[g][2 * j] += pw[u][g] * f.x;
          acc[g][2 * j + 1] += pw[u][g] * f.y;
        }
      }
    }
  }
#pragma unroll
  for (int g = 0; g < GROUP; ++g) {
#pragma unroll
    for (int e = 0; e < 8; ++e) red[grp][sub * 8 + e] = acc[g][e];
    __syncthreads();
    if (threadIdx.x < 128) {
      float sum = 0.0f;
#pragma unroll
      for (int r = 0; r < kPvThreads / 16; ++r) sum += red[r][threadIdx.x];
      atomicAdd(out + (kvh * GROUP + g) * 128 + int(threadIdx.x), sum);
    }
    __syncthreads();
  }
}

// Positions per attn_pv block: one pass of its 16 row groups, 4 rows each (every block's loads in flight at
// once), and from context 4096 two or four passes, so that fewer blocks add their sums to the output: run 41
// measured 64 positions a block best up to context 2048 and 256 best at 8192 (8.4 against 10.1 µs a layer).
constexpr int kPvPositionsPerPass = 4 * (kPvThreads / 16);
int pv_positions_per_block(int ctx) { return kPvPositionsPerPass * std::clamp(ctx / 2048, 1, 4); }

// Fused decode attention (flash decoding, stop 17; runs 49-57): one kernel a layer. Block (split, kvh) takes
// positions [split * chunk, +chunk) of K/V head kvh for its GROUP query heads (about two blocks an SM in all).
// Its K tiles, then its V tiles (kDecTile rows each) stream through a ring of kDecStages shared-memory stages by
// cp.async, every stage requested at entry and refilled as soon as it is used. The products run on the tensor
// cores (mma.sync m16n8k16, as the SD kernel): q · Kᵀ with the GROUP query heads as A's rows (scaled q in
// registers; rows past GROUP zero) and K's rows as B, a warp 16 keys of a tile; after the last K tile the
// chunk's softmax (maximum m, sum l of exp(s - m) per query head; P in fp16, as FlashAttention's), then P · V with
// V's B fragments by ldmatrix.trans, a warp 32 dims. Each block writes its unnormalised output and (m, l) per
// query head and combines the splits, out = sum_s o_s exp(m_s - M) / sum_s l_s exp(m_s - M): on sm_90, where the
// splits of a K/V head fit one thread-block cluster (at most 16), through distributed shared memory (run 63);
// else the last block of a K/V head to finish (a counter, which it resets for the next call) does it from global
// partials, every load of a kind issued together. The
// stages filled before the PDL wait leave out position ctx - 1 (this step's K/V row, which the append before
// writes); it is loaded after. Measured (run 57): 17.4 µs a layer at Llama 3.1 8B ctx 8192 (the naive kernels
// 22.4), 10.1 at LLaMA-13B ctx 512 (naive 9.3): a fixed ~5 µs (start, combine) beside ~2.5 TB/s.
constexpr int kDecThreads = 128;
constexpr int kDecTile = 64;
constexpr int kDecRowVectors = 17;  // a tile row in shared memory: 16 vectors of 8 dims and one of padding
constexpr int kDecStageBytes = kDecTile * kDecRowVectors * 16;
constexpr int kDecStages = 4;
constexpr int kDecMaxChunk = 1024;
constexpr int kDecMaxSplits = 512;
constexpr int kDecMaxCluster = 16;  // blocks a cluster (non-portable above 8; H100 and H200 take 16)
struct DecodeSplit {
  int splits, chunk, stages;
  bool cluster;  // the splits of a K/V head one thread-block cluster (sm_90), combined through its shared memory
  int smem_bytes(int group) const { return stages * kDecStageBytes + group * chunk * 4 + group * (chunk + 8) * 2; }
};
// Splits of the context per K/V head: about two blocks an SM over all K/V heads (each with up to kDecStages
// tiles of 16 KB in flight), chunks whole tiles, at most kDecMaxChunk positions (the scores' shared memory);
// stages: the ring's, at most the chunk's K and V tiles.
DecodeSplit decode_split(int ctx, int kv_heads, int sms, bool cluster_ok) {
  const int want = std::max(1, (2 * sms + kv_heads - 1) / kv_heads);
  auto chunk_of = [&](int splits) {
    return std::clamp(((ctx + splits - 1) / splits + kDecTile - 1) / kDecTile * kDecTile, kDecTile, kDecMaxChunk);
  };
  // Clusters (run 63) where they keep the splits, at most kDecMaxCluster (capping them at 16 for 8 K/V heads at
  // context 8192 gave 128 blocks of 512 positions, 19.8 µs a layer against 17.2 for 256 blocks of 256).
  const int chunk = chunk_of(want), splits = (ctx + chunk - 1) / chunk;
  return {splits, chunk, std::min(kDecStages, 2 * (chunk / kDecTile)), cluster_ok && splits <= kDecMaxCluster};
}
using ptx::cp_async16;
using ptx::cp_async_commit;
using ptx::cp_async_wait;
// Requests tile `t` of the block's 2T (K tiles, then V tiles) into `stage`; rows past the chunk and the row
// at position `skip` are not requested (never read, or written after the PDL wait).
__device__ __forceinline__ void dec_issue(uint4* stage, const __half* kb, const __half* vb, int kv_heads, int p0,
                                          int p1, int t, int T, int skip) {
  static_assert(kDecThreads == 128 && kDecTile % 8 == 0, "a pass of 128 threads copies 8 rows of 16 vectors");
  const int row = int(threadIdx.x >> 4), vec = int(threadIdx.x & 15);
  const int r0 = p0 + (t < T ? t : t - T) * kDecTile + row;
  const size_t step = size_t(8) * kv_heads * 128;  // 8 rows of the cache
  const __half* src = (t < T ? kb : vb) + size_t(r0) * kv_heads * 128 + vec * 8;
  uint4* dst = stage + row * kDecRowVectors + vec;
#pragma unroll
  for (int u = 0; u < kDecTile / 8; ++u) {
    const int p = r0 + 8 * u;
    if (p < p1 && p != skip) cp_async16(dst + u * 8 * kDecRowVectors, src + u * step);
  }
}
// A's rows 8-15 are zero: at most 8 query heads a K/V head.
__device__ __forceinline__ void dec_mma(float (&c)[4], std::uint32_t a0, std::uint32_t a2, std::uint32_t b0,
                                        std::uint32_t b1) {
  const std::uint32_t a[4] = {a0, 0u, a2, 0u};
  ptx::mma16816(c, a, b0, b1);
}
template <int GROUP, bool CLUSTER>
__global__ void __launch_bounds__(kDecThreads)
    attn_decode_kernel(const __half* __restrict__ q, const __half* __restrict__ kc, const __half* __restrict__ vc,
                       float* __restrict__ part, float* __restrict__ part_ml, unsigned* __restrict__ counters,
                       float* __restrict__ out, int heads, int ctx, int chunk, int stages, float scale) {
  constexpr int LD = kDecRowVectors * 8;  // halves a tile row
  __shared__ float ml[GROUP][2];
  __shared__ float sred[2][4];
  __shared__ float wgt[kDecMaxSplits];  // the combine: per (head, split) exp(m_s - M) / L
  __shared__ bool last;
  extern __shared__ uint4 dyn[];  // `stages` tiles, the scores [GROUP][chunk] (fp32), P [GROUP][chunk + 8] (fp16)
  float* sc = reinterpret_cast<float*>(dyn + stages * kDecTile * kDecRowVectors);
  __half* ph = reinterpret_cast<__half*>(sc + GROUP * chunk);
  const int pld = chunk + 8;
  const int split = int(blockIdx.x), splits = int(gridDim.x), kvh = int(blockIdx.y);
  const int kv_heads = heads / GROUP, tid = int(threadIdx.x), warp = tid >> 5, lane = tid & 31;
  const int g = lane >> 2, t4 = lane & 3;  // the mma fragments' row (query head) and column pair
  const int p0 = split * chunk, p1 = min(ctx, p0 + chunk), n = p1 - p0;
  const int T = (n + kDecTile - 1) / kDecTile;  // K tiles (and V tiles)
  const __half* kb = kc + size_t(kvh) * 128;
  const __half* vb = vc + size_t(kvh) * 128;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
  // kDecStages commit groups, empty ones too, so that tile t's is complete when at most kDecStages - 1 are not
  // (fewer stages than kDecStages: every tile requested here, the ring never wraps).
  for (int t = 0; t < kDecStages; ++t) {
    if (t < stages && t < 2 * T)
      dec_issue(dyn + t * kDecTile * kDecRowVectors, kb, vb, kv_heads, p0, p1, t, T, ctx - 1);
    cp_async_commit();
  }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
  if (ctx - 1 >= p0 && ctx - 1 < p1) {  // this step's K/V row: into its stage if that was filled above
    const int row = ctx - 1 - p0, tk = row / kDecTile, r = row - tk * kDecTile;
    for (int i = tid; i < 32; i += kDecThreads) {
      const int t = i < 16 ? tk : T + tk;
      if (t < stages) {
        const __half* src = (i < 16 ? kb : vb) + size_t(ctx - 1) * kv_heads * 128 + (i & 15) * 8;
        dyn[t * kDecTile * kDecRowVectors + r * kDecRowVectors + (i & 15)] = *reinterpret_cast<const uint4*>(src);
      }
    }
  }
  // q (scaled) as A fragments: row g = query head kvh * GROUP + g (zero past GROUP), 8 steps of 16 dims.
  std::uint32_t qa[8][2];
  {
    const __half* qh = q + size_t(kvh * GROUP + g) * 128 + 2 * t4;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      if (g < GROUP) {
        const float2 a = __half22float2(*reinterpret_cast<const __half2*>(qh + 16 * k));
        const float2 b = __half22float2(*reinterpret_cast<const __half2*>(qh + 16 * k + 8));
        qa[k][0] = ptx::pack_half2(a.x * scale, a.y * scale);
        qa[k][1] = ptx::pack_half2(b.x * scale, b.y * scale);
      } else {
        qa[k][0] = qa[k][1] = 0u;
      }
    }
  }
  float acc[4][4] = {};  // P·V: this warp's 4 groups of 8 dims (32w … 32w + 31), rows g (and zero rows g + 8)
  for (int t = 0, st = 0; t < 2 * T; ++t, st = st + 1 == stages ? 0 : st + 1) {  // st = t % stages
    cp_async_wait<kDecStages - 1>();  // tile t's group is done (the later ones may still be in flight)
    __syncthreads();
    const __half* tile = reinterpret_cast<const __half*>(dyn + st * kDecTile * kDecRowVectors);
    if (t < T) {  // scores: warp w takes keys 16w … 16w + 15 of the tile (two n-tiles of 8)
#pragma unroll
      for (int nt = 0; nt < 2; ++nt) {
        float s4[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        const __half* kr = tile + (warp * 16 + nt * 8 + g) * LD + 2 * t4;
#pragma unroll
        for (int k = 0; k < 8; ++k)
          dec_mma(s4, qa[k][0], qa[k][1], *reinterpret_cast<const std::uint32_t*>(kr + 16 * k),
                  *reinterpret_cast<const std::uint32_t*>(kr + 16 * k + 8));
        const int key = t * kDecTile + warp * 16 + nt * 8 + 2 * t4;
        if (g < GROUP && key < n) *reinterpret_cast<float2*>(sc + g * chunk + key) = make_float2(s4[0], s4[1]);
      }
      if (t == T - 1 && GROUP < 4) {  // the chunk's softmax, every warp on each query head; P to fp16
        __syncthreads();
        for (int h = 0; h < GROUP; ++h) {
          float m = -INFINITY;
          for (int i = tid; i < n; i += kDecThreads) m = fmaxf(m, sc[h * chunk + i]);
#pragma unroll
          for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
          if (lane == 0) sred[0][warp] = m;
          __syncthreads();
          m = fmaxf(fmaxf(sred[0][0], sred[0][1]), fmaxf(sred[0][2], sred[0][3]));
          float l = 0.0f;
          for (int i = tid; i < T * kDecTile; i += kDecThreads) {  // zero past the chunk's end: whole k-steps
            const float e = i < n ? __expf(sc[h * chunk + i] - m) : 0.0f;
            ph[h * pld + i] = __float2half_rn(e);
            l += e;
          }
#pragma unroll
          for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
          if (lane == 0) sred[1][warp] = l;
          __syncthreads();
          if (tid == 0) {
            ml[h][0] = m;
            ml[h][1] = (sred[1][0] + sred[1][1]) + (sred[1][2] + sred[1][3]);
          }
        }
      } else if (t == T - 1) {  // a warp a query head
        __syncthreads();
        for (int h = warp; h < GROUP; h += 4) {
          float m = -INFINITY;
          for (int i = lane; i < n; i += 32) m = fmaxf(m, sc[h * chunk + i]);
#pragma unroll
          for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
          float l = 0.0f;
          for (int i = lane; i < T * kDecTile; i += 32) {  // zero past the chunk's end: whole k-steps
            const float e = i < n ? __expf(sc[h * chunk + i] - m) : 0.0f;
            ph[h * pld + i] = __float2half_rn(e);
            l += e;
          }
#pragma unroll
          for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
          if (lane == 0) {
            ml[h][0] = m;
            ml[h][1] = l;
          }
        }
      }
    } else {  // P·V: 4 k-steps of 16 keys; warp w dims 32w … 32w + 31
      const int base = (t - T) * kDecTile;
#pragma unroll
      for (int kk = 0; kk < kDecTile / 16; ++kk) {
        std::uint32_t a0 = 0u, a2 = 0u;
        if (g < GROUP) {
          const __half* pr = ph + g * pld + base + kk * 16 + 2 * t4;
          a0 = *reinterpret_cast<const std::uint32_t*>(pr);
          a2 = *reinterpret_cast<const std::uint32_t*>(pr + 8);
        }
        const __half* vr = tile + (kk * 16 + (lane & 15)) * LD + warp * 32;
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) {
          std::uint32_t b0, b1;
          ptx::ldmatrix_x2_trans(b0, b1, vr + nt * 8);
          dec_mma(acc[nt], a0, a2, b0, b1);
        }
      }
    }
    __syncthreads();  // the stage is free: request tile t + stages into it
    if (t + stages < 2 * T)
      dec_issue(dyn + st * kDecTile * kDecRowVectors, kb, vb, kv_heads, p0, p1, t + stages, T, -1);
    cp_async_commit();
  }
  const int h0 = kvh * GROUP;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if constexpr (CLUSTER) {
    // (run 63) The splits of a K/V head are one thread-block cluster: each block leaves its unnormalised output
    // and (m, l) in its own shared memory, and after a cluster barrier each combines a slice of the GROUP x 128
    // outputs reading the others' through distributed shared memory; a second barrier keeps every block's
    // shared memory alive until all have read it. No global partials, fence, atomic or last-block tail.
    namespace cg = cooperative_groups;
    cg::cluster_group cluster = cg::this_cluster();
    cp_async_wait<0>();
    __syncthreads();
    float* po = reinterpret_cast<float*>(dyn);  // [GROUP][128], in the stages (free now)
    if (g < GROUP) {
#pragma unroll
      for (int nt = 0; nt < 4; ++nt)
        *reinterpret_cast<float2*>(po + g * 128 + warp * 32 + nt * 8 + 2 * t4) = make_float2(acc[nt][0], acc[nt][1]);
    }
    cluster.sync();
    const int total = GROUP * 128, per = (total + splits - 1) / splits, rank = int(cluster.block_rank());
    for (int i = rank * per + tid; i < min(total, (rank + 1) * per); i += kDecThreads) {
      const int h = i >> 7;
      float mx = -INFINITY;
      for (int s2 = 0; s2 < splits; ++s2) mx = fmaxf(mx, cluster.map_shared_rank(&ml[0][0], s2)[2 * h]);
      float l = 0.0f, o = 0.0f;
      for (int s2 = 0; s2 < splits; ++s2) {
        const float* rml = cluster.map_shared_rank(&ml[0][0], s2);
        const float w = __expf(rml[2 * h] - mx);
        l += rml[2 * h + 1] * w;
        o += cluster.map_shared_rank(po, s2)[i] * w;
      }
      out[size_t(h0) * 128 + i] = o / l;
    }
    cluster.sync();
    return;
  }
#endif
  if (g < GROUP) {  // the fragment's row g: query head h0 + g, dims 32w + 8nt + 2t4, + 1
    if (splits == 1) {
      const float inv = 1.0f / ml[g][1];
#pragma unroll
      for (int nt = 0; nt < 4; ++nt)
        *reinterpret_cast<float2*>(out + size_t(h0 + g) * 128 + warp * 32 + nt * 8 + 2 * t4) =
            make_float2(acc[nt][0] * inv, acc[nt][1] * inv);
    } else {
#pragma unroll
      for (int nt = 0; nt < 4; ++nt)
        *reinterpret_cast<float2*>(part + (size_t(h0 + g) * splits + split) * 128 + warp * 32 + nt * 8 + 2 * t4) =
            make_float2(acc[nt][0], acc[nt][1]);
    }
  }
  if (splits == 1) return;
  if (tid < 2 * GROUP) part_ml[(size_t(h0 + tid / 2) * splits + split) * 2 + (tid & 1)] = ml[tid / 2][tid & 1];
  __threadfence();
  __syncthreads();
  if (tid == 0) last = atomicAdd(counters + kvh, 1u) == unsigned(splits - 1);
  __syncthreads();
  if (!last) return;
  __threadfence();
  // The combine, every load of a kind issued together (run 53's head-by-head loop waited on L2 some 10 times a
  // head): the splits' (m, l) of the GROUP heads into shared memory (the stages, free now: 2 x 8 x 512 floats at
  // most), each head's weights exp(m_s - M) / L by a warp, then per (head, 4 dims) the weighted sum of the
  // splits' float4 partials, 16 loads in flight a thread.
  cp_async_wait<0>();
  float* cm = reinterpret_cast<float*>(dyn);
  for (int i = tid; i < 2 * GROUP * splits; i += kDecThreads) cm[i] = __ldcg(part_ml + size_t(h0) * splits * 2 + i);
  __syncthreads();
  for (int h = warp; h < GROUP; h += 4) {
    float mx = -INFINITY;
    for (int s2 = lane; s2 < splits; s2 += 32) mx = fmaxf(mx, cm[2 * (h * splits + s2)]);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    float l = 0.0f;
    for (int s2 = lane; s2 < splits; s2 += 32)
      l += cm[2 * (h * splits + s2) + 1] * __expf(cm[2 * (h * splits + s2)] - mx);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
    __syncwarp();
    const float inv = 1.0f / l;
    for (int s2 = lane; s2 < splits; s2 += 32) wgt[h * splits + s2] = __expf(cm[2 * (h * splits + s2)] - mx) * inv;
  }
  __syncthreads();
  for (int item = tid; item < GROUP * 32; item += kDecThreads) {
    const int h = item >> 5, q4 = item & 31;
    const float4* po = reinterpret_cast<const float4*>(part + size_t(h0 + h) * splits * 128) + q4;
    const float* w = wgt + h * splits;
    float4 a = make_float4(0.0f, 0.0f, 0.0f, 0.0f), b = a;
    int s2 = 0;
    for (; s2 + 16 <= splits; s2 += 16) {
      float4 v[16];
#pragma unroll
      for (int u = 0; u < 16; ++u) v[u] = __ldcg(po + size_t(s2 + u) * 32);
#pragma unroll
      for (int u = 0; u < 16; u += 2) {
        a.x += v[u].x * w[s2 + u], a.y += v[u].y * w[s2 + u], a.z += v[u].z * w[s2 + u], a.w += v[u].w * w[s2 + u];
        b.x += v[u + 1].x * w[s2 + u + 1], b.y += v[u + 1].y * w[s2 + u + 1];
        b.z += v[u + 1].z * w[s2 + u + 1], b.w += v[u + 1].w * w[s2 + u + 1];
      }
    }
    for (; s2 < splits; ++s2) {
      const float4 v = __ldcg(po + size_t(s2) * 32);
      a.x += v.x * w[s2], a.y += v.y * w[s2], a.z += v.z * w[s2], a.w += v.w * w[s2];
    }
    reinterpret_cast<float4*>(out + size_t(h0 + h) * 128)[q4] = make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w);
  }
  if (tid == 0) counters[kvh] = 0;
}

// ---- the replay

struct Bufs {
  DeviceBuffer<unsigned char> weights;    // every op's weights, back to back
  std::vector<size_t> weight_offset;      // per op
  DeviceBuffer<__half> x, y;              // GEMV input (random) and output
  DeviceBuffer<__half> gamma, resid, y2;  // fused-epilogue mode: norm weights, residual stream, down's output
  DeviceBuffer<__half> kv;                // [layer][K|V][pos][heads][128]
  DeviceBuffer<float> scores, attn_out;
  DeviceBuffer<float> dec_part, dec_ml;  // fused decode attention: per (head, split) 128 outputs; m, l
  DeviceBuffer<unsigned> dec_count;      // per K/V head: splits finished (the last resets it)
  DeviceBuffer<unsigned char> src, dst;  // byte ops
  DeviceBuffer<__half> ga, gb, gc;       // GEMM operands
  DeviceBuffer<__half> aq, ak, av, ao;   // fused attention: Q, K, V, O ([batch x heads][tokens][head dim])
  DeviceBuffer<unsigned char> pool;      // dataflow placement: the ring of activations (replay_layout.hpp)
};

// Where the ops with activations (byte ops, weight GEMMs) read and write. shared: every byte op reads
// `src` and writes `dst`, every weight GEMM reads `ga` and writes `gc` (so each finds its input in L2
// whatever a network would); dataflow: replay_layout.hpp.
enum class Placement { shared, dataflow };
const char* to_string(Placement p) { return p == Placement::dataflow ? "dataflow" : "shared"; }

// One op's operands in one placement, computed once (issue() stays cheap; a graph captures these).
struct OpIo {
  const uint4* src[3] = {nullptr, nullptr, nullptr};  // byte ops: read in this order
  size_t n[3] = {0, 0, 0};                            // 16-byte vectors from each
  bool flow = false;  // byte ops: dataflow regions (flow_bytes_kernel); else src[0] only (bytes_kernel)
  uint4* dst = nullptr;
  size_t nw = 0;
  unsigned grid = 1;
  const __half* a = nullptr;  // weight GEMMs: activations (batch x m x k) and output (batch x m x n)
  __half* d = nullptr;
};

bool ends_with(const std::string& s, const char* suffix) {
  const std::string t(suffix);
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}
// The small ops the fused-epilogue mode folds into the GEMV next to them.
bool absorbed_op(const std::string& name) {
  return ends_with(name, ".attn_norm") || ends_with(name, ".ffn_norm") || ends_with(name, ".ffn.silu_mul") ||
         ends_with(name, ".attn.residual") || ends_with(name, ".ffn.residual");
}

size_t q4_storage(const ReplayOp& op) {
  return size_t(op.n) * Q4Weights::row_words(int(op.k)) * 4 + size_t(op.n) * Q4Weights::row_groups(int(op.k)) * 4;
}

class Replayer {
 public:
  // With `dataflow`, the ops with activations start in the dataflow placement (else shared, which is
  // always available too).
  Replayer(Context& ctx, const ReplayPlan& plan, bool dataflow) : ctx_(ctx), plan_(plan), s_(ctx.stream) {
    GV_CUBLAS(cublasCreate(&blas_));
    GV_CUBLAS(cublasSetStream(blas_, s_));
    workspace_ = DeviceBuffer<unsigned char>(32u << 20);
    GV_CUBLAS(cublasSetWorkspace(blas_, workspace_.get(), workspace_.bytes()));
    allocate();
    set_operands(dataflow);
  }
  ~Replayer() { cublasDestroy(blas_); }

  void issue(const ReplayOp& op, size_t i, bool pdl) {
    if (epi_ && op.kind == ReplayKind::bytes && absorbed_op(op.name)) return;
    if (merge_ && op.kind == ReplayKind::bytes && !io_[i].flow) {
      // A run of consecutive byte ops as one kernel moving all their bytes (launched at the run's first op).
      if (merge_bytes_[i].first == 0) return;
      const size_t n = merge_bytes_[i].first, nw = merge_bytes_[i].second;
      const size_t grid =
          std::max<size_t>(1, std::min<size_t>((std::max(n, nw) + 255) / 256, size_t(ctx_.info.sm_count) * 8));
      launch_k(bytes_kernel, dim3(unsigned(grid)), dim3(256), s_, pdl && pdl_all_, io_[i].src[0], n, io_[i].dst, nw);
      return;
    }
    switch (op.kind) {
      case ReplayKind::gemv_q4: {
        if (fused_ && group_head_[i] != i) break;  // launched with its group's head
        Q4Weights w = fused_ ? q4_group(i) : q4(i);
        if (epi_) {
          GemvFusion fu;
          __half* out = b_.y.get();
          if (ends_with(op.name, ".attn.q_proj") || ends_with(op.name, ".ffn.gate_proj"))
            fu.norm_gamma = b_.gamma.get();
          if (ends_with(op.name, ".attn.o_proj")) fu.residual = b_.resid.get();
          if (ends_with(op.name, ".ffn.down_proj")) {
            fu.silu_gate_up = b_.y.get();  // the gate/up GEMV's output
            fu.residual = b_.resid.get();
            out = b_.y2.get();
          }
          launch_gemv_q4_fused(w, b_.x.get(), out, s_, default_gemv_kernel(), pdl, fu);
          break;
        }
        launch_gemv_q4(w, b_.x.get(), b_.y.get(), s_, default_gemv_kernel(), pdl);
        break;
      }
      case ReplayKind::gemv_fp16: {
        const float one = 1, zero = 0;
        GV_CUBLAS(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(op.n), 1, int(op.k), &one,
                               b_.weights.get() + b_.weight_offset[i], CUDA_R_16F, int(op.k), b_.x.get(), CUDA_R_16F,
                               int(op.k), &zero, b_.y.get(), CUDA_R_16F, int(op.n), CUBLAS_COMPUTE_32F,
                               CUBLAS_GEMM_DEFAULT));
        break;
      }
      case ReplayKind::gemm: {
        const float one = 1, zero = 0;
        if (op.weight_bytes > 0) {
          const OpIo& o = io_[i];
          // A weight GEMM (linear layer, convolution as implicit GEMM) in PyTorch's orientation for
          // y = x W^T with row-major tensors (run 26): cuBLAS m = out features, n = tokens/pixels, A = W
          // (op T, lda = k), B = x (op N, ldb = k), C = y with ldc = out features (Cout contiguous, as
          // cuDNN's NHWC implicit GEMM writes it too). D[batch][token][out] row-major.
          GV_CUBLAS(cublasGemmStridedBatchedEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(op.n), int(op.m), int(op.k), &one,
                                               reinterpret_cast<const __half*>(b_.weights.get() + b_.weight_offset[i]),
                                               CUDA_R_16F, int(op.k), 0, o.a, CUDA_R_16F, int(op.k), op.m * op.k, &zero,
                                               o.d, CUDA_R_16F, int(op.n), op.m * op.n, int(op.batch),
                                               CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
          break;
        }
        GV_CUBLAS(cublasGemmStridedBatchedEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(op.m), int(op.n), int(op.k), &one,
                                             b_.ga.get(), CUDA_R_16F, int(op.k), op.m * op.k, b_.gb.get(), CUDA_R_16F,
                                             int(op.k), op.k * op.n, &zero, b_.gc.get(), CUDA_R_16F, int(op.m),
                                             op.m * op.n, int(op.batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
        break;
      }
      case ReplayKind::attn_scores: {
        const int tiles = kv_heads() * ((plan_.context + 2 * kScoreRowsPerHalf - 1) / (2 * kScoreRowsPerHalf));
        const int blocks =
            std::min((tiles + kScoreThreads / 32 - 1) / (kScoreThreads / 32), kScoreBlocksPerSm * ctx_.info.sm_count);
        launch_k(attn_scores_kernel, dim3(unsigned(blocks)), dim3(kScoreThreads), s_, pdl && pdl_all_,
                 (const __half*)b_.x.get(), kcache(op.layer), b_.scores.get(), plan_.heads, group(), plan_.context,
                 1.0f / std::sqrt(float(plan_.head_dim)));
        break;
      }
      case ReplayKind::attn_softmax:
        launch_k(attn_softmax_kernel, dim3(unsigned(plan_.heads)), dim3(unsigned(attn_softmax_threads(plan_.context))),
                 s_, pdl && pdl_all_, b_.scores.get(), b_.attn_out.get(), plan_.context);
        break;
      case ReplayKind::attn_pv: {
        const int per = pv_positions_per_block(plan_.context);
        const dim3 grid(unsigned(kv_heads()), unsigned((plan_.context + per - 1) / per));
        auto pv = [&](auto kernel) {
          launch_k(kernel, grid, dim3(kPvThreads), s_, pdl && pdl_all_, (const float*)b_.scores.get(), vcache(op.layer),
                   b_.attn_out.get(), plan_.heads, plan_.context, per);
        };
        switch (group()) {
          case 1:
            pv(attn_pv_kernel<1>);
            break;
          case 2:
            pv(attn_pv_kernel<2>);
            break;
          case 4:
            pv(attn_pv_kernel<4>);
            break;
          default:
            pv(attn_pv_kernel<8>);  // allocate() accepts groups 1, 2, 4 and 8 only
        }
        break;
      }
      case ReplayKind::attn_fused:
        launch_flash_attention(attn_args(op), s_, pdl && pdl_all_);
        break;
      case ReplayKind::attn_decode: {
        const DecodeSplit& sp = dec_split_;
        const dim3 grid(unsigned(sp.splits), unsigned(kv_heads()));
        auto dec = [&](auto kernel, int g) {
          cudaLaunchConfig_t cfg{};
          cfg.gridDim = grid;
          cfg.blockDim = dim3(kDecThreads);
          cfg.dynamicSmemBytes = size_t(sp.smem_bytes(g));
          cfg.stream = s_;
          cudaLaunchAttribute attrs[2];
          unsigned na = 0;
          if (pdl && pdl_all_) {
            attrs[na].id = cudaLaunchAttributeProgrammaticStreamSerialization;
            attrs[na++].val.programmaticStreamSerializationAllowed = 1;
          }
          if (sp.cluster) {
            attrs[na].id = cudaLaunchAttributeClusterDimension;
            attrs[na].val.clusterDim.x = unsigned(sp.splits);
            attrs[na].val.clusterDim.y = 1;
            attrs[na++].val.clusterDim.z = 1;
          }
          cfg.attrs = attrs;
          cfg.numAttrs = na;
          GV_CUDA(cudaLaunchKernelEx(&cfg, kernel, (const __half*)b_.x.get(), kcache(op.layer), vcache(op.layer),
                                     b_.dec_part.get(), b_.dec_ml.get(), b_.dec_count.get(), b_.attn_out.get(),
                                     plan_.heads, plan_.context, sp.chunk, sp.stages,
                                     1.0f / std::sqrt(float(plan_.head_dim))));
        };
        auto dec2 = [&](auto k_cluster, auto k_plain, int g) { sp.cluster ? dec(k_cluster, g) : dec(k_plain, g); };
        switch (group()) {
          case 1:
            dec2(attn_decode_kernel<1, true>, attn_decode_kernel<1, false>, 1);
            break;
          case 2:
            dec2(attn_decode_kernel<2, true>, attn_decode_kernel<2, false>, 2);
            break;
          case 4:
            dec2(attn_decode_kernel<4, true>, attn_decode_kernel<4, false>, 4);
            break;
          default:  // allocate() accepts groups 1, 2, 4 and 8 only
            dec2(attn_decode_kernel<8, true>, attn_decode_kernel<8, false>, 8);
        }
        break;
      }
      case ReplayKind::bytes: {
        const OpIo& o = io_[i];
        if (o.flow)
          launch_k(flow_bytes_kernel, dim3(o.grid), dim3(256), s_, pdl && pdl_all_, o.src[0], o.n[0], o.src[1], o.n[1],
                   o.src[2], o.n[2], o.dst, o.nw);
        else
          launch_k(bytes_kernel, dim3(o.grid), dim3(256), s_, pdl && pdl_all_, o.src[0], o.n[0], o.dst, o.nw);
        break;
      }
    }
  }

  // With `fused`, consecutive 4-bit GEMVs of one layer with the same K (they read the same input: q/k/v,
  // gate/up) run as one GEMV over their concatenated rows, as inference engines fuse them. The weights
  // are stored so that both ways read the same bytes (each group's qweight rows, then its scales).
  void set_fused(bool fused) { fused_ = fused; }
  // With `all`, the graph-pdl modes put the PDL attribute on the replay's own small kernels too (norms,
  // elementwise, attention; they trigger at entry and wait before reading), not only on the GEMVs, so a
  // GEMV after one of them launches and starts its weight loads while it runs. cuBLAS calls stay plain.
  void set_pdl_all(bool all) { pdl_all_ = all; }
  // With `epi` (and fused): RMSNorm folded into the q/k/v and gate/up GEMVs' staging, silu(gate) * up into
  // the down GEMV's, the two residual adds into the o and down GEMVs' epilogues (5 of a layer's 7 small
  // kernels gone), as fused inference engines do. Reported apart from the model's op list.
  void set_epi(bool epi) { epi_ = epi; }
  // With `merge` (stop 17), each run of consecutive byte-moving ops (a residual add and the next RMSNorm, the
  // rotary and the K/V append) is one kernel that moves all their bytes, as engines fuse small ops with each
  // other (e.g. a fused add + RMSNorm) rather than into the GEMVs (the `epi` mode). Not the model's op list.
  void set_merge(bool merge) { merge_ = merge; }
  int merged_launches() const {
    int n = 0;
    for (const auto& m : merge_bytes_) n += m.first > 0 ? 1 : 0;
    return n;
  }
  // Where the ops with activations read and write (dataflow only where the replayer was made with it).
  void set_placement(Placement p) {
    placement_ = p == Placement::dataflow && !flow_io_.empty() ? Placement::dataflow : Placement::shared;
    io_ = (placement_ == Placement::dataflow ? flow_io_ : shared_io_).data();
  }
  Placement placement() const { return placement_; }
  int absorbed_ops() const {
    int n = 0;
    for (const auto& op : plan_.ops) n += op.kind == ReplayKind::bytes && absorbed_op(op.name);
    return n;
  }
  // Checks the fused prologues and epilogue against float64: RMSNorm + the first q/k/v GEMV, and
  // silu(gate) * up + the first down GEMV + the residual. Returns false after ctx.fail().
  bool check_epi() {
    bool ok = true;
    auto report = [&](const char* what, double rel) {
      std::fprintf(stderr, "replay %s: %s relative error %.2g\n", plan_.workload.c_str(), what, rel);
      if (!(rel <= 5e-3)) {
        ctx_.fail("replay " + plan_.workload + ": " + what + " relative error " + std::to_string(rel));
        ok = false;
      }
    };
    auto host = [&](const __half* d, size_t n) {
      std::vector<__half> h(n);
      GV_CUDA(cudaMemcpy(h.data(), d, n * 2, cudaMemcpyDeviceToHost));
      std::vector<double> v(n);
      for (size_t j = 0; j < n; ++j) v[j] = __half2float(h[j]);
      return v;
    };
    auto rel_err = [](const std::vector<double>& got, const std::vector<double>& ref) {
      double e2 = 0, r2 = 0;
      for (size_t j = 0; j < ref.size(); ++j) {
        const double g = std::isfinite(got[j]) ? got[j] : 1e300;
        e2 += (g - ref[j]) * (g - ref[j]);
        r2 += ref[j] * ref[j];
      }
      return std::sqrt(e2 / std::max(r2, 1e-300));
    };
    const GemvKernel kern = default_gemv_kernel();
    for (size_t i = 0; i < plan_.ops.size(); ++i) {
      if (plan_.ops[i].kind != ReplayKind::gemv_q4 || !ends_with(plan_.ops[i].name, ".attn.q_proj")) continue;
      const Q4Weights g = q4_group(i);
      GemvFusion fu;
      fu.norm_gamma = b_.gamma.get();
      GV_CUDA(cudaMemsetAsync(b_.y.get(), 0xFF, b_.y.bytes(), s_));
      launch_gemv_q4_fused(g, b_.x.get(), b_.y.get(), s_, kern, false, fu);
      GV_LAUNCHED();
      GV_CUDA(cudaStreamSynchronize(s_));
      std::vector<double> x = host(b_.x.get(), size_t(g.k)), gm = host(b_.gamma.get(), size_t(g.k));
      double ss = 0;
      for (double v : x) ss += v * v;
      const double inv = 1.0 / std::sqrt(ss / g.k + double(fu.norm_eps));
      for (size_t j = 0; j < x.size(); ++j) x[j] = x[j] * inv * gm[j];
      report("RMSNorm fused into the first q/k/v GEMV",
             rel_err(host(b_.y.get(), size_t(g.n)), gemv_q4_reference(g, x)));
      break;
    }
    for (size_t i = 0; i < plan_.ops.size(); ++i) {
      if (plan_.ops[i].kind != ReplayKind::gemv_q4 || !ends_with(plan_.ops[i].name, ".ffn.down_proj")) continue;
      const Q4Weights w = q4_group(i);
      fill_half(b_.y.get(), size_t(2 * w.k), 91u, 2.0f, s_);  // a gate/up output
      GemvFusion fu;
      fu.silu_gate_up = b_.y.get();
      fu.residual = b_.resid.get();
      GV_CUDA(cudaMemsetAsync(b_.y2.get(), 0xFF, b_.y2.bytes(), s_));
      launch_gemv_q4_fused(w, b_.x.get(), b_.y2.get(), s_, kern, false, fu);
      GV_LAUNCHED();
      GV_CUDA(cudaStreamSynchronize(s_));
      const std::vector<double> gu = host(b_.y.get(), size_t(2 * w.k)), res = host(b_.resid.get(), size_t(w.n));
      std::vector<double> x(size_t(w.k));
      for (size_t j = 0; j < x.size(); ++j) x[j] = gu[j] / (1.0 + std::exp(-gu[j])) * gu[size_t(w.k) + j];
      std::vector<double> ref = gemv_q4_reference(w, x);
      for (size_t j = 0; j < ref.size(); ++j) ref[j] += res[j];
      report("silu(gate) * up and the residual fused into the first down GEMV",
             rel_err(host(b_.y2.get(), size_t(w.n)), ref));
      break;
    }
    return ok;
  }
  int fused_launches() const {
    int n = 0;
    for (size_t i = 0; i < plan_.ops.size(); ++i) n += plan_.ops[i].kind == ReplayKind::gemv_q4 && group_head_[i] == i;
    return n;
  }

  // Every op of the plan in order; with `op_class`, only that class's ops, or (with `without`) every op but
  // that class's.
  void issue_all(bool pdl, const std::string& op_class = "", bool without = false) {
    for (size_t i = 0; i < plan_.ops.size(); ++i)
      if (op_class.empty() || (plan_.ops[i].op_class == op_class) != without) issue(plan_.ops[i], i, pdl);
  }
  // Only the ops of one replay kind (a kernel of its own: the decode attention's scores, softmax, P·V).
  void issue_kind(bool pdl, ReplayKind kind) {
    for (size_t i = 0; i < plan_.ops.size(); ++i)
      if (plan_.ops[i].kind == kind) issue(plan_.ops[i], i, pdl);
  }

  // Checks what can be checked against a float64 host reference: the first 4-bit GEMV, the first fp16
  // GEMV (cuBLAS), the first weight GEMM of each shape (cuBLAS), the fused attention of each shape, and
  // layer 0's attention (scores, softmax, PV). Returns false after ctx.fail().
  bool check() {
    bool ok = true;
    auto report = [&](const char* what, double rel, double tol) {
      std::fprintf(stderr, "replay %s: %s relative error %.2g\n", plan_.workload.c_str(), what, rel);
      if (!(rel <= tol)) {
        ctx_.fail("replay " + plan_.workload + ": " + what + " relative error " + std::to_string(rel));
        ok = false;
      }
    };
    std::vector<double> xf;
    {
      std::vector<__half> xh(b_.x.size());
      GV_CUDA(cudaMemcpy(xh.data(), b_.x.get(), b_.x.bytes(), cudaMemcpyDeviceToHost));
      for (auto h : xh) xf.push_back(__half2float(h));
    }
    for (size_t i = 0; i < plan_.ops.size(); ++i) {
      const ReplayOp& op = plan_.ops[i];
      if (op.kind == ReplayKind::gemv_q4) {
        GV_CUDA(cudaMemsetAsync(b_.y.get(), 0xFF, b_.y.bytes(), s_));
        issue(op, i, false);
        GV_CUDA(cudaStreamSynchronize(s_));
        report("first 4-bit GEMV", gemv_q4_error(q4(i), b_.x.get(), b_.y.get()), 5e-3);
        const Q4Weights g = q4_group(i);
        if (g.n != q4(i).n) {  // the fused launch of its group (q/k/v)
          GV_CUDA(cudaMemsetAsync(b_.y.get(), 0xFF, b_.y.bytes(), s_));
          launch_gemv_q4(g, b_.x.get(), b_.y.get(), s_, default_gemv_kernel(), false);
          GV_LAUNCHED();
          GV_CUDA(cudaStreamSynchronize(s_));
          report("first fused 4-bit GEMV", gemv_q4_error(g, b_.x.get(), b_.y.get()), 5e-3);
        }
        break;
      }
    }
    for (size_t i = 0; i < plan_.ops.size(); ++i) {
      const ReplayOp& op = plan_.ops[i];
      if (op.kind != ReplayKind::gemv_fp16) continue;
      GV_CUDA(cudaMemsetAsync(b_.y.get(), 0xFF, b_.y.bytes(), s_));
      issue(op, i, false);
      GV_CUDA(cudaStreamSynchronize(s_));
      std::vector<__half> w(size_t(op.k) * op.n), y(size_t(op.n));
      GV_CUDA(cudaMemcpy(w.data(), b_.weights.get() + b_.weight_offset[i], w.size() * 2, cudaMemcpyDeviceToHost));
      GV_CUDA(cudaMemcpy(y.data(), b_.y.get(), y.size() * 2, cudaMemcpyDeviceToHost));
      double e2 = 0, r2 = 0;
      for (std::int64_t r = 0; r < op.n; ++r) {
        double ref = 0;
        for (std::int64_t c = 0; c < op.k; ++c) ref += double(__half2float(w[size_t(r) * op.k + c])) * xf[size_t(c)];
        double got = __half2float(y[size_t(r)]);
        if (!std::isfinite(got)) got = 1e300;
        e2 += (got - ref) * (got - ref);
        r2 += ref * ref;
      }
      report(("fp16 GEMV (cuBLAS) " + op.name).c_str(), std::sqrt(e2 / std::max(r2, 1e-300)), 5e-3);
      break;
    }
    ok = check_gemms() && ok;
    // Fused attention: the first op of each distinct shape (self- and cross-attention of every level).
    std::vector<std::array<std::int64_t, 4>> seen;
    for (size_t i = 0; i < plan_.ops.size(); ++i) {
      const ReplayOp& op = plan_.ops[i];
      if (op.kind != ReplayKind::attn_fused) continue;
      const std::array<std::int64_t, 4> key{op.m, op.n, op.k, op.batch};
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
      seen.push_back(key);
      const AttentionArgs a = attn_args(op);
      GV_CUDA(cudaMemsetAsync(b_.ao.get(), 0xFF, b_.ao.bytes(), s_));
      issue(op, i, false);
      GV_CUDA(cudaStreamSynchronize(s_));
      report(("fused attention " + op.name).c_str(), flash_attention_error(a, a.q_len >= 9216 ? 8 : 16), 2e-3);
    }
    if (plan_.layers > 0) {
      for (size_t i = 0; i < plan_.ops.size(); ++i) {
        const ReplayOp& op = plan_.ops[i];
        if (op.layer == 0 && (op.kind == ReplayKind::attn_scores || op.kind == ReplayKind::attn_softmax ||
                              op.kind == ReplayKind::attn_pv || op.kind == ReplayKind::attn_decode))
          issue(op, i, false);
      }
      GV_CUDA(cudaStreamSynchronize(s_));
      const int H = plan_.heads, KVH = kv_heads(), G = group(), C = plan_.context;
      std::vector<__half> kv(size_t(2) * C * KVH * 128);
      GV_CUDA(cudaMemcpy(kv.data(), b_.kv.get(), kv.size() * 2, cudaMemcpyDeviceToHost));
      std::vector<float> out(size_t(H) * 128);
      GV_CUDA(cudaMemcpy(out.data(), b_.attn_out.get(), out.size() * 4, cudaMemcpyDeviceToHost));
      double e2 = 0, r2 = 0;
      const size_t vbase = size_t(C) * KVH * 128;
      for (int h = 0; h < H; ++h) {
        std::vector<double> sc(static_cast<size_t>(C));
        double mx = -1e300, sum = 0;
        for (int p = 0; p < C; ++p) {
          double d = 0;
          for (int e = 0; e < 128; ++e)
            d += xf[size_t(h) * 128 + e] * __half2float(kv[(size_t(p) * KVH + h / G) * 128 + e]);
          sc[size_t(p)] = d / std::sqrt(double(plan_.head_dim));
          mx = std::max(mx, sc[size_t(p)]);
        }
        for (auto& v : sc) sum += (v = std::exp(v - mx));
        for (int e = 0; e < 128; ++e) {
          double ref = 0;
          for (int p = 0; p < C; ++p)
            ref += sc[size_t(p)] / sum * __half2float(kv[vbase + (size_t(p) * KVH + h / G) * 128 + e]);
          const double got = out[size_t(h) * 128 + e];
          e2 += (got - ref) * (got - ref);
          r2 += ref * ref;
        }
      }
      report("layer-0 attention", std::sqrt(e2 / std::max(r2, 1e-300)), 1e-3);
    }
    return ok;
  }

  // Weight GEMMs (cuBLAS, PyTorch's orientation) in the current placement: the first op of each distinct
  // (m, n, k, batch) shape, 64 sampled outputs against a float64 reference from the operands issue() gave
  // cuBLAS. Returns false after ctx.fail().
  bool check_gemms() {
    bool ok = true;
    std::vector<std::array<std::int64_t, 4>> gemm_seen;
    for (size_t i = 0; i < plan_.ops.size(); ++i) {
      const ReplayOp& op = plan_.ops[i];
      if (op.kind != ReplayKind::gemm || op.weight_bytes <= 0) continue;
      const std::array<std::int64_t, 4> key{op.m, op.n, op.k, op.batch};
      if (std::find(gemm_seen.begin(), gemm_seen.end(), key) != gemm_seen.end()) continue;
      gemm_seen.push_back(key);
      const OpIo& o = io_[i];
      // Exactly the output's bytes: in the dataflow placement what lies beside it is other ops' operands.
      GV_CUDA(cudaMemsetAsync(o.d, 0xFF, size_t(op.batch * op.m * op.n) * 2, s_));
      issue(op, i, false);
      GV_CUDA(cudaStreamSynchronize(s_));
      const __half* w = reinterpret_cast<const __half*>(b_.weights.get() + b_.weight_offset[i]);
      std::vector<__half> wrow(size_t(op.k)), xrow(size_t(op.k));
      __half yv;
      double e2 = 0, r2 = 0;
      for (std::uint32_t t = 0; t < 64; ++t) {
        const std::int64_t bi = std::int64_t(hash_u32(3u * t + 11) % std::uint64_t(op.batch));
        const std::int64_t r = std::int64_t(hash_u32(3u * t + 12) % std::uint64_t(op.m));  // token / pixel
        const std::int64_t c = std::int64_t(hash_u32(3u * t + 13) % std::uint64_t(op.n));  // output feature
        GV_CUDA(cudaMemcpy(wrow.data(), w + size_t(c * op.k), wrow.size() * 2, cudaMemcpyDeviceToHost));
        GV_CUDA(cudaMemcpy(xrow.data(), o.a + size_t(bi * op.m * op.k + r * op.k), xrow.size() * 2,
                           cudaMemcpyDeviceToHost));
        GV_CUDA(cudaMemcpy(&yv, o.d + size_t(bi * op.m * op.n + r * op.n + c), 2, cudaMemcpyDeviceToHost));
        double ref = 0;
        for (std::int64_t kk = 0; kk < op.k; ++kk)
          ref += double(__half2float(wrow[size_t(kk)])) * double(__half2float(xrow[size_t(kk)]));
        double got = __half2float(yv);
        if (!std::isfinite(got)) got = 1e300;
        e2 += (got - ref) * (got - ref);
        r2 += ref * ref;
      }
      const double rel = std::sqrt(e2 / std::max(r2, 1e-300));
      const std::string what = "weight GEMM (cuBLAS, " + std::string(to_string(placement_)) + ") " + op.name + " " +
                               std::to_string(op.m) + "x" + std::to_string(op.n) + "x" + std::to_string(op.k) +
                               (op.batch > 1 ? " batch " + std::to_string(op.batch) : std::string());
      std::fprintf(stderr, "replay %s: %s relative error %.2g\n", plan_.workload.c_str(), what.c_str(), rel);
      if (!(rel <= 5e-3)) {
        ctx_.fail("replay " + plan_.workload + ": " + what + " relative error " + std::to_string(rel));
        ok = false;
      }
    }
    return ok;
  }

 private:
  // Op i's matrix: its rows inside its group's storage (qweight of all the group's rows, then their scales).
  Q4Weights q4(size_t i) const {
    const ReplayOp& op = plan_.ops[i];
    const size_t h = group_head_[i];
    const int k = int(op.k);
    Q4Weights w;
    w.n = int(op.n);
    w.k = k;
    const unsigned char* base = b_.weights.get() + b_.weight_offset[h];
    w.qweight = reinterpret_cast<const std::uint32_t*>(base + size_t(row_offset_[i]) * Q4Weights::row_words(k) * 4);
    w.scale_zero = reinterpret_cast<const __half2*>(base + size_t(group_rows_[h]) * Q4Weights::row_words(k) * 4 +
                                                    size_t(row_offset_[i]) * Q4Weights::row_groups(k) * 4);
    return w;
  }
  // The whole group of op i's head (one matrix of all its rows).
  Q4Weights q4_group(size_t i) const {
    const size_t h = group_head_[i];
    Q4Weights w = q4(h);
    w.n = int(group_rows_[h]);
    return w;
  }
  AttentionArgs attn_args(const ReplayOp& op) const {
    AttentionArgs a;
    a.q = b_.aq.get();
    a.k = b_.ak.get();
    a.v = b_.av.get();
    a.o = b_.ao.get();
    a.bh = int(op.batch);
    a.q_len = int(op.m);
    a.kv_len = int(op.n);
    a.d = int(op.k);
    return a;
  }
  const __half* kcache(int layer) const {
    return b_.kv.get() + size_t(layer) * 2 * plan_.context * kv_heads() * plan_.head_dim;
  }
  const __half* vcache(int layer) const { return kcache(layer) + size_t(plan_.context) * kv_heads() * plan_.head_dim; }
  // K/V heads of the cache, and query heads per K/V head (grouped-query attention; 1 without).
  int kv_heads() const { return plan_.kv_heads > 0 ? plan_.kv_heads : plan_.heads; }
  // The fused decode attention's splits as one thread-block cluster (run 63): sm_90 and later, unless
  // GPUPERF_VALIDATE_DECODE_CLUSTERS=0 (the last-block combine of runs 49-62). Read once, by allocate().
  bool decode_clusters() const {
    const char* e = std::getenv("GPUPERF_VALIDATE_DECODE_CLUSTERS");
    return ctx_.info.cc_major >= 9 && !(e && std::string(e) == "0");
  }
  int group() const { return plan_.heads / kv_heads(); }

  void allocate() {
    size_t total = 0, max_k = 256, max_n = 256;
    double max_r = 256, max_w = 256;
    std::int64_t ga = 256, gb = 256, gc = 256, aq = 256, akv = 256;
    group_head_.assign(plan_.ops.size(), 0);
    group_rows_.assign(plan_.ops.size(), 0);
    row_offset_.assign(plan_.ops.size(), 0);
    for (size_t i = 0; i < plan_.ops.size(); ++i) {
      const ReplayOp& op = plan_.ops[i];
      group_head_[i] = i;
      if (op.kind == ReplayKind::gemv_q4 && i > 0) {
        const ReplayOp& prev = plan_.ops[i - 1];
        if (prev.kind == ReplayKind::gemv_q4 && prev.k == op.k && prev.layer == op.layer && op.layer >= 0) {
          group_head_[i] = group_head_[i - 1];
          row_offset_[i] = group_rows_[group_head_[i]];
        }
      }
      if (op.kind == ReplayKind::gemv_q4) group_rows_[group_head_[i]] += op.n;
    }
    for (size_t i = 0; i < plan_.ops.size(); ++i) {
      const ReplayOp& op = plan_.ops[i];
      b_.weight_offset.push_back(total);
      if (op.kind == ReplayKind::gemv_q4) {
        if (op.k % 256 != 0) throw std::runtime_error("replay: " + op.name + ": K not a multiple of 256");
        total += align256(double(q4_storage(op)));  // the group's storage, allocated at its head
        if (group_head_[i] != i) b_.weight_offset[i] = b_.weight_offset[group_head_[i]];
      } else if (op.kind == ReplayKind::gemv_fp16 || (op.kind == ReplayKind::gemm && op.weight_bytes > 0)) {
        total += align256(double(op.k) * double(op.n) * 2);
      }
      if (op.kind == ReplayKind::gemv_q4 || op.kind == ReplayKind::gemv_fp16) {
        max_k = std::max(max_k, size_t(op.k));
        max_n = std::max(max_n, size_t(op.kind == ReplayKind::gemv_q4 ? group_rows_[group_head_[i]] : op.n));
      }
      if (op.kind == ReplayKind::gemm) {
        ga = std::max(ga, op.m * op.k * op.batch);
        gb = std::max(gb, op.k * op.n * op.batch);
        gc = std::max(gc, op.m * op.n * op.batch);
      }
      if (op.kind == ReplayKind::attn_fused) {
        if (!flash_attention_supported(int(op.k)))
          throw std::runtime_error("replay: " + op.name + ": no fused attention kernel for head dim " +
                                   std::to_string(op.k));
        aq = std::max(aq, op.batch * op.m * op.k);
        akv = std::max(akv, op.batch * op.n * op.k);
      }
      if (op.kind == ReplayKind::bytes) {
        max_r = std::max(max_r, op.weight_bytes + op.activation_bytes + op.cache_bytes);
        max_w = std::max(max_w, op.write_bytes);
      }
    }
    if (plan_.layers > 0 && plan_.head_dim != 128) throw std::runtime_error("replay: head dim must be 128");
    if (plan_.layers > 0 && plan_.context > 4 * kSoftmaxVectors * kSoftmaxMaxThreads)
      throw std::runtime_error("replay: decode context beyond " +
                               std::to_string(4 * kSoftmaxVectors * kSoftmaxMaxThreads) + " (the softmax's registers)");
    if (plan_.layers > 0 &&
        (plan_.heads % kv_heads() != 0 || (group() != 1 && group() != 2 && group() != 4 && group() != 8)))
      throw std::runtime_error("replay: query heads per K/V head must be 1, 2, 4 or 8 (got " +
                               std::to_string(plan_.heads) + " over " + std::to_string(kv_heads()) + ")");
    std::fprintf(stderr, "replay %s: %.2f GB of weights, %zu ops\n", plan_.workload.c_str(), double(total) / 1e9,
                 plan_.ops.size());
    b_.weights = DeviceBuffer<unsigned char>(total);
    // Fill: 4-bit matrices with nibbles/scales/zeros, fp16 ones with values ~ 1/sqrt(K).
    for (size_t i = 0; i < plan_.ops.size(); ++i) {
      const ReplayOp& op = plan_.ops[i];
      if (op.kind == ReplayKind::gemv_q4) {
        if (group_head_[i] != i) continue;  // filled with its group
        Q4Weights w = q4_group(i);
        fill_q4_weights(const_cast<std::uint32_t*>(w.qweight), const_cast<__half2*>(w.scale_zero), w.n, w.k,
                        unsigned(100 + i), s_);
      } else if (op.kind == ReplayKind::gemv_fp16 || (op.kind == ReplayKind::gemm && op.weight_bytes > 0)) {
        fill_half(reinterpret_cast<__half*>(b_.weights.get() + b_.weight_offset[i]), size_t(op.k) * op.n,
                  unsigned(100 + i), 1.0f / std::sqrt(float(op.k)), s_);
      }
    }
    b_.x = DeviceBuffer<__half>(max_k);
    b_.y = DeviceBuffer<__half>(std::max(max_n, 2 * max_k));
    fill_half(b_.x.get(), max_k, 77u, 1.0f, s_);
    b_.gamma = DeviceBuffer<__half>(max_k);
    b_.resid = DeviceBuffer<__half>(max_n);
    b_.y2 = DeviceBuffer<__half>(max_n);
    fill_half(b_.gamma.get(), max_k, 81u, 1.0f, s_);
    fill_half(b_.resid.get(), max_n, 82u, 1.0f, s_);
    fill_half(b_.y.get(), std::max(max_n, 2 * max_k), 83u, 1.0f, s_);
    if (plan_.layers > 0) {
      const size_t kv = size_t(plan_.layers) * 2 * plan_.context * kv_heads() * plan_.head_dim;
      b_.kv = DeviceBuffer<__half>(kv);
      fill_half(b_.kv.get(), kv, 78u, 1.0f, s_);
      b_.scores = DeviceBuffer<float>(size_t(plan_.heads) * plan_.context);
      b_.attn_out = DeviceBuffer<float>(size_t(plan_.heads) * plan_.head_dim);
      dec_split_ = decode_split(plan_.context, kv_heads(), ctx_.info.sm_count, decode_clusters());
      const DecodeSplit& sp = dec_split_;
      if (group() * sp.splits > kDecMaxSplits)
        throw std::runtime_error("replay: fused decode attention: " + std::to_string(sp.splits) + " splits of " +
                                 std::to_string(group()) + " query heads (at most " + std::to_string(kDecMaxSplits) +
                                 " weights)");
      b_.dec_part = DeviceBuffer<float>(size_t(plan_.heads) * sp.splits * 128);
      b_.dec_ml = DeviceBuffer<float>(size_t(plan_.heads) * sp.splits * 2);
      b_.dec_count = DeviceBuffer<unsigned>(size_t(kv_heads()));
      GV_CUDA(cudaMemsetAsync(b_.dec_count.get(), 0, b_.dec_count.bytes(), s_));
      GV_CUDA(cudaMemsetAsync(b_.attn_out.get(), 0xFF, b_.attn_out.bytes(), s_));  // NaN until computed
      const int smem = sp.smem_bytes(group());
      auto allow = [&](auto kernel, bool cluster) {
        GV_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, std::max(smem, 1)));
        GV_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                     int(cudaSharedmemCarveoutMaxShared)));
        if (cluster) GV_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
      };
      // And the most shared memory an SM can give (several blocks an SM); clusters of up to 16 blocks.
      allow(attn_decode_kernel<1, false>, false);
      allow(attn_decode_kernel<2, false>, false);
      allow(attn_decode_kernel<4, false>, false);
      allow(attn_decode_kernel<8, false>, false);
      if (sp.cluster) {
        allow(attn_decode_kernel<1, true>, true);
        allow(attn_decode_kernel<2, true>, true);
        allow(attn_decode_kernel<4, true>, true);
        allow(attn_decode_kernel<8, true>, true);
      }
    }
    // Runs of consecutive byte ops, merged into one kernel (set_merge), read and write their sums.
    for (size_t i = 0; i < plan_.ops.size();) {
      double r = 0, w = 0;
      size_t j = i;
      for (; j < plan_.ops.size() && plan_.ops[j].kind == ReplayKind::bytes; ++j) {
        r += align256(plan_.ops[j].weight_bytes + plan_.ops[j].activation_bytes + plan_.ops[j].cache_bytes);
        w += align256(plan_.ops[j].write_bytes);
      }
      max_r = std::max(max_r, r);
      max_w = std::max(max_w, w);
      i = j > i ? j : i + 1;
    }
    b_.src = DeviceBuffer<unsigned char>(align256(max_r));
    b_.dst = DeviceBuffer<unsigned char>(align256(max_w));
    GV_CUDA(cudaMemsetAsync(b_.src.get(), 0x3C, b_.src.bytes(), s_));
    b_.ga = DeviceBuffer<__half>(size_t(ga));
    b_.gb = DeviceBuffer<__half>(size_t(gb));
    b_.gc = DeviceBuffer<__half>(size_t(gc));
    fill_half(b_.ga.get(), size_t(ga), 79u, 1.0f, s_);
    fill_half(b_.gb.get(), size_t(gb), 80u, 0.1f, s_);
    b_.aq = DeviceBuffer<__half>(size_t(aq));
    b_.ak = DeviceBuffer<__half>(size_t(akv));
    b_.av = DeviceBuffer<__half>(size_t(akv));
    b_.ao = DeviceBuffer<__half>(size_t(aq));
    fill_half(b_.aq.get(), size_t(aq), 84u, 3.0f, s_);
    fill_half(b_.ak.get(), size_t(akv), 85u, 1.0f, s_);
    fill_half(b_.av.get(), size_t(akv), 86u, 1.0f, s_);
    GV_CUDA(cudaStreamSynchronize(s_));
  }

  // The operands of every op with activations, in the shared placement and (with `dataflow`) in the
  // dataflow one, which it then selects.
  void set_operands(bool dataflow) {
    const size_t count = plan_.ops.size();
    shared_io_.assign(count, OpIo{});
    flow_io_.clear();
    auto grid_of = [&](size_t nr, size_t nw) {
      const size_t n = std::max(nr, nw);
      return std::max(1u, unsigned(std::min<size_t>((n + 255) / 256, size_t(ctx_.info.sm_count) * 8)));
    };
    for (size_t i = 0; i < count; ++i) {
      const ReplayOp& op = plan_.ops[i];
      OpIo& o = shared_io_[i];
      if (op.kind == ReplayKind::bytes) {
        o.src[0] = reinterpret_cast<const uint4*>(b_.src.get());
        o.n[0] = align256(op.weight_bytes + op.activation_bytes + op.cache_bytes) / 16;
        o.dst = reinterpret_cast<uint4*>(b_.dst.get());
        o.nw = align256(op.write_bytes) / 16;
        o.grid = grid_of(o.n[0], o.nw);
      } else if (op.kind == ReplayKind::gemm && op.weight_bytes > 0) {
        o.a = b_.ga.get();
        o.d = b_.gc.get();
      }
    }
    merge_bytes_.assign(count, {0, 0});
    for (size_t i = 0, head = 0; i < count; ++i) {
      if (plan_.ops[i].kind != ReplayKind::bytes) continue;
      if (i == 0 || plan_.ops[i - 1].kind != ReplayKind::bytes) head = i;
      merge_bytes_[head].first += shared_io_[i].n[0];
      merge_bytes_[head].second += shared_io_[i].nw;
    }
    if (dataflow) {
      layout_ = dataflow_layout(plan_.ops, ctx_.info.l2_bytes);
      b_.pool = DeviceBuffer<unsigned char>(layout_.pool_bytes);
      fill_half(reinterpret_cast<__half*>(b_.pool.get()), layout_.pool_bytes / 2, 87u, 1.0f, s_);
      GV_CUDA(cudaStreamSynchronize(s_));
      unsigned char* pool = b_.pool.get();
      flow_io_.assign(count, OpIo{});
      for (size_t i = 0; i < count; ++i) {
        const ReplayOp& op = plan_.ops[i];
        const FlowIo& f = layout_.ops[i];
        OpIo& o = flow_io_[i];
        if (!f.out) {
          o = shared_io_[i];
          continue;
        }
        if (op.kind == ReplayKind::bytes) {
          o.src[0] = reinterpret_cast<const uint4*>(pool + f.hot_off);
          o.n[0] = f.n_hot;
          o.src[1] = reinterpret_cast<const uint4*>(pool + f.cold_off);
          o.n[1] = f.n_cold;
          o.src[2] = reinterpret_cast<const uint4*>(b_.src.get());
          o.n[2] = f.n_src;
          o.dst = reinterpret_cast<uint4*>(pool + f.out_off);
          o.nw = f.out_bytes / 16;
          o.flow = true;
          // The same vectors, hence the same grid, as in the shared placement.
          if (o.n[0] + o.n[1] + o.n[2] != shared_io_[i].n[0] || o.nw != shared_io_[i].nw)
            throw std::logic_error("replay: " + op.name + ": dataflow placement moves other byte counts");
          o.grid = shared_io_[i].grid;
        } else {
          o.a = reinterpret_cast<const __half*>(pool + f.a_off);
          o.d = reinterpret_cast<__half*>(pool + f.out_off);
        }
      }
      const FlowLayout& L = layout_;
      std::fprintf(stderr,
                   "replay %s: dataflow placement: ring %.0f MiB (at least %.0f), %.2f GB through it per step (%d "
                   "wraps, ends at %.0f MiB); weight GEMMs' A from the previous output %d (running on into old data "
                   "%d), from old data %d (%d of them as the previous output did not fit before the ring's end); byte "
                   "ops' activations %.0f MB from the previous output, %.0f MB from old data\n",
                   plan_.workload.c_str(), double(L.pool_bytes) / 1048576, double(L.min_pool_bytes) / 1048576,
                   L.step_bytes / 1e9, L.wraps, double(L.end_off) / 1048576, L.gemm_prev + L.gemm_overhang,
                   L.gemm_overhang, L.gemm_cold, L.gemm_fallback, L.hot_bytes / 1e6, L.cold_bytes / 1e6);
    }
    set_placement(dataflow ? Placement::dataflow : Placement::shared);
  }

  Context& ctx_;
  const ReplayPlan& plan_;
  cudaStream_t s_;
  cublasHandle_t blas_ = nullptr;
  DeviceBuffer<unsigned char> workspace_;
  Bufs b_;
  std::vector<size_t> group_head_;        // per op: the first op of its fused 4-bit GEMV group (itself if none)
  std::vector<std::int64_t> group_rows_;  // per group head: rows of the whole group
  std::vector<std::int64_t> row_offset_;  // per op: its first row inside its group
  bool fused_ = false;
  bool pdl_all_ = false;
  bool epi_ = false;
  bool merge_ = false;
  DecodeSplit dec_split_{1, kDecTile, 2, false};  // the fused decode attention's grid, set by allocate()
  // Per op: for the first byte op of a run of consecutive ones, the run's 16-byte vectors read and written
  // (shared placement); (0, 0) for the others.
  std::vector<std::pair<size_t, size_t>> merge_bytes_;
  FlowLayout layout_;
  std::vector<OpIo> shared_io_, flow_io_;  // per op, in each placement
  Placement placement_ = Placement::shared;
  const OpIo* io_ = nullptr;  // the current placement's
};

std::vector<double> to_ms(std::vector<double> t) {
  for (double& v : t) v *= 1e3;
  return t;
}

struct ReplayResult {
  // graph_ms: plain graph; pdl_ms: the same ops under programmatic dependent launch (best of PDL on the
  // GEMVs and on every own kernel); fused_ms / epi_ms: graphs that merge ops (not the model's op list).
  double eager_ms = 0, graph_ms = 0, pdl_ms = 0, fused_ms = 0, epi_ms = 0;
  bool graph_pdl_ok = false;
};

// Replays `plan`: LLM plans in the shared placement, the others (SD) in the dataflow placement; with
// `shared_too`, the step graph and its norm and elementwise class graphs are timed again in the shared
// placement (ids ending in -shared), for comparison with runs up to 26; with `without_too`, the step graph
// without each op class too (ids ending in -graph-without-<class>).
// `light` (held-out replays): the step eager, as a graph and (4-bit) as a graph with PDL on the GEMVs and on
// every own kernel, and the per-class graphs; no fused variants.
ReplayResult replay(Context& ctx, const ReplayPlan& plan, const std::string& tag, bool llm, int reps,
                    bool shared_too = false, bool without_too = false, bool light = false) {
  Replayer r(ctx, plan, !llm);
  ReplayResult res;
  if (!r.check()) return res;
  const cudaStream_t s = ctx.stream;
  auto cond = [&](const std::string& mode, const std::string& op) {
    std::vector<Condition> c{
        {"workload", plan.workload}, {"mode", mode}, {"op", op}, {"ops", std::int64_t(plan.ops.size())}};
    if (!llm) c.push_back({"placement", std::string(to_string(r.placement()))});
    return c;
  };
  double copy_gb_s = 0;
  for (const auto& m : ctx.results)
    if (m.kind == "dram_copy_gb_s") copy_gb_s = std::max(copy_gb_s, m.value);
  // The SM clock through each step measurement's timed window (sm_mhz_mean/min; none without NVML).
  SmClockSampler clocks(ctx.nvml);
  auto add_clock = [&](Measurement& x) {
    for (auto& c : sm_clock_conditions(clocks.mhz())) x.conditions.push_back(std::move(c));
  };
  // Eager: every op launched from the host, one step per sample.
  auto t = time_batches(
      s, reps, 1, [&](int) { r.issue_all(false); }, 2, &clocks);
  auto m = make_measurement("replay-" + tag + "-eager", "replay_ms", "ms", to_ms(t), cond("eager", "all"));
  add_clock(m);
  res.eager_ms = m.value;
  ctx.add(m);
  // Graph, without and (LLM: 4-bit GEMVs) with programmatic dependent launch.
  const bool has_q4 =
      std::any_of(plan.ops.begin(), plan.ops.end(), [](const ReplayOp& o) { return o.kind == ReplayKind::gemv_q4; });
  for (bool pdl : {false, true}) {
    if (pdl && !has_q4) continue;
    try {
      t = time_graph(
          s, reps, 1, [&] { r.issue_all(pdl); }, &clocks);
    } catch (const std::exception& e) {
      ctx.fail("replay " + tag + (pdl ? " graph with PDL: " : " graph: ") + e.what());
      continue;
    }
    const std::string mode = pdl ? "graph-pdl" : "graph";
    m = make_measurement("replay-" + tag + "-" + mode, "replay_ms", "ms", to_ms(t), cond(mode, "all"));
    add_clock(m);
    const double ms = m.value;
    if (pdl) {
      res.graph_pdl_ok = true;
      res.pdl_ms = ms;
    } else {
      res.graph_ms = ms;
    }
    ctx.add(m);
    if (llm) {
      auto g = make_measurement("replay-" + tag + "-" + mode + "-bandwidth", "replay_gb_s", "GB/s",
                                rates_from_times(t, plan.total_bytes, 1e-9), cond(mode, "all"));
      g.conditions.push_back({"bytes", plan.total_bytes});
      ctx.add(g);
      if (copy_gb_s > 0) {
        const double floor_s = plan.weight_bytes / (copy_gb_s * 1e9);
        std::vector<double> ratio;
        for (double v : t) ratio.push_back(v / floor_s);
        auto f = make_measurement("replay-" + tag + "-" + mode + "-floor-ratio", "replay_floor_ratio", "1", ratio,
                                  cond(mode, "all"));
        f.conditions.push_back({"weight_bytes", plan.weight_bytes});
        f.conditions.push_back({"copy_gb_s", copy_gb_s});
        f.conditions.push_back({"floor_ms", std::round(floor_s * 1e6) / 1e3});
        ctx.add(f);
      }
    }
  }
  // 4-bit: the graph with PDL again, with PDL on the small kernels too (all), with the GEMVs that share an
  // input fused (q/k/v, gate/up), and both.
  if (has_q4 && res.graph_pdl_ok) {
    struct Variant {
      const char* mode;
      bool all, fused, epi, merge;
    };
    const bool epi_ok = llm && !light && r.check_epi();
    for (const Variant v :
         {Variant{"graph-pdl-all", true, false, false, false}, Variant{"graph-pdl-fused", false, true, false, false},
          Variant{"graph-pdl-all-fused", true, true, false, false},
          Variant{"graph-pdl-all-fused-epi", true, true, true, false},
          Variant{"graph-pdl-all-fused-merged", true, true, false, true}}) {
      if (v.epi && !epi_ok) continue;
      if (light && v.fused) continue;  // the fused variants (the epilogue one is fused too)
      r.set_fused(v.fused);
      r.set_pdl_all(v.all);
      r.set_epi(v.epi);
      r.set_merge(v.merge);
      try {
        t = time_graph(
            s, reps, 1, [&] { r.issue_all(true); }, &clocks);
        auto c = cond(v.mode, "all");
        if (v.fused) c.push_back({"gemv_launches", std::int64_t(r.fused_launches())});
        if (v.epi) c.push_back({"small_ops_folded", std::int64_t(r.absorbed_ops())});
        if (v.merge) c.push_back({"byte_op_launches", std::int64_t(r.merged_launches())});
        m = make_measurement("replay-" + tag + "-" + v.mode, "replay_ms", "ms", to_ms(t), c);
        add_clock(m);
        if (v.all && v.fused && !v.epi) res.fused_ms = m.value;
        if (v.epi) res.epi_ms = m.value;
        if (v.all && !v.fused) res.pdl_ms = std::min(res.pdl_ms, m.value);  // the same ops, PDL everywhere
        ctx.add(m);
        if (copy_gb_s > 0) {
          const double floor_s = plan.weight_bytes / (copy_gb_s * 1e9);
          std::vector<double> ratio;
          for (double x : t) ratio.push_back(x / floor_s);
          auto f = make_measurement("replay-" + tag + "-" + v.mode + "-floor-ratio", "replay_floor_ratio", "1", ratio,
                                    cond(v.mode, "all"));
          f.conditions.push_back({"weight_bytes", plan.weight_bytes});
          f.conditions.push_back({"copy_gb_s", copy_gb_s});
          f.conditions.push_back({"floor_ms", std::round(floor_s * 1e6) / 1e3});
          ctx.add(f);
        }
      } catch (const std::exception& e) {
        ctx.fail("replay " + tag + " " + v.mode + ": " + e.what());
      }
    }
    r.set_fused(false);
    r.set_pdl_all(false);
    r.set_epi(false);
    r.set_merge(false);
  }
  // Per op class: a graph of only that class's ops (with PDL where the full graph used it). In the
  // dataflow placement each op keeps its step's addresses, so what it reads as "the previous op's output"
  // was written by an op outside the class graph: it is whatever the ring left there (the class graph's
  // own writes a lap away, mostly not in L2). A class graph then reads nearly all of its input from DRAM,
  // where the step finds the part the previous op wrote in L2.
  std::map<std::string, int> classes;
  for (const auto& op : plan.ops) ++classes[op.op_class];
  auto time_class = [&](const std::string& cls, int count, const std::string& suffix) {
    const bool pdl = has_q4 && res.graph_pdl_ok;
    t = time_graph(
        s, reps, 1, [&] { r.issue_all(pdl, cls); }, &clocks);
    m = make_measurement("replay-" + tag + "-graph-" + cls + suffix, "replay_ms", "ms", to_ms(t),
                         cond(pdl ? "graph-pdl" : "graph", cls));
    m.conditions.push_back({"class_ops", std::int64_t(count)});
    add_clock(m);
    ctx.add(m);
  };
  for (const auto& entry : classes) time_class(entry.first, entry.second, "");
  // The decode attention's kernels each in a graph of their own (run 41): the scores and P·V share the gemm
  // class with the weight products, so the class graph alone does not say which of them is slow.
  const std::pair<ReplayKind, const char*> attention_kinds[] = {{ReplayKind::attn_scores, "attn-scores"},
                                                                {ReplayKind::attn_softmax, "attn-softmax"},
                                                                {ReplayKind::attn_pv, "attn-pv"},
                                                                {ReplayKind::attn_decode, "attn-decode"}};
  for (const auto& entry : attention_kinds) {
    const ReplayKind kind = entry.first;
    const char* name = entry.second;
    int count = 0;
    for (const auto& op : plan.ops) count += op.kind == kind ? 1 : 0;
    if (count == 0) continue;
    const bool pdl = has_q4 && res.graph_pdl_ok;
    t = time_graph(
        s, reps, 1, [&] { r.issue_kind(pdl, kind); }, &clocks);
    m = make_measurement("replay-" + tag + "-graph-" + name, "replay_ms", "ms", to_ms(t),
                         cond(pdl ? "graph-pdl" : "graph", name));
    m.conditions.push_back({"kernels", std::int64_t(count)});
    add_clock(m);
    ctx.add(m);
  }
  // With `without_too`: per op class, the whole step without that class's ops (run 28), in the same
  // placement and timed like the step; step - without is what the class adds to the step. The remaining
  // ops keep their step addresses, so an op that follows a left-out one reads as its "previous output" a
  // region nobody wrote in this graph (old data, from DRAM), where in the step that part is in L2: the
  // difference is the class's own time in the step, less what it overlaps with the other ops' work and
  // less what the other ops lose without its outputs in L2 (its marginal cost, not a share of a sum).
  if (without_too && res.graph_ms > 0 && classes.size() > 1) {
    const bool pdl = has_q4 && res.graph_pdl_ok;
    for (const auto& entry : classes) {
      const std::string& cls = entry.first;
      try {
        t = time_graph(
            s, reps, 1, [&] { r.issue_all(pdl, cls, true); }, &clocks);
      } catch (const std::exception& e) {
        ctx.fail("replay " + tag + " graph without " + cls + ": " + e.what());
        continue;
      }
      m = make_measurement("replay-" + tag + "-graph-without-" + cls, "replay_ms", "ms", to_ms(t),
                           cond(pdl ? "graph-pdl" : "graph", "all but " + cls));
      m.conditions.push_back({"class_ops", std::int64_t(entry.second)});
      m.conditions.push_back({"graph_ops", std::int64_t(plan.ops.size()) - entry.second});
      add_clock(m);
      std::fprintf(stderr, "replay %s: graph without %s (%d ops) %.4f ms; in the step (step - without) %.4f ms\n",
                   tag.c_str(), cls.c_str(), entry.second, m.value, res.graph_ms - m.value);
      ctx.add(m);
    }
  }
  // The shared placement once more (runs up to 26): the step graph, and the norm and elementwise classes.
  if (shared_too && r.placement() == Placement::dataflow) {
    r.set_placement(Placement::shared);
    if (r.check_gemms()) {
      try {
        t = time_graph(
            s, reps, 1, [&] { r.issue_all(false); }, &clocks);
        m = make_measurement("replay-" + tag + "-graph-shared", "replay_ms", "ms", to_ms(t), cond("graph", "all"));
        add_clock(m);
        ctx.add(m);
        for (const char* cls : {"norm", "elementwise"})
          if (classes.count(cls)) time_class(cls, classes[cls], "-shared");
      } catch (const std::exception& e) {
        ctx.fail("replay " + tag + " graph, shared placement: " + e.what());
      }
    }
    r.set_placement(Placement::dataflow);
  }
  return res;
}

std::string fmt(const char* f, double v) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

void run_replay(Context& ctx) {
  const int reps = ctx.opt.quick ? 5 : 20;
  const std::string llama_scenario_base = "{phase: decode, context: 512, batch: 1, weights: ";
  const std::string llama_scenario_end = ", kv_dtype: fp16, attention: naive}";
  for (const char* weights : {"gptq4-g128", "fp16"}) {
    const ReplayPlan plan = llama_decode_plan(ctx.opt.specs_dir, "llama-13b", weights, 512);
    const std::string tag = std::string("llama13b-decode-ctx512-") + weights;
    const ReplayResult r = replay(ctx, plan, tag, true, reps);
    if (r.graph_ms <= 0) continue;
    // The 4-bit step as one persistent cooperative kernel over all layers (decode_persistent.cu): not the
    // model's op list (one launch, the small ops inside it), so reported in the PDL point's note only.
    PersistentDecodeResult pers;
    if (std::string(weights) == "gptq4-g128") {
      try {
        pers = run_decode_persistent(ctx, plan, tag, reps);
      } catch (const std::exception& e) {
        ctx.fail("replay " + tag + " persistent: " + e.what());
      }
    }
    const std::string sc = llama_scenario_base + weights + llama_scenario_end;
    ctx.replay_points.push_back({"llama-13b", "cuda-graph", "tokens/s", sc, 1e3 / r.graph_ms,
                                 fmt("graph replay, %.3f ms per token", r.graph_ms)});
    if (r.pdl_ms > 0) {
      std::string note = fmt("graph replay under programmatic dependent launch, %.3f ms per token", r.pdl_ms);
      if (r.fused_ms > 0) note += fmt(" (q/k/v and gate/up GEMVs fused, PDL on every own kernel: %.3f ms", r.fused_ms);
      if (r.epi_ms > 0)
        note += fmt("; also RMSNorm, silu*up and residual adds folded into the GEMVs: %.3f ms", r.epi_ms);
      if (r.fused_ms > 0) note += ")";
      if (pers.step_ms > 0)
        note += "; one persistent cooperative kernel over all layers (" + pers.config + fmt("): %.3f ms", pers.step_ms);
      ctx.replay_points.push_back({"llama-13b", "cuda-graph-pdl", "tokens/s", sc, 1e3 / r.pdl_ms, note});
    }
    ctx.replay_points.push_back({"llama-13b", "cuda-eager", "tokens/s", sc, 1e3 / r.eager_ms,
                                 fmt("eager replay (kernels issued from C++), %.3f ms per token", r.eager_ms)});
  }
  // SD 1.5 UNet step, CFG batch 2: 512x512 with naive attention (scores, softmax, PV as cuBLAS GEMMs and a
  // softmax kernel) and with the fused attention kernel; 2048x1152 fused only (its naive score matrices
  // would be 43 GB per attention).
  struct SdRun {
    int width, height;
    bool flash;
    const char* tag;
  };
  for (const SdRun& sd : {SdRun{512, 512, false, "sd15-unet-512-cfg"}, SdRun{512, 512, true, "sd15-unet-512-cfg-flash"},
                          SdRun{2048, 1152, true, "sd15-unet-2048x1152-cfg-flash"}}) {
    const bool big = sd.width * sd.height > 512 * 512;
    ReplayResult r;
    try {
      const ReplayPlan plan = sd_unet_plan(ctx.opt.specs_dir, "sd15", sd.width, sd.height, 1, true, sd.flash);
      // The 512x512 flash step also in the shared placement of runs up to 26 (-shared), and without each
      // op class (-graph-without-<class>: each class's cost inside the step, run 28).
      r = replay(ctx, plan, sd.tag, false, ctx.opt.quick ? 2 : (big ? 5 : 10), sd.flash && !big, sd.flash && !big);
    } catch (const std::exception& e) {
      ctx.fail(std::string("replay ") + sd.tag + ": " + e.what());
      continue;
    }
    if (r.graph_ms <= 0) continue;
    const std::string res = std::to_string(sd.width) + "x" + std::to_string(sd.height);
    const std::string sc = "{resolution: " + res +
                           ", batch: 1, cfg: true, steps: 20, attention: " + (sd.flash ? "flash" : "naive") +
                           ", precision: fp16}";
    const std::string how = std::string(sd.flash ? "fused attention kernel, " : "naive attention, ") +
                            "activations in a network's dataflow, ";
    ctx.replay_points.push_back({"sd15", "cuda-graph", "it/s", sc, 1e3 / r.graph_ms,
                                 how + fmt("graph replay, %.2f ms per UNet step", r.graph_ms)});
    ctx.replay_points.push_back({"sd15", "cuda-eager", "it/s", sc, 1e3 / r.eager_ms,
                                 how + fmt("eager replay, %.2f ms per UNet step", r.eager_ms)});
  }
}

void run_holdout(Context& ctx) {
  const int reps = ctx.opt.quick ? 3 : 10;
  // For profiling one scenario (validate/scripts/device_profile_attention.sh): only the held-out scenarios
  // whose tag contains this text.
  const char* only = std::getenv("GPUPERF_VALIDATE_HOLDOUT_ONLY");
  for (const HoldoutScenario& h : holdout_scenarios()) {
    if (only && h.tag.find(only) == std::string::npos) continue;
    ReplayResult r;
    try {
      const ReplayPlan plan = holdout_plan(ctx.opt.specs_dir, h);
      r = replay(ctx, plan, "holdout-" + h.tag, h.llm, h.llm ? reps : std::max(2, reps / 2), false, false, !h.variants);
    } catch (const std::exception& e) {
      ctx.fail("replay holdout-" + h.tag + ": " + e.what());
      continue;
    }
    if (r.graph_ms <= 0 || r.eager_ms <= 0) continue;
    const char* metric = h.llm ? "tokens/s" : "it/s";
    const char* unit = h.llm ? "token" : "UNet step";
    const std::string how = h.llm ? "" : "fused attention kernel, activations in a network's dataflow, ";
    ctx.holdout_points.push_back({h.model_id, "cuda-graph", metric, h.scenario, 1e3 / r.graph_ms,
                                  how + fmt("graph replay, %.3f ms per ", r.graph_ms) + unit});
    if (r.pdl_ms > 0)
      ctx.holdout_points.push_back(
          {h.model_id, "cuda-graph-pdl", metric, h.scenario, 1e3 / r.pdl_ms,
           fmt("graph replay, the best of PDL on the 4-bit GEMVs and on every own kernel, %.3f ms per ", r.pdl_ms) +
               unit});
    ctx.holdout_points.push_back({h.model_id, "cuda-eager", metric, h.scenario, 1e3 / r.eager_ms,
                                  how + fmt("eager replay, %.3f ms per ", r.eager_ms) + unit});
  }
}

}  // namespace gpuperf::validate
