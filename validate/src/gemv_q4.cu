// gemv_q4: the 4-bit weight-only GEMV kernels (layout in gemv_q4.cuh) and their benchmark at every
// LLaMA-13B layer shape and for one whole layer (7 GEMVs back to back in a CUDA graph; and 4, with q/k/v and
// gate/up fused), against a float64 host reference and the measured DRAM copy bandwidth.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>

#include "common.cuh"
#include "gemv_q4.cuh"
#include "gemv_q4_stream.cuh"

namespace gpuperf::validate {

namespace {

using namespace q4dev;

constexpr int kRowsPerWarp = 2;       // rowpair kernel
constexpr int kWarpsPerBlock = 8;     // both kernels: 256 threads
constexpr int kMaxRowsPerBlock = 64;  // tiles kernel
constexpr int kMaxStreamRows = 128;   // stream kernel

__device__ __forceinline__ __half2 nibbles(std::uint32_t word, int p) {
  std::uint32_t bits = ((word >> (4 * p)) & 0x000F000Fu) | 0x64006400u;
  __half2 h;
  std::memcpy(&h, &bits, 4);
  return h;
}

// sum over one word (8 columns) of (q - zero) * x, times scale, in fp32.
__device__ __forceinline__ float word_dot(std::uint32_t word, const uint4& xx, __half2 s_z) {
  const __half2 k1024 = __float2half2_rn(1024.0f);
  const __half2 z2 = __half2half2(__high2half(s_z));
  const std::uint32_t xw[4] = {xx.x, xx.y, xx.z, xx.w};
  __half2 a = __float2half2_rn(0.0f);
#pragma unroll
  for (int p = 0; p < 4; ++p) a = __hfma2(__hsub2(__hsub2(nibbles(word, p), k1024), z2), as_half2(xw[p]), a);
  const float2 af = __half22float2(a);
  return __low2float(s_z) * (af.x + af.y);
}

// ---- rowpair (run 2's kernel). ITERS = ceil(K / 1024): 16-byte vectors per lane per row.
template <int ITERS>
__global__ void __launch_bounds__(256)
    gemv_q4_rowpair(const std::uint32_t* __restrict__ w, const __half2* __restrict__ sz, const __half* __restrict__ x,
                    __half* __restrict__ y, int n, int k) {
  const int warp = int((blockIdx.x * blockDim.x + threadIdx.x) >> 5);
  const int lane = int(threadIdx.x & 31);
  const int row0 = warp * kRowsPerWarp;
  if (row0 >= n) return;
  const int blocks = k / 256;  // 256-column blocks per row
  const int rw = Q4Weights::row_words(k);
  uint4 q[kRowsPerWarp][ITERS];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int row = min(row0 + r, n - 1);
    const std::uint32_t* wr = w + size_t(row) * rw + lane * 4;
#pragma unroll
    for (int it = 0; it < ITERS; ++it) {
      if (it * 4 + 3 < blocks) {
        q[r][it] = load_stream(reinterpret_cast<const uint4*>(wr + it * 128));
      } else {  // the last, partial vector: only its valid words
        q[r][it] = make_uint4(0, 0, 0, 0);
        if (it * 4 + 0 < blocks) q[r][it].x = load_stream(wr + it * 128 + 0);
        if (it * 4 + 1 < blocks) q[r][it].y = load_stream(wr + it * 128 + 1);
        if (it * 4 + 2 < blocks) q[r][it].z = load_stream(wr + it * 128 + 2);
      }
    }
  }
  const uint4* xv = reinterpret_cast<const uint4*>(x);
  float acc[kRowsPerWarp] = {};
#pragma unroll
  for (int it = 0; it < ITERS; ++it) {
#pragma unroll
    for (int t = 0; t < 4; ++t) {
      const int b = it * 4 + t;
      if (b < blocks) {
        const uint4 xx = __ldg(xv + b * 32 + lane);  // columns b*256 + lane*8 ... + 7: coalesced
        const int g = b * 2 + (lane >> 4);
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
          const __half2 s_z = sz[Q4Weights::sz_index(k, min(row0 + r, n - 1), g)];
          acc[r] += word_dot(comp(q[r][it], t), xx, s_z);
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    float v = acc[r];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0 && row0 + r < n) y[row0 + r] = __float2half(v);
  }
}

// ---- tiles: split-K over the 8 warps of a block that owns `rpb` rows; U tiles per warp in flight.
template <int U, int MINB>
__global__ void __launch_bounds__(256, MINB)
    gemv_q4_tiles(const std::uint32_t* __restrict__ w, const uint4* __restrict__ sz4, const __half* x,
                  __half* __restrict__ y, int n, int k, int rpb) {
  extern __shared__ uint4 xs[];  // the activations, K/8 vectors
  __shared__ float sums[kMaxRowsPerBlock];
  pdl_trigger();
  const int T = Q4Weights::tiles(k), nb = k / 256, rw = T * 128;
  const int warp = int(threadIdx.x >> 5), lane = int(threadIdx.x & 31), hi = lane >> 4;
  const int row0 = int(blockIdx.x) * rpb;
  const int rows = min(rpb, n - row0);
  const int ntiles = rows * T;
  uint4 q[U], sv[U];
  auto load_batch = [&](int base) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int j = base + kWarpsPerBlock * u;
      if (j < ntiles) {
        const int r = j / T, t = j - r * T;
        const std::uint32_t* wp = w + size_t(row0 + r) * rw + t * 128 + lane * 4;
        if (4 * t + 3 < nb) {
          q[u] = load_stream(reinterpret_cast<const uint4*>(wp));
        } else {
          q[u] = make_uint4(0, 0, 0, 0);
          if (4 * t + 0 < nb) q[u].x = load_stream(wp + 0);
          if (4 * t + 1 < nb) q[u].y = load_stream(wp + 1);
          if (4 * t + 2 < nb) q[u].z = load_stream(wp + 2);
        }
        sv[u] = load_stream(sz4 + (size_t(row0 + r) * T + t) * 2 + hi);
      }
    }
  };
  int base = warp;
  load_batch(base);  // weights first: they do not depend on the previous kernel
  for (int i = int(threadIdx.x); i < rows; i += blockDim.x) sums[i] = 0.0f;
  pdl_wait();  // x is the previous kernel's output
  const uint4* xv = reinterpret_cast<const uint4*>(x);
  for (int i = int(threadIdx.x); i < k / 8; i += blockDim.x) xs[i] = xv[i];
  __syncthreads();
  for (; base < ntiles; base += kWarpsPerBlock * U) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int j = base + kWarpsPerBlock * u;
      if (j < ntiles) {
        const int r = j / T, t = j - r * T;
        float acc = 0.0f;
#pragma unroll
        for (int tt = 0; tt < 4; ++tt) {
          const int b = 4 * t + tt;
          if (b < nb) acc += word_dot(comp(q[u], tt), xs[b * 32 + lane], as_half2(comp(sv[u], tt)));
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
        if (lane == 0) atomicAdd(&sums[r], acc);
      }
    }
    if (base + kWarpsPerBlock * U < ntiles) load_batch(base + kWarpsPerBlock * U);
  }
  __syncthreads();
  for (int i = int(threadIdx.x); i < rows; i += blockDim.x) y[row0 + i] = __float2half(sums[i]);
}

// ---- tiles, double-buffered: the next U tiles are loaded before the current U are computed, so each
// warp overlaps its arithmetic with its own loads (two batches in flight).
template <int U, int MINB>
__global__ void __launch_bounds__(256, MINB)
    gemv_q4_tiles_db(const std::uint32_t* __restrict__ w, const uint4* __restrict__ sz4, const __half* x,
                     __half* __restrict__ y, int n, int k, int rpb) {
  extern __shared__ uint4 xs[];
  __shared__ float sums[kMaxRowsPerBlock];
  pdl_trigger();
  const int T = Q4Weights::tiles(k), nb = k / 256, rw = T * 128;
  const int warp = int(threadIdx.x >> 5), lane = int(threadIdx.x & 31), hi = lane >> 4;
  const int row0 = int(blockIdx.x) * rpb;
  const int rows = min(rpb, n - row0);
  const int ntiles = rows * T;
  constexpr int kStep = kWarpsPerBlock * U;
  uint4 qa[U], sa[U], qb[U], sb[U];
  auto load_batch = [&](uint4(&q)[U], uint4(&sv)[U], int base) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int j = base + kWarpsPerBlock * u;
      if (j < ntiles) {
        const int r = j / T, t = j - r * T;
        const std::uint32_t* wp = w + size_t(row0 + r) * rw + t * 128 + lane * 4;
        if (4 * t + 3 < nb) {
          q[u] = load_stream(reinterpret_cast<const uint4*>(wp));
        } else {
          q[u] = make_uint4(0, 0, 0, 0);
          if (4 * t + 0 < nb) q[u].x = load_stream(wp + 0);
          if (4 * t + 1 < nb) q[u].y = load_stream(wp + 1);
          if (4 * t + 2 < nb) q[u].z = load_stream(wp + 2);
        }
        sv[u] = load_stream(sz4 + (size_t(row0 + r) * T + t) * 2 + hi);
      }
    }
  };
  auto compute_batch = [&](const uint4(&q)[U], const uint4(&sv)[U], int base) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int j = base + kWarpsPerBlock * u;
      if (j < ntiles) {
        const int r = j / T, t = j - r * T;
        float acc = 0.0f;
#pragma unroll
        for (int tt = 0; tt < 4; ++tt) {
          const int b = 4 * t + tt;
          if (b < nb) acc += word_dot(comp(q[u], tt), xs[b * 32 + lane], as_half2(comp(sv[u], tt)));
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
        if (lane == 0) atomicAdd(&sums[r], acc);
      }
    }
  };
  int base = warp;
  load_batch(qa, sa, base);
  load_batch(qb, sb, base + kStep);
  for (int i = int(threadIdx.x); i < rows; i += blockDim.x) sums[i] = 0.0f;
  pdl_wait();
  const uint4* xv = reinterpret_cast<const uint4*>(x);
  for (int i = int(threadIdx.x); i < k / 8; i += blockDim.x) xs[i] = xv[i];
  __syncthreads();
  for (; base < ntiles; base += 2 * kStep) {
    compute_batch(qa, sa, base);
    if (base + 2 * kStep < ntiles) load_batch(qa, sa, base + 2 * kStep);
    if (base + kStep >= ntiles) break;
    compute_batch(qb, sb, base + kStep);
    if (base + 3 * kStep < ntiles) load_batch(qb, sb, base + 3 * kStep);
  }
  __syncthreads();
  for (int i = int(threadIdx.x); i < rows; i += blockDim.x) y[row0 + i] = __float2half(sums[i]);
}

// ---- stream: each warp streams one contiguous run of (row, tile) items. The matrix is a linear array
// of 512-byte tiles (item i = row * T + tile at byte i * 512; its scales at i * 32), so a warp's loads
// are one sequential stream, addressed as immediates off one pointer per round. A ring of D items per
// warp is in flight: item i + D is loaded as soon as item i is consumed (no load/compute phases). The
// partial sum stays per lane across a row's tiles and is reduced once per row (shared-memory atomics
// only where a row's tiles span two warps). A partial last tile (K not a multiple of 1024) is loaded
// whole: its padding words and groups are finite (the fill writes zeros) and meet zero activations.
// Dequant per word (8 weights): one shift and four LOP3 (the odd nibble pairs are read as 64 + q from
// bits 4..7 of each half), four exact HSUB2 giving q - 8, four HFMA2 with x, then the zero as one HFMA2
// with the word's precomputed activation sums ((q - z) x = (q - 8) x - (z - 8) x) and the group scale
// as one HFMA2: 16 instructions per word, fp32 per tile.
// Fused prologues (run 10, the replay's graph-pdl-all-fused-epi mode): each block computes the GEMV's
// input itself from the previous op's input, as the unfused op would have written it (fp16), into xs:
//   norm_gamma: RMSNorm, x * rsqrt(mean(x^2) + eps) * gamma (the block reduces x^2 over all K itself);
//   silu_gate_up: the fused gate/up GEMV's output [gate (K) | up (K)] -> silu(gate) * up.
// Padding past K is zero. The caller syncs before xs is read.
__device__ void stage_fused(uint4* xs, const uint4* xv, int T, int k, const GemvFusion& fu) {
  __shared__ float red[kWarpsPerBlock];
  float inv = 1.0f;
  if (fu.norm_gamma != nullptr) {
    float ss = 0.0f;
    for (int i = int(threadIdx.x); i < k / 8; i += blockDim.x) {
      const uint4 v = xv[i];
      const std::uint32_t vw[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float2 f = __half22float2(as_half2(vw[j]));
        ss += f.x * f.x + f.y * f.y;
      }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = ss;
    __syncthreads();
    ss = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarpsPerBlock; ++w) ss += red[w];
    inv = rsqrtf(ss / float(k) + fu.norm_eps);
  }
  const uint4* gv = reinterpret_cast<const uint4*>(fu.norm_gamma);
  const uint4* gu = reinterpret_cast<const uint4*>(fu.silu_gate_up);
  for (int i = int(threadIdx.x); i < T * 128; i += blockDim.x) {
    uint4 out = make_uint4(0, 0, 0, 0);
    if (i < k / 8) {
      std::uint32_t a[4], b[4], o[4];
      const uint4 va = gu ? gu[i] : xv[i], vb = gu ? gu[k / 8 + i] : gv[i];
      a[0] = va.x, a[1] = va.y, a[2] = va.z, a[3] = va.w;
      b[0] = vb.x, b[1] = vb.y, b[2] = vb.z, b[3] = vb.w;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float2 fa = __half22float2(as_half2(a[j])), fb = __half22float2(as_half2(b[j]));
        float2 r;
        if (gu) {  // silu(g) * u
          r.x = fa.x / (1.0f + __expf(-fa.x)) * fb.x;
          r.y = fa.y / (1.0f + __expf(-fa.y)) * fb.y;
        } else {  // x * inv * gamma
          r.x = fa.x * inv * fb.x;
          r.y = fa.y * inv * fb.y;
        }
        const __half2 h = __floats2half2_rn(r.x, r.y);
        std::memcpy(&o[j], &h, 4);
      }
      out = make_uint4(o[0], o[1], o[2], o[3]);
    }
    xs[i] = out;
  }
}

// PF (run 9): each warp also prefetches its items into L2 ahead of the ring (prefetch.global.L2, no
// registers held): at entry items D .. kPfItems - 1 of its run, then per round of D items the D items
// kPfItems ahead (lanes 0 .. 4D-1 one 128-byte line each, lane 31 the scales). A short GEMV (q/k/v/o: ~5-7
// items per warp) so has its whole share of the matrix requested from DRAM at entry instead of one ring
// of D tiles per DRAM round trip.

// Run 11's multi-matrix form (MULTI): one launch computes up to kMaxMulti GEMVs of the same shape that read
// the same x (a layer's q, k and v), each block owning rows of one matrix (block b: matrix b / bpm), so the
// whole launch is one wave of SMs x blocks/SM that stages x once per block for all three matrices.
constexpr int kMaxMulti = 3;
struct GemvMulti {
  const uint4* w4[kMaxMulti] = {};
  const uint4* sz4[kMaxMulti] = {};
  __half* y[kMaxMulti] = {};
  int bpm = 0;  // blocks per matrix
};

template <int D, int MINB, bool LANES, bool PF = false, bool MULTI = false>
__global__ void __launch_bounds__(256, MINB)
    gemv_q4_stream(const uint4* __restrict__ w4, const uint4* __restrict__ sz4, const __half* x, __half* __restrict__ y,
                   int n, int k, int rpb, GemvFusion fu, GemvMulti mm = GemvMulti{}) {
  // T * 128 vectors: the activations, zero past K; then T * 32 sum vectors; then (LANES) rpb * 32 floats
  extern __shared__ uint4 xs[];
  __shared__ float sums[kMaxStreamRows];
  pdl_trigger();
  const int T = Q4Weights::tiles(k), nb = k / 256;
  uint4* xsum = xs + T * 128;  // (tile, lane): per word j, (sum of even, sum of odd columns) of its 8
  float* part = reinterpret_cast<float*>(xsum + T * 32);  // (row, lane) partial sums
  const int warp = int(threadIdx.x >> 5), lane = int(threadIdx.x & 31);
  int bid = int(blockIdx.x);
  if (MULTI) {  // selects on the parameters (an indexed parameter array would be copied to local memory)
    const int m = bid / mm.bpm;
    bid -= m * mm.bpm;
    w4 = m == 0 ? mm.w4[0] : m == 1 ? mm.w4[1] : mm.w4[2];
    sz4 = m == 0 ? mm.sz4[0] : m == 1 ? mm.sz4[1] : mm.sz4[2];
  }
  const int row0 = bid * rpb;
  const int rows = min(rpb, n - row0);
  const int ntiles = rows * T;
  Ring<D> ring;
  ring_start(ring, w4, sz4, row0, ntiles, T, warp, kWarpsPerBlock, lane);  // weights first: they do not
                                                                           // depend on the previous kernel
  const int cnt = ring.cnt;
  const size_t g0 = size_t(row0) * T + size_t(ring.i0);
  const char* wb = reinterpret_cast<const char*>(w4 + g0 * 32);  // the warp's first item (bytes)
  const char* sb = reinterpret_cast<const char*>(sz4 + g0 * 2);
  if (PF) {
    const int lim = min(cnt, kPfItems);
    for (int off = D * 512 + lane * 128; off < lim * 512; off += 32 * 128) prefetch_l2(wb + off);
    if (lane * 128 < lim * 32) prefetch_l2(sb + lane * 128);
  }
  if (LANES) {
    for (int i = int(threadIdx.x); i < rows * 32; i += blockDim.x) part[i] = 0.0f;
  } else {
    for (int i = int(threadIdx.x); i < rows; i += blockDim.x) sums[i] = 0.0f;
  }
  pdl_wait();  // x is the previous kernel's output
  const uint4* xv = reinterpret_cast<const uint4*>(x);
  const bool prologue = fu.norm_gamma != nullptr || fu.silu_gate_up != nullptr;
  if (!prologue) {
    for (int i = int(threadIdx.x); i < T * 128; i += blockDim.x) xs[i] = i < k / 8 ? xv[i] : make_uint4(0, 0, 0, 0);
  } else {
    stage_fused(xs, xv, T, k, fu);  // x normalised or silu(gate) * up, rounded to fp16 as the unfused op writes it
    __syncthreads();
  }
  stage_xsum(prologue ? xs : xv, xsum, T, nb, int(blockDim.x));  // the same layout: vector b * 32 + lane
  __syncthreads();
  ring_run<D, LANES, PF>(ring, xs, xsum, T, sums, part, lane, wb, sb);
  __syncthreads();
  if (MULTI) {  // picked here, not kept in registers through the loop
    const int m = int(blockIdx.x) / mm.bpm;
    y = m == 0 ? mm.y[0] : m == 1 ? mm.y[1] : mm.y[2];
  }
  if (LANES) {
    for (int r = warp; r < rows; r += kWarpsPerBlock) {
      float v = part[r * 32 + lane];
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
      if (lane == 0) y[row0 + r] = __float2half(fu.residual ? v + __half2float(fu.residual[row0 + r]) : v);
    }
  } else {
    for (int i = int(threadIdx.x); i < rows; i += blockDim.x)
      y[row0 + i] = __float2half(fu.residual ? sums[i] + __half2float(fu.residual[row0 + i]) : sums[i]);
  }
}

// ---- bulk (run 8): the block's weights and scales arrive by TMA bulk copies (cp.async.bulk, one
// instruction per chunk for the weights and one for the scales, completion counted on an mbarrier) into a
// ring of S shared-memory stages of up to C tiles each, instead of per-lane LDG. The block's items (rows *
// T contiguous tiles) are cut into chunks of at most C; all S stages are requested at entry, before the
// PDL wait (weights do not depend on the previous kernel), so a block of a short GEMV (q/k/v/o: ~50 tiles)
// has its whole share of the matrix in flight at once and no per-warp ring to refill. The warps compute a
// chunk's tiles round-robin with the stream kernel's dequant (same 16 instructions per word), each tile's
// per-lane partial going to the (row, lane) array by one shared atomic; a stage is refilled after the
// block's __syncthreads that ends its chunk.
// kBulkC: tiles per chunk (16: 8 KB of weights, 512 B of scales); kBulkS: stages.

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900  // sm_90 only: TMA bulk copies, mbarrier transactions
__device__ __forceinline__ std::uint32_t smem_addr(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void mbar_init(std::uint64_t* bar) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(smem_addr(bar)) : "memory");
}
__device__ __forceinline__ void bulk_g2s(void* dst, const void* src, std::uint32_t bytes, std::uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(smem_addr(dst)),
      "l"(src), "r"(bytes), "r"(smem_addr(bar))
      : "memory");
}
__device__ __forceinline__ void mbar_expect(std::uint64_t* bar, std::uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_addr(bar)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_wait(std::uint64_t* bar, std::uint32_t phase) {
  std::uint32_t done = 0;
  do {
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(smem_addr(bar)), "r"(phase)
        : "memory");
  } while (!done);
}

#endif

template <int kBulkC, int kBulkS>
__global__ void __launch_bounds__(256) gemv_q4_bulk(const uint4* __restrict__ w4, const uint4* __restrict__ sz4,
                                                    const __half* x, __half* __restrict__ y, int n, int k, int rpb) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
  // dynamic: S stages of C*512 weight bytes, S stages of C*32 scale bytes, T*128 x vectors, T*32 sum
  // vectors, rpb*32 floats
  extern __shared__ uint4 smem[];
  __shared__ std::uint64_t bars[kBulkS];
  pdl_trigger();
  const int T = Q4Weights::tiles(k), nb = k / 256;
  uint4* wst = smem;                        // stage s: wst + s * C * 32
  uint4* sst = wst + kBulkS * kBulkC * 32;  // stage s: sst + s * C * 2
  uint4* xs = sst + kBulkS * kBulkC * 2;
  uint4* xsum = xs + T * 128;
  float* part = reinterpret_cast<float*>(xsum + T * 32);
  const int warp = int(threadIdx.x >> 5), lane = int(threadIdx.x & 31), hi = lane >> 4;
  const int row0 = int(blockIdx.x) * rpb;
  const int rows = min(rpb, n - row0);
  const int ntiles = rows * T;
  const int nchunks = (ntiles + kBulkC - 1) / kBulkC;
  const size_t g0 = size_t(row0) * T;
  auto chunk_lo = [&](int c) { return int((long long)c * ntiles / nchunks); };
  auto issue = [&](int c) {  // thread 0: chunk c into stage c % S
    const int s = c % kBulkS, lo = chunk_lo(c), cnt = chunk_lo(c + 1) - lo;
    mbar_expect(&bars[s], std::uint32_t(cnt) * 544u);
    bulk_g2s(wst + s * kBulkC * 32, w4 + (g0 + lo) * 32, std::uint32_t(cnt) * 512u, &bars[s]);
    bulk_g2s(sst + s * kBulkC * 2, sz4 + (g0 + lo) * 2, std::uint32_t(cnt) * 32u, &bars[s]);
  };
  if (threadIdx.x == 0) {
    for (int s = 0; s < kBulkS; ++s) mbar_init(&bars[s]);
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
    for (int c = 0; c < min(kBulkS, nchunks); ++c) issue(c);  // weights first: no dependence on x
  }
  for (int i = int(threadIdx.x); i < rows * 32; i += blockDim.x) part[i] = 0.0f;
  pdl_wait();  // x is the previous kernel's output
  const uint4* xv = reinterpret_cast<const uint4*>(x);
  for (int i = int(threadIdx.x); i < T * 128; i += blockDim.x) xs[i] = i < k / 8 ? xv[i] : make_uint4(0, 0, 0, 0);
  stage_xsum(xv, xsum, T, nb, int(blockDim.x));
  __syncthreads();
  for (int c = 0; c < nchunks; ++c) {
    const int s = c % kBulkS, lo = chunk_lo(c), cnt = chunk_lo(c + 1) - lo;
    mbar_wait(&bars[s], std::uint32_t((c / kBulkS) & 1));
    const uint4* ws = wst + s * kBulkC * 32 + lane;
    const uint4* ss = sst + s * kBulkC * 2 + hi;
    for (int li = warp; li < cnt; li += kWarpsPerBlock) {
      const int item = lo + li, r = item / T, ct = item - r * T;
      float acc = 0.0f;
      tile_dot(ws[li * 32], ss[li * 2], xs, xsum, ct, lane, acc);
      atomicAdd(&part[r * 32 + lane], acc);
    }
    __syncthreads();  // stage s is free again
    if (threadIdx.x == 0 && c + kBulkS < nchunks) {
      asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
      issue(c + kBulkS);
    }
  }
  for (int r = warp; r < rows; r += kWarpsPerBlock) {
    float v = part[r * 32 + lane];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0) y[row0 + r] = __float2half(v);
  }
#else
  __trap();  // TMA bulk copies and mbarrier transactions need sm_90; the sweep launches this on sm_90 only
#endif
}

int sm_count() {
  static int n = [] {
    int dev = 0, v = 0;
    GV_CUDA(cudaGetDevice(&dev));
    GV_CUDA(cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev));
    return v;
  }();
  return n;
}

template <int U, int MINB, bool DB>
void launch_tiles(const Q4Weights& w, const __half* x, __half* y, cudaStream_t s, bool pdl) {
  const int target_blocks = sm_count() * MINB;
  const int rpb = std::min(kMaxRowsPerBlock, std::max(1, (w.n + target_blocks - 1) / target_blocks));
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(unsigned((w.n + rpb - 1) / rpb));
  cfg.blockDim = dim3(kWarpsPerBlock * 32);
  cfg.dynamicSmemBytes = size_t(w.k) * 2;
  cfg.stream = s;
  cudaLaunchAttribute attr;
  allow_pdl(cfg, attr, pdl);
  if constexpr (DB) {
    GV_CUDA(cudaLaunchKernelEx(&cfg, gemv_q4_tiles_db<U, MINB>, w.qweight, reinterpret_cast<const uint4*>(w.scale_zero),
                               x, y, w.n, w.k, rpb));
  } else {
    GV_CUDA(cudaLaunchKernelEx(&cfg, gemv_q4_tiles<U, MINB>, w.qweight, reinterpret_cast<const uint4*>(w.scale_zero), x,
                               y, w.n, w.k, rpb));
  }
}

template <int D, int MINB, bool LANES, bool PF = false>
void launch_stream(const Q4Weights& w, const __half* x, __half* y, cudaStream_t s, bool pdl,
                   const GemvFusion& fu = GemvFusion{}) {
  const int target_blocks = sm_count() * MINB;
  const int rpb = std::min(kMaxStreamRows, std::max(1, (w.n + target_blocks - 1) / target_blocks));
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(unsigned((w.n + rpb - 1) / rpb));
  cfg.blockDim = dim3(kWarpsPerBlock * 32);
  cfg.dynamicSmemBytes = size_t(Q4Weights::tiles(w.k)) * 2560 + (LANES ? size_t(rpb) * 128 : 0);
  if (cfg.dynamicSmemBytes > 48 * 1024) {
    static bool raised = [] {
      GV_CUDA(cudaFuncSetAttribute(gemv_q4_stream<D, MINB, LANES, PF>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                   64 * 1024));
      return true;
    }();
    (void)raised;
  }
  cfg.stream = s;
  cudaLaunchAttribute attr;
  allow_pdl(cfg, attr, pdl);
  GV_CUDA(cudaLaunchKernelEx(&cfg, gemv_q4_stream<D, MINB, LANES, PF>, reinterpret_cast<const uint4*>(w.qweight),
                             reinterpret_cast<const uint4*>(w.scale_zero), x, y, w.n, w.k, rpb, fu, GemvMulti{}));
}

// `count` GEMVs of one shape on one x in one launch (MULTI): rows per block from all count * n rows over
// SMs x MINB blocks, then ceil(n / rpb) blocks per matrix.
template <int D, int MINB, bool LANES>
void launch_stream_multi(const Q4Weights* ws, int count, const __half* x, __half* const* ys, cudaStream_t s, bool pdl) {
  if (count < 1 || count > kMaxMulti)
    throw std::runtime_error("gemv_q4 multi: 1.." + std::to_string(kMaxMulti) + " matrices");
  const int n = ws[0].n, k = ws[0].k;
  GemvMulti mm;
  for (int i = 0; i < count; ++i) {
    if (ws[i].n != n || ws[i].k != k) throw std::runtime_error("gemv_q4 multi: matrices of different shapes");
    mm.w4[i] = reinterpret_cast<const uint4*>(ws[i].qweight);
    mm.sz4[i] = reinterpret_cast<const uint4*>(ws[i].scale_zero);
    mm.y[i] = ys[i];
  }
  const int target_blocks = sm_count() * MINB;
  const int rpb = std::min(kMaxStreamRows, std::max(1, (count * n + target_blocks - 1) / target_blocks));
  mm.bpm = (n + rpb - 1) / rpb;
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(unsigned(mm.bpm * count));
  cfg.blockDim = dim3(kWarpsPerBlock * 32);
  cfg.dynamicSmemBytes = size_t(Q4Weights::tiles(k)) * 2560 + (LANES ? size_t(rpb) * 128 : 0);
  if (cfg.dynamicSmemBytes > 48 * 1024) {
    static bool raised = [] {
      GV_CUDA(cudaFuncSetAttribute(gemv_q4_stream<D, MINB, LANES, false, true>,
                                   cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024));
      return true;
    }();
    (void)raised;
  }
  cfg.stream = s;
  cudaLaunchAttribute attr;
  allow_pdl(cfg, attr, pdl);
  GV_CUDA(cudaLaunchKernelEx(&cfg, gemv_q4_stream<D, MINB, LANES, false, true>, mm.w4[0], mm.sz4[0], x, mm.y[0], n, k,
                             rpb, GemvFusion{}, mm));
}

// Shared memory of the bulk kernel for `rpb` rows at K = k.
template <int kBulkC, int kBulkS>
size_t bulk_smem(int k, int rpb) {
  return size_t(kBulkS) * kBulkC * 544 + size_t(Q4Weights::tiles(k)) * 2560 + size_t(rpb) * 128;
}

template <int kBulkC, int kBulkS>
void launch_bulk(const Q4Weights& w, const __half* x, __half* y, cudaStream_t s, bool pdl) {
  static bool raised = [] {
    GV_CUDA(
        cudaFuncSetAttribute(gemv_q4_bulk<kBulkC, kBulkS>, cudaFuncAttributeMaxDynamicSharedMemorySize, 200 * 1024));
    return true;
  }();
  (void)raised;
  // Blocks per SM: as many as fit (shared memory), found once per shape.
  static std::map<std::pair<int, int>, int> rpb_of;
  auto it = rpb_of.find({w.n, w.k});
  if (it == rpb_of.end()) {
    int per_sm = 4, rpb = 1;
    for (int iter = 0; iter < 3; ++iter) {
      rpb = std::min(kMaxStreamRows, std::max(1, (w.n + sm_count() * per_sm - 1) / (sm_count() * per_sm)));
      int occ = 0;
      GV_CUDA(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, gemv_q4_bulk<kBulkC, kBulkS>, 256,
                                                            bulk_smem<kBulkC, kBulkS>(w.k, rpb)));
      if (occ >= per_sm || occ <= 0) break;
      per_sm = occ;
    }
    it = rpb_of.emplace(std::make_pair(w.n, w.k), rpb).first;
  }
  const int rpb = it->second;
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(unsigned((w.n + rpb - 1) / rpb));
  cfg.blockDim = dim3(kWarpsPerBlock * 32);
  cfg.dynamicSmemBytes = bulk_smem<kBulkC, kBulkS>(w.k, rpb);
  cfg.stream = s;
  cudaLaunchAttribute attr;
  allow_pdl(cfg, attr, pdl);
  GV_CUDA(cudaLaunchKernelEx(&cfg, gemv_q4_bulk<kBulkC, kBulkS>, reinterpret_cast<const uint4*>(w.qweight),
                             reinterpret_cast<const uint4*>(w.scale_zero), x, y, w.n, w.k, rpb));
}

template <int ITERS>
void launch_rowpair(const Q4Weights& w, const __half* x, __half* y, cudaStream_t s) {
  const int rows_per_block = kRowsPerWarp * kWarpsPerBlock;
  const int blocks = (w.n + rows_per_block - 1) / rows_per_block;
  gemv_q4_rowpair<ITERS><<<blocks, kWarpsPerBlock * 32, 0, s>>>(w.qweight, w.scale_zero, x, y, w.n, w.k);
}

void launch_rowpair_any(const Q4Weights& w, const __half* x, __half* y, cudaStream_t s) {
  switch (Q4Weights::tiles(w.k)) {
    case 1:
      return launch_rowpair<1>(w, x, y, s);
    case 2:
      return launch_rowpair<2>(w, x, y, s);
    case 3:
      return launch_rowpair<3>(w, x, y, s);
    case 4:
      return launch_rowpair<4>(w, x, y, s);
    case 5:
      return launch_rowpair<5>(w, x, y, s);
    case 6:
      return launch_rowpair<6>(w, x, y, s);
    case 7:
      return launch_rowpair<7>(w, x, y, s);
    case 8:
      return launch_rowpair<8>(w, x, y, s);
    case 9:
      return launch_rowpair<9>(w, x, y, s);
    case 10:
      return launch_rowpair<10>(w, x, y, s);
    case 11:
      return launch_rowpair<11>(w, x, y, s);
    case 12:
      return launch_rowpair<12>(w, x, y, s);
    case 13:
      return launch_rowpair<13>(w, x, y, s);
    case 14:
      return launch_rowpair<14>(w, x, y, s);
    case 15:
      return launch_rowpair<15>(w, x, y, s);
    case 16:
      return launch_rowpair<16>(w, x, y, s);
    default:
      throw std::runtime_error("gemv_q4: K=" + std::to_string(w.k) + " is not supported (at most 16384)");
  }
}

// Padding words and groups (past K) are written as zeros: the stream kernel reads them (times zero).
__global__ void fill_q4_kernel(std::uint32_t* qw, size_t words, __half2* sz, size_t groups, unsigned seed, int k) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  const int rw = Q4Weights::row_words(k), rg = Q4Weights::row_groups(k);
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < words; i += stride) {
    const int wr = int(i % size_t(rw));
    const int b = 4 * (wr / 128) + wr % 4;  // the word's 256-column block
    qw[i] = b < k / 256 ? hash_u32(i * 2 + seed) : 0u;
  }
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < groups; i += stride) {
    const int gi = int(i % size_t(rg));
    const int g = 8 * (gi / 8) + 2 * (gi % 4) + (gi % 8) / 4;  // inverse of sz_index
    // scale ~ 0.01..0.03, zero ~ 6..10 (not an integer: the kernel must not rely on it).
    float sc = 0.02f + 0.01f * hash_uniform(i, seed + 17);
    float z = 8.0f + 2.0f * hash_uniform(i, seed + 29);
    sz[i] = g < k / 128 ? __floats2half2_rn(sc, z) : __floats2half2_rn(0.0f, 0.0f);
  }
}

__global__ void fill_half_kernel(__half* x, size_t n, unsigned seed, float amplitude) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    x[i] = __float2half(amplitude * hash_uniform(i, seed));
}

float h2f(__half h) { return __half2float(h); }

}  // namespace

std::string to_string(GemvKernel k) {
  switch (k) {
    case GemvKernel::rowpair:
      return "rowpair";
    case GemvKernel::tiles_u2:
      return "tiles-u2";
    case GemvKernel::tiles_u4:
      return "tiles-u4";
    case GemvKernel::tiles_u8:
      return "tiles-u8";
    case GemvKernel::tiles_u2_db:
      return "tiles-u2-db";
    case GemvKernel::tiles_u4_db:
      return "tiles-u3-db";
    case GemvKernel::stream_d4:
      return "stream-d4";
    case GemvKernel::stream_d6:
      return "stream-d6";
    case GemvKernel::stream_d3:
      return "stream-d3";
    case GemvKernel::stream_d3_lanes:
      return "stream-d3-lanes";
    case GemvKernel::stream_d2_lanes:
      return "stream-d2-lanes";
    case GemvKernel::bulk:
      return "bulk-c16-s4";
    case GemvKernel::bulk_c8_s4:
      return "bulk-c8-s4";
    case GemvKernel::bulk_c32_s2:
      return "bulk-c32-s2";
    case GemvKernel::stream_d3_lanes_pf:
      return "stream-d3-lanes-pf";
    case GemvKernel::stream_d2_lanes_pf:
      return "stream-d2-lanes-pf";
  }
  return "?";
}

GemvKernel& default_gemv_kernel() {
  static GemvKernel k = GemvKernel::tiles_u4;
  return k;
}

// The kernels stage x in 256-column blocks and hold at most 16384 columns.
void require_gemv_k(int k) {
  if (k % 256 != 0 || k > 16384 || k <= 0)
    throw std::runtime_error("gemv_q4: K=" + std::to_string(k) + " is not a multiple of 256 in 256..16384");
}

void launch_gemv_q4(const Q4Weights& w, const __half* x, __half* y, cudaStream_t s, GemvKernel kernel, bool pdl) {
  require_gemv_k(w.k);
  switch (kernel) {
    case GemvKernel::rowpair:
      return launch_rowpair_any(w, x, y, s);
    case GemvKernel::tiles_u2:
      return launch_tiles<2, 4, false>(w, x, y, s, pdl);
    case GemvKernel::tiles_u4:
      return launch_tiles<4, 4, false>(w, x, y, s, pdl);
    case GemvKernel::tiles_u8:
      return launch_tiles<8, 2, false>(w, x, y, s, pdl);
    case GemvKernel::tiles_u2_db:
      return launch_tiles<2, 4, true>(w, x, y, s, pdl);
    case GemvKernel::tiles_u4_db:
      return launch_tiles<3, 2, true>(w, x, y, s, pdl);
    case GemvKernel::stream_d4:
      return launch_stream<4, 4, false>(w, x, y, s, pdl);
    case GemvKernel::stream_d6:
      return launch_stream<6, 3, false>(w, x, y, s, pdl);
    case GemvKernel::stream_d3:
      return launch_stream<3, 4, false>(w, x, y, s, pdl);
    case GemvKernel::stream_d3_lanes:
      return launch_stream<3, 4, true>(w, x, y, s, pdl);
    case GemvKernel::stream_d2_lanes:
      return launch_stream<2, 5, true>(w, x, y, s, pdl);
    case GemvKernel::bulk:
      return launch_bulk<16, 4>(w, x, y, s, pdl);
    case GemvKernel::bulk_c8_s4:
      return launch_bulk<8, 4>(w, x, y, s, pdl);
    case GemvKernel::bulk_c32_s2:
      return launch_bulk<32, 2>(w, x, y, s, pdl);
    case GemvKernel::stream_d3_lanes_pf:
      return launch_stream<3, 4, true, true>(w, x, y, s, pdl);
    case GemvKernel::stream_d2_lanes_pf:
      return launch_stream<2, 5, true, true>(w, x, y, s, pdl);
  }
}

void launch_gemv_q4_multi(const Q4Weights* ws, int count, const __half* x, __half* const* ys, cudaStream_t s,
                          GemvKernel kernel, bool pdl) {
  require_gemv_k(ws[0].k);
  switch (kernel) {
    case GemvKernel::stream_d3:
      return launch_stream_multi<3, 4, false>(ws, count, x, ys, s, pdl);
    case GemvKernel::stream_d3_lanes:
      return launch_stream_multi<3, 4, true>(ws, count, x, ys, s, pdl);
    case GemvKernel::stream_d2_lanes:
      return launch_stream_multi<2, 5, true>(ws, count, x, ys, s, pdl);
    default:
      throw std::runtime_error("gemv_q4: multi-matrix launch only in the stream kernels, not " + to_string(kernel));
  }
}

void launch_gemv_q4_fused(const Q4Weights& w, const __half* x, __half* y, cudaStream_t s, GemvKernel kernel, bool pdl,
                          const GemvFusion& fu) {
  require_gemv_k(w.k);
  switch (kernel) {
    case GemvKernel::stream_d3:
      return launch_stream<3, 4, false>(w, x, y, s, pdl, fu);
    case GemvKernel::stream_d3_lanes:
      return launch_stream<3, 4, true>(w, x, y, s, pdl, fu);
    case GemvKernel::stream_d2_lanes:
      return launch_stream<2, 5, true>(w, x, y, s, pdl, fu);
    default:
      throw std::runtime_error("gemv_q4: fused prologue/epilogue only in the stream kernels, not " + to_string(kernel));
  }
}

std::vector<double> gemv_q4_reference(const Q4Weights& w, const std::vector<double>& xf) {
  const size_t words = size_t(w.n) * Q4Weights::row_words(w.k), groups = size_t(w.n) * Q4Weights::row_groups(w.k);
  std::vector<std::uint32_t> qw(words);
  std::vector<__half2> sz(groups);
  GV_CUDA(cudaMemcpy(qw.data(), w.qweight, words * 4, cudaMemcpyDeviceToHost));
  GV_CUDA(cudaMemcpy(sz.data(), w.scale_zero, groups * 4, cudaMemcpyDeviceToHost));
  std::vector<double> out(size_t(w.n));
  for (int r = 0; r < w.n; ++r) {
    double ref = 0;
    for (int g = 0; g < w.k / 128; ++g) {
      const __half2 s_z = sz[Q4Weights::sz_index(w.k, r, g)];
      const double sc = __low2float(s_z), z = __high2float(s_z);
      double part = 0;
      for (int c = g * 128; c < g * 128 + 128; ++c) part += (unpack_q4(qw, w.k, r, c) - z) * xf[size_t(c)];
      ref += sc * part;
    }
    out[size_t(r)] = ref;
  }
  return out;
}

void fill_q4_weights(std::uint32_t* qw, __half2* sz, int n, int k, unsigned seed, cudaStream_t s) {
  fill_q4_kernel<<<1024, 256, 0, s>>>(qw, size_t(n) * Q4Weights::row_words(k), sz, size_t(n) * Q4Weights::row_groups(k),
                                      seed, k);
  GV_LAUNCHED();
}

void fill_half(__half* p, std::size_t n, unsigned seed, float amplitude, cudaStream_t s) {
  fill_half_kernel<<<1024, 256, 0, s>>>(p, n, seed, amplitude);
  GV_LAUNCHED();
}

double gemv_q4_error(const Q4Weights& w, const __half* x_d, const __half* y_d) {
  const size_t words = size_t(w.n) * Q4Weights::row_words(w.k), groups = size_t(w.n) * Q4Weights::row_groups(w.k);
  std::vector<std::uint32_t> qw(words);
  std::vector<__half2> sz(groups);
  std::vector<__half> x(size_t(w.k)), y(size_t(w.n));
  GV_CUDA(cudaMemcpy(qw.data(), w.qweight, words * 4, cudaMemcpyDeviceToHost));
  GV_CUDA(cudaMemcpy(sz.data(), w.scale_zero, groups * 4, cudaMemcpyDeviceToHost));
  GV_CUDA(cudaMemcpy(x.data(), x_d, x.size() * 2, cudaMemcpyDeviceToHost));
  GV_CUDA(cudaMemcpy(y.data(), y_d, y.size() * 2, cudaMemcpyDeviceToHost));
  std::vector<double> xf(x.size());
  for (size_t i = 0; i < x.size(); ++i) xf[i] = h2f(x[i]);
  double err2 = 0, ref2 = 0;
  for (int r = 0; r < w.n; ++r) {
    double ref = 0;
    for (int g = 0; g < w.k / 128; ++g) {
      const __half2 s_z = sz[Q4Weights::sz_index(w.k, r, g)];
      const double sc = __low2float(s_z), z = __high2float(s_z);
      double part = 0;
      for (int c = g * 128; c < g * 128 + 128; ++c) part += (unpack_q4(qw, w.k, r, c) - z) * xf[c];
      ref += sc * part;
    }
    double got = h2f(y[r]);
    if (!std::isfinite(got)) got = 1e300;
    err2 += (got - ref) * (got - ref);
    ref2 += ref * ref;
  }
  return std::sqrt(err2 / std::max(ref2, 1e-300));
}

namespace {
// Storage word index and bit shift of (row, col) in the qweight layout.
std::pair<size_t, int> q4_position(int k, int row, int col) {
  const int b = col / 256, l = (col % 256) / 8, e = col % 8, p = e / 2;
  const size_t word = size_t(row) * Q4Weights::row_words(k) + size_t(b / 4) * 128 + size_t(l) * 4 + size_t(b % 4);
  return {word, (e % 2 == 0) ? 4 * p : 16 + 4 * p};
}
}  // namespace

std::vector<std::uint32_t> pack_q4(const std::vector<std::uint8_t>& q, int n, int k) {
  std::vector<std::uint32_t> out(size_t(n) * Q4Weights::row_words(k), 0);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < k; ++c) {
      auto [word, shift] = q4_position(k, r, c);
      out[word] |= std::uint32_t(q[size_t(r) * k + c] & 0xF) << shift;
    }
  return out;
}

int unpack_q4(const std::vector<std::uint32_t>& packed, int k, int row, int col) {
  auto [word, shift] = q4_position(k, row, col);
  return int((packed[word] >> shift) & 0xF);
}

namespace {

struct ShapeQ4 {
  const char* label;
  int n, k;
};

// A set of weight copies of one shape, rotated so that every call streams its weights from DRAM.
struct Q4Set {
  DeviceBuffer<std::uint32_t> qw;
  DeviceBuffer<__half2> sz;
  std::vector<Q4Weights> ws;
  Q4Set(int n, int k, int copies, unsigned seed, cudaStream_t s)
      : qw(size_t(n) * Q4Weights::row_words(k) * copies), sz(size_t(n) * Q4Weights::row_groups(k) * copies) {
    const size_t words = size_t(n) * Q4Weights::row_words(k), groups = size_t(n) * Q4Weights::row_groups(k);
    for (int c = 0; c < copies; ++c) {
      Q4Weights w;
      w.n = n;
      w.k = k;
      w.qweight = qw.get() + words * c;
      w.scale_zero = sz.get() + groups * c;
      fill_q4_weights(qw.get() + words * c, sz.get() + groups * c, n, k, seed + 7919u * unsigned(c), s);
      ws.push_back(w);
    }
  }
};

}  // namespace

void run_gemv(Context& ctx) {
  const cudaStream_t s = ctx.stream;
  // Packing round trip: what the host packer writes is what the kernel's layout says.
  {
    const int kk = 1536;  // a partial last vector
    std::vector<std::uint8_t> q(2 * kk);
    for (size_t i = 0; i < q.size(); ++i) q[i] = std::uint8_t(hash_u32(i) & 0xF);
    auto packed = pack_q4(q, 2, kk);
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < kk; ++c)
        if (unpack_q4(packed, kk, r, c) != q[size_t(r) * kk + c]) throw std::runtime_error("pack_q4 round trip");
  }
  // LLaMA-13B's shapes, and (run 30) LLaMA-7B's: the held-out 7B decode steps showed that one model size
  // cannot separate a GEMV's fixed cost from its cost per byte.
  const ShapeQ4 shapes[] = {{"llama13b-qkvo-5120x5120", 5120, 5120},     {"llama13b-gate-up-5120x13824", 13824, 5120},
                            {"llama13b-down-13824x5120", 5120, 13824},   {"llama7b-qkvo-4096x4096", 4096, 4096},
                            {"llama7b-gate-up-4096x11008", 11008, 4096}, {"llama7b-down-11008x4096", 4096, 11008}};
  const GemvKernel kernels[] = {GemvKernel::tiles_u2_db, GemvKernel::stream_d3, GemvKernel::stream_d3_lanes,
                                GemvKernel::stream_d2_lanes};
  // The best measured copy (kernels or cudaMemcpy): the bandwidth a GEMV is held to.
  double copy_gb_s = 0;
  for (const auto& m : ctx.results)
    if (m.kind == "dram_copy_gb_s") copy_gb_s = std::max(copy_gb_s, m.value);
  const int reps = ctx.opt.quick ? 5 : 20;
  auto pct = [&](Measurement& m) {
    if (copy_gb_s > 0) m.conditions.push_back({"pct_of_copy", std::round(1000 * m.value / copy_gb_s) / 10});
  };
  // GPUPERF_VALIDATE_GEMV_CHECK_ONLY=1: only the checked launches (two per kernel and shape), for a profiler.
  const char* env_check_only = std::getenv("GPUPERF_VALIDATE_GEMV_CHECK_ONLY");
  const bool check_only = env_check_only && std::string(env_check_only) == "1";
  DeviceBuffer<__half> x(16384), y(32768);  // y: up to the fused gate/up GEMV's 27648 rows
  fill_half(x.get(), 16384, 4242u, 1.0f, s);
  for (const auto& sh : shapes) {
    Q4Weights proto;
    proto.n = sh.n;
    proto.k = sh.k;
    const double bytes = proto.bytes() + double(sh.k) * 2 + double(sh.n) * 2;
    // Enough weight copies that one rotation is >= 4x L2: every launch streams its weights from DRAM.
    const int copies = int(std::max(2.0, std::ceil(4.0 * ctx.info.l2_bytes / proto.bytes())));
    Q4Set set(sh.n, sh.k, copies, 1000u, s);
    const int inner = copies * std::max(1, 200 / copies);
    for (GemvKernel kern : kernels) {
      bool ok = true;
      for (int c : {0, copies - 1}) {
        GV_CUDA(cudaMemsetAsync(y.get(), 0xFF, y.bytes(), s));
        launch_gemv_q4(set.ws[c], x.get(), y.get(), s, kern, false);
        GV_LAUNCHED();
        GV_CUDA(cudaStreamSynchronize(s));
        const double rel = gemv_q4_error(set.ws[c], x.get(), y.get());
        if (!(rel <= 5e-3)) {
          char buf[200];
          std::snprintf(buf, sizeof buf, "gemv_q4 %s %s copy %d: relative error %.3g exceeds 5e-3", sh.label,
                        to_string(kern).c_str(), c, rel);
          ctx.fail(buf);
          ok = false;
        } else if (c == 0) {
          std::fprintf(stderr, "gemv_q4 %s %s: relative error %.2g against the float64 reference\n", sh.label,
                       to_string(kern).c_str(), rel);
        }
      }
      if (!ok || check_only) continue;
      const std::string name = "gemv-q4-" + to_string(kern) + "-" + sh.label;
      auto conditions = [&](const char* mode, double gb_s, bool pdl) {
        std::vector<Condition> c = {{"shape", std::string(sh.label)},
                                    {"n", std::int64_t(sh.n)},
                                    {"k", std::int64_t(sh.k)},
                                    {"group_size", std::int64_t(128)},
                                    {"kernel", to_string(kern)},
                                    {"mode", std::string(mode)},
                                    {"pdl", std::string(pdl ? "yes" : "no")},
                                    {"bytes", bytes},
                                    {"weight_copies", std::int64_t(copies)},
                                    {"kernel_us", std::round(1e8 * bytes / (gb_s * 1e9)) / 100}};
        return c;
      };
      // Eager: back-to-back launches rotating over the copies.
      auto t = time_batches(
          s, reps, inner, [&](int i) { launch_gemv_q4(set.ws[i % copies], x.get(), y.get(), s, kern, false); }, 2);
      auto m = make_measurement(name + "-eager", "gemv_q4_gb_s", "GB/s", rates_from_times(t, bytes, 1e-9), {});
      m.conditions = conditions("eager", m.value, false);
      pct(m);
      ctx.add(m);
      // Graph: the same rotation captured once, replayed; the tiles kernels also with PDL edges.
      for (bool pdl : {false, true}) {
        if (pdl && kern == GemvKernel::rowpair) continue;
        try {
          t = time_graph(s, reps, inner, [&] {
            for (int i = 0; i < inner; ++i) launch_gemv_q4(set.ws[i % copies], x.get(), y.get(), s, kern, pdl);
          });
        } catch (const std::exception& e) {
          ctx.fail(name + (pdl ? " graph with PDL: " : " graph: ") + e.what());
          continue;
        }
        m = make_measurement(name + (pdl ? "-graph-pdl" : "-graph"), "gemv_q4_gb_s", "GB/s",
                             rates_from_times(t, bytes, 1e-9), {});
        m.conditions = conditions("graph", m.value, pdl);
        pct(m);
        ctx.add(m);
      }
    }
    // Run 11: a layer's q, k and v GEMVs (three matrices of this shape, their own weights, one x) in one
    // launch of a stream kernel: one wave of SMs x blocks/SM over all three, x staged once per block. Its
    // bytes are the three matrices' (and x, the three y), held to the same copy rate. The shape name has
    // "layer" in it: the calibration loader reads single GEMVs only.
    if (sh.n == 5120 && sh.k == 5120 && copies >= 3) {
      const int groups = copies / 3;
      const double mbytes = 3 * proto.bytes() + double(sh.k) * 2 + 3.0 * sh.n * 2;
      const int minner = groups * std::max(1, 200 / groups);
      const char* mlabel = "llama13b-layer-qkv-3x5120x5120";
      __half* ys[3] = {y.get(), y.get() + sh.n, y.get() + 2 * sh.n};
      for (GemvKernel kern : {GemvKernel::stream_d3, GemvKernel::stream_d3_lanes, GemvKernel::stream_d2_lanes}) {
        bool ok = true;
        // Control (run 12): the multi launch with one matrix, timed like the single GEMV above.
        if (!check_only && kern == GemvKernel::stream_d3_lanes) {
          std::vector<double> t1;
          try {
            t1 = time_graph(s, reps, inner, [&] {
              for (int i = 0; i < inner; ++i)
                launch_gemv_q4_multi(&set.ws[size_t(i % copies)], 1, x.get(), ys, s, kern, true);
            });
            auto m1 = make_measurement("gemv-q4-" + to_string(kern) + "-llama13b-layer-multi1-5120x5120-graph-pdl",
                                       "gemv_q4_gb_s", "GB/s", rates_from_times(t1, bytes, 1e-9), {});
            m1.conditions = {{"shape", std::string("llama13b-layer-multi1-5120x5120")},
                             {"n", std::int64_t(sh.n)},
                             {"k", std::int64_t(sh.k)},
                             {"matrices", std::int64_t(1)},
                             {"kernel", to_string(kern) + "-multi"},
                             {"mode", std::string("graph")},
                             {"pdl", std::string("yes")},
                             {"bytes", bytes},
                             {"kernel_us", std::round(1e8 * bytes / (m1.value * 1e9)) / 100}};
            pct(m1);
            ctx.add(m1);
          } catch (const std::exception& e) {
            ctx.fail(std::string("gemv_q4 multi1: ") + e.what());
          }
        }
        for (int gi : {0, groups - 1}) {
          GV_CUDA(cudaMemsetAsync(y.get(), 0xFF, y.bytes(), s));
          launch_gemv_q4_multi(&set.ws[size_t(3 * gi)], 3, x.get(), ys, s, kern, false);
          GV_LAUNCHED();
          GV_CUDA(cudaStreamSynchronize(s));
          for (int m = 0; m < 3; ++m) {
            const double rel = gemv_q4_error(set.ws[size_t(3 * gi + m)], x.get(), ys[m]);
            if (!(rel <= 5e-3)) {
              char buf[200];
              std::snprintf(buf, sizeof buf, "gemv_q4 %s %s group %d matrix %d: relative error %.3g exceeds 5e-3",
                            mlabel, to_string(kern).c_str(), gi, m, rel);
              ctx.fail(buf);
              ok = false;
            } else if (gi == 0 && m == 2) {
              std::fprintf(stderr, "gemv_q4 %s %s: relative error %.2g against the float64 reference\n", mlabel,
                           to_string(kern).c_str(), rel);
            }
          }
        }
        if (!ok || check_only) continue;
        for (bool pdl : {false, true}) {
          const std::string name = "gemv-q4-" + to_string(kern) + "-" + mlabel + (pdl ? "-graph-pdl" : "-graph");
          std::vector<double> t;
          try {
            t = time_graph(s, reps, minner, [&] {
              for (int i = 0; i < minner; ++i)
                launch_gemv_q4_multi(&set.ws[size_t(3 * (i % groups))], 3, x.get(), ys, s, kern, pdl);
            });
          } catch (const std::exception& e) {
            ctx.fail(name + ": " + e.what());
            continue;
          }
          auto m = make_measurement(name, "gemv_q4_gb_s", "GB/s", rates_from_times(t, mbytes, 1e-9), {});
          m.conditions = {{"shape", std::string(mlabel)},
                          {"n", std::int64_t(sh.n)},
                          {"k", std::int64_t(sh.k)},
                          {"matrices", std::int64_t(3)},
                          {"group_size", std::int64_t(128)},
                          {"kernel", to_string(kern) + "-multi"},
                          {"mode", std::string("graph")},
                          {"pdl", std::string(pdl ? "yes" : "no")},
                          {"bytes", mbytes},
                          {"weight_copies", std::int64_t(3 * groups)},
                          {"kernel_us", std::round(1e8 * mbytes / (m.value * 1e9)) / 100}};
          pct(m);
          ctx.add(m);
        }
      }
    }
    // Control (run 12): q/k/v concatenated into one 15360 x 5120 matrix (the replay's fused q/k/v), one
    // launch of the single-matrix kernel, same bytes as the multi launch.
    if (sh.n == 5120 && sh.k == 5120) {
      const char* clabel = "llama13b-layer-qkv-fused-15360x5120";
      Q4Weights cp;
      cp.n = 3 * sh.n;
      cp.k = sh.k;
      const double cbytes = cp.bytes() + double(sh.k) * 2 + double(cp.n) * 2;
      const int ccopies = int(std::max(2.0, std::ceil(4.0 * ctx.info.l2_bytes / cp.bytes())));
      Q4Set cset(cp.n, cp.k, ccopies, 1500u, s);
      const int cinner = ccopies * std::max(1, 200 / ccopies);
      for (GemvKernel kern : {GemvKernel::stream_d3_lanes, GemvKernel::stream_d2_lanes}) {
        GV_CUDA(cudaMemsetAsync(y.get(), 0xFF, y.bytes(), s));
        launch_gemv_q4(cset.ws[0], x.get(), y.get(), s, kern, false);
        GV_LAUNCHED();
        GV_CUDA(cudaStreamSynchronize(s));
        const double rel = gemv_q4_error(cset.ws[0], x.get(), y.get());
        if (!(rel <= 5e-3)) {
          ctx.fail(std::string("gemv_q4 ") + clabel + " " + to_string(kern) + ": relative error " +
                   std::to_string(rel));
          continue;
        }
        std::fprintf(stderr, "gemv_q4 %s %s: relative error %.2g against the float64 reference\n", clabel,
                     to_string(kern).c_str(), rel);
        if (check_only) continue;
        std::vector<double> t;
        try {
          t = time_graph(s, reps, cinner, [&] {
            for (int i = 0; i < cinner; ++i)
              launch_gemv_q4(cset.ws[size_t(i % ccopies)], x.get(), y.get(), s, kern, true);
          });
        } catch (const std::exception& e) {
          ctx.fail(std::string("gemv_q4 ") + clabel + ": " + e.what());
          continue;
        }
        auto m = make_measurement("gemv-q4-" + to_string(kern) + "-" + clabel + "-graph-pdl", "gemv_q4_gb_s", "GB/s",
                                  rates_from_times(t, cbytes, 1e-9), {});
        m.conditions = {{"shape", std::string(clabel)},
                        {"n", std::int64_t(cp.n)},
                        {"k", std::int64_t(cp.k)},
                        {"group_size", std::int64_t(128)},
                        {"kernel", to_string(kern)},
                        {"mode", std::string("graph")},
                        {"pdl", std::string("yes")},
                        {"bytes", cbytes},
                        {"weight_copies", std::int64_t(ccopies)},
                        {"kernel_us", std::round(1e8 * cbytes / (m.value * 1e9)) / 100}};
        pct(m);
        ctx.add(m);
      }
    }
    if (check_only) continue;
    // What a copy of the same bytes reaches in the same setting (cudaMemcpy nodes in a graph, rotated
    // over >= 4x L2): the ceiling for a kernel this short.
    {
      const size_t half = size_t(bytes / 2) / 256 * 256;
      const int ncopy = int(std::max(2.0, std::ceil(4.0 * ctx.info.l2_bytes / double(half))));
      DeviceBuffer<unsigned char> src(half * ncopy), dst(half * ncopy);
      GV_CUDA(cudaMemsetAsync(src.get(), 0x5A, src.bytes(), s));
      const int cin = ncopy * std::max(1, 200 / ncopy);
      auto t = time_graph(s, reps, cin, [&] {
        for (int i = 0; i < cin; ++i)
          GV_CUDA(cudaMemcpyAsync(dst.get() + half * (i % ncopy), src.get() + half * (i % ncopy), half,
                                  cudaMemcpyDeviceToDevice, s));
      });
      auto m = make_measurement(std::string("copy-same-bytes-") + sh.label, "bw_sweep_gb_s", "GB/s",
                                rates_from_times(t, 2.0 * double(half), 1e-9), {});
      m.conditions = {{"op", std::string("copy")},
                      {"buffer_mib", std::round(100.0 * double(half) / 1048576.0) / 100},
                      {"method", std::string("cudaMemcpy nodes in a graph, rotated over >= 4x L2")},
                      {"shape", std::string(sh.label)}};
      pct(m);
      ctx.add(m);
    }
  }

  if (check_only) return;
  // One LLaMA-13B layer's 7 GEMVs (q, k, v, o, gate, up, down) back to back in a graph, over enough
  // layers' weights that none stays in L2: the aggregate rate a decode step sees.
  {
    const int layers = 4;
    struct LayerShape {
      int n, k;
    };
    const LayerShape ls[7] = {{5120, 5120},  {5120, 5120},  {5120, 5120}, {5120, 5120},
                              {13824, 5120}, {13824, 5120}, {5120, 13824}};
    std::vector<std::unique_ptr<Q4Set>> sets;
    double layer_bytes = 0;
    for (const auto& l : ls) {
      sets.push_back(std::make_unique<Q4Set>(l.n, l.k, layers, 5000u + unsigned(sets.size()), s));
      Q4Weights p;
      p.n = l.n;
      p.k = l.k;
      layer_bytes += p.bytes() + double(l.k) * 2 + double(l.n) * 2;
    }
    double best = 0;
    for (GemvKernel kern : kernels)
      for (bool pdl : {false, true}) {
        if (pdl && kern == GemvKernel::rowpair) continue;
        std::vector<double> t;
        try {
          t = time_graph(s, reps, layers, [&] {
            for (int l = 0; l < layers; ++l)
              for (int i = 0; i < 7; ++i) launch_gemv_q4(sets[i]->ws[l], x.get(), y.get(), s, kern, pdl);
          });
        } catch (const std::exception& e) {
          ctx.fail("gemv_q4 layer graph " + to_string(kern) + (pdl ? " with PDL: " : ": ") + e.what());
          continue;
        }
        auto m = make_measurement("gemv-q4-" + to_string(kern) + (pdl ? "-pdl" : "") + "-llama13b-layer-graph",
                                  "gemv_q4_gb_s", "GB/s", rates_from_times(t, layer_bytes, 1e-9), {});
        m.conditions = {{"shape", std::string("llama13b-layer-7-gemvs")},
                        {"kernel", to_string(kern)},
                        {"mode", std::string("graph")},
                        {"pdl", std::string(pdl ? "yes" : "no")},
                        {"bytes", layer_bytes},
                        {"weight_copies", std::int64_t(layers)},
                        {"layer_us", std::round(1e8 * layer_bytes / (m.value * 1e9)) / 100}};
        pct(m);
        if (kern != GemvKernel::rowpair && m.value > best) {
          best = m.value;
          default_gemv_kernel() = kern;
        }
        ctx.add(m);
      }
    // The same layer with the GEMVs that share an input fused, as inference engines do: q/k/v as one
    // 15360-row GEMV over concatenated weights, gate/up as one 27648-row GEMV; o and down as before. Same
    // bytes, 4 launches instead of 7 (fewer ramps and tails).
    {
      const LayerShape fs[2] = {{15360, 5120}, {27648, 5120}};
      std::vector<std::unique_ptr<Q4Set>> fused;
      for (const auto& l : fs)
        fused.push_back(std::make_unique<Q4Set>(l.n, l.k, layers, 6000u + unsigned(fused.size()), s));
      const Q4Weights* order[4] = {nullptr, nullptr, nullptr, nullptr};
      for (GemvKernel kern : kernels) {
        if (kern == GemvKernel::rowpair) continue;
        // Fused matrices are checked like the single ones (first layer's copy).
        bool ok = true;
        for (const auto& f : fused) {
          GV_CUDA(cudaMemsetAsync(y.get(), 0xFF, y.bytes(), s));
          launch_gemv_q4(f->ws[0], x.get(), y.get(), s, kern, false);
          GV_LAUNCHED();
          GV_CUDA(cudaStreamSynchronize(s));
          const double rel = gemv_q4_error(f->ws[0], x.get(), y.get());
          if (!(rel <= 5e-3)) {
            ctx.fail("gemv_q4 fused " + std::to_string(f->ws[0].n) + "x" + std::to_string(f->ws[0].k) + " " +
                     to_string(kern) + ": relative error " + std::to_string(rel));
            ok = false;
          }
        }
        if (!ok) continue;
        std::vector<double> t;
        try {
          t = time_graph(s, reps, layers, [&] {
            for (int l = 0; l < layers; ++l) {
              order[0] = &fused[0]->ws[l];
              order[1] = &sets[3]->ws[l];
              order[2] = &fused[1]->ws[l];
              order[3] = &sets[6]->ws[l];
              for (const Q4Weights* wq : order) launch_gemv_q4(*wq, x.get(), y.get(), s, kern, true);
            }
          });
        } catch (const std::exception& e) {
          ctx.fail("gemv_q4 fused layer graph " + to_string(kern) + ": " + e.what());
          continue;
        }
        auto m = make_measurement("gemv-q4-" + to_string(kern) + "-pdl-llama13b-layer-fused-graph", "gemv_q4_gb_s",
                                  "GB/s", rates_from_times(t, layer_bytes, 1e-9), {});
        m.conditions = {{"shape", std::string("llama13b-layer-4-gemvs-fused")},
                        {"kernel", to_string(kern)},
                        {"mode", std::string("graph")},
                        {"pdl", std::string("yes")},
                        {"bytes", layer_bytes},
                        {"weight_copies", std::int64_t(layers)},
                        {"layer_us", std::round(1e8 * layer_bytes / (m.value * 1e9)) / 100}};
        pct(m);
        ctx.add(m);
      }
    }
    std::fprintf(stderr, "gemv_q4: replay uses %s\n", to_string(default_gemv_kernel()).c_str());
  }
}

}  // namespace gpuperf::validate
