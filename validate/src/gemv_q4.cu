// gemv_q4: the 4-bit weight-only GEMV kernel (layout in gemv_q4.cuh) and its benchmark at every
// LLaMA-13B layer shape, against a float64 host reference and the measured DRAM copy bandwidth.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common.cuh"
#include "gemv_q4.cuh"

namespace gpuperf::validate {

namespace {

constexpr int kRowsPerWarp = 2;
constexpr int kWarpsPerBlock = 8;  // 256 threads, 16 rows

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

__device__ __forceinline__ __half2 nibbles(std::uint32_t word, int p) {
  std::uint32_t bits = ((word >> (4 * p)) & 0x000F000Fu) | 0x64006400u;
  __half2 h;
  std::memcpy(&h, &bits, 4);
  return h;
}

__device__ __forceinline__ std::uint32_t comp(const uint4& v, int t) {
  return t == 0 ? v.x : t == 1 ? v.y : t == 2 ? v.z : v.w;
}

// ITERS = ceil(K / 1024): 16-byte vectors per lane per row.
template <int ITERS>
__global__ void __launch_bounds__(256)
    gemv_q4_kernel(const std::uint32_t* __restrict__ w, const __half2* __restrict__ sz, const __half* __restrict__ x,
                   __half* __restrict__ y, int n, int k) {
  const int warp = int((blockIdx.x * blockDim.x + threadIdx.x) >> 5);
  const int lane = int(threadIdx.x & 31);
  const int row0 = warp * kRowsPerWarp;
  if (row0 >= n) return;
  const int blocks = k / 256;  // 256-column blocks per row
  const int groups = k / 128;
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
  const __half2 k1024 = __float2half2_rn(1024.0f);
  const uint4* xv = reinterpret_cast<const uint4*>(x);
  float acc[kRowsPerWarp] = {};
#pragma unroll
  for (int it = 0; it < ITERS; ++it) {
#pragma unroll
    for (int t = 0; t < 4; ++t) {
      const int b = it * 4 + t;
      if (b < blocks) {
        const uint4 xx = __ldg(xv + b * 32 + lane);  // columns b*256 + lane*8 ... + 7: coalesced
        const std::uint32_t xw[4] = {xx.x, xx.y, xx.z, xx.w};
        const int g = b * 2 + (lane >> 4);
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
          const __half2 s_z = sz[size_t(min(row0 + r, n - 1)) * groups + g];
          const __half2 z2 = __half2half2(__high2half(s_z));
          const std::uint32_t word = comp(q[r][it], t);
          __half2 a = __float2half2_rn(0.0f);
#pragma unroll
          for (int p = 0; p < 4; ++p) {
            __half2 xp;
            std::memcpy(&xp, &xw[p], 4);
            a = __hfma2(__hsub2(__hsub2(nibbles(word, p), k1024), z2), xp, a);
          }
          const float2 af = __half22float2(a);
          acc[r] = fmaf(__low2float(s_z), af.x + af.y, acc[r]);
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

template <int ITERS>
void launch_iters(const Q4Weights& w, const __half* x, __half* y, cudaStream_t s) {
  const int rows_per_block = kRowsPerWarp * kWarpsPerBlock;
  const int blocks = (w.n + rows_per_block - 1) / rows_per_block;
  gemv_q4_kernel<ITERS><<<blocks, kWarpsPerBlock * 32, 0, s>>>(w.qweight, w.scale_zero, x, y, w.n, w.k);
}

__global__ void fill_q4(std::uint32_t* qw, size_t words, __half2* sz, size_t groups, unsigned seed) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < words; i += stride) qw[i] = hash_u32(i * 2 + seed);
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < groups; i += stride) {
    // scale ~ 0.01..0.03, zero ~ 6..10 (not an integer: the kernel must not rely on it).
    float s = 0.02f + 0.01f * hash_uniform(i, seed + 17);
    float z = 8.0f + 2.0f * hash_uniform(i, seed + 29);
    sz[i] = __floats2half2_rn(s, z);
  }
}

__global__ void fill_x(__half* x, size_t n, unsigned seed) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    x[i] = __float2half(hash_uniform(i, seed));
}

float h2f(__half h) { return __half2float(h); }

// ||y - ref|| / ||ref|| with a float64 host reference for one weight copy.
double gemv_error(const Q4Weights& w, const __half* x_d, const __half* y_d) {
  const size_t words = size_t(w.n) * Q4Weights::row_words(w.k), groups = size_t(w.n) * (w.k / 128);
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
      const __half2 s_z = sz[size_t(r) * (w.k / 128) + g];
      const double s = __low2float(s_z), z = __high2float(s_z);
      double part = 0;
      for (int c = g * 128; c < g * 128 + 128; ++c) part += (unpack_q4(qw, w.k, r, c) - z) * xf[c];
      ref += s * part;
    }
    double got = h2f(y[r]);
    if (!std::isfinite(got)) got = 1e300;
    err2 += (got - ref) * (got - ref);
    ref2 += ref * ref;
  }
  return std::sqrt(err2 / std::max(ref2, 1e-300));
}

}  // namespace

void launch_gemv_q4(const Q4Weights& w, const __half* x, __half* y, cudaStream_t s) {
  if (w.k % 256 != 0) throw std::runtime_error("gemv_q4: K=" + std::to_string(w.k) + " is not a multiple of 256");
  switch ((w.k + 1023) / 1024) {
    case 1:
      return launch_iters<1>(w, x, y, s);
    case 2:
      return launch_iters<2>(w, x, y, s);
    case 3:
      return launch_iters<3>(w, x, y, s);
    case 4:
      return launch_iters<4>(w, x, y, s);
    case 5:
      return launch_iters<5>(w, x, y, s);
    case 6:
      return launch_iters<6>(w, x, y, s);
    case 7:
      return launch_iters<7>(w, x, y, s);
    case 8:
      return launch_iters<8>(w, x, y, s);
    case 9:
      return launch_iters<9>(w, x, y, s);
    case 10:
      return launch_iters<10>(w, x, y, s);
    case 11:
      return launch_iters<11>(w, x, y, s);
    case 12:
      return launch_iters<12>(w, x, y, s);
    case 13:
      return launch_iters<13>(w, x, y, s);
    case 14:
      return launch_iters<14>(w, x, y, s);
    case 15:
      return launch_iters<15>(w, x, y, s);
    case 16:
      return launch_iters<16>(w, x, y, s);
    default:
      throw std::runtime_error("gemv_q4: K=" + std::to_string(w.k) + " is not supported (at most 16384)");
  }
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
  struct ShapeQ4 {
    const char* label;
    int n, k;
  };
  const ShapeQ4 shapes[] = {{"llama13b-qkvo-5120x5120", 5120, 5120},
                            {"llama13b-gate-up-5120x13824", 13824, 5120},
                            {"llama13b-down-13824x5120", 5120, 13824}};
  // The best measured copy (kernels or cudaMemcpy): the bandwidth a GEMV is held to.
  double copy_gb_s = 0;
  for (const auto& m : ctx.results)
    if (m.kind == "dram_copy_gb_s") copy_gb_s = std::max(copy_gb_s, m.value);
  for (const auto& sh : shapes) {
    Q4Weights proto;
    proto.n = sh.n;
    proto.k = sh.k;
    const double bytes = proto.bytes() + double(sh.k) * 2 + double(sh.n) * 2;
    // Enough weight copies that one rotation is >= 4x L2: every launch streams its weights from DRAM.
    const int copies = int(std::max(2.0, std::ceil(4.0 * ctx.info.l2_bytes / proto.bytes())));
    const size_t words = size_t(sh.n) * Q4Weights::row_words(sh.k), groups = size_t(sh.n) * (sh.k / 128);
    DeviceBuffer<std::uint32_t> qw(words * copies);
    DeviceBuffer<__half2> sz(groups * copies);
    DeviceBuffer<__half> x(size_t(sh.k)), y(size_t(sh.n));
    std::vector<Q4Weights> ws(copies, proto);
    for (int c = 0; c < copies; ++c) {
      ws[c].qweight = qw.get() + words * c;
      ws[c].scale_zero = sz.get() + groups * c;
      fill_q4<<<1024, 256, 0, s>>>(qw.get() + words * c, words, sz.get() + groups * c, groups, 1000u + unsigned(c));
    }
    fill_x<<<64, 256, 0, s>>>(x.get(), size_t(sh.k), 4242u);
    GV_LAUNCHED();
    bool ok = true;
    for (int c : {0, copies - 1}) {
      GV_CUDA(cudaMemsetAsync(y.get(), 0xFF, y.bytes(), s));
      launch_gemv_q4(ws[c], x.get(), y.get(), s);
      GV_LAUNCHED();
      GV_CUDA(cudaStreamSynchronize(s));
      const double rel = gemv_error(ws[c], x.get(), y.get());
      if (!(rel <= 5e-3)) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "gemv_q4 %s copy %d: relative error %.3g exceeds 5e-3", sh.label, c, rel);
        ctx.fail(buf);
        ok = false;
      } else {
        std::fprintf(stderr, "gemv_q4 %s: relative error %.2g against the float64 reference\n", sh.label, rel);
      }
    }
    if (!ok) continue;
    const int reps = ctx.opt.quick ? 5 : 20;
    auto conditions = [&](const char* mode, double kernel_us) {
      std::vector<Condition> c = {{"shape", std::string(sh.label)},
                                  {"n", std::int64_t(sh.n)},
                                  {"k", std::int64_t(sh.k)},
                                  {"group_size", std::int64_t(128)},
                                  {"mode", std::string(mode)},
                                  {"bytes", bytes},
                                  {"weight_copies", std::int64_t(copies)},
                                  {"kernel_us", std::round(kernel_us * 100) / 100}};
      return c;
    };
    // Eager: back-to-back launches rotating over the copies.
    const int inner = copies * std::max(1, 200 / copies);
    auto t = time_batches(
        s, reps, inner, [&](int i) { launch_gemv_q4(ws[i % copies], x.get(), y.get(), s); }, 2);
    auto m = make_measurement(std::string("gemv-q4-") + sh.label + "-eager", "gemv_q4_gb_s", "GB/s",
                              rates_from_times(t, bytes, 1e-9), {});
    m.conditions = conditions("eager", 1e6 * bytes / (m.value * 1e9));
    if (copy_gb_s > 0) m.conditions.push_back({"pct_of_copy", std::round(1000 * m.value / copy_gb_s) / 10});
    ctx.add(m);
    // Graph: the same rotation captured once, replayed.
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    GV_CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < inner; ++i) launch_gemv_q4(ws[i % copies], x.get(), y.get(), s);
    GV_CUDA(cudaStreamEndCapture(s, &graph));
    GV_CUDA(cudaGraphInstantiate(&exec, graph, 0));
    t = time_batches(
        s, reps, 1, [&](int) { GV_CUDA(cudaGraphLaunch(exec, s)); }, 2);
    for (double& v : t) v /= inner;
    m = make_measurement(std::string("gemv-q4-") + sh.label + "-graph", "gemv_q4_gb_s", "GB/s",
                         rates_from_times(t, bytes, 1e-9), {});
    m.conditions = conditions("graph", 1e6 * bytes / (m.value * 1e9));
    if (copy_gb_s > 0) m.conditions.push_back({"pct_of_copy", std::round(1000 * m.value / copy_gb_s) / 10});
    ctx.add(m);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
  }
}

}  // namespace gpuperf::validate
