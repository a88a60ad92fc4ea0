// compute: the CUDA-core FP32 FMA rate (8 independent FMA chains per thread on a full grid, every
// thread's result compared bit-for-bit with the same FMA sequence on the host), and launch costs:
// launch latency (launch + synchronise round trip; back-to-back launches; queued launches: the GPU-side
// gap per kernel when the host is ahead of the GPU), host dispatch cost of one launch call (queue kept
// short; behind a spin kernel), and a CUDA graph's launch cost per kernel.
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

// Nearly nothing per block: thread 0 stores `value` at its block's slot, so that a check can see that
// every block of the last launch ran. With `pdl` (sm_90), the kernel lets its dependant launch at entry
// and waits for its predecessor before the store (the replay's small kernels do the same), so the
// stores stay in launch order.
__global__ void stamp_kernel(unsigned* __restrict__ slots, unsigned value, int pdl) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (pdl) {
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    asm volatile("griddepcontrol.wait;" ::: "memory");
  }
#endif
  if (threadIdx.x == 0) slots[blockIdx.x] = value;
}

double host_us_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

// Queued launches: the GPU-side gap between kernels launched one by one when the host is ahead of the
// GPU. A spin kernel keeps the GPU busy for `spin_ms` while the host issues `n` launches behind it; the
// gap per kernel is the event time from the spin's end to the last kernel's end, / n. A sample counts
// only if the host had issued every launch (and the closing event) within 0.8 x spin_ms, i.e. while the
// GPU was still spinning, so the queue held them all when the spin ended; if even the warm-up cannot
// (the stream's queue is shallower than n and the host blocked), n is halved.
void run_queued_launches(Context& ctx) {
  const cudaStream_t s = ctx.stream;
  const int reps = ctx.opt.quick ? 5 : 15;
  const double spin_ms = 15.0;
  const int full_grid = ctx.info.sm_count;
  const bool has_pdl = ctx.info.cc_major >= 9;
  DeviceBuffer<unsigned> slots(size_t(std::max(full_grid, 1)));
  struct Variant {
    std::string id, kernel;
    bool stamp, pdl;
    int blocks, threads;
  };
  const std::string grid = std::to_string(full_grid) + "x128";
  std::vector<Variant> variants = {{"launch-latency-queued-empty-1x32", "empty, 1x32", false, false, 1, 32},
                                   {"launch-latency-queued-1x32", "stamp, 1x32", true, false, 1, 32},
                                   {"launch-latency-queued-full-grid", "stamp, " + grid, true, false, full_grid, 128}};
  if (has_pdl) {
    variants.push_back({"launch-latency-queued-pdl-1x32", "stamp, 1x32", true, true, 1, 32});
    variants.push_back({"launch-latency-queued-pdl-full-grid", "stamp, " + grid, true, true, full_grid, 128});
  }
  cudaEvent_t e0, e1, e2;
  GV_CUDA(cudaEventCreate(&e0));
  GV_CUDA(cudaEventCreate(&e1));
  GV_CUDA(cudaEventCreate(&e2));
  for (const Variant& v : variants) {
    unsigned value = 0;
    auto launch = [&] {
      ++value;
      if (!v.stamp) {
        empty_kernel<<<v.blocks, v.threads, 0, s>>>();
      } else if (!v.pdl) {
        stamp_kernel<<<v.blocks, v.threads, 0, s>>>(slots.get(), value, 0);
      } else {
        cudaLaunchConfig_t cfg{};
        cfg.gridDim = dim3(unsigned(v.blocks));
        cfg.blockDim = dim3(unsigned(v.threads));
        cfg.stream = s;
        cudaLaunchAttribute attr;
        allow_pdl(cfg, attr, true);
        GV_CUDA(cudaLaunchKernelEx(&cfg, stamp_kernel, slots.get(), value, 1));
      }
    };
    // One sample: {gap us per kernel, spin ms (GPU), host ms to issue the n launches}; false if the host
    // was not done before 0.8 x spin_ms.
    struct Sample {
      double gap_us, spin_ms, host_ms;
      bool ahead;
    };
    auto sample = [&](int n) {
      GV_CUDA(cudaStreamSynchronize(s));
      GV_CUDA(cudaEventRecord(e0, s));
      launch_spin(s, spin_ms);
      const auto t0 = std::chrono::steady_clock::now();
      GV_CUDA(cudaEventRecord(e1, s));
      for (int i = 0; i < n; ++i) launch();
      GV_CUDA(cudaEventRecord(e2, s));
      const double host_ms = host_us_since(t0) * 1e-3;
      GV_CUDA(cudaEventSynchronize(e2));
      GV_LAUNCHED();
      float spin = 0, queue = 0;
      GV_CUDA(cudaEventElapsedTime(&spin, e0, e1));
      GV_CUDA(cudaEventElapsedTime(&queue, e1, e2));
      return Sample{double(queue) * 1e3 / n, double(spin), host_ms, host_ms < 0.8 * spin_ms};
    };
    int n = ctx.opt.quick ? 200 : 1000;
    GV_CUDA(cudaMemsetAsync(slots.get(), 0xFF, slots.bytes(), s));
    while (n > 50 && !(sample(n).ahead && sample(n).ahead)) n /= 2;  // warm-up, and the queue's depth
    std::vector<double> gap, spin, host;
    int dropped = 0;
    for (int r = 0; r < reps; ++r) {
      Sample x = sample(n);
      if (!x.ahead) {
        ++dropped;
        continue;
      }
      gap.push_back(x.gap_us);
      spin.push_back(x.spin_ms);
      host.push_back(x.host_ms);
    }
    // Checks: enough samples with the queue full; every block of the last launch ran; a gap that is
    // positive and not absurd (a launch takes microseconds; over 100 us per empty kernel is a bug).
    if (gap.empty() || dropped * 2 > reps) {
      ctx.fail(v.id + ": the host could not issue " + std::to_string(n) + " launches within the " +
               std::to_string(spin_ms) + " ms spin in " + std::to_string(dropped) + " of " + std::to_string(reps) +
               " samples (queue not full)");
      continue;
    }
    if (v.stamp) {
      std::vector<unsigned> got(size_t(v.blocks));
      GV_CUDA(cudaMemcpy(got.data(), slots.get(), got.size() * sizeof(unsigned), cudaMemcpyDeviceToHost));
      int wrong = 0;
      for (unsigned g : got) wrong += g != value;
      if (wrong) {
        ctx.fail(v.id + ": " + std::to_string(wrong) + " of " + std::to_string(v.blocks) +
                 " blocks of the last launch did not store its stamp");
        continue;
      }
    }
    const Summary g = summarize(gap);
    if (!(g.min > 0.05 && g.max < 100)) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s: gap per kernel %.4g us (min %.4g, max %.4g) is outside (0.05, 100) us",
                    v.id.c_str(), g.median, g.min, g.max);
      ctx.fail(buf);
      continue;
    }
    const Summary sp = summarize(spin), h = summarize(host);
    ctx.add(make_measurement(v.id, "launch_latency_us", "us", gap,
                             {{"mode", std::string("queued")},
                              {"kernel", v.kernel},
                              {"pdl", std::string(v.pdl ? "yes" : "no")},
                              {"launches", std::int64_t(n)},
                              {"spin_ms", std::round(sp.median * 1000) / 1000},
                              {"host_enqueue_ms", std::round(h.median * 1000) / 1000},
                              {"host_enqueue_ms_max", std::round(h.max * 1000) / 1000},
                              {"host_us_per_launch", std::round(h.median * 1e6 / n) / 1000},
                              {"samples_dropped", std::int64_t(dropped)}}));
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaEventDestroy(e2);
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
  {
    // Host dispatch with the GPU ahead: the same call behind a spin kernel, so no call waits for the queue
    // (the figure to compare with the cuBLASLt call's host cost in gemm.cu, timed the same way).
    const int batch = 100;
    const double spin_ms = 2.0;
    const int n_reps = ctx.opt.quick ? 10 : 50;
    auto q = host_time_behind_spin(s, n_reps, batch, spin_ms, [&] { empty_kernel<<<1, 32, 0, s>>>(); });
    add_queued_host_cost(ctx, "host-dispatch-queued", q, n_reps,
                         {{"api", std::string("<<<>>> (cudaLaunchKernel)")},
                          {"batch", std::int64_t(batch)},
                          {"mode", std::string("queued")},
                          {"spin_ms", spin_ms}});
  }
  run_queued_launches(ctx);
}

}  // namespace gpuperf::validate
