// compute: the CUDA-core FP32 FMA rate (8 independent FMA chains per thread on a full grid, every
// thread's result compared bit-for-bit with the same FMA sequence on the host), and launch costs:
// launch latency (launch + synchronise round trip; back-to-back launches), host dispatch cost of one
// launch call, and a CUDA graph's launch cost per kernel.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "common.cuh"

namespace gpuperf::validate {

namespace {

constexpr int kChains = 8;

__global__ void fma_kernel(float* __restrict__ out, int iters, float mul, float add) {
  const unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
  float v[kChains];
#pragma unroll
  for (int c = 0; c < kChains; ++c) v[c] = float((t + c) & 1023) * 1e-3f;
  for (int i = 0; i < iters; ++i) {
#pragma unroll
    for (int u = 0; u < 4; ++u) {
#pragma unroll
      for (int c = 0; c < kChains; ++c) v[c] = fmaf(v[c], mul, add);
    }
  }
  float s = 0;
#pragma unroll
  for (int c = 0; c < kChains; ++c) s += v[c];
  out[t] = s;
}

float fma_reference(unsigned t, int iters, float mul, float add) {
  float v[kChains];
  for (int c = 0; c < kChains; ++c) v[c] = float((t + c) & 1023) * 1e-3f;
  for (int i = 0; i < iters * 4; ++i)
    for (int c = 0; c < kChains; ++c) v[c] = std::fma(v[c], mul, add);
  float s = 0;
  for (int c = 0; c < kChains; ++c) s += v[c];
  return s;
}

__global__ void empty_kernel() {}

double host_us_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void run_compute(Context& ctx) {
  const cudaStream_t s = ctx.stream;
  // ---- FP32 FMA ----
  {
    const int threads = 256;
    const int blocks = ctx.info.sm_count * std::max(1, ctx.info.max_threads_per_sm / threads) * 4;
    const int iters = 2048;
    const float mul = 0.999f, add = 1e-3f;
    const size_t n = size_t(blocks) * threads;
    DeviceBuffer<float> out(n);
    GV_CUDA(cudaMemsetAsync(out.get(), 0xFF, out.bytes(), s));
    fma_kernel<<<blocks, threads, 0, s>>>(out.get(), iters, mul, add);
    GV_LAUNCHED();
    std::vector<float> host(n);
    GV_CUDA(cudaMemcpyAsync(host.data(), out.get(), out.bytes(), cudaMemcpyDeviceToHost, s));
    GV_CUDA(cudaStreamSynchronize(s));
    bool ok = true;
    for (unsigned t = 0; t < n && ok; t += 997) ok = host[t] == fma_reference(t, iters, mul, add);
    ok = ok && host[n - 1] == fma_reference(unsigned(n - 1), iters, mul, add);
    if (!ok) {
      ctx.fail("fp32 fma kernel: output differs from the host FMA sequence");
    } else {
      const double flops = double(n) * kChains * 4.0 * iters * 2.0;
      auto t = time_batches(
          s, ctx.opt.quick ? 5 : 15, 4, [&](int) { fma_kernel<<<blocks, threads, 0, s>>>(out.get(), iters, mul, add); },
          2);
      ctx.add(make_measurement("fp32-fma", "fp32_fma_tflops", "TFLOP/s", rates_from_times(t, flops, 1e-12),
                               {{"threads", std::int64_t(n)}, {"chains_per_thread", std::int64_t(kChains)}}));
    }
  }

  // ---- launch costs (an empty kernel: nothing to check but the launch status) ----
  const int reps = ctx.opt.quick ? 200 : 2000;
  for (int i = 0; i < 100; ++i) empty_kernel<<<1, 32, 0, s>>>();
  GV_LAUNCHED();
  GV_CUDA(cudaStreamSynchronize(s));
  {
    // Launch + synchronise, one at a time (host clock around the round trip).
    std::vector<double> us;
    us.reserve(reps);
    for (int i = 0; i < reps; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      empty_kernel<<<1, 32, 0, s>>>();
      GV_CUDA(cudaStreamSynchronize(s));
      us.push_back(host_us_since(t0));
    }
    GV_LAUNCHED();
    ctx.add(make_measurement("launch-latency-sync", "launch_latency_us", "us", us,
                             {{"mode", std::string("synchronised")}, {"kernel", std::string("empty, 1x32")}}));
  }
  {
    // Back-to-back: the GPU-side time per launch of a long queue (event timed).
    auto t = time_batches(
        s, ctx.opt.quick ? 5 : 20, 1000, [&](int) { empty_kernel<<<1, 32, 0, s>>>(); }, 1);
    for (double& x : t) x *= 1e6;
    ctx.add(make_measurement("launch-latency-back-to-back", "launch_latency_us", "us", t,
                             {{"mode", std::string("back_to_back")}, {"kernel", std::string("empty, 1x32")}}));
  }
  {
    // Host dispatch: the time the launch call itself takes on the host (queue kept short).
    std::vector<double> us;
    const int batch = 100;
    for (int r = 0; r < (ctx.opt.quick ? 10 : 50); ++r) {
      GV_CUDA(cudaStreamSynchronize(s));
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < batch; ++i) empty_kernel<<<1, 32, 0, s>>>();
      us.push_back(host_us_since(t0) / batch);
    }
    GV_LAUNCHED();
    GV_CUDA(cudaStreamSynchronize(s));
    ctx.add(make_measurement("host-dispatch", "host_dispatch_us", "us", us,
                             {{"api", std::string("<<<>>> (cudaLaunchKernel)")}, {"batch", std::int64_t(batch)}}));
  }
  {
    // A CUDA graph of 100 empty kernels: GPU time of one graph launch / 100.
    const int kernels = 100;
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    GV_CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < kernels; ++i) empty_kernel<<<1, 32, 0, s>>>();
    GV_CUDA(cudaStreamEndCapture(s, &graph));
    GV_CUDA(cudaGraphInstantiate(&exec, graph, 0));
    size_t nodes = 0;
    GV_CUDA(cudaGraphGetNodes(graph, nullptr, &nodes));
    if (nodes != size_t(kernels)) {
      ctx.fail("graph capture holds " + std::to_string(nodes) + " nodes, expected " + std::to_string(kernels));
    } else {
      auto t = time_batches(
          s, ctx.opt.quick ? 5 : 20, 20, [&](int) { GV_CUDA(cudaGraphLaunch(exec, s)); }, 2);
      for (double& x : t) x = x * 1e6 / kernels;
      ctx.add(make_measurement("graph-launch", "graph_launch_us_per_kernel", "us", t,
                               {{"kernels_per_graph", std::int64_t(kernels)}, {"kernel", std::string("empty, 1x32")}}));
    }
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
  }
}

}  // namespace gpuperf::validate
