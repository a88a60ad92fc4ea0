#include <chrono>
#include <cmath>
#include <cstdio>

#include "common.cuh"

namespace gpuperf::validate {

void throw_cuda(const char* call, const char* file, int line, const std::string& what) {
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + call + ": " + what);
}

bool Options::wants(const std::string& suite) const {
  if (only.empty()) return true;
  for (const auto& s : only)
    if (s == suite) return true;
  return false;
}

void Context::add(Measurement m) {
  if (sample_clocks) {
    sample_clocks();
    if (!info.sm_clocks_seen_mhz.empty())
      m.conditions.push_back({"sm_mhz_after", static_cast<std::int64_t>(info.sm_clocks_seen_mhz.back())});
  }
  auto verdict = refusal(m, peaks);
  std::fprintf(stderr, "[%3zu] %-26s %-40s %10.4g %-7s (min %.4g, max %.4g, noise %.1f%%, n=%d)%s%s\n",
               results.size() + 1, m.kind.c_str(), m.id.c_str(), m.value, m.unit.c_str(), m.stats.min, m.stats.max,
               m.stats.noise_pct, m.stats.repeats, verdict ? "  REFUSED: " : "", verdict ? verdict->c_str() : "");
  results.push_back(std::move(m));
}

void Context::fail(const std::string& what) {
  std::fprintf(stderr, "CHECK FAILED: %s\n", what.c_str());
  failures.push_back(what);
}

double Context::value_of(const std::string& id) const {
  for (const auto& m : results)
    if (m.id == id) return m.value;
  return std::nan("");
}

std::vector<double> time_batches(cudaStream_t s, int reps, int inner, const std::function<void(int)>& launch,
                                 int warmup, SmClockSampler* clocks) {
  cudaEvent_t a, b;
  GV_CUDA(cudaEventCreate(&a));
  GV_CUDA(cudaEventCreate(&b));
  int idx = 0;
  for (int w = 0; w < warmup; ++w)
    for (int i = 0; i < inner; ++i) launch(idx++);
  GV_LAUNCHED();
  GV_CUDA(cudaStreamSynchronize(s));
  std::vector<double> out;
  out.reserve(reps);
  if (clocks) clocks->start();
  for (int r = 0; r < reps; ++r) {
    GV_CUDA(cudaEventRecord(a, s));
    for (int i = 0; i < inner; ++i) launch(idx++);
    GV_CUDA(cudaEventRecord(b, s));
    GV_CUDA(cudaEventSynchronize(b));
    GV_LAUNCHED();
    float ms = 0;
    GV_CUDA(cudaEventElapsedTime(&ms, a, b));
    out.push_back(ms * 1e-3 / inner);
  }
  if (clocks) clocks->stop();
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return out;
}

std::vector<double> time_graph(cudaStream_t s, int reps, int calls, const std::function<void()>& record,
                               SmClockSampler* clocks) {
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  GV_CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  try {
    record();
  } catch (...) {  // leave the stream usable: end (and drop) the broken capture
    cudaGraph_t broken = nullptr;
    cudaStreamEndCapture(s, &broken);
    if (broken) cudaGraphDestroy(broken);
    cudaGetLastError();
    throw;
  }
  GV_CUDA(cudaStreamEndCapture(s, &graph));
  GV_CUDA(cudaGraphInstantiate(&exec, graph, 0));
  auto t = time_batches(
      s, reps, 1, [&](int) { GV_CUDA(cudaGraphLaunch(exec, s)); }, 2, clocks);
  for (double& v : t) v /= calls;
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  return t;
}

namespace {

__global__ void spin_kernel(unsigned long long ns) {
  unsigned long long t0, t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  } while (t - t0 < ns);
}

}  // namespace

void launch_spin(cudaStream_t s, double ms) {
  spin_kernel<<<1, 1, 0, s>>>(static_cast<unsigned long long>(ms * 1e6));
  GV_LAUNCHED();
}

QueuedHostTimes host_time_behind_spin(cudaStream_t s, int reps, int batch, double spin_ms,
                                      const std::function<void()>& call, int warmup) {
  QueuedHostTimes out;
  for (int r = 0; r < warmup + reps; ++r) {
    GV_CUDA(cudaStreamSynchronize(s));
    launch_spin(s, spin_ms);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < batch; ++i) call();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r < warmup) continue;
    if (ms > 0.8 * spin_ms) {
      ++out.dropped;
      continue;
    }
    out.us_per_call.push_back(ms * 1e3 / batch);
    out.batch_ms.push_back(ms);
  }
  GV_LAUNCHED();
  GV_CUDA(cudaStreamSynchronize(s));
  return out;
}

void add_queued_host_cost(Context& ctx, const std::string& id, const QueuedHostTimes& q, int reps,
                          std::vector<Condition> conditions) {
  if (q.us_per_call.empty() || q.dropped * 2 > reps) {
    ctx.fail(id + ": " + std::to_string(q.dropped) + " of " + std::to_string(reps) +
             " batches outlasted their spin kernel (the GPU was not ahead of the host)");
    return;
  }
  const Summary u = summarize(q.us_per_call);
  if (!(u.min > 0.05 && u.max < 1000)) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s: host time per call %.4g us (min %.4g, max %.4g) is outside (0.05, 1000) us",
                  id.c_str(), u.median, u.min, u.max);
    ctx.fail(buf);
    return;
  }
  conditions.push_back({"batch_host_ms", std::round(summarize(q.batch_ms).median * 1000) / 1000});
  conditions.push_back({"samples_dropped", std::int64_t(q.dropped)});
  ctx.add(make_measurement(id, "host_dispatch_us", "us", q.us_per_call, std::move(conditions)));
}

int pick_inner(cudaStream_t s, const std::function<void(int)>& launch, double min_batch_s, int max_inner) {
  auto t = time_batches(s, 3, 1, launch, 1);
  double best = t[0];
  for (double x : t) best = std::min(best, x);
  if (!(best > 0)) return max_inner;
  double n = std::ceil(min_batch_s / best);
  return static_cast<int>(std::max(1.0, std::min(n, static_cast<double>(max_inner))));
}

}  // namespace gpuperf::validate
