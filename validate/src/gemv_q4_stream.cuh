// gemv_q4_stream: the device side of the stream GEMV kernels (layout in gemv_q4.cuh), as inline device
// functions, so that the stream kernels (gemv_q4.cu) and the persistent decode kernel (decode_persistent.cu)
// run the same loads, dequantisation and ring of tiles in flight:
//   ring_start  a warp's contiguous run of (row, tile) items of a block's rows; its first D items loaded;
//   stage_xsum  the per-word activation sums the zero is applied with, from x staged in shared memory;
//   ring_run    the ring: item i computed (tile_dot), item i + D loaded in its place, a row's per-lane sum
//               added to the block's per-row sums (or, LANES, to a (row, lane) array) when the row ends.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>

namespace gpuperf::validate::q4dev {

__device__ __forceinline__ uint4 load_stream(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}
__device__ __forceinline__ std::uint32_t load_stream(const std::uint32_t* p) {
  std::uint32_t v;
  asm volatile("ld.global.nc.L1::no_allocate.u32 %0, [%1];" : "=r"(v) : "l"(p));
  return v;
}

// Programmatic dependent launch (sm_90): let the next kernel start, and wait for the previous one.
__device__ __forceinline__ void pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ std::uint32_t comp(const uint4& v, int t) {
  return t == 0 ? v.x : t == 1 ? v.y : t == 2 ? v.z : v.w;
}

__device__ __forceinline__ __half2 as_half2(std::uint32_t u) {
  __half2 h;
  std::memcpy(&h, &u, 4);
  return h;
}

// The per-word activation sums: xsum[(tile, lane)] word j = (sum of the even, sum of the odd columns) of
// the lane's 8 columns of 256-column block 4 * tile + j (zero past K), from x staged as vector b * 32 + lane.
__device__ __forceinline__ void stage_xsum(const uint4* xsrc, uint4* xsum, int T, int nb, int nthreads) {
  for (int i = int(threadIdx.x); i < T * 32; i += nthreads) {
    std::uint32_t o[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int b = 4 * (i >> 5) + j;
      float e = 0.0f, d = 0.0f;
      if (b < nb) {
        const uint4 v = xsrc[b * 32 + (i & 31)];
        const float2 f0 = __half22float2(as_half2(v.x)), f1 = __half22float2(as_half2(v.y));
        const float2 f2 = __half22float2(as_half2(v.z)), f3 = __half22float2(as_half2(v.w));
        e = f0.x + f1.x + f2.x + f3.x;
        d = f0.y + f1.y + f2.y + f3.y;
      }
      const __half2 h = __floats2half2_rn(e, d);
      std::memcpy(&o[j], &h, 4);
    }
    xsum[i] = make_uint4(o[0], o[1], o[2], o[3]);
  }
}

// One 512-byte tile (tile ct of a row) against x in shared memory, added to acc. Dequant per word (8
// weights): one shift and four LOP3 (the odd nibble pairs are read as 64 + q from bits 4..7 of each half),
// four exact HSUB2 giving q - 8, four HFMA2 with x, then the zero as one HFMA2 with the word's activation
// sums ((q - z) x = (q - 8) x - (z - 8) x) and the group scale as one HFMA2: 16 instructions per word.
__device__ __forceinline__ void tile_dot(const uint4& qq, const uint4& ss, const uint4* xs, const uint4* xsum, int ct,
                                         int lane, float& acc) {
  const __half2 k1032 = __float2half2_rn(1032.0f), k72 = __float2half2_rn(72.0f);
  const __half2 k08 = __floats2half2_rn(0.0f, 8.0f);
  const uint4* xt = xs + ct * 128 + lane;
  const uint4 xsm = xsum[ct * 32 + lane];
  __half2 t = __float2half2_rn(0.0f);
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const std::uint32_t w0 = comp(qq, j), w1 = w0 >> 8;
    const __half2 s_zc = __hsub2(as_half2(comp(ss, j)), k08);  // (scale, zero - 8)
    const uint4 xx = xt[j * 32];
    __half2 a = __hmul2(__hsub2(as_half2((w0 & 0x000F000Fu) | 0x64006400u), k1032), as_half2(xx.x));
    a = __hfma2(__hsub2(as_half2((w0 & 0x00F000F0u) | 0x54005400u), k72), as_half2(xx.y), a);
    a = __hfma2(__hsub2(as_half2((w1 & 0x000F000Fu) | 0x64006400u), k1032), as_half2(xx.z), a);
    a = __hfma2(__hsub2(as_half2((w1 & 0x00F000F0u) | 0x54005400u), k72), as_half2(xx.w), a);
    a = __hfma2(__hneg2(__high2half2(s_zc)), as_half2(comp(xsm, j)), a);
    t = __hfma2(a, __low2half2(s_zc), t);
  }
  const float2 f = __half22float2(t);
  acc += f.x + f.y;
}

__device__ __forceinline__ void prefetch_l2(const void* p) { asm volatile("prefetch.global.L2 [%0];" ::"l"(p)); }

// PF (run 9): items prefetched into L2 ahead of the ring.
constexpr int kPfItems = 12;

// A warp's run of items and its ring of D tiles in flight (weights and their 32 bytes of scales).
template <int D>
struct Ring {
  uint4 q[D], sv[D];
  const uint4* wp;  // the lane's vector of the warp's first item (advanced by D items per round)
  const uint4* sp;
  int i0, cnt;  // first item (within the block's rows * T) and item count
};

// Warp `warp` of `nwarps` takes its share of the block's `ntiles` items (rows from row0, T tiles each) and
// loads the first D (they depend on nothing: issue them before waiting for the input).
template <int D>
__device__ __forceinline__ void ring_start(Ring<D>& r, const uint4* w4, const uint4* sz4, int row0, int ntiles, int T,
                                           int warp, int nwarps, int lane) {
  r.i0 = (warp * ntiles) / nwarps;
  r.cnt = ((warp + 1) * ntiles) / nwarps - r.i0;
  const size_t g0 = size_t(row0) * T + size_t(r.i0);  // the warp's first item in the matrix
  r.wp = w4 + g0 * 32 + lane;
  r.sp = sz4 + g0 * 2 + (lane >> 4);
#pragma unroll
  for (int u = 0; u < D; ++u)
    if (u < r.cnt) {
      r.q[u] = load_stream(r.wp + u * 32);
      r.sv[u] = load_stream(r.sp + u * 2);
    }
}

// The ring: every item of the run computed against x (xs) and its sums (xsum), a row's per-lane sum added
// to sums[row] (warp reduction, then one shared atomic) or, LANES, part[row * 32 + lane] when the row ends.
// PF: also prefetches the run kPfItems ahead into L2 (wb, sb: the run's first item, bytes).
template <int D, bool LANES, bool PF = false>
__device__ __forceinline__ void ring_run(Ring<D>& r, const uint4* xs, const uint4* xsum, int T, float* sums,
                                         float* part, int lane, const char* wb = nullptr, const char* sb = nullptr) {
  const int cnt = r.cnt;
  int ct = r.i0 % T, cr = r.i0 / T;  // tile and row (within the block) of the next item to compute
  float acc = 0.0f;
  auto step = [&]() {
    if (++ct == T) {
      if (LANES) {  // one conflict-free shared atomic per lane; the lanes are summed at the end
        atomicAdd(&part[cr * 32 + lane], acc);
      } else {
        float v = acc;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (lane == 0) atomicAdd(&sums[cr], v);
      }
      acc = 0.0f;
      ct = 0;
      ++cr;
    }
  };
  int base = 0;
  for (; base + 2 * D <= cnt; base += D) {  // every load of the next round is in range: no checks
    if (PF) {
      const int it = base + kPfItems + (lane >> 2);
      if (lane < 4 * D && it < cnt) prefetch_l2(wb + size_t(it) * 512 + (lane & 3) * 128);
      if (lane == 31 && base + kPfItems < cnt) prefetch_l2(sb + size_t(base + kPfItems) * 32);
    }
    r.wp += D * 32;
    r.sp += D * 2;
#pragma unroll
    for (int u = 0; u < D; ++u) {
      tile_dot(r.q[u], r.sv[u], xs, xsum, ct, lane, acc);
      r.q[u] = load_stream(r.wp + u * 32);
      r.sv[u] = load_stream(r.sp + u * 2);
      step();
    }
  }
  for (; base < cnt; base += D) {
    r.wp += D * 32;
    r.sp += D * 2;
#pragma unroll
    for (int u = 0; u < D; ++u)
      if (base + u < cnt) {
        tile_dot(r.q[u], r.sv[u], xs, xsum, ct, lane, acc);
        if (base + u + D < cnt) {
          r.q[u] = load_stream(r.wp + u * 32);
          r.sv[u] = load_stream(r.sp + u * 2);
        }
        step();
      }
  }
  if (ct != 0 && cnt > 0) {
    ct = T - 1;
    step();
  }
}

}  // namespace gpuperf::validate::q4dev
