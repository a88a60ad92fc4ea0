// memory: DRAM read, write and copy bandwidth over a buffer-size sweep (1 MiB to 4 GiB), the L2 knee
// (where the read bandwidth falls from the cache plateau to the DRAM plateau) and the L2 read bandwidth.
// Kernels move 16-byte vectors, four in flight per thread, on a grid that fills the card. The read
// kernel's sum, the write kernel's pattern and the copy's destination are checked before timing.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common.cuh"

namespace gpuperf::validate {

namespace {

constexpr int kThreads = 256;
constexpr double kMiB = 1024.0 * 1024.0;

__device__ __forceinline__ unsigned sum4(uint4 v) { return v.x + v.y + v.z + v.w; }

// Sums every 32-bit word `passes` times; L2-only loads (ld.global.cg) so repeated passes over a small
// buffer measure L2, not L1.
__global__ void read_kernel(const uint4* __restrict__ p, size_t n, int passes, unsigned* __restrict__ sum) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  const size_t t = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  unsigned acc = 0;
  for (int pass = 0; pass < passes; ++pass) {
    size_t i = t;
    for (; i + 3 * stride < n; i += 4 * stride) {
      uint4 a = __ldcg(p + i), b = __ldcg(p + i + stride), c = __ldcg(p + i + 2 * stride),
            d = __ldcg(p + i + 3 * stride);
      acc += sum4(a) + sum4(b) + sum4(c) + sum4(d);
    }
    for (; i < n; i += stride) acc += sum4(__ldcg(p + i));
  }
  for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
  if ((threadIdx.x & 31) == 0) atomicAdd(sum, acc);
}

__device__ __forceinline__ uint4 pattern(size_t i, unsigned seed) {
  unsigned w = unsigned(i * 4) + seed;
  return make_uint4(w, w + 1, w + 2, w + 3);
}

__global__ void write_kernel(uint4* __restrict__ p, size_t n, unsigned seed) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + 3 * stride < n; i += 4 * stride) {
    p[i] = pattern(i, seed);
    p[i + stride] = pattern(i + stride, seed);
    p[i + 2 * stride] = pattern(i + 2 * stride, seed);
    p[i + 3 * stride] = pattern(i + 3 * stride, seed);
  }
  for (; i < n; i += stride) p[i] = pattern(i, seed);
}

__global__ void copy_kernel(const uint4* __restrict__ src, uint4* __restrict__ dst, size_t n) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + 3 * stride < n; i += 4 * stride) {
    uint4 a = src[i], b = src[i + stride], c = src[i + 2 * stride], d = src[i + 3 * stride];
    dst[i] = a;
    dst[i + stride] = b;
    dst[i + 2 * stride] = c;
    dst[i + 3 * stride] = d;
  }
  for (; i < n; i += stride) dst[i] = src[i];
}

// The same copy with evict-first loads and stores (ld.global.cs / st.global.cs): streamed data does not
// displace the rest of L2.
__global__ void copy_streaming_kernel(const uint4* __restrict__ src, uint4* __restrict__ dst, size_t n) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + 3 * stride < n; i += 4 * stride) {
    uint4 a = __ldcs(src + i), b = __ldcs(src + i + stride), c = __ldcs(src + i + 2 * stride),
          d = __ldcs(src + i + 3 * stride);
    __stcs(dst + i, a);
    __stcs(dst + i + stride, b);
    __stcs(dst + i + 2 * stride, c);
    __stcs(dst + i + 3 * stride, d);
  }
  for (; i < n; i += stride) __stcs(dst + i, __ldcs(src + i));
}

// Reference check on the GPU: counts vectors that differ from pattern(i, seed).
__global__ void check_pattern(const uint4* __restrict__ p, size_t n, unsigned seed,
                              unsigned long long* __restrict__ bad) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  unsigned long long mine = 0;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    uint4 v = p[i], w = pattern(i, seed);
    mine += (v.x != w.x) | (v.y != w.y) | (v.z != w.z) | (v.w != w.w);
  }
  if (mine) atomicAdd(bad, mine);
}

int blocks_for(const Context& ctx, size_t n) {
  const size_t full = size_t(ctx.info.sm_count) * std::max(1, ctx.info.max_threads_per_sm / kThreads);
  return int(std::max<size_t>(1, std::min(full, (n + kThreads - 1) / kThreads)));
}

// Expected read_kernel sum over words pattern(i, 0) = 0, 1, 2, ... for n vectors, `passes` times, mod 2^32.
unsigned expected_sum(size_t n, int passes) {
  unsigned long long words = n * 4ULL;
  unsigned long long s = (words % 2 == 0) ? (words / 2) * (words - 1) : words * ((words - 1) / 2);
  return unsigned(s * unsigned(passes));
}

void check_zero(unsigned long long* bad_d, const char* what, double mib) {
  unsigned long long bad = 0;
  GV_CUDA(cudaMemcpy(&bad, bad_d, sizeof bad, cudaMemcpyDeviceToHost));
  if (bad) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s at %.0f MiB: %llu vectors differ from the reference", what, mib, bad);
    throw std::runtime_error(buf);
  }
}

}  // namespace

void run_memory(Context& ctx) {
  const cudaStream_t s = ctx.stream;
  size_t free_b = 0, total_b = 0;
  GV_CUDA(cudaMemGetInfo(&free_b, &total_b));
  const double max_mib = std::min(ctx.opt.quick ? 1024.0 : 4096.0, std::floor(free_b / 2.5 / kMiB));
  std::vector<double> sizes = {1,  2,  4,  8,  12, 16,  20,  24,  28,  32,   36,   40,  44,
                               48, 56, 64, 80, 96, 128, 192, 256, 512, 1024, 2048, 4096};
  sizes.erase(std::remove_if(sizes.begin(), sizes.end(), [&](double m) { return m > max_mib; }), sizes.end());
  const size_t nmax = size_t(sizes.back() * kMiB) / 16;
  DeviceBuffer<uint4> a(nmax), b(nmax);
  DeviceBuffer<unsigned> sum(1);
  DeviceBuffer<unsigned long long> bad(1);
  const int reps = ctx.opt.quick ? 5 : 10;
  const double l2_mib = ctx.info.l2_bytes / kMiB;

  // Source pattern: word i = i (pattern seed 0).
  write_kernel<<<blocks_for(ctx, nmax), kThreads, 0, s>>>(a.get(), nmax, 0u);
  GV_LAUNCHED();
  GV_CUDA(cudaStreamSynchronize(s));

  std::vector<SweepPoint> read_sweep;
  Measurement big_read, big_write, big_copy;
  for (double mib : sizes) {
    const size_t n = size_t(mib * kMiB) / 16;
    const double bytes = double(n) * 16;
    const int grid = blocks_for(ctx, n);
    // Read: passes so that one launch moves >= 256 MiB (steady state, not launch overhead).
    const int passes = int(std::max(1.0, std::ceil(256.0 / mib)));
    GV_CUDA(cudaMemsetAsync(sum.get(), 0, sizeof(unsigned), s));
    read_kernel<<<grid, kThreads, 0, s>>>(a.get(), n, passes, sum.get());
    GV_LAUNCHED();
    unsigned got = 0;
    GV_CUDA(cudaMemcpyAsync(&got, sum.get(), sizeof got, cudaMemcpyDeviceToHost, s));
    GV_CUDA(cudaStreamSynchronize(s));
    if (got != expected_sum(n, passes))
      throw std::runtime_error("read kernel sum wrong at " + std::to_string(mib) + " MiB");
    auto rd = [&](int) { read_kernel<<<grid, kThreads, 0, s>>>(a.get(), n, passes, sum.get()); };
    int inner = pick_inner(s, rd, 2e-3, 1000);
    auto t = time_batches(s, reps, inner, rd);
    auto m = make_measurement("sweep-read-" + yaml_number(mib) + "mib", "bw_sweep_gb_s", "GB/s",
                              rates_from_times(t, bytes * passes, 1e-9),
                              {{"op", std::string("read")}, {"buffer_mib", mib}, {"passes", std::int64_t(passes)}});
    read_sweep.push_back({mib, m.value});
    ctx.add(m);

    // Write: poison, write, check, time.
    GV_CUDA(cudaMemsetAsync(b.get(), 0xA5, n * 16, s));
    write_kernel<<<grid, kThreads, 0, s>>>(b.get(), n, 77u);
    GV_LAUNCHED();
    GV_CUDA(cudaMemsetAsync(bad.get(), 0, sizeof(unsigned long long), s));
    check_pattern<<<blocks_for(ctx, n), kThreads, 0, s>>>(b.get(), n, 77u, bad.get());
    GV_LAUNCHED();
    GV_CUDA(cudaStreamSynchronize(s));
    check_zero(bad.get(), "write kernel", mib);
    auto wr = [&](int) { write_kernel<<<grid, kThreads, 0, s>>>(b.get(), n, 77u); };
    inner = pick_inner(s, wr, 2e-3, 1000);
    t = time_batches(s, reps, inner, wr);
    ctx.add(make_measurement("sweep-write-" + yaml_number(mib) + "mib", "bw_sweep_gb_s", "GB/s",
                             rates_from_times(t, bytes, 1e-9), {{"op", std::string("write")}, {"buffer_mib", mib}}));

    // Copy (bytes read + bytes written).
    GV_CUDA(cudaMemsetAsync(b.get(), 0x5A, n * 16, s));
    copy_kernel<<<grid, kThreads, 0, s>>>(a.get(), b.get(), n);
    GV_LAUNCHED();
    GV_CUDA(cudaMemsetAsync(bad.get(), 0, sizeof(unsigned long long), s));
    check_pattern<<<blocks_for(ctx, n), kThreads, 0, s>>>(b.get(), n, 0u, bad.get());
    GV_LAUNCHED();
    GV_CUDA(cudaStreamSynchronize(s));
    check_zero(bad.get(), "copy kernel", mib);
    auto cp = [&](int) { copy_kernel<<<grid, kThreads, 0, s>>>(a.get(), b.get(), n); };
    inner = pick_inner(s, cp, 2e-3, 1000);
    t = time_batches(s, reps, inner, cp);
    ctx.add(make_measurement("sweep-copy-" + yaml_number(mib) + "mib", "bw_sweep_gb_s", "GB/s",
                             rates_from_times(t, 2 * bytes, 1e-9), {{"op", std::string("copy")}, {"buffer_mib", mib}}));
  }

  // Headline DRAM figures at the largest size (far beyond L2), more repeats.
  {
    const double mib = sizes.back();
    const size_t n = nmax;
    const double bytes = double(n) * 16;
    const int grid = blocks_for(ctx, n);
    const int hreps = ctx.opt.quick ? 10 : 30;
    const std::vector<Condition> cond = {{"buffer_mib", mib}, {"method", std::string("kernel")}};
    auto t = time_batches(
        s, hreps, 1, [&](int) { read_kernel<<<grid, kThreads, 0, s>>>(a.get(), n, 1, sum.get()); }, 2);
    ctx.add(make_measurement("dram-read", "dram_read_gb_s", "GB/s", rates_from_times(t, bytes, 1e-9), cond));
    t = time_batches(
        s, hreps, 1, [&](int) { write_kernel<<<grid, kThreads, 0, s>>>(b.get(), n, 77u); }, 2);
    ctx.add(make_measurement("dram-write", "dram_write_gb_s", "GB/s", rates_from_times(t, bytes, 1e-9), cond));
    t = time_batches(
        s, hreps, 1, [&](int) { copy_kernel<<<grid, kThreads, 0, s>>>(a.get(), b.get(), n); }, 2);
    ctx.add(make_measurement("dram-copy", "dram_copy_gb_s", "GB/s", rates_from_times(t, 2 * bytes, 1e-9), cond));
    // Streaming copy, checked like the plain one.
    GV_CUDA(cudaMemsetAsync(b.get(), 0x22, n * 16, s));
    copy_streaming_kernel<<<grid, kThreads, 0, s>>>(a.get(), b.get(), n);
    GV_LAUNCHED();
    GV_CUDA(cudaMemsetAsync(bad.get(), 0, sizeof(unsigned long long), s));
    check_pattern<<<blocks_for(ctx, n), kThreads, 0, s>>>(b.get(), n, 0u, bad.get());
    GV_LAUNCHED();
    GV_CUDA(cudaStreamSynchronize(s));
    check_zero(bad.get(), "streaming copy kernel", mib);
    t = time_batches(
        s, hreps, 1, [&](int) { copy_streaming_kernel<<<grid, kThreads, 0, s>>>(a.get(), b.get(), n); }, 2);
    ctx.add(make_measurement("dram-copy-streaming", "dram_copy_gb_s", "GB/s", rates_from_times(t, 2 * bytes, 1e-9),
                             {{"buffer_mib", mib}, {"method", std::string("kernel, ld/st.global.cs")}}));
    // cudaMemcpy device-to-device, checked like the kernel copy.
    GV_CUDA(cudaMemsetAsync(b.get(), 0x11, n * 16, s));
    GV_CUDA(cudaMemcpyAsync(b.get(), a.get(), n * 16, cudaMemcpyDeviceToDevice, s));
    GV_CUDA(cudaMemsetAsync(bad.get(), 0, sizeof(unsigned long long), s));
    check_pattern<<<blocks_for(ctx, n), kThreads, 0, s>>>(b.get(), n, 0u, bad.get());
    GV_LAUNCHED();
    GV_CUDA(cudaStreamSynchronize(s));
    check_zero(bad.get(), "cudaMemcpy", mib);
    t = time_batches(
        s, hreps, 1, [&](int) { GV_CUDA(cudaMemcpyAsync(b.get(), a.get(), n * 16, cudaMemcpyDeviceToDevice, s)); }, 2);
    ctx.add(make_measurement("dram-copy-memcpy", "dram_copy_gb_s", "GB/s", rates_from_times(t, 2 * bytes, 1e-9),
                             {{"buffer_mib", mib}, {"method", std::string("cudaMemcpy")}}));
  }

  // L2: a buffer of a quarter of the reported L2, read many times per launch.
  {
    const double mib = std::max(1.0, std::floor(l2_mib / 4));
    const size_t n = size_t(mib * kMiB) / 16;
    const int grid = blocks_for(ctx, n);
    const int passes = int(std::ceil(1024.0 / mib));
    GV_CUDA(cudaMemsetAsync(sum.get(), 0, sizeof(unsigned), s));
    read_kernel<<<grid, kThreads, 0, s>>>(a.get(), n, passes, sum.get());
    GV_LAUNCHED();
    unsigned got = 0;
    GV_CUDA(cudaMemcpyAsync(&got, sum.get(), sizeof got, cudaMemcpyDeviceToHost, s));
    GV_CUDA(cudaStreamSynchronize(s));
    if (got != expected_sum(n, passes)) throw std::runtime_error("L2 read kernel sum wrong");
    auto t = time_batches(
        s, ctx.opt.quick ? 10 : 30, 1,
        [&](int) { read_kernel<<<grid, kThreads, 0, s>>>(a.get(), n, passes, sum.get()); }, 2);
    ctx.add(make_measurement(
        "l2-read", "l2_read_gb_s", "GB/s", rates_from_times(t, double(n) * 16 * passes, 1e-9),
        {{"buffer_mib", mib}, {"passes", std::int64_t(passes)}, {"load", std::string("ld.global.cg")}}));
  }

  if (auto knee = l2_knee_mib(read_sweep, l2_mib)) {
    ctx.add(make_measurement(
        "l2-knee", "l2_knee_mib", "MiB", {std::round(*knee * 10) / 10},
        {{"method", std::string("read sweep, halfway from L2 plateau to DRAM plateau")}, {"reported_l2_mib", l2_mib}}));
  } else {
    std::fprintf(stderr, "memory: no L2 knee found in the read sweep\n");
  }
}

}  // namespace gpuperf::validate
