// decode_persistent: the LLaMA decode step as one persistent cooperative kernel (see decode_persistent.cuh).
//
// The kernel runs a program of phases from device memory, one grid-wide barrier between phases:
//   gemv       y = W x over a block's rows (rpb rows per block), the stream GEMV's ring of D tiles per warp;
//              x staged in shared memory from the previous phase's output, optionally as RMSNorm(x) * gamma
//              (every block reduces the 5120-vector itself: 10 KB from L2); epilogue: plain, residual add
//              (y = res + y, in place on the residual stream), or silu(gate) * up from interleaved rows
//              (row 2j = gate j, row 2j + 1 = up j, so a block holds both of a pair);
//   attention  one item per (head, split of WARPS * 8 positions): rotary on q (and, in the split that holds
//              the new position, on k, with k and v appended to the cache), scores, a partial softmax and
//              P V; the last split of a head to finish (atomic count) combines the partials into the head's
//              fp16 output;
//   final      block 0 writes RMSNorm(x) * gamma (lm_head's input).
// Barrier: a block arrives (one atomic), then issues what the next phase will read from DRAM and depends on
// nothing: L2 prefetches of the next `pf` items of each warp's run past its ring, and the ring's first D
// tiles into registers (or, before attention, the K/V rows of its item and the next GEMV's first items),
// and only then waits. So DRAM keeps streaming weights while the barrier and the small ops run.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <cublas_v2.h>

#include "decode_persistent.cuh"
#include "gemv_q4.cuh"
#include "gemv_q4_stream.cuh"
#include "ptx.cuh"

namespace gpuperf::validate {

namespace {

using namespace q4dev;

constexpr int kMaxRows = 256;     // rows per block of a GEMV phase
constexpr int kHeadDim = 128;     // attention: head dimension (the replay's)
constexpr int kPartStride = 132;  // floats per (head, split) partial: o[128], m, l (padded)

enum PhaseType : int { kGemv = 0, kAttn = 1, kFinal = 2 };
enum Epilogue : int { kPlain = 0, kResidual = 1, kSiluPairs = 2 };

struct Phase {
  int type = kGemv;
  // gemv (and final: x, gamma, y, k)
  int n = 0, k = 0, rpb = 0, epi = kPlain;
  const uint4* w4 = nullptr;
  const uint4* sz4 = nullptr;
  const __half* x = nullptr;
  const __half* gamma = nullptr;  // non-null: x staged as RMSNorm(x) * gamma
  const __half* res = nullptr;
  __half* y = nullptr;
  // attention
  const __half* qkv = nullptr;  // [q (heads*128) | k | v]
  __half* kc = nullptr;         // [pos][heads][128]
  __half* vc = nullptr;
  __half* out = nullptr;    // [heads*128]
  float* part = nullptr;    // [heads][splits][kPartStride]
  unsigned* cnt = nullptr;  // [heads], zero at entry
};

struct Params {
  const Phase* phases;
  int nphases;
  const float* rope;  // cos[64], sin[64] at the new position
  int heads, ctx;
  float eps, scale;
  int pf;          // items prefetched into L2 past the ring at a barrier
  unsigned* bar;   // [0]: arrivals, [1]: exits (both zero at entry; the last block to exit resets them)
  unsigned* cnts;  // every attention phase's counters (zeroed by the last block to exit)
  int ncnt;
  int ring_off;  // feed kernel: the rings' offset in dynamic shared memory (16-byte vectors)
};

__device__ __forceinline__ unsigned ld_acquire(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}

template <int WARPS>
__device__ __forceinline__ float block_sum(float v, float* red) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();  // red may still be read from an earlier call
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
  __syncthreads();
  float s = 0.0f;
#pragma unroll
  for (int w = 0; w < WARPS; ++w) s += red[w];
  return s;
}

// x (fp16, written by another block: read through L2) into xs as vectors b * 32 + lane, zero past K; with
// gamma, as RMSNorm(x) * gamma rounded to fp16. Ends with a barrier.
template <int WARPS>
__device__ void stage_x(uint4* xs, const __half* x, const __half* gamma, int k, int T, float eps, float* red) {
  const uint4* xv = reinterpret_cast<const uint4*>(x);
  float ss = 0.0f;
  for (int i = int(threadIdx.x); i < T * 128; i += WARPS * 32) {
    const uint4 v = i < k / 8 ? __ldcg(xv + i) : make_uint4(0, 0, 0, 0);
    xs[i] = v;
    if (gamma) {
      const std::uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float2 f = __half22float2(as_half2(w[j]));
        ss += f.x * f.x + f.y * f.y;
      }
    }
  }
  if (gamma) {
    const float inv = rsqrtf(block_sum<WARPS>(ss, red) / float(k) + eps);
    const uint4* gv = reinterpret_cast<const uint4*>(gamma);
    for (int i = int(threadIdx.x); i < k / 8; i += WARPS * 32) {
      const uint4 v = xs[i], g = __ldg(gv + i);
      const std::uint32_t a[4] = {v.x, v.y, v.z, v.w}, b[4] = {g.x, g.y, g.z, g.w};
      std::uint32_t o[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float2 fa = __half22float2(as_half2(a[j])), fb = __half22float2(as_half2(b[j]));
        const __half2 h = __floats2half2_rn(fa.x * inv * fb.x, fa.y * inv * fb.y);
        std::memcpy(&o[j], &h, 4);
      }
      xs[i] = make_uint4(o[0], o[1], o[2], o[3]);
    }
  }
  __syncthreads();
}

__device__ __forceinline__ float silu_mul(float g, float u) { return g / (1.0f + __expf(-g)) * u; }

// A GEMV phase's share for block b: rows [row0, row0 + rows).
__device__ __forceinline__ int share_rows(const Phase& ph, int b, int& row0) {
  row0 = b * ph.rpb;
  return max(0, min(ph.rpb, ph.n - row0));
}

template <int WARPS, int R>
__device__ __forceinline__ void start_gemv(Ring<R>& ring, const Phase& ph, int b, int pf) {
  const int warp = int(threadIdx.x >> 5), lane = int(threadIdx.x & 31);
  int row0;
  const int rows = share_rows(ph, b, row0), T = Q4Weights::tiles(ph.k);
  ring_start(ring, ph.w4, ph.sz4, row0, rows * T, T, warp, WARPS, lane);
  // Items D .. D + pf - 1 of the run into L2 (4 lines of weights per item, its scales 32 bytes each).
  const int last = min(ring.cnt, R + pf);
  if (last > R) {
    const size_t g0 = size_t(row0) * T + size_t(ring.i0);
    const char* wb = reinterpret_cast<const char*>(ph.w4 + g0 * 32);
    const char* sb = reinterpret_cast<const char*>(ph.sz4 + g0 * 2);
    for (int j = R * 4 + lane; j < last * 4; j += 32) prefetch_l2(wb + size_t(j) * 128);
    for (int j = (R * 32) / 128 + lane; j * 128 < last * 32; j += 32) prefetch_l2(sb + size_t(j) * 128);
  }
}

// A block's GEMV rows out: silu(gate)·up of interleaved pairs, or the fp16 sum (rounded as the unfused
// chain's GEMV output is) plus the residual row where the phase has one. Shared by the ring and feed kernels.
template <int WARPS>
__device__ __forceinline__ void gemv_epilogue(const Phase& ph, const float* sums, int rows, int row0) {
  if (ph.epi == kSiluPairs) {
    for (int j = int(threadIdx.x); j < rows / 2; j += WARPS * 32) {
      const float g = __half2float(__float2half(sums[2 * j])), u = __half2float(__float2half(sums[2 * j + 1]));
      ph.y[row0 / 2 + j] = __float2half(silu_mul(g, u));
    }
  } else {
    for (int i = int(threadIdx.x); i < rows; i += WARPS * 32) {
      const float v = __half2float(__float2half(sums[i]));  // the GEMV's fp16 output, as the unfused chain
      ph.y[row0 + i] = __float2half(ph.epi == kResidual ? __half2float(__ldcg(ph.res + row0 + i)) + v : v);
    }
  }
}

template <int WARPS, int R>
__device__ void run_gemv(const Phase& ph, Ring<R>& ring, int b, uint4* xs, float* sums, float* red, float eps) {
  int row0;
  const int rows = share_rows(ph, b, row0);
  if (rows == 0) return;
  const int T = Q4Weights::tiles(ph.k), nb = ph.k / 256, lane = int(threadIdx.x & 31);
  uint4* xsum = xs + T * 128;
  for (int i = int(threadIdx.x); i < rows; i += WARPS * 32) sums[i] = 0.0f;
  stage_x<WARPS>(xs, ph.x, ph.gamma, ph.k, T, eps, red);
  stage_xsum(xs, xsum, T, nb, WARPS * 32);
  __syncthreads();
  ring_run<R, false>(ring, xs, xsum, T, sums, nullptr, lane);
  __syncthreads();
  gemv_epilogue<WARPS>(ph, sums, rows, row0);
}

// K/V rows of attention item `item` into L2 (one 128-byte line per thread).
template <int WARPS>
__device__ __forceinline__ void prefetch_kv(const Phase& ph, const Params& pr, int item) {
  constexpr int P = WARPS * 8;
  const int S = (pr.ctx + P - 1) / P;
  if (item >= pr.heads * S) return;
  const int h = item / S, s = item - h * S;
  const int li = int(threadIdx.x), pos = s * P + (li >> 2);
  if (pos >= pr.ctx) return;
  const __half* base = ((li >> 1) & 1) ? ph.vc : ph.kc;
  prefetch_l2(reinterpret_cast<const char*>(base + (size_t(pos) * pr.heads + h) * kHeadDim) + (li & 1) * 128);
}

template <int WARPS>
__device__ void run_attention(const Phase& ph, const Params& pr, int b, float* smem) {
  constexpr int P = WARPS * 8, G2 = WARPS * 2;
  float* qf = smem;                                // [128] rotated q (fp16-rounded), as float
  float* sc = qf + kHeadDim;                       // [P] scores, then exp(score - m)
  float* red = sc + P;                             // [G2][128] P V partials of the 16-lane groups
  float* ml = red + G2 * kHeadDim;                 // m, l
  __half* kn = reinterpret_cast<__half*>(ml + 4);  // [128] the new position's rotated k
  __half* vn = kn + kHeadDim;                      // [128] and v
  __shared__ int last_flag;
  const int H = pr.heads, C = pr.ctx, S = (C + P - 1) / P;
  const int tid = int(threadIdx.x), warp = tid >> 5, lane = tid & 31;
  for (int item = b; item < H * S; item += int(gridDim.x)) {
    const int h = item / S, s = item - h * S, p0 = s * P, np = min(C, p0 + P) - p0;
    const bool has_new = p0 + np == C;
    // Rotary (rotate-half pairs i, i + 64) on q; in the last split also on k, and k, v appended.
    if (tid < 64) {
      const float c = pr.rope[tid], sn = pr.rope[64 + tid];
      const float a = __half2float(__ldcg(ph.qkv + h * kHeadDim + tid));
      const float bq = __half2float(__ldcg(ph.qkv + h * kHeadDim + 64 + tid));
      qf[tid] = __half2float(__float2half(a * c - bq * sn));
      qf[tid + 64] = __half2float(__float2half(bq * c + a * sn));
    } else if (has_new && tid < 128) {
      const int i = tid - 64;
      const float c = pr.rope[i], sn = pr.rope[64 + i];
      const __half* kp = ph.qkv + H * kHeadDim + h * kHeadDim;
      const float a = __half2float(__ldcg(kp + i)), bk = __half2float(__ldcg(kp + 64 + i));
      const __half k0 = __float2half(a * c - bk * sn), k1 = __float2half(bk * c + a * sn);
      kn[i] = k0;
      kn[i + 64] = k1;
      __half* dst = ph.kc + (size_t(C - 1) * H + h) * kHeadDim;
      dst[i] = k0;
      dst[i + 64] = k1;
    } else if (has_new && tid < 256) {
      const int i = tid - 128;
      const __half v = __ldcg(ph.qkv + 2 * H * kHeadDim + h * kHeadDim + i);
      vn[i] = v;
      ph.vc[(size_t(C - 1) * H + h) * kHeadDim + i] = v;
    }
    __syncthreads();
    // Scores: a half-warp per position (16 lanes x 8 dims), 8 positions per warp, loads first.
    {
      const int sub = lane & 15, hw = lane >> 4;
      uint4 kv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int r = warp * 8 + 2 * i + hw, p = p0 + r;
        if (r < np && p != C - 1)
          kv[i] = *reinterpret_cast<const uint4*>(ph.kc + (size_t(p) * H + h) * kHeadDim + sub * 8);
        else if (r < np)
          kv[i] = reinterpret_cast<const uint4*>(kn)[sub];
        else
          kv[i] = make_uint4(0, 0, 0, 0);
      }
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int r = warp * 8 + 2 * i + hw;
        const std::uint32_t w[4] = {kv[i].x, kv[i].y, kv[i].z, kv[i].w};
        float d = 0.0f;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const float2 f = __half22float2(as_half2(w[j]));
          d += f.x * qf[sub * 8 + 2 * j] + f.y * qf[sub * 8 + 2 * j + 1];
        }
#pragma unroll
        for (int o = 8; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
        if (sub == 0 && r < np) sc[r] = d * pr.scale;
      }
    }
    __syncthreads();
    if (warp == 0) {  // partial softmax over the item's positions
      float m = -INFINITY;
      for (int i = lane; i < np; i += 32) m = fmaxf(m, sc[i]);
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
      float l = 0.0f;
      for (int i = lane; i < np; i += 32) {
        const float e = __expf(sc[i] - m);
        sc[i] = e;
        l += e;
      }
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
      if (lane == 0) ml[0] = m, ml[1] = l;
    }
    __syncthreads();
    // P V: 16-lane groups over 16-byte V vectors, positions round-robin over the groups.
    {
      const int sub = tid & 15, grp = tid >> 4;
      float acc[8] = {};
      for (int r = grp; r < np; r += G2) {
        const int p = p0 + r;
        const uint4 v = p != C - 1 ? *reinterpret_cast<const uint4*>(ph.vc + (size_t(p) * H + h) * kHeadDim + sub * 8)
                                   : reinterpret_cast<const uint4*>(vn)[sub];
        const float e = sc[r];
        const std::uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const float2 f = __half22float2(as_half2(w[j]));
          acc[2 * j] += e * f.x;
          acc[2 * j + 1] += e * f.y;
        }
      }
#pragma unroll
      for (int e = 0; e < 8; ++e) red[grp * kHeadDim + sub * 8 + e] = acc[e];
    }
    __syncthreads();
    float* mine = ph.part + size_t(h * S + s) * kPartStride;
    if (tid < kHeadDim) {
      float o = 0.0f;
#pragma unroll
      for (int g = 0; g < G2; ++g) o += red[g * kHeadDim + tid];
      mine[tid] = o;
    } else if (tid == kHeadDim) {
      mine[kHeadDim] = ml[0];
      mine[kHeadDim + 1] = ml[1];
    }
    __threadfence();
    __syncthreads();
    if (tid == 0) last_flag = atomicAdd(ph.cnt + h, 1u) == unsigned(S - 1);
    __syncthreads();
    if (last_flag && tid < kHeadDim) {  // the head's last split: combine the S partials
      __threadfence();
      const float* hp = ph.part + size_t(h * S) * kPartStride;
      float m = -INFINITY;
      for (int j = 0; j < S; ++j) m = fmaxf(m, __ldcg(hp + j * kPartStride + kHeadDim));
      float l = 0.0f, o = 0.0f;
      for (int j = 0; j < S; ++j) {
        const float w = __expf(__ldcg(hp + j * kPartStride + kHeadDim) - m);
        l += w * __ldcg(hp + j * kPartStride + kHeadDim + 1);
        o += w * __ldcg(hp + j * kPartStride + tid);
      }
      ph.out[h * kHeadDim + tid] = __float2half(o / l);
    }
    __syncthreads();  // smem reused by the next item
  }
}

// Exit of a persistent kernel: the last of the G blocks out resets the barrier and the attention
// counters for the next launch.
template <int WARPS>
__device__ void exit_reset(const Params& pr, int G) {
  __shared__ int last_out;
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    last_out = atomicAdd(pr.bar + 1, 1u) == unsigned(G - 1);
  }
  __syncthreads();
  if (last_out) {
    for (int i = int(threadIdx.x); i < pr.ncnt; i += WARPS * 32) pr.cnts[i] = 0;
    if (threadIdx.x == 0) pr.bar[0] = 0, pr.bar[1] = 0;
  }
}

template <int WARPS, int MINB, int R>
__global__ void __launch_bounds__(WARPS * 32, MINB) decode_persistent_kernel(Params pr) {
  extern __shared__ uint4 xs[];  // gemv: x (T * 128 vectors) and its sums (T * 32); attention: scratch
  __shared__ float sums[kMaxRows];
  __shared__ float red[WARPS];
  const int b = int(blockIdx.x), G = int(gridDim.x);
  Ring<R> ring;
  if (pr.phases[0].type == kGemv) start_gemv<WARPS, R>(ring, pr.phases[0], b, pr.pf);
  unsigned target = 0;
  for (int p = 0; p < pr.nphases; ++p) {
    const Phase& ph = pr.phases[p];
    if (ph.type == kGemv) {
      run_gemv<WARPS, R>(ph, ring, b, xs, sums, red, pr.eps);
    } else if (ph.type == kAttn) {
      run_attention<WARPS>(ph, pr, b, reinterpret_cast<float*>(xs));
    } else if (b == 0) {  // final norm
      stage_x<WARPS>(xs, ph.x, ph.gamma, ph.k, Q4Weights::tiles(ph.k), pr.eps, red);
      for (int i = int(threadIdx.x); i < ph.k / 8; i += WARPS * 32) reinterpret_cast<uint4*>(ph.y)[i] = xs[i];
    }
    if (p + 1 == pr.nphases) break;
    __syncthreads();
    if (threadIdx.x == 0) {
      __threadfence();
      atomicAdd(pr.bar, 1u);  // arrive
    }
    target += unsigned(G);
    // Before waiting: what the next phases read from DRAM and does not depend on this one.
    const Phase& nx = pr.phases[p + 1];
    if (nx.type == kGemv) {
      start_gemv<WARPS, R>(ring, nx, b, pr.pf);
    } else if (nx.type == kAttn) {
      prefetch_kv<WARPS>(nx, pr, b);
      if (p + 2 < pr.nphases && pr.phases[p + 2].type == kGemv) {
        const Phase& n2 = pr.phases[p + 2];
        int row0;
        const int rows = share_rows(n2, b, row0), T = Q4Weights::tiles(n2.k);
        const int warp = int(threadIdx.x >> 5), lane = int(threadIdx.x & 31), nt = rows * T;
        const int i0 = (warp * nt) / WARPS, cnt = min(((warp + 1) * nt) / WARPS - i0, R + pr.pf);
        const size_t g0 = size_t(row0) * T + size_t(i0);
        const char* wb = reinterpret_cast<const char*>(n2.w4 + g0 * 32);
        for (int j = lane; j < cnt * 4; j += 32) prefetch_l2(wb + size_t(j) * 128);
        if (lane == 0 && cnt > 0) prefetch_l2(n2.sz4 + g0 * 2);
      }
    }
    if (threadIdx.x == 0)
      while (ld_acquire(pr.bar) < target) {
      }
    __syncthreads();
  }
  exit_reset<WARPS>(pr, G);
}

// ---- the feed kernel (run 18): each warp streams its items of every GEMV phase of the program, in
// program order, through a ring of NS items in shared memory (cp.async, 16 bytes per lane: the lane's
// weight vector; lanes 0-1 the item's 32 bytes of scales), one commit group per item. A consumed slot is
// refilled at once with the warp's next item, whichever phase it belongs to, so the loads of the next
// matrices are in flight while the warp computes, waits at a grid barrier, stages x or runs attention:
// up to NS * 544 bytes per warp (32 warps x 10 items: 174 KB per SM, ~23 MB on the card, 7-8 us of DRAM
// time) against 3 items per warp in registers in the ring kernel above.

using ptx::cp_async16;
using ptx::cp_async_commit;
using ptx::cp_async_wait;

// Warp `warp`'s run of a GEMV phase for block b: items [i0, i0 + cnt) of the block's rows * T items.
template <int WARPS>
__device__ __forceinline__ int warp_run(const Phase& ph, int b, int warp, int& i0, int& row0, int& T) {
  const int rows = share_rows(ph, b, row0);
  T = Q4Weights::tiles(ph.k);
  const int n = rows * T;
  i0 = (warp * n) / WARPS;
  return ((warp + 1) * n) / WARPS - i0;
}

// A warp's position in its stream of items (uniform over the lanes).
struct Feed {
  const uint4* wp = nullptr;  // the lane's weight vector of the next item to issue
  const uint4* sp = nullptr;  // that item's scales (lane < 2: the lane's 16 bytes)
  int left = 0;               // items left in the current run
  int p = -1;                 // the current run's phase
};

// The next item of the stream into slot (sw, ss), as one commit group (empty past the stream's end).
template <int WARPS>
__device__ __forceinline__ void feed_issue(Feed& f, const Params& pr, int b, int warp, int lane, uint4* sw, uint4* ss) {
  while (f.left == 0 && f.p + 1 < pr.nphases) {
    const Phase& ph = pr.phases[++f.p];
    if (ph.type != kGemv) continue;
    int i0, row0, T;
    f.left = warp_run<WARPS>(ph, b, warp, i0, row0, T);
    const size_t g0 = size_t(row0) * T + size_t(i0);
    f.wp = ph.w4 + g0 * 32 + lane;
    f.sp = ph.sz4 + g0 * 2 + (lane & 1);
  }
  if (f.left > 0) {
    cp_async16(sw + lane, f.wp);
    if (lane < 2) cp_async16(ss + lane, f.sp);
    f.wp += 32;
    f.sp += 2;
    --f.left;
  }
  cp_async_commit();
}

template <int WARPS, int NS>
__device__ void run_gemv_feed(const Phase& ph, const Params& pr, Feed& f, int& kc, int b, uint4* xs, uint4* rw,
                              uint4* rs, float* sums, float* red) {
  const int warp = int(threadIdx.x >> 5), lane = int(threadIdx.x & 31);
  int i0, row0, T;
  const int cnt = warp_run<WARPS>(ph, b, warp, i0, row0, T);
  const int rows = max(0, min(ph.rpb, ph.n - row0));
  if (rows == 0) return;
  const int nb = ph.k / 256;
  uint4* xsum = xs + T * 128;
  for (int i = int(threadIdx.x); i < rows; i += WARPS * 32) sums[i] = 0.0f;
  stage_x<WARPS>(xs, ph.x, ph.gamma, ph.k, T, pr.eps, red);
  stage_xsum(xs, xsum, T, nb, WARPS * 32);
  __syncthreads();
  int ct = i0 % T, cr = i0 / T;
  float acc = 0.0f;
  auto flush = [&]() {
    float v = acc;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0) atomicAdd(&sums[cr], v);
    acc = 0.0f;
  };
  for (int i = 0; i < cnt; ++i, ++kc) {
    const int s = kc % NS;
    cp_async_wait<NS - 1>();  // this lane's copies of item kc have landed
    __syncwarp();             // and lanes 0-1's scales are visible to the warp
    const uint4 qq = rw[s * 32 + lane], sv = rs[s * 2 + (lane >> 4)];
    __syncwarp();  // every lane has read the slot: refill it
    feed_issue<WARPS>(f, pr, b, warp, lane, rw + s * 32, rs + s * 2);
    tile_dot(qq, sv, xs, xsum, ct, lane, acc);
    if (++ct == T) {
      flush();
      ct = 0;
      ++cr;
    }
  }
  if (ct != 0 && cnt > 0) flush();
  __syncthreads();
  gemv_epilogue<WARPS>(ph, sums, rows, row0);
}

template <int WARPS, int NS>
__global__ void __launch_bounds__(WARPS * 32, 1) decode_feed_kernel(Params pr) {
  extern __shared__ uint4 xs[];  // x and its sums (or attention scratch), then the rings
  __shared__ float sums[kMaxRows];
  __shared__ float red[WARPS];
  const int b = int(blockIdx.x), G = int(gridDim.x);
  const int warp = int(threadIdx.x >> 5), lane = int(threadIdx.x & 31);
  uint4* rw = xs + pr.ring_off + warp * NS * 32;                   // NS slots of 32 weight vectors
  uint4* rs = xs + pr.ring_off + WARPS * NS * 32 + warp * NS * 2;  // NS slots of 2 scale vectors
  Feed f;
  for (int s = 0; s < NS; ++s) feed_issue<WARPS>(f, pr, b, warp, lane, rw + s * 32, rs + s * 2);
  int kc = 0;  // items consumed by this warp
  unsigned target = 0;
  for (int p = 0; p < pr.nphases; ++p) {
    const Phase& ph = pr.phases[p];
    if (ph.type == kGemv) {
      run_gemv_feed<WARPS, NS>(ph, pr, f, kc, b, xs, rw, rs, sums, red);
    } else if (ph.type == kAttn) {
      run_attention<WARPS>(ph, pr, b, reinterpret_cast<float*>(xs));
    } else if (b == 0) {
      stage_x<WARPS>(xs, ph.x, ph.gamma, ph.k, Q4Weights::tiles(ph.k), pr.eps, red);
      for (int i = int(threadIdx.x); i < ph.k / 8; i += WARPS * 32) reinterpret_cast<uint4*>(ph.y)[i] = xs[i];
    }
    if (p + 1 == pr.nphases) break;
    __syncthreads();
    if (threadIdx.x == 0) {
      __threadfence();
      atomicAdd(pr.bar, 1u);
    }
    target += unsigned(G);
    if (pr.phases[p + 1].type == kAttn) prefetch_kv<WARPS>(pr.phases[p + 1], pr, b);
    if (threadIdx.x == 0)
      while (ld_acquire(pr.bar) < target) {
      }
    __syncthreads();
  }
  cp_async_wait<0>();
  exit_reset<WARPS>(pr, G);
}

// ---- the unfused chain (reference): one launch per op.

__global__ void rmsnorm_ref(const __half* x, const __half* gamma, __half* y, int k, float eps) {
  __shared__ float red[32];
  float ss = 0.0f;
  for (int i = int(threadIdx.x); i < k; i += blockDim.x) {
    const float v = __half2float(x[i]);
    ss += v * v;
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = ss;
  __syncthreads();
  float t = 0.0f;
  for (int w = 0; w < int(blockDim.x >> 5); ++w) t += red[w];
  const float inv = rsqrtf(t / float(k) + eps);
  for (int i = int(threadIdx.x); i < k; i += blockDim.x)
    y[i] = __float2half(__half2float(x[i]) * inv * __half2float(gamma[i]));
}

// Rotary on q and k of head blockIdx.x (64 threads: pairs i, i + 64); q' to qr, k' and v to the cache slot.
__global__ void rope_append_ref(const __half* qkv, const float* rope, __half* qr, __half* kslot, __half* vslot,
                                int heads) {
  const int h = int(blockIdx.x), i = int(threadIdx.x);
  const float c = rope[i], s = rope[64 + i];
  const __half* q = qkv + h * kHeadDim;
  const __half* k = qkv + heads * kHeadDim + h * kHeadDim;
  const __half* v = qkv + 2 * heads * kHeadDim + h * kHeadDim;
  float a = __half2float(q[i]), b = __half2float(q[i + 64]);
  qr[h * kHeadDim + i] = __float2half(a * c - b * s);
  qr[h * kHeadDim + i + 64] = __float2half(b * c + a * s);
  a = __half2float(k[i]), b = __half2float(k[i + 64]);
  kslot[h * kHeadDim + i] = __float2half(a * c - b * s);
  kslot[h * kHeadDim + i + 64] = __float2half(b * c + a * s);
  vslot[h * kHeadDim + i] = v[i];
  vslot[h * kHeadDim + i + 64] = v[i + 64];
}

// Attention of head blockIdx.x over ctx cached positions, 128 threads, scores in dynamic shared memory.
__global__ void attention_ref(const __half* q, const __half* kc, const __half* vc, __half* out, int heads, int ctx,
                              float scale) {
  extern __shared__ float sc[];
  __shared__ float red[4];
  const int h = int(blockIdx.x), t = int(threadIdx.x);
  for (int p = t; p < ctx; p += blockDim.x) {
    float d = 0.0f;
    for (int e = 0; e < kHeadDim; ++e)
      d += __half2float(q[h * kHeadDim + e]) * __half2float(kc[(size_t(p) * heads + h) * kHeadDim + e]);
    sc[p] = d * scale;
  }
  __syncthreads();
  float m = -INFINITY;
  for (int p = t; p < ctx; p += blockDim.x) m = fmaxf(m, sc[p]);
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  if ((t & 31) == 0) red[t >> 5] = m;
  __syncthreads();
  m = fmaxf(fmaxf(red[0], red[1]), fmaxf(red[2], red[3]));
  __syncthreads();
  float l = 0.0f;
  for (int p = t; p < ctx; p += blockDim.x) l += (sc[p] = __expf(sc[p] - m));
  for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
  if ((t & 31) == 0) red[t >> 5] = l;
  __syncthreads();
  l = red[0] + red[1] + red[2] + red[3];
  float o = 0.0f;
  for (int p = 0; p < ctx; ++p) o += sc[p] * __half2float(vc[(size_t(p) * heads + h) * kHeadDim + t]);
  out[h * kHeadDim + t] = __float2half(o / l);
}

__global__ void residual_ref(__half* h, const __half* y, int n) {
  for (int i = int(blockIdx.x * blockDim.x + threadIdx.x); i < n; i += int(gridDim.x * blockDim.x))
    h[i] = __float2half(__half2float(h[i]) + __half2float(y[i]));
}

__global__ void silu_pairs_ref(const __half* gu, __half* act, int f) {
  for (int j = int(blockIdx.x * blockDim.x + threadIdx.x); j < f; j += int(gridDim.x * blockDim.x))
    act[j] = __float2half(silu_mul(__half2float(gu[2 * j]), __half2float(gu[2 * j + 1])));
}

// Sampling: argmax of the logits (one block of 1024 threads).
__global__ void argmax_kernel(const __half* logits, int n, int* out) {
  __shared__ float bv[32];
  __shared__ int bi[32];
  float v = -INFINITY;
  int idx = 0;
  for (int i = int(threadIdx.x); i < n; i += blockDim.x) {
    const float x = __half2float(logits[i]);
    if (x > v) v = x, idx = i;
  }
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, v, o);
    const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
    if (ov > v || (ov == v && oi < idx)) v = ov, idx = oi;
  }
  if ((threadIdx.x & 31) == 0) bv[threadIdx.x >> 5] = v, bi[threadIdx.x >> 5] = idx;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < int(blockDim.x >> 5); ++w)
      if (bv[w] > v || (bv[w] == v && bi[w] < idx)) v = bv[w], idx = bi[w];
    *out = idx;
  }
}

// ---- host side

size_t align256(size_t b) { return (b + 255) / 256 * 256; }
size_t q4_bytes(int n, int k) {
  return align256(size_t(n) * Q4Weights::row_words(k) * 4) + align256(size_t(n) * Q4Weights::row_groups(k) * 4);
}

struct Shape {
  int dim = 0, heads = 0, ffn = 0, layers = 0, ctx = 0, vocab = 0;
};

class Decoder {
 public:
  struct Layer {
    Q4Weights qkv, o, gu, down;
  };
  Decoder(Context& ctx, const Shape& sh) : ctx_(ctx), sh_(sh), s_(ctx.stream) {
    GV_CUBLAS(cublasCreate(&blas_));
    GV_CUBLAS(cublasSetStream(blas_, s_));
    const int D = sh.dim, F = sh.ffn, L = sh.layers;
    const size_t per_layer = q4_bytes(3 * D, D) + q4_bytes(D, D) + q4_bytes(2 * F, D) + q4_bytes(D, F);
    weights_ = DeviceBuffer<unsigned char>(per_layer * size_t(L));
    size_t off = 0;
    for (int l = 0; l < L; ++l) {
      Layer ly;
      ly.qkv = place(off, 3 * D, D);
      ly.o = place(off, D, D);
      ly.gu = place(off, 2 * F, D);  // interleaved: row 2j gate j, row 2j + 1 up j
      ly.down = place(off, D, F);
      for (const Q4Weights* w : {&ly.qkv, &ly.o, &ly.gu, &ly.down})
        fill_q4_weights(const_cast<std::uint32_t*>(w->qweight), const_cast<__half2*>(w->scale_zero), w->n, w->k,
                        unsigned(5000 + 7 * layers_.size() + size_t(w->n % 7)), s_);
      layers_.push_back(ly);
    }
    gammas_ = DeviceBuffer<__half>(size_t(2 * L + 1) * D);
    fill_half(gammas_.get(), gammas_.size(), 611u, 0.5f, s_);
    emb_ = DeviceBuffer<__half>(size_t(D));
    fill_half(emb_.get(), size_t(D), 612u, 1.0f, s_);
    lm_ = DeviceBuffer<__half>(size_t(sh.vocab) * D);
    fill_half(lm_.get(), lm_.size(), 613u, 1.0f / std::sqrt(float(D)), s_);
    kv_ = DeviceBuffer<__half>(size_t(L) * 2 * sh.ctx * sh.heads * kHeadDim);
    fill_half(kv_.get(), kv_.size(), 614u, 1.0f, s_);
    h_ = DeviceBuffer<__half>(size_t(D));
    xn_ = DeviceBuffer<__half>(size_t(D));
    qkv_ = DeviceBuffer<__half>(size_t(3 * D));
    qr_ = DeviceBuffer<__half>(size_t(D));
    attn_ = DeviceBuffer<__half>(size_t(D));
    y_ = DeviceBuffer<__half>(size_t(std::max(2 * F, 3 * D)));
    act_ = DeviceBuffer<__half>(size_t(F));
    logits_ = DeviceBuffer<__half>(size_t(sh.vocab));
    token_ = DeviceBuffer<int>(1);
    fill_half(attn_.get(), size_t(D), 615u, 1.0f, s_);  // the o-regime's input
    std::vector<float> rope(128);
    const int pos = sh.ctx - 1;
    for (int i = 0; i < 64; ++i) {
      const double a = pos * std::pow(10000.0, -double(i) / 64.0);
      rope[size_t(i)] = float(std::cos(a));
      rope[size_t(64 + i)] = float(std::sin(a));
    }
    rope_ = DeviceBuffer<float>(128);
    GV_CUDA(cudaMemcpy(rope_.get(), rope.data(), 512, cudaMemcpyHostToDevice));
    bar_ = DeviceBuffer<unsigned>(2);
    cnts_ = DeviceBuffer<unsigned>(size_t(L) * sh.heads);
    GV_CUDA(cudaMemsetAsync(bar_.get(), 0, bar_.bytes(), s_));
    GV_CUDA(cudaMemsetAsync(cnts_.get(), 0, cnts_.bytes(), s_));
    GV_CUDA(cudaStreamSynchronize(s_));
  }
  ~Decoder() { cublasDestroy(blas_); }

  const Layer& layer(int l) const { return layers_[size_t(l)]; }

  // Configuration: warps per block, blocks per SM, tiles in flight per warp (the ring) and L2 prefetch
  // depth (items past the ring prefetched at a barrier).
  // feed > 0: the feed kernel, a ring of `feed` items per warp in shared memory (ring and pf unused).
  struct Config {
    int warps = 8, per_sm = 4, ring = 3, pf = 0, feed = 0;
  };
  static void (*kernel_of(const Config& c))(Params) {
    if (c.feed == 10 && c.warps == 32) return decode_feed_kernel<32, 10>;
    if (c.feed == 8 && c.warps == 32) return decode_feed_kernel<32, 8>;
    if (c.feed == 5 && c.warps == 32) return decode_feed_kernel<32, 5>;
    if (c.feed != 0) throw std::runtime_error("decode persistent: no feed kernel for this configuration");
    if (c.warps == 8 && c.per_sm == 4 && c.ring == 3) return decode_persistent_kernel<8, 4, 3>;
    if (c.warps == 16 && c.per_sm == 2 && c.ring == 3) return decode_persistent_kernel<16, 2, 3>;
    if (c.warps == 32 && c.per_sm == 1 && c.ring == 3) return decode_persistent_kernel<32, 1, 3>;
    if (c.warps == 16 && c.per_sm == 1 && c.ring == 6) return decode_persistent_kernel<16, 1, 6>;
    throw std::runtime_error("decode persistent: no kernel for this configuration");
  }
  // Dynamic shared memory of configuration c: the staging / attention region, then the feed rings.
  size_t smem(const Config& c) const { return smem() + size_t(c.warps) * size_t(c.feed) * 544; }
  // Whether c's shared memory fits a block on this card (the feed rings need the opt-in limit).
  bool fits(const Config& c) const {
    int dev = 0, optin = 0;
    GV_CUDA(cudaGetDevice(&dev));
    GV_CUDA(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    return smem(c) + kMaxRows * 4 + 1024 <= size_t(optin);
  }
  int grid(const Config& c) const {
    if (!fits(c)) throw std::runtime_error("decode persistent: the kernel's shared memory does not fit a block");
    GV_CUDA(cudaFuncSetAttribute(kernel_of(c), cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem(c))));
    int per_sm = 0;
    GV_CUDA(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel_of(c), c.warps * 32, smem(c)));
    if (per_sm < 1) throw std::runtime_error("decode persistent: the kernel does not fit an SM");
    return ctx_.info.sm_count * std::min(per_sm, c.per_sm);
  }

  // The decode program for `layers` layers (then the final norm) for a grid of G blocks.
  std::vector<Phase> decode_program(int layers, int G, int warps) {
    std::vector<Phase> ph;
    const int D = sh_.dim, F = sh_.ffn;
    const int S = (sh_.ctx + warps * 8 - 1) / (warps * 8);
    part_ = DeviceBuffer<float>(size_t(sh_.heads) * S * kPartStride);
    for (int l = 0; l < layers; ++l) {
      const Layer& ly = layers_[size_t(l)];
      ph.push_back(gemv(ly.qkv, h_.get(), gammas_.get() + size_t(2 * l) * D, kPlain, qkv_.get(), nullptr, G));
      Phase a;
      a.type = kAttn;
      a.qkv = qkv_.get();
      a.kc = kcache(l);
      a.vc = vcache(l);
      a.out = attn_.get();
      a.part = part_.get();
      a.cnt = cnts_.get() + size_t(l) * sh_.heads;
      ph.push_back(a);
      ph.push_back(gemv(ly.o, attn_.get(), nullptr, kResidual, h_.get(), h_.get(), G));
      ph.push_back(gemv(ly.gu, h_.get(), gammas_.get() + size_t(2 * l + 1) * D, kSiluPairs, act_.get(), nullptr, G));
      ph.push_back(gemv(ly.down, act_.get(), nullptr, kResidual, h_.get(), h_.get(), G));
    }
    Phase f;
    f.type = kFinal;
    f.k = D;
    f.x = h_.get();
    f.gamma = gammas_.get() + size_t(2 * sh_.layers) * D;
    f.y = xn_.get();
    ph.push_back(f);
    (void)F;
    return ph;
  }
  // Every layer's matrix `which` (0: o, 1: down) streamed back to back, x fixed, y discarded.
  std::vector<Phase> regime_program(int which, int G) {
    std::vector<Phase> ph;
    for (const Layer& ly : layers_)
      ph.push_back(which == 0 ? gemv(ly.o, attn_.get(), nullptr, kPlain, y_.get(), nullptr, G)
                              : gemv(ly.down, act_.get(), nullptr, kPlain, y_.get(), nullptr, G));
    return ph;
  }

  // `count` phases with no work (every block idle): what one grid barrier costs.
  std::vector<Phase> barrier_program(int count) {
    Phase p;
    p.n = 0;
    p.k = sh_.dim;
    p.rpb = 1;
    return std::vector<Phase>(size_t(count), p);
  }

  void upload(const std::vector<Phase>& ph) {
    prog_ = DeviceBuffer<Phase>(ph.size());
    GV_CUDA(cudaMemcpy(prog_.get(), ph.data(), ph.size() * sizeof(Phase), cudaMemcpyHostToDevice));
    nphases_ = int(ph.size());
  }
  void launch(const Config& c, int G) {
    Params pr;
    pr.phases = prog_.get();
    pr.nphases = nphases_;
    pr.rope = rope_.get();
    pr.heads = sh_.heads;
    pr.ctx = sh_.ctx;
    pr.eps = kEps;
    pr.scale = 1.0f / std::sqrt(float(kHeadDim));
    pr.pf = c.pf;
    pr.bar = bar_.get();
    pr.cnts = cnts_.get();
    pr.ncnt = int(cnts_.size());
    pr.ring_off = int(smem() / 16);
    cudaLaunchConfig_t cfg{};
    cfg.gridDim = dim3(unsigned(G));
    cfg.blockDim = dim3(unsigned(c.warps * 32));
    cfg.dynamicSmemBytes = smem(c);
    cfg.stream = s_;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeCooperative;
    attr[0].val.cooperative = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
    GV_CUDA(cudaLaunchKernelEx(&cfg, kernel_of(c), pr));
  }
  // One step in the persistent kernel: embedding row copy, kernel, lm_head (cuBLAS), argmax.
  void step_persistent(const Config& c, int G, bool head = true) {
    GV_CUDA(cudaMemcpyAsync(h_.get(), emb_.get(), size_t(sh_.dim) * 2, cudaMemcpyDeviceToDevice, s_));
    launch(c, G);
    if (head) lm_head();
  }
  // The unfused chain: the stream GEMV (stream-d3, no PDL) per matrix and one kernel per small op.
  void step_reference(int layers, bool head = true) {
    const int D = sh_.dim, F = sh_.ffn, H = sh_.heads, C = sh_.ctx;
    GV_CUDA(cudaMemcpyAsync(h_.get(), emb_.get(), size_t(D) * 2, cudaMemcpyDeviceToDevice, s_));
    for (int l = 0; l < layers; ++l) {
      const Layer& ly = layers_[size_t(l)];
      rmsnorm_ref<<<1, 1024, 0, s_>>>(h_.get(), gammas_.get() + size_t(2 * l) * D, xn_.get(), D, kEps);
      launch_gemv_q4(ly.qkv, xn_.get(), qkv_.get(), s_, GemvKernel::stream_d3, false);
      __half* kslot = kcache(l) + size_t(C - 1) * H * kHeadDim;
      __half* vslot = vcache(l) + size_t(C - 1) * H * kHeadDim;
      rope_append_ref<<<H, 64, 0, s_>>>(qkv_.get(), rope_.get(), qr_.get(), kslot, vslot, H);
      attention_ref<<<H, kHeadDim, size_t(C) * 4, s_>>>(qr_.get(), kcache(l), vcache(l), attn_.get(), H, C,
                                                        1.0f / std::sqrt(float(kHeadDim)));
      launch_gemv_q4(ly.o, attn_.get(), y_.get(), s_, GemvKernel::stream_d3, false);
      residual_ref<<<20, 256, 0, s_>>>(h_.get(), y_.get(), D);
      rmsnorm_ref<<<1, 1024, 0, s_>>>(h_.get(), gammas_.get() + size_t(2 * l + 1) * D, xn_.get(), D, kEps);
      launch_gemv_q4(ly.gu, xn_.get(), y_.get(), s_, GemvKernel::stream_d3, false);
      silu_pairs_ref<<<54, 256, 0, s_>>>(y_.get(), act_.get(), F);
      launch_gemv_q4(ly.down, act_.get(), y_.get(), s_, GemvKernel::stream_d3, false);
      residual_ref<<<20, 256, 0, s_>>>(h_.get(), y_.get(), D);
      GV_LAUNCHED();
    }
    rmsnorm_ref<<<1, 1024, 0, s_>>>(h_.get(), gammas_.get() + size_t(2 * sh_.layers) * D, xn_.get(), D, kEps);
    GV_LAUNCHED();
    if (head) lm_head();
  }
  std::vector<float> host(const __half* d, size_t n) {
    std::vector<__half> h(n);
    GV_CUDA(cudaMemcpy(h.data(), d, n * 2, cudaMemcpyDeviceToHost));
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = __half2float(h[i]);
    return v;
  }
  std::vector<float> hidden() { return host(h_.get(), size_t(sh_.dim)); }
  std::vector<float> logits() { return host(logits_.get(), size_t(sh_.vocab)); }
  int token() {
    int t = -1;
    GV_CUDA(cudaMemcpy(&t, token_.get(), 4, cudaMemcpyDeviceToHost));
    return t;
  }
  void poison() {
    GV_CUDA(cudaMemsetAsync(h_.get(), 0xFF, h_.bytes(), s_));
    GV_CUDA(cudaMemsetAsync(xn_.get(), 0xFF, xn_.bytes(), s_));
    GV_CUDA(cudaMemsetAsync(logits_.get(), 0xFF, logits_.bytes(), s_));
    GV_CUDA(cudaMemsetAsync(token_.get(), 0xFF, token_.bytes(), s_));
  }
  cudaStream_t stream() const { return s_; }

 private:
  static constexpr float kEps = 1e-5f;
  size_t smem() const {  // the larger of a GEMV's staging and the attention scratch (16 warps)
    const size_t attn = (size_t(kHeadDim) * (1 + 2 * 32) + 8 * 32 + 4) * 4 + 2 * kHeadDim * 2;  // 32 warps
    return std::max(size_t(Q4Weights::tiles(std::max(sh_.dim, sh_.ffn))) * 2560, attn);
  }
  Q4Weights place(size_t& off, int n, int k) {
    Q4Weights w;
    w.n = n;
    w.k = k;
    w.qweight = reinterpret_cast<const std::uint32_t*>(weights_.get() + off);
    w.scale_zero =
        reinterpret_cast<const __half2*>(weights_.get() + off + align256(size_t(n) * Q4Weights::row_words(k) * 4));
    off += q4_bytes(n, k);
    return w;
  }
  Phase gemv(const Q4Weights& w, const __half* x, const __half* gamma, int epi, __half* y, const __half* res, int G) {
    Phase p;
    p.type = kGemv;
    p.n = w.n;
    p.k = w.k;
    p.rpb = (w.n + G - 1) / G;
    if (epi == kSiluPairs) p.rpb += p.rpb % 2;
    if (p.rpb > kMaxRows) throw std::runtime_error("decode persistent: too many rows per block");
    p.epi = epi;
    p.w4 = reinterpret_cast<const uint4*>(w.qweight);
    p.sz4 = reinterpret_cast<const uint4*>(w.scale_zero);
    p.x = x;
    p.gamma = gamma;
    p.res = res;
    p.y = y;
    return p;
  }
  __half* kcache(int l) const { return kv_.get() + size_t(l) * 2 * sh_.ctx * sh_.heads * kHeadDim; }
  __half* vcache(int l) const { return kcache(l) + size_t(sh_.ctx) * sh_.heads * kHeadDim; }
  void lm_head() {
    const float one = 1, zero = 0;
    GV_CUBLAS(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, sh_.vocab, 1, sh_.dim, &one, lm_.get(), CUDA_R_16F, sh_.dim,
                           xn_.get(), CUDA_R_16F, sh_.dim, &zero, logits_.get(), CUDA_R_16F, sh_.vocab,
                           CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    argmax_kernel<<<1, 1024, 0, s_>>>(logits_.get(), sh_.vocab, token_.get());
    GV_LAUNCHED();
  }

  Context& ctx_;
  Shape sh_;
  cudaStream_t s_;
  cublasHandle_t blas_ = nullptr;
  DeviceBuffer<unsigned char> weights_;
  std::vector<Layer> layers_;
  DeviceBuffer<__half> gammas_, emb_, lm_, kv_, h_, xn_, qkv_, qr_, attn_, y_, act_, logits_;
  DeviceBuffer<int> token_;
  DeviceBuffer<float> rope_, part_;
  DeviceBuffer<unsigned> bar_, cnts_;
  DeviceBuffer<Phase> prog_;
  int nphases_ = 0;
};

std::vector<double> to_ms(std::vector<double> t) {
  for (double& v : t) v *= 1e3;
  return t;
}

double rel_err(const std::vector<float>& got, const std::vector<float>& ref) {
  double e2 = 0, r2 = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double g = std::isfinite(got[i]) ? got[i] : 1e300;
    e2 += (g - ref[i]) * (g - ref[i]);
    r2 += double(ref[i]) * ref[i];
  }
  return std::sqrt(e2 / std::max(r2, 1e-300));
}

}  // namespace

PersistentDecodeResult run_decode_persistent(Context& ctx, const ReplayPlan& plan, const std::string& tag, int reps) {
  PersistentDecodeResult res;
  Shape sh;
  sh.layers = plan.layers;
  sh.heads = plan.heads;
  sh.ctx = plan.context;
  for (const auto& op : plan.ops) {
    if (op.kind == ReplayKind::gemv_q4 && op.name == "layer.0.attn.q_proj") sh.dim = int(op.k);
    if (op.kind == ReplayKind::gemv_q4 && op.name == "layer.0.ffn.gate_proj") sh.ffn = int(op.n);
    if (op.name == "lm_head") sh.vocab = int(op.n);
  }
  if (sh.dim == 0 || sh.ffn == 0 || sh.vocab == 0 || plan.head_dim != kHeadDim || sh.dim != sh.heads * kHeadDim)
    throw std::runtime_error("decode persistent: unexpected plan shapes");
  if (plan.kv_heads != 0 && plan.kv_heads != plan.heads)
    throw std::runtime_error("decode persistent: grouped-query attention is not built");
  Decoder dec(ctx, sh);
  const cudaStream_t s = dec.stream();
  double copy_gb_s = 0;
  for (const auto& m : ctx.results)
    if (m.kind == "dram_copy_gb_s") copy_gb_s = std::max(copy_gb_s, m.value);
  // Run 15 (w8 and w16, 4 / 2 blocks per SM, ring 3, prefetch 0 / 4 / 8): fewer blocks won, prefetch lost;
  // runs 16-17: 32 x 1 best, a ring of 6 for 16 warps and 8 x 4 slower. Run 18: the feed kernel (rings of
  // 10 / 8 / 5 items per warp in shared memory, streaming across phases).
  std::vector<Decoder::Config> configs;
  for (const Decoder::Config& c : std::vector<Decoder::Config>{
           {32, 1, 3, 0, 0}, {16, 2, 3, 0, 0}, {32, 1, 0, 0, 10}, {32, 1, 0, 0, 8}, {32, 1, 0, 0, 5}})
    if (dec.fits(c)) configs.push_back(c);
  auto cname = [](const Decoder::Config& c) {
    if (c.feed > 0)
      return "w" + std::to_string(c.warps) + "x" + std::to_string(c.per_sm) + "-feed" + std::to_string(c.feed);
    return "w" + std::to_string(c.warps) + "x" + std::to_string(c.per_sm) + "-r" + std::to_string(c.ring) + "-pf" +
           std::to_string(c.pf);
  };
  auto report = [&](const std::string& what, double rel, double tol) {
    std::fprintf(stderr, "replay %s persistent: %s relative error %.2g\n", plan.workload.c_str(), what.c_str(), rel);
    if (!(rel <= tol)) {
      ctx.fail("replay " + plan.workload + " persistent: " + what + " relative error " + std::to_string(rel));
      return false;
    }
    return true;
  };
  // Check first: the residual stream after one layer, then the whole step (hidden state after the final
  // norm's input, logits, sampled token) against the unfused chain on the same weights, cache and input.
  bool ok = true;
  std::vector<float> ref1, refh, refl;
  int ref_tok = -1;
  dec.poison();
  dec.step_reference(1, false);
  GV_CUDA(cudaStreamSynchronize(s));
  ref1 = dec.hidden();
  dec.poison();
  dec.step_reference(sh.layers);
  GV_CUDA(cudaStreamSynchronize(s));
  refh = dec.hidden();
  refl = dec.logits();
  ref_tok = dec.token();
  for (const auto& c : configs) {  // every configuration that is timed below
    const int G = dec.grid(c);
    dec.upload(dec.decode_program(1, G, c.warps));
    dec.poison();
    dec.step_persistent(c, G, false);
    GV_LAUNCHED();
    GV_CUDA(cudaStreamSynchronize(s));
    ok &= report(cname(c) + " residual stream after layer 0", rel_err(dec.hidden(), ref1), 5e-3);
    dec.upload(dec.decode_program(sh.layers, G, c.warps));
    dec.poison();
    dec.step_persistent(c, G);
    GV_LAUNCHED();
    GV_CUDA(cudaStreamSynchronize(s));
    ok &= report(cname(c) + " residual stream after all layers", rel_err(dec.hidden(), refh), 2e-2);
    ok &= report(cname(c) + " logits", rel_err(dec.logits(), refl), 2e-2);
    std::fprintf(stderr, "replay %s persistent: %s token %d, unfused chain token %d\n", plan.workload.c_str(),
                 cname(c).c_str(), dec.token(), ref_tok);
  }
  if (!ok) return res;
  auto cond = [&](const std::string& mode, const Decoder::Config& c, int G) {
    return std::vector<Condition>{{"workload", plan.workload},
                                  {"mode", mode},
                                  {"op", std::string("all")},
                                  {"ops", std::int64_t(plan.ops.size())},
                                  {"warps_per_block", std::int64_t(c.warps)},
                                  {"ring_tiles_per_warp", std::int64_t(c.ring)},
                                  {"blocks", std::int64_t(G)},
                                  {"l2_prefetch_items", std::int64_t(c.pf)}};
  };
  SmClockSampler clocks(ctx.nvml);  // the SM clock through each step measurement's timed window
  for (const auto& c : configs) {
    const int G = dec.grid(c);
    dec.upload(dec.decode_program(sh.layers, G, c.warps));
    std::vector<double> t;
    try {
      t = time_graph(
          s, reps, 1, [&] { dec.step_persistent(c, G); }, &clocks);
    } catch (const std::exception& e) {
      ctx.fail("replay " + tag + " persistent " + cname(c) + ": " + e.what());
      continue;
    }
    const std::string mode = "graph-persistent-" + cname(c);
    auto m = make_measurement("replay-" + tag + "-" + mode, "replay_ms", "ms", to_ms(t), cond(mode, c, G));
    for (auto& x : sm_clock_conditions(clocks.mhz())) m.conditions.push_back(std::move(x));
    if (res.step_ms <= 0 || m.value < res.step_ms) res.step_ms = m.value, res.config = cname(c);
    ctx.add(m);
    if (copy_gb_s > 0) {
      const double floor_s = plan.weight_bytes / (copy_gb_s * 1e9);
      std::vector<double> ratio;
      for (double v : t) ratio.push_back(v / floor_s);
      auto f = make_measurement("replay-" + tag + "-" + mode + "-floor-ratio", "replay_floor_ratio", "1", ratio,
                                cond(mode, c, G));
      f.conditions.push_back({"weight_bytes", plan.weight_bytes});
      f.conditions.push_back({"copy_gb_s", copy_gb_s});
      f.conditions.push_back({"floor_ms", std::round(floor_s * 1e6) / 1e3});
      ctx.add(f);
    }
  }
  // The o and down projections in the persistent regime: all layers' matrices of one kind (distinct
  // weights: nothing stays in L2) streamed back to back by one persistent launch, a grid barrier between
  // matrices as in the decode step, x fixed. Rate = (weights + x + y) of all matrices / launch time.
  for (int which : {0, 1}) {
    const Q4Weights& w0 = which == 0 ? dec.layer(0).o : dec.layer(0).down;
    const double bytes = double(sh.layers) * (w0.bytes() + double(w0.k) * 2 + double(w0.n) * 2);
    const char* label = which == 0 ? "llama13b-persistent-o-5120x5120" : "llama13b-persistent-down-13824x5120";
    for (const auto& c : configs) {
      const int G = dec.grid(c);
      dec.upload(dec.regime_program(which, G));
      std::vector<double> t;
      try {
        t = time_graph(s, reps, 1, [&] { dec.launch(c, G); });
      } catch (const std::exception& e) {
        ctx.fail(std::string("gemv persistent ") + label + ": " + e.what());
        continue;
      }
      auto m = make_measurement(std::string("gemv-q4-persistent-") + cname(c) + "-" + label, "gemv_q4_gb_s", "GB/s",
                                rates_from_times(t, bytes, 1e-9), {});
      m.conditions = {{"shape", std::string(label)},
                      {"n", std::int64_t(w0.n)},
                      {"k", std::int64_t(w0.k)},
                      {"matrices", std::int64_t(sh.layers)},
                      {"kernel", "persistent-stream-" + cname(c)},
                      {"mode", std::string("persistent")},
                      {"regime", std::string("all layers' matrices back to back in one cooperative launch, grid "
                                             "barrier between matrices, next matrix's loads issued before it")},
                      {"bytes", bytes},
                      {"us_per_matrix", std::round(1e8 * bytes / sh.layers / (m.value * 1e9)) / 100}};
      if (copy_gb_s > 0) m.conditions.push_back({"pct_of_copy", std::round(1000 * m.value / copy_gb_s) / 10});
      ctx.add(m);
    }
  }
  // A grid barrier alone: phases with no work, per phase.
  for (const auto& c : configs) {
    const int G = dec.grid(c), count = 200;
    dec.upload(dec.barrier_program(count));
    std::vector<double> t;
    try {
      t = time_graph(s, reps, 1, [&] { dec.launch(c, G); });
    } catch (const std::exception& e) {
      ctx.fail("persistent grid barrier " + cname(c) + ": " + e.what());
      continue;
    }
    for (double& v : t) v *= 1e6 / count;
    auto m = make_measurement("persistent-grid-barrier-" + cname(c), "launch_latency_us", "us", t, {});
    m.conditions = {{"what", std::string("one phase with no work of a persistent cooperative kernel: a grid barrier "
                                         "(one atomic per block, thread 0 spins on an acquire load), per phase")},
                    {"phases", std::int64_t(count)},
                    {"blocks", std::int64_t(G)},
                    {"warps_per_block", std::int64_t(c.warps)}};
    ctx.add(m);
  }
  return res;
}

}  // namespace gpuperf::validate
