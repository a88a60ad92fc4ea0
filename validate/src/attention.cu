// attention: gpuperf-validate's fused attention kernel (see attention.cuh) and its micro-benchmark.
//
// One block = WARPS warps x 16 query rows; it walks the keys in tiles of 64. Per tile each warp computes
// its 16 x 64 scores S = Q K^T with mma.sync m16n8k16 (Q fragments kept in registers, K's head dimension
// zero-padded to a multiple of 16 in shared memory), updates its rows' running maximum and sum (online
// softmax in base 2), rescales its output accumulators, turns the probabilities into fp16 A fragments in
// registers (the accumulator layout of S is the A layout of P) and adds P V with mma.sync, V's B fragments
// read by ldmatrix.trans. The next K/V tile is loaded by cp.async while the current one is computed.
// Shared-memory rows are padded by 16 bytes so that fragment loads and ldmatrix are free of bank conflicts.
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "attention.cuh"
#include "gemv_q4.cuh"
#include "ptx.cuh"

namespace gpuperf::validate {

namespace {

constexpr int kKeysPerTile = 64;

using ptx::cp_async16;
using ptx::cp_async_commit;
using ptx::ldmatrix_x2_trans;
using ptx::mma16816;
using ptx::pack_half2;
__device__ __forceinline__ void cp_async_wait_all() { ptx::cp_async_wait<0>(); }

// 2^x on the special-function unit, flushing denormals (exp2f adds a range fix-up around the same MUFU op).
__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// A score's probability from x = its scaled score less the row maximum. The probe (EXPS = 2) also takes
// 2^(x - 1), a second exponential ptxas cannot merge with the first, and keeps min(2^x, 2 * 2^(x - 1)):
// the same value, for one more SFU op and three more FP32 ops (the FMA for x - 1, a multiply, a min).
template <int EXPS>
__device__ __forceinline__ float score_exp(float s, float scale_log2, float neg_max) {
  const float e = ex2(fmaf(s, scale_log2, neg_max));
  if constexpr (EXPS == 2)
    return fminf(e, 2.0f * ex2(fmaf(s, scale_log2, neg_max - 1.0f)));
  else
    return e;
}

__device__ __forceinline__ void pdl_enter_attn() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

template <int D>
struct AttnShape {
  static constexpr int DP = (D + 15) / 16 * 16;  // head dim padded for the k-dimension of Q K^T
  static constexpr int LD = DP + 8;              // shared-memory row stride in halves (16 bytes of pad)
  static constexpr int CHUNKS = D / 8;           // 16-byte chunks per row
  static constexpr int NT = D / 8;               // n-tiles of 8 of the output
  static constexpr int KC = DP / 16;             // k-chunks of 16 of Q K^T
};

template <int D, int WARPS>
constexpr size_t attn_smem_bytes() {
  return size_t(WARPS * 16 + 4 * kKeysPerTile) * AttnShape<D>::LD * sizeof(__half);
}

// Blocks per SM the register allocation is bounded for: 16 warps per SM up to d 80 (at most 128
// registers: d 80 needs 146 unbounded, i.e. one block of 8 warps per SM; 85 for 24 warps spills at d 40).
template <int D, int WARPS>
constexpr int attn_min_blocks() {
  return D <= 80 ? 16 / WARPS : 1;
}

template <int D, int WARPS, int EXPS>
__global__ void __launch_bounds__(WARPS * 32, attn_min_blocks<D, WARPS>())
    flash_attn_kernel(const __half* __restrict__ q, const __half* __restrict__ k, const __half* __restrict__ v,
                      __half* __restrict__ o, int q_len, int kv_len, float scale_log2) {
  using S = AttnShape<D>;
  constexpr int BM = WARPS * 16, BN = kKeysPerTile, THREADS = WARPS * 32;
  extern __shared__ __align__(16) unsigned char attn_smem[];
  __half* qs = reinterpret_cast<__half*>(attn_smem);
  __half* ks = qs + BM * S::LD;      // [2][BN][LD]
  __half* vs = ks + 2 * BN * S::LD;  // [2][BN][LD]

  const int tid = int(threadIdx.x), warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const size_t bh = blockIdx.y;
  const int q0 = int(blockIdx.x) * BM;
  const __half* qb = q + bh * size_t(q_len) * D;
  const __half* kb = k + bh * size_t(kv_len) * D;
  const __half* vb = v + bh * size_t(kv_len) * D;

  // Zero the head-dimension padding of Q and both K stages (never written by the loads).
  if constexpr (S::DP > D) {
    for (int r = tid; r < BM + 2 * BN; r += THREADS) {
      __half* row = r < BM ? qs + r * S::LD : ks + (r - BM) * S::LD;
#pragma unroll
      for (int c = D; c < S::DP; c += 8) *reinterpret_cast<uint4*>(row + c) = make_uint4(0, 0, 0, 0);
    }
  }
  pdl_enter_attn();
  for (int i = tid; i < BM * S::CHUNKS; i += THREADS) {
    const int r = i / S::CHUNKS, c = (i - r * S::CHUNKS) * 8;
    const bool ok = q0 + r < q_len;
    cp_async16(qs + r * S::LD + c, ok ? qb + size_t(q0 + r) * D + c : qb, ok);
  }
  auto load_kv = [&](int tile, int stage) {
    const int k0 = tile * BN;
    __half* kd = ks + stage * BN * S::LD;
    __half* vd = vs + stage * BN * S::LD;
    for (int i = tid; i < BN * S::CHUNKS; i += THREADS) {
      const int r = i / S::CHUNKS, c = (i - r * S::CHUNKS) * 8;
      const bool ok = k0 + r < kv_len;
      const size_t off = ok ? size_t(k0 + r) * D + c : 0;
      cp_async16(kd + r * S::LD + c, kb + off, ok);
      cp_async16(vd + r * S::LD + c, vb + off, ok);
    }
  };
  load_kv(0, 0);
  cp_async_commit();
  cp_async_wait_all();
  __syncthreads();

  // This warp's Q rows as A fragments.
  std::uint32_t qa[S::KC][4];
  {
    const __half* r0 = qs + (warp * 16 + g) * S::LD + 2 * t;
    const __half* r1 = r0 + 8 * S::LD;
#pragma unroll
    for (int kc = 0; kc < S::KC; ++kc) {
      qa[kc][0] = *reinterpret_cast<const std::uint32_t*>(r0 + kc * 16);
      qa[kc][1] = *reinterpret_cast<const std::uint32_t*>(r1 + kc * 16);
      qa[kc][2] = *reinterpret_cast<const std::uint32_t*>(r0 + kc * 16 + 8);
      qa[kc][3] = *reinterpret_cast<const std::uint32_t*>(r1 + kc * 16 + 8);
    }
  }
  float acc[S::NT][4];
#pragma unroll
  for (int n = 0; n < S::NT; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f;
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

  const int tiles = (kv_len + BN - 1) / BN;
  for (int j = 0; j < tiles; ++j) {
    if (j + 1 < tiles) load_kv(j + 1, (j + 1) & 1);
    cp_async_commit();
    const __half* kt = ks + (j & 1) * BN * S::LD;
    const __half* vt = vs + (j & 1) * BN * S::LD;
    float s[BN / 8][4];
#pragma unroll
    for (int n = 0; n < BN / 8; ++n) {
      s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
      const __half* kr = kt + (n * 8 + g) * S::LD + 2 * t;
#pragma unroll
      for (int kc = 0; kc < S::KC; ++kc)
        mma16816(s[n], qa[kc], *reinterpret_cast<const std::uint32_t*>(kr + kc * 16),
                 *reinterpret_cast<const std::uint32_t*>(kr + kc * 16 + 8));
    }
    if ((j + 1) * BN > kv_len) {  // keys past the end of the last tile
#pragma unroll
      for (int n = 0; n < BN / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (j * BN + n * 8 + 2 * t + (e & 1) >= kv_len) s[n][e] = -INFINITY;
    }
    float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
    for (int n = 0; n < BN / 8; ++n) {
      mx0 = fmaxf(mx0, fmaxf(s[n][0], s[n][1]));
      mx1 = fmaxf(mx1, fmaxf(s[n][2], s[n][3]));
    }
#pragma unroll
    for (int x = 1; x <= 2; x <<= 1) {
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, x));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, x));
    }
    const float n0 = fmaxf(m0, mx0 * scale_log2), n1 = fmaxf(m1, mx1 * scale_log2);
    const float c0 = ex2(m0 - n0), c1 = ex2(m1 - n1);
    m0 = n0;
    m1 = n1;
    float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
    for (int n = 0; n < BN / 8; ++n) {
      s[n][0] = score_exp<EXPS>(s[n][0], scale_log2, -n0);
      s[n][1] = score_exp<EXPS>(s[n][1], scale_log2, -n0);
      s[n][2] = score_exp<EXPS>(s[n][2], scale_log2, -n1);
      s[n][3] = score_exp<EXPS>(s[n][3], scale_log2, -n1);
      sum0 += s[n][0] + s[n][1];
      sum1 += s[n][2] + s[n][3];
    }
    l0 = l0 * c0 + sum0;
    l1 = l1 * c1 + sum1;
#pragma unroll
    for (int n = 0; n < S::NT; ++n) {
      acc[n][0] *= c0;
      acc[n][1] *= c0;
      acc[n][2] *= c1;
      acc[n][3] *= c1;
    }
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      const std::uint32_t pa[4] = {pack_half2(s[2 * kk][0], s[2 * kk][1]), pack_half2(s[2 * kk][2], s[2 * kk][3]),
                                   pack_half2(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                   pack_half2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
      const __half* vr = vt + (kk * 16 + (lane & 15)) * S::LD;
#pragma unroll
      for (int n = 0; n < S::NT; ++n) {
        std::uint32_t b0, b1;
        ldmatrix_x2_trans(b0, b1, vr + n * 8);
        mma16816(acc[n], pa, b0, b1);
      }
    }
    cp_async_wait_all();
    __syncthreads();
  }
#pragma unroll
  for (int x = 1; x <= 2; x <<= 1) {
    l0 += __shfl_xor_sync(0xffffffffu, l0, x);
    l1 += __shfl_xor_sync(0xffffffffu, l1, x);
  }
  const float i0 = 1.0f / l0, i1 = 1.0f / l1;
  const int r0 = q0 + warp * 16 + g, r1 = r0 + 8;
  __half* ob = o + bh * size_t(q_len) * D;
#pragma unroll
  for (int n = 0; n < S::NT; ++n) {
    if (r0 < q_len)
      *reinterpret_cast<__half2*>(ob + size_t(r0) * D + n * 8 + 2 * t) =
          __floats2half2_rn(acc[n][0] * i0, acc[n][1] * i0);
    if (r1 < q_len)
      *reinterpret_cast<__half2*>(ob + size_t(r1) * D + n * 8 + 2 * t) =
          __floats2half2_rn(acc[n][2] * i1, acc[n][3] * i1);
  }
}

template <int D, int WARPS, int EXPS>
void launch_d(const AttentionArgs& a, cudaStream_t s, bool pdl) {
  auto kern = flash_attn_kernel<D, WARPS, EXPS>;
  constexpr size_t smem = attn_smem_bytes<D, WARPS>();
  static bool attr_set = false;  // per instantiation
  if (!attr_set) {
    GV_CUDA(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    attr_set = true;
  }
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(unsigned((a.q_len + WARPS * 16 - 1) / (WARPS * 16)), unsigned(a.bh));
  cfg.blockDim = dim3(WARPS * 32);
  cfg.dynamicSmemBytes = smem;
  cfg.stream = s;
  cudaLaunchAttribute attr;
  allow_pdl(cfg, attr, pdl);
  const float scale = a.scale > 0 ? a.scale : 1.0f / std::sqrt(float(a.d));
  GV_CUDA(cudaLaunchKernelEx(&cfg, kern, a.q, a.k, a.v, a.o, a.q_len, a.kv_len, scale * 1.4426950408889634f));
}

// 8 warps (128 queries per block: K/V tiles reused by twice the queries) where the queries fill the
// grid; 4 warps for short sequences.
bool wide(const AttentionArgs& a) { return a.q_len >= 1024; }

template <int D>
void launch_pick(const AttentionArgs& a, cudaStream_t s, bool pdl) {
  if (a.exps_per_score == 2) {  // the probe: the wide blocks of the long sequences only
    if (!wide(a)) throw std::runtime_error("flash attention: the exponential probe needs q_len >= 1024");
    launch_d<D, 8, 2>(a, s, pdl);
  } else if (wide(a)) {
    launch_d<D, 8, 1>(a, s, pdl);
  } else {
    launch_d<D, 4, 1>(a, s, pdl);
  }
}

}  // namespace

bool flash_attention_supported(int d) { return d == 40 || d == 64 || d == 80 || d == 128 || d == 160; }

int flash_attention_block_queries(const AttentionArgs& a) { return wide(a) ? 128 : 64; }

void launch_flash_attention(const AttentionArgs& a, cudaStream_t s, bool pdl) {
  if (a.exps_per_score != 1 && a.exps_per_score != 2)
    throw std::runtime_error("flash attention: exps_per_score " + std::to_string(a.exps_per_score) + " (1 or 2)");
  switch (a.d) {
    case 40:
      launch_pick<40>(a, s, pdl);
      break;
    case 64:
      launch_pick<64>(a, s, pdl);
      break;
    case 80:
      launch_pick<80>(a, s, pdl);
      break;
    case 128:
      launch_pick<128>(a, s, pdl);
      break;
    case 160:
      launch_pick<160>(a, s, pdl);
      break;
    default:
      throw std::runtime_error("flash attention: head dim " + std::to_string(a.d) + " not built");
  }
  GV_LAUNCHED();
}

double flash_attention_error(const AttentionArgs& a, int rows_per_head) {
  const int d = a.d;
  const double scale = a.scale > 0 ? a.scale : 1.0 / std::sqrt(double(d));
  auto to_double = [](const std::vector<__half>& h) {
    std::vector<double> v(h.size());
    for (size_t i = 0; i < h.size(); ++i) v[i] = __half2float(h[i]);
    return v;
  };
  double e2 = 0, r2 = 0;
  std::vector<int> heads{0};
  if (a.bh > 1) heads.push_back(a.bh - 1);
  if (a.bh > 2) heads.push_back(a.bh / 2 + 1);
  for (int h : heads) {
    const size_t qn = size_t(a.q_len) * d, kn = size_t(a.kv_len) * d;
    std::vector<__half> qh(qn), kh(kn), vh(kn), oh(qn);
    GV_CUDA(cudaMemcpy(qh.data(), a.q + size_t(h) * qn, qn * 2, cudaMemcpyDeviceToHost));
    GV_CUDA(cudaMemcpy(kh.data(), a.k + size_t(h) * kn, kn * 2, cudaMemcpyDeviceToHost));
    GV_CUDA(cudaMemcpy(vh.data(), a.v + size_t(h) * kn, kn * 2, cudaMemcpyDeviceToHost));
    GV_CUDA(cudaMemcpy(oh.data(), a.o + size_t(h) * qn, qn * 2, cudaMemcpyDeviceToHost));
    const std::vector<double> qd = to_double(qh), kd = to_double(kh), vd = to_double(vh), od = to_double(oh);
    // Rows: the first and last of the sequence, both sides of a block boundary, and spread ones.
    std::vector<int> rows{0,
                          a.q_len - 1,
                          std::min(a.q_len - 1, 63),
                          std::min(a.q_len - 1, 64),
                          std::min(a.q_len - 1, 127),
                          std::min(a.q_len - 1, 128)};
    for (int i = 0; int(rows.size()) < rows_per_head; ++i)
      rows.push_back(int(hash_u32(std::uint64_t(h) * 1000 + i) % std::uint32_t(a.q_len)));
    std::vector<double> sc(size_t(a.kv_len));
    for (int r : rows) {
      double mx = -1e300;
      for (int p = 0; p < a.kv_len; ++p) {
        double dot = 0;
        for (int e = 0; e < d; ++e) dot += qd[size_t(r) * d + e] * kd[size_t(p) * d + e];
        sc[size_t(p)] = dot * scale;
        mx = std::max(mx, sc[size_t(p)]);
      }
      double sum = 0;
      for (auto& x : sc) sum += (x = std::exp(x - mx));
      for (int e = 0; e < d; ++e) {
        double ref = 0;
        for (int p = 0; p < a.kv_len; ++p) ref += sc[size_t(p)] * vd[size_t(p) * d + e];
        ref /= sum;
        double got = od[size_t(r) * d + e];
        if (!std::isfinite(got)) got = 1e300;
        e2 += (got - ref) * (got - ref);
        r2 += ref * ref;
      }
    }
  }
  return std::sqrt(e2 / std::max(r2, 1e-300));
}

void run_attention(Context& ctx) {
  struct Shape {
    const char* res;
    int bh, q_len, kv_len, d;
  };
  // SD 1.5 UNet, CFG batch 2 (x 8 heads): self-attention at each level with attention, cross-attention to
  // the 77 text tokens at the first level; 512x512 (latent 64x64) and 2048x1152 (latent 256x144).
  const Shape shapes[] = {
      {"512x512", 16, 4096, 4096, 40},
      {"512x512", 16, 1024, 1024, 80},
      {"512x512", 16, 256, 256, 160},
      {"512x512", 16, 64, 64, 160},
      {"512x512", 16, 4096, 77, 40},
      {"2048x1152", 16, 36864, 36864, 40},
      {"2048x1152", 16, 9216, 9216, 80},
      {"2048x1152", 16, 2304, 2304, 160},
      {"2048x1152", 16, 576, 576, 160},
      {"2048x1152", 16, 36864, 77, 40},
      // Long prompts (LLaMA-class head dim 128, non-causal): one head's K and V take 16.8 MB at 32768 tokens
      // (inside an H100's L2) and 67 MB at 131072 (beyond it): whether query tiles running together share
      // K/V in the L2 or re-read them from DRAM, as the model assumes beyond its L2 share.
      {"long", 16, 32768, 32768, 128},
      {"long", 4, 131072, 131072, 128},
  };
  const cudaStream_t s = ctx.stream;
  size_t max_q = 0, max_kv = 0;
  for (const Shape& sh : shapes) {
    max_q = std::max(max_q, size_t(sh.bh) * sh.q_len * sh.d);
    max_kv = std::max(max_kv, size_t(sh.bh) * sh.kv_len * sh.d);
  }
  DeviceBuffer<__half> q(max_q), k(max_kv), v(max_kv), o(max_q);
  const int reps = ctx.opt.quick ? 3 : 10;
  unsigned seed = 500;
  for (const Shape& sh : shapes) {
    AttentionArgs a;
    a.q = q.get();
    a.k = k.get();
    a.v = v.get();
    a.o = o.get();
    a.bh = sh.bh;
    a.q_len = sh.q_len;
    a.kv_len = sh.kv_len;
    a.d = sh.d;
    // Fresh inputs per shape; Q's amplitude makes the softmax peaked enough to test the running maximum.
    fill_half(q.get(), size_t(sh.bh) * sh.q_len * sh.d, seed++, 3.0f, s);
    fill_half(k.get(), size_t(sh.bh) * sh.kv_len * sh.d, seed++, 1.0f, s);
    fill_half(v.get(), size_t(sh.bh) * sh.kv_len * sh.d, seed++, 1.0f, s);
    const std::string id = "attention-flash-" + std::string(sh.res) + "-" + std::to_string(sh.q_len) + "x" +
                           std::to_string(sh.kv_len) + "-d" + std::to_string(sh.d);
    const double flops = 4.0 * sh.bh * double(sh.q_len) * sh.kv_len * sh.d;
    // Runs `args` once on a NaN-poisoned output, checks `rows` sampled query rows per head against float64,
    // then times it and adds the figure as `kind`; false (after ctx.fail) when the check fails.
    auto check_and_time = [&](const AttentionArgs& args, const std::string& mid, const char* kind, int rows,
                              std::vector<Condition> extra, const char* kernel) {
      GV_CUDA(cudaMemsetAsync(o.get(), 0xFF, size_t(sh.bh) * sh.q_len * sh.d * 2, s));
      launch_flash_attention(args, s);
      GV_CUDA(cudaStreamSynchronize(s));
      const double err = flash_attention_error(args, rows);
      std::fprintf(stderr, "%s: relative error %.2g against float64\n", mid.c_str(), err);
      if (!(err <= 2e-3)) {
        ctx.fail(mid + ": relative error " + std::to_string(err));
        return false;
      }
      auto call = [&](int) { launch_flash_attention(args, s); };
      auto t = time_batches(s, reps, pick_inner(s, call, 5e-3, 2000), call, 1);
      std::vector<Condition> cond{{"resolution", std::string(sh.res)},
                                  {"batch_heads", std::int64_t(sh.bh)},
                                  {"q_len", std::int64_t(sh.q_len)},
                                  {"kv_len", std::int64_t(sh.kv_len)},
                                  {"head_dim", std::int64_t(sh.d)}};
      cond.insert(cond.end(), extra.begin(), extra.end());
      cond.push_back({"block_queries", std::int64_t(flash_attention_block_queries(args))});
      cond.push_back({"kernel", std::string(kernel)});
      ctx.add(make_measurement(mid, kind, "TFLOP/s", rates_from_times(t, flops, 1e-12), std::move(cond)));
      return true;
    };
    try {
      if (!check_and_time(a, id, "attention_tflops", sh.q_len >= 9216 ? 8 : 24, {},
                          "flash_attn_kernel (mma.sync m16n8k16, online softmax)"))
        continue;
      // The exponential probe: the same kernel taking a second exponential per score (same output). If the
      // SFU work hides under the products (other warps keep the tensor cores busy), the rate holds; if
      // the warps alternate between the two, each score costs 1/16 SM-cycle more (16 per SM-clock), plus
      // 3/128 for the probe's FP32 ops.
      if (sh.q_len >= 1024 && sh.kv_len == sh.q_len) {
        AttentionArgs p = a;
        p.exps_per_score = 2;
        check_and_time(p, id + "-exp2x", "attention_exp_probe_tflops", 8, {{"exps_per_score", std::int64_t(2)}},
                       "flash_attn_kernel + a second exponential per score");
      }
    } catch (const std::exception& e) {
      ctx.fail(id + ": " + e.what());
    }
  }
}

}  // namespace gpuperf::validate
