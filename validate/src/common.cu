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

int pick_inner(cudaStream_t s, const std::function<void(int)>& launch, double min_batch_s, int max_inner) {
  auto t = time_batches(s, 3, 1, launch, 1);
  double best = t[0];
  for (double x : t) best = std::min(best, x);
  if (!(best > 0)) return max_inner;
  double n = std::ceil(min_batch_s / best);
  return static_cast<int>(std::max(1.0, std::min(n, static_cast<double>(max_inner))));
}

}  // namespace gpuperf::validate
