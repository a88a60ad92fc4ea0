// gemm: tensor-core GEMM throughput through cuBLASLt (fp16 with fp16 and fp32 accumulate, bf16, tf32,
// int8, fp8 where the card has it) at 8192^3 and at real workload shapes: SD 1.5 convolutions as
// implicit GEMMs, SD attention as batched GEMMs, LLaMA-13B prefill linears; the weight GEMMs in PyTorch's
// orientation (m = output features, n = tokens: D is row-major tokens x out). Operands are random, the
// layout is TN (the one every dtype supports), the fastest of cuBLASLt's heuristic candidates is kept,
// and sampled outputs are checked against a float64 host reference before timing. Each call is timed in a
// loop of calls (the host issues each one) and, at the workload shapes, also captured N times into a CUDA
// graph that is replayed (the GPU's time per call, without the host's ~6 us per cublasLtMatmul call).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "common.cuh"

namespace gpuperf::validate {

namespace {

enum class El { f16, bf16, f32, i8, e4m3, i32 };

std::size_t el_size(El e) {
  switch (e) {
    case El::f16:
    case El::bf16:
      return 2;
    case El::f32:
    case El::i32:
      return 4;
    case El::i8:
    case El::e4m3:
      return 1;
  }
  return 0;
}
cudaDataType cuda_type(El e) {
  switch (e) {
    case El::f16:
      return CUDA_R_16F;
    case El::bf16:
      return CUDA_R_16BF;
    case El::f32:
      return CUDA_R_32F;
    case El::i8:
      return CUDA_R_8I;
    case El::e4m3:
      return CUDA_R_8F_E4M3;
    case El::i32:
      return CUDA_R_32I;
  }
  return CUDA_R_32F;
}

__global__ void fill_kernel(void* p, size_t n, El e, unsigned seed) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    float u = hash_uniform(i, seed);
    switch (e) {
      case El::f16:
        static_cast<__half*>(p)[i] = __float2half(u);
        break;
      case El::bf16:
        static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16(u);
        break;
      case El::f32:
        static_cast<float*>(p)[i] = u;
        break;
      case El::i8:
        static_cast<signed char*>(p)[i] = static_cast<signed char>(__float2int_rn(u * 15.0f));
        break;
      case El::e4m3:
        static_cast<__nv_fp8_e4m3*>(p)[i] = __nv_fp8_e4m3(u * 2.0f);
        break;
      case El::i32:
        static_cast<int*>(p)[i] = __float2int_rn(u * 1000.0f);
        break;
    }
  }
}

double to_double(const unsigned char* raw, El e) {
  switch (e) {
    case El::f16: {
      __half h;
      std::memcpy(&h, raw, 2);
      return __half2float(h);
    }
    case El::bf16: {
      __nv_bfloat16 h;
      std::memcpy(&h, raw, 2);
      return __bfloat162float(h);
    }
    case El::f32: {
      float f;
      std::memcpy(&f, raw, 4);
      return f;
    }
    case El::i8:
      return static_cast<signed char>(raw[0]);
    case El::e4m3: {
      __nv_fp8_e4m3 v;
      std::memcpy(&v, raw, 1);
      return static_cast<float>(v);
    }
    case El::i32: {
      int v;
      std::memcpy(&v, raw, 4);
      return v;
    }
  }
  return 0;
}

struct Mode {
  std::string dtype, accumulate;
  El ab, cd;
  cublasComputeType_t compute;
  cudaDataType scale;
  double tol;  // relative error ||d - ref|| / ||ref|| over the sampled outputs
  int min_cc;  // major*10+minor
};

struct Shape {
  std::string label;
  std::int64_t m, n, k, batch;
  // "out-major": a weight GEMM in PyTorch's orientation (m = output features, n = tokens); empty: no
  // weights (the square and attention shapes), or the decode host-cost shape as it was.
  std::string orientation;
};

struct Gemm {
  cublasLtHandle_t lt;
  cudaStream_t s;
  void* workspace;
  size_t workspace_bytes;
};

// One cuBLASLt problem: random operands, the matmul descriptors, cuBLASLt's heuristic candidates (up to
// 8), the call, and a sampled check against a float64 host reference.
class LtProblem {
 public:
  LtProblem(Gemm& g, const Mode& mode, const Shape& sh)
      : g_(g),
        mode_(mode),
        sh_(sh),
        id_("gemm-" + mode.dtype + "-acc" + mode.accumulate + "-" + sh.label),
        A_(size_t(sh.m * sh.k * sh.batch) * el_size(mode.ab)),
        B_(size_t(sh.n * sh.k * sh.batch) * el_size(mode.ab)),
        D_(size_t(sh.m * sh.n * sh.batch) * el_size(mode.cd)) {
    fill_kernel<<<1024, 256, 0, g.s>>>(A_.get(), size_t(sh.m * sh.k * sh.batch), mode.ab, 1234u);
    fill_kernel<<<1024, 256, 0, g.s>>>(B_.get(), size_t(sh.n * sh.k * sh.batch), mode.ab, 5678u);
    GV_LAUNCHED();
    Descriptors& d = d_;
    GV_CUBLAS(cublasLtMatmulDescCreate(&d.op, mode.compute, mode.scale));
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    GV_CUBLAS(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    GV_CUBLAS(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    GV_CUBLAS(cublasLtMatrixLayoutCreate(&d.la, cuda_type(mode.ab), sh.k, sh.m, sh.k));
    GV_CUBLAS(cublasLtMatrixLayoutCreate(&d.lb, cuda_type(mode.ab), sh.k, sh.n, sh.k));
    GV_CUBLAS(cublasLtMatrixLayoutCreate(&d.ld, cuda_type(mode.cd), sh.m, sh.n, sh.m));
    if (sh.batch > 1) {
      int bc = int(sh.batch);
      std::int64_t sa = sh.m * sh.k, sb = sh.n * sh.k, sd = sh.m * sh.n;
      for (auto [l, st] : {std::pair{d.la, sa}, std::pair{d.lb, sb}, std::pair{d.ld, sd}}) {
        GV_CUBLAS(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc));
        GV_CUBLAS(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &st, sizeof st));
      }
    }
    GV_CUBLAS(cublasLtMatmulPreferenceCreate(&d.pref));
    GV_CUBLAS(cublasLtMatmulPreferenceSetAttribute(d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &g.workspace_bytes,
                                                   sizeof g.workspace_bytes));
    heuristic_status_ = cublasLtMatmulAlgoGetHeuristic(g.lt, d.op, d.la, d.lb, d.ld, d.ld, d.pref, 8, heur_, &found_);
    if (heuristic_status_ != CUBLAS_STATUS_SUCCESS) found_ = 0;
    // alpha = 1, beta = 0 in the scale type.
    if (mode.scale == CUDA_R_16F) {
      __half one = __float2half(1.0f), zero = __float2half(0.0f);
      std::memcpy(alpha_, &one, 2);
      std::memcpy(beta_, &zero, 2);
    } else if (mode.scale == CUDA_R_32I) {
      int one = 1;
      std::memcpy(alpha_, &one, 4);
    } else {
      float one = 1.0f;
      std::memcpy(alpha_, &one, 4);
    }
  }
  LtProblem(const LtProblem&) = delete;
  LtProblem& operator=(const LtProblem&) = delete;

  const std::string& id() const { return id_; }
  // Candidates found (0: cuBLASLt has no algorithm for this problem here; see heuristic_status()).
  int found() const { return found_; }
  int heuristic_status() const { return int(heuristic_status_); }
  const cublasLtMatmulAlgo_t* algo(int c) const { return &heur_[c].algo; }

  void matmul(const cublasLtMatmulAlgo_t* algo) {
    GV_CUBLAS(cublasLtMatmul(g_.lt, d_.op, alpha_, A_.get(), d_.la, B_.get(), d_.lb, beta_, D_.get(), d_.ld, D_.get(),
                             d_.ld, algo, g_.workspace, g_.workspace_bytes, g_.s));
  }

  // Poisons D, runs `algo` once and compares 48 sampled outputs with a float64 host reference; false
  // (after recording the failed check) if the relative error exceeds the mode's tolerance.
  bool check(Context& ctx, const cublasLtMatmulAlgo_t* algo) {
    return check_after(ctx, id_, [&] { matmul(algo); });
  }
  // The same check of D after `run`, which must write D on the problem's stream (one call, or a graph of
  // calls replayed); `what` names the figure in a failed check.
  bool check_after(Context& ctx, const std::string& what, const std::function<void()>& run) {
    GV_CUDA(cudaMemsetAsync(D_.get(), 0xFF, D_.bytes(), g_.s));
    run();
    GV_CUDA(cudaStreamSynchronize(g_.s));
    const size_t ea = el_size(mode_.ab), ed = el_size(mode_.cd);
    std::vector<unsigned char> acol(size_t(sh_.k) * ea), bcol(size_t(sh_.k) * ea), dv(ed);
    double err2 = 0, ref2 = 0;
    for (int t = 0; t < 48; ++t) {
      std::int64_t bi = std::int64_t(hash_u32(3u * t + 1) % std::uint32_t(sh_.batch));
      std::int64_t i = std::int64_t(hash_u32(3u * t + 2) % std::uint32_t(sh_.m));
      std::int64_t j = std::int64_t(hash_u32(3u * t + 3) % std::uint32_t(sh_.n));
      GV_CUDA(cudaMemcpy(acol.data(), A_.get() + size_t(bi * sh_.m * sh_.k + i * sh_.k) * ea, acol.size(),
                         cudaMemcpyDeviceToHost));
      GV_CUDA(cudaMemcpy(bcol.data(), B_.get() + size_t(bi * sh_.n * sh_.k + j * sh_.k) * ea, bcol.size(),
                         cudaMemcpyDeviceToHost));
      GV_CUDA(cudaMemcpy(dv.data(), D_.get() + size_t(bi * sh_.m * sh_.n + j * sh_.m + i) * ed, ed,
                         cudaMemcpyDeviceToHost));
      double ref = 0;
      for (std::int64_t kk = 0; kk < sh_.k; ++kk)
        ref += to_double(&acol[size_t(kk) * ea], mode_.ab) * to_double(&bcol[size_t(kk) * ea], mode_.ab);
      double got = to_double(dv.data(), mode_.cd);
      if (!std::isfinite(got)) got = 1e300;
      err2 += (got - ref) * (got - ref);
      ref2 += ref * ref;
    }
    const double rel = std::sqrt(err2 / std::max(ref2, 1e-300));
    if (!(rel <= mode_.tol)) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s: relative error %.3g over 48 sampled outputs exceeds %.3g", what.c_str(), rel,
                    mode_.tol);
      ctx.fail(buf);
      return false;
    }
    return true;
  }

 private:
  // The descriptors, destroyed in any case (also when the constructor throws half-way).
  struct Descriptors {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t la = nullptr, lb = nullptr, ld = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    Descriptors() = default;
    Descriptors(const Descriptors&) = delete;
    Descriptors& operator=(const Descriptors&) = delete;
    ~Descriptors() {
      if (pref) cublasLtMatmulPreferenceDestroy(pref);
      if (la) cublasLtMatrixLayoutDestroy(la);
      if (lb) cublasLtMatrixLayoutDestroy(lb);
      if (ld) cublasLtMatrixLayoutDestroy(ld);
      if (op) cublasLtMatmulDescDestroy(op);
    }
  };
  Gemm& g_;
  Mode mode_;
  Shape sh_;
  std::string id_;
  DeviceBuffer<unsigned char> A_, B_, D_;
  Descriptors d_;
  cublasLtMatmulHeuristicResult_t heur_[8] = {};
  int found_ = 0;
  cublasStatus_t heuristic_status_ = CUBLAS_STATUS_SUCCESS;
  alignas(8) unsigned char alpha_[8] = {}, beta_[8] = {};
};

// `calls` calls captured into one CUDA graph on stream `s` and instantiated. The constructor throws if a call
// cannot be captured (or the graph not instantiated), after ending and dropping the broken capture so that
// the stream stays usable.
class CallGraph {
 public:
  CallGraph(cudaStream_t s, int calls, const std::function<void()>& call) : s_(s) {
    GV_CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    try {
      for (int i = 0; i < calls; ++i) call();
    } catch (...) {
      cudaGraph_t broken = nullptr;
      cudaStreamEndCapture(s, &broken);
      if (broken) cudaGraphDestroy(broken);
      cudaGetLastError();
      throw;
    }
    GV_CUDA(cudaStreamEndCapture(s, &h_.graph));
    GV_CUDA(cudaGraphGetNodes(h_.graph, nullptr, &nodes_));
    GV_CUDA(cudaGraphInstantiate(&h_.exec, h_.graph, 0));
  }
  CallGraph(const CallGraph&) = delete;
  CallGraph& operator=(const CallGraph&) = delete;
  void launch() const { GV_CUDA(cudaGraphLaunch(h_.exec, s_)); }
  std::size_t nodes() const { return nodes_; }

 private:
  // Destroyed in any case (also when the constructor throws half-way).
  struct Handles {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    Handles() = default;
    Handles(const Handles&) = delete;
    Handles& operator=(const Handles&) = delete;
    ~Handles() {
      if (exec) cudaGraphExecDestroy(exec);
      if (graph) cudaGraphDestroy(graph);
    }
  };
  cudaStream_t s_;
  Handles h_;
  std::size_t nodes_ = 0;
};

// The graph-launched figure of one case: the autotuned algorithm's calls captured into a CUDA graph (N calls,
// N picked so that one replay takes about 2 ms of GPU time: first from the loop's time per call, then, if the
// first graph replays in under 1.5 ms, from the graph's own time per call), the graph replayed in the timed
// batches; seconds per call = replay time / N. So the GPU's time per call is timed, not the host's issue
// rate (run 22: 6.23 us of host per cublasLtMatmul call). D is checked after the replays (poisoned, one
// more replay, the sampled comparison); a call that cannot be captured skips the figure (line on stderr).
// The figure's id is p.id() + `suffix` ("-graph": the autotuned algorithm; "-graph-heuristic": the
// heuristic's first candidate, what cuBLAS's default choice and PyTorch get).
void run_graph_case(Context& ctx, LtProblem& p, const cublasLtMatmulAlgo_t* algo, cudaStream_t s, double flops,
                    const std::string& unit, double loop_s_per_call, int reps, std::vector<Condition> cond,
                    const std::string& suffix = "-graph") {
  const std::string id = p.id() + suffix;
  const double target_s = 2e-3;
  const int max_calls = 4000;
  auto calls_for = [&](double s_per_call) {
    const double n = s_per_call > 0 ? std::ceil(target_s / s_per_call) : double(max_calls);
    return int(std::clamp(n, 1.0, double(max_calls)));
  };
  auto capture = [&](int calls) -> std::unique_ptr<CallGraph> {
    try {
      return std::make_unique<CallGraph>(s, calls, [&] { p.matmul(algo); });
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gemm: %s: the call could not be captured into a CUDA graph (%s), skipped\n", id.c_str(),
                   e.what());
      cudaGetLastError();
      return nullptr;
    }
  };
  int calls = calls_for(loop_s_per_call);
  std::unique_ptr<CallGraph> graph = capture(calls);
  if (!graph) return;
  auto replay = [&](int) { graph->launch(); };
  const auto probe = time_batches(s, 2, 1, replay, 1);
  const double probe_s = *std::min_element(probe.begin(), probe.end());
  if (probe_s < 0.75 * target_s && calls < max_calls) {
    calls = calls_for(probe_s / calls);
    graph.reset();
    graph = capture(calls);
    if (!graph) return;
  }
  if (graph->nodes() != std::size_t(calls))
    std::fprintf(stderr, "gemm: %s: %d calls captured as %zu graph nodes\n", id.c_str(), calls, graph->nodes());
  SmClockSampler clocks(ctx.nvml);
  auto t = time_batches(s, reps, 1, replay, 2, &clocks);
  for (double& v : t) v /= calls;
  if (!p.check_after(ctx, id, [&] { graph->launch(); })) return;
  cond.push_back({"launch", std::string("graph")});
  cond.push_back({"calls_per_graph", std::int64_t(calls)});
  for (auto& c : sm_clock_conditions(clocks.mhz())) cond.push_back(std::move(c));
  ctx.add(make_measurement(id, "gemm_tflops", unit, rates_from_times(t, flops, 1e-12), std::move(cond)));
}

// Runs one case: checks the heuristic's first candidate, times every candidate briefly, re-checks the
// fastest and times it in a loop of calls (skipped, after a line on stderr, if cuBLASLt has no algorithm
// here); with `graph`, then also the same algorithm's calls captured into a CUDA graph (run_graph_case),
// both figures with the condition best_candidate (the autotuned candidate's index), and, where that is not
// the heuristic's first, the first one's calls in a graph too (`-graph-heuristic`, algo: heuristic's first:
// the default choice that the replay and PyTorch get, against the best of up to 8).
void run_case(Context& ctx, Gemm& g, const Mode& mode, const Shape& sh, int reps, bool graph = false) {
  LtProblem p(g, mode, sh);
  const cudaStream_t s = g.s;
  if (p.found() == 0) {
    std::fprintf(stderr, "gemm: %s: cuBLASLt has no algorithm here (status %d), skipped\n", p.id().c_str(),
                 p.heuristic_status());
    return;
  }
  if (!p.check(ctx, p.algo(0))) return;
  const double flops = 2.0 * double(sh.m) * double(sh.n) * double(sh.k) * double(sh.batch);
  // Autotune among the heuristic's candidates.
  int best = 0;
  double best_t = 1e30, first_t = 0;
  for (int c = 0; c < p.found(); ++c) {
    auto call = [&](int) { p.matmul(p.algo(c)); };
    int inner = pick_inner(s, call, 2e-3, 2000);
    auto t = time_batches(s, 3, inner, call);
    double tm = *std::min_element(t.begin(), t.end());
    if (c == 0) first_t = tm;
    if (tm < best_t) best_t = tm, best = c;
  }
  if (best != 0 && !p.check(ctx, p.algo(best))) return;
  auto call = [&](int) { p.matmul(p.algo(best)); };
  int inner = pick_inner(s, call, 5e-3, 5000);
  // The SM clock is sampled through the timed window (the dense GEMMs run power-limited).
  SmClockSampler clocks(ctx.nvml);
  auto t = time_batches(s, reps, inner, call, 2, &clocks);
  std::vector<Condition> base = {{"dtype", mode.dtype},
                                 {"accumulate", mode.accumulate},
                                 {"m", sh.m},
                                 {"n", sh.n},
                                 {"k", sh.k},
                                 {"batch", sh.batch},
                                 {"shape", sh.label},
                                 {"layout", std::string("TN")},
                                 {"library", std::string("cublasLt")},
                                 {"candidates", std::int64_t(p.found())}};
  if (!sh.orientation.empty()) base.push_back({"orientation", sh.orientation});
  if (graph) base.push_back({"best_candidate", std::int64_t(best)});
  const std::string unit = mode.dtype == "int8" ? "TOPS" : "TFLOP/s";
  std::vector<Condition> cond = base;
  for (auto& c : sm_clock_conditions(clocks.mhz())) cond.push_back(std::move(c));
  ctx.add(make_measurement(p.id(), "gemm_tflops", unit, rates_from_times(t, flops, 1e-12), std::move(cond)));
  if (!graph) return;
  run_graph_case(ctx, p, p.algo(best), s, flops, unit, *std::min_element(t.begin(), t.end()), reps, base);
  if (best != 0) {
    std::vector<Condition> hc = base;
    hc.push_back({"algo", std::string("heuristic's first")});
    run_graph_case(ctx, p, p.algo(0), s, flops, unit, first_t, reps, std::move(hc), "-graph-heuristic");
  }
}

// Host cost of one cublasLtMatmul call: the algorithm chosen beforehand (the heuristic's first), the
// workspace preallocated, the output checked; then host time per call in batches issued behind a spin
// kernel, so that no call waits for the GPU (compare host-dispatch-queued, the plain launch timed the
// same way). The graph nodes one call records (kernels, memsets) are counted by capturing it once.
void run_matmul_host_cost(Context& ctx, Gemm& g, const Mode& mode, const Shape& sh) {
  LtProblem p(g, mode, sh);
  const std::string id = "host-dispatch-cublaslt-" + mode.dtype + "-acc" + mode.accumulate + "-" + sh.label;
  if (p.found() == 0) {
    std::fprintf(stderr, "gemm: %s: cuBLASLt has no algorithm here (status %d), skipped\n", id.c_str(),
                 p.heuristic_status());
    return;
  }
  if (!p.check(ctx, p.algo(0))) return;
  std::int64_t nodes = -1;
  {
    cudaGraph_t graph = nullptr;
    GV_CUDA(cudaStreamBeginCapture(g.s, cudaStreamCaptureModeThreadLocal));
    try {
      p.matmul(p.algo(0));
    } catch (const std::exception&) {  // not capturable: leave the count out
    }
    if (cudaStreamEndCapture(g.s, &graph) == cudaSuccess && graph) {
      size_t n = 0;
      if (cudaGraphGetNodes(graph, nullptr, &n) == cudaSuccess) nodes = std::int64_t(n);
      cudaGraphDestroy(graph);
    }
    cudaGetLastError();
  }
  const int batch = 100, reps = ctx.opt.quick ? 10 : 50;
  const double spin_ms = 10.0;  // room for 100 calls of up to 80 us each
  auto q = host_time_behind_spin(g.s, reps, batch, spin_ms, [&] { p.matmul(p.algo(0)); });
  // Checked again after the timed calls (same algorithm, same workspace).
  if (!p.check(ctx, p.algo(0))) return;
  std::vector<Condition> cond = {{"api", std::string("cublasLtMatmul")},
                                 {"batch", std::int64_t(batch)},
                                 {"mode", std::string("queued")},
                                 {"spin_ms", spin_ms},
                                 {"dtype", mode.dtype},
                                 {"accumulate", mode.accumulate},
                                 {"m", sh.m},
                                 {"n", sh.n},
                                 {"k", sh.k},
                                 {"shape", sh.label},
                                 {"algo", std::string("heuristic's first")}};
  if (!sh.orientation.empty()) cond.push_back({"orientation", sh.orientation});
  if (nodes >= 0) cond.push_back({"graph_nodes_per_call", nodes});
  add_queued_host_cost(ctx, id, q, reps, std::move(cond));
}

}  // namespace

void run_gemm(Context& ctx) {
  Gemm g{};
  g.s = ctx.stream;
  GV_CUBLAS(cublasLtCreate(&g.lt));
  g.workspace_bytes = 64u << 20;
  DeviceBuffer<unsigned char> ws(g.workspace_bytes);
  g.workspace = ws.get();
  const int cc = ctx.info.cc_major * 10 + ctx.info.cc_minor;
  const int reps = ctx.opt.quick ? 5 : 15;

  const Mode fp16_16{"fp16", "fp16", El::f16, El::f16, CUBLAS_COMPUTE_16F, CUDA_R_16F, 3e-2, 70};
  const Mode fp16_32{"fp16", "fp32", El::f16, El::f16, CUBLAS_COMPUTE_32F, CUDA_R_32F, 1e-2, 70};
  const Mode bf16_32{"bf16", "fp32", El::bf16, El::bf16, CUBLAS_COMPUTE_32F, CUDA_R_32F, 1.5e-2, 80};
  const Mode tf32{"tf32", "fp32", El::f32, El::f32, CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_32F, 5e-3, 80};
  const Mode int8{"int8", "int32", El::i8, El::i32, CUBLAS_COMPUTE_32I, CUDA_R_32I, 0.0, 75};
  const Mode fp8{"fp8", "fp32", El::e4m3, El::f16, CUBLAS_COMPUTE_32F, CUDA_R_32F, 1e-2, 89};

  const std::int64_t big = ctx.opt.quick ? 4096 : 8192;
  const Shape square{"square-" + std::to_string(big), big, big, big, 1, ""};
  for (const Mode* m : {&fp16_16, &fp16_32, &bf16_32, &tf32, &int8, &fp8}) {
    if (cc < m->min_cc) continue;
    run_case(ctx, g, *m, square, reps);
  }
  // Workload shapes (fp16 operands, fp32 accumulate: what PyTorch asks cuBLAS for). The weight GEMMs are
  // stated in PyTorch's orientation for y = x W^T with row-major tensors (orientation: out-major, run 28):
  // m = the output features (the weight's rows), n = the tokens or pixels, k = the input features, so D
  // (m x n column-major, leading dimension m) is PyTorch's row-major tokens x out, and the replay calls
  // cuBLAS the same way (run 26). Until run 27 the large shapes had tokens as m (D tokens x out column-major,
  // leading dimension the tokens): the labels are kept, m and n carry the new values. The attention QK^T
  // and PV products have no weights and keep their batched shapes (no orientation condition).
  const std::string out_major = "out-major";
  const std::vector<Shape> shapes = {
      // Convolutions as implicit GEMMs: out channels x pixels (CFG batch 2) x 9 * in channels.
      {"sd15-conv-64x64-320", 320, 2 * 64 * 64, 320 * 9, 1, out_major},
      {"sd15-conv-32x32-640", 640, 2 * 32 * 32, 640 * 9, 1, out_major},
      {"sd15-conv-16x16-1280", 1280, 2 * 16 * 16, 1280 * 9, 1, out_major},
      {"sd15-conv-8x8-1280", 1280, 2 * 8 * 8, 1280 * 9, 1, out_major},
      {"sd15-attn-qk-64x64", 4096, 4096, 40, 2 * 8, ""},
      {"sd15-attn-pv-64x64", 4096, 40, 4096, 2 * 8, ""},
      // LLaMA-13B prefill of 512 tokens: out features x 512 x in features.
      {"llama13b-prefill512-qkvo", 5120, 512, 5120, 1, out_major},
      {"llama13b-prefill512-gate-up", 13824, 512, 5120, 1, out_major},
      {"llama13b-prefill512-down", 5120, 512, 13824, 1, out_major},
      // SD transformer linear layers (out x tokens x in; run 13's replay showed them slower than the model):
      // q/k/v/out at the first two levels, the GEGLU projection and the feed-forward output at the first.
      {"sd15-linear-64x64-320", 320, 2 * 64 * 64, 320, 1, out_major},
      {"sd15-linear-32x32-640", 640, 2 * 32 * 32, 640, 1, out_major},
      {"sd15-ff-proj-64x64-320", 2560, 2 * 64 * 64, 320, 1, out_major},
      {"sd15-ff-out-64x64-320", 320, 2 * 64 * 64, 1280, 1, out_major},
      // The rest of the SD 512x512 step's linear layers (run 24): q/k/v/out (and proj_in/out), the GEGLU
      // projection and the feed-forward output at the 16x16 level and the middle block (8x8), the 32x32
      // level's feed-forward; cross-attention K/V from the 77-token text (2 x 77 rows); the time embedding's
      // linears (2 rows). The K/V and time-embedding labels give m x n x k (out x rows x in); their
      // tokens-major twins (m = 154 or 2, D's leading dimension no multiple of 8 elements; runs 24-27 as
      // sd15-xattn-kv-154x320x768, sd15-temb-2x1280x320, ...) are gone.
      {"sd15-linear-16x16-1280", 1280, 2 * 16 * 16, 1280, 1, out_major},
      {"sd15-ff-proj-16x16-1280", 10240, 2 * 16 * 16, 1280, 1, out_major},
      {"sd15-ff-out-16x16-1280", 1280, 2 * 16 * 16, 5120, 1, out_major},
      {"sd15-ff-proj-32x32-640", 5120, 2 * 32 * 32, 640, 1, out_major},
      {"sd15-ff-out-32x32-640", 640, 2 * 32 * 32, 2560, 1, out_major},
      {"sd15-linear-8x8-1280", 1280, 2 * 8 * 8, 1280, 1, out_major},
      {"sd15-ff-proj-8x8-1280", 10240, 2 * 8 * 8, 1280, 1, out_major},
      {"sd15-ff-out-8x8-1280", 1280, 2 * 8 * 8, 5120, 1, out_major},
      {"sd15-xattn-kv-320x154x768", 320, 2 * 77, 768, 1, out_major},
      {"sd15-xattn-kv-640x154x768", 640, 2 * 77, 768, 1, out_major},
      {"sd15-xattn-kv-1280x154x768", 1280, 2 * 77, 768, 1, out_major},
      {"sd15-temb-1280x2x320", 1280, 2, 320, 1, out_major},
      {"sd15-temb-1280x2x1280", 1280, 2, 1280, 1, out_major},
      {"sd15-temb-640x2x1280", 640, 2, 1280, 1, out_major},
      {"sd15-temb-320x2x1280", 320, 2, 1280, 1, out_major},
  };
  auto shape = [&](const char* label) -> const Shape& {
    for (const Shape& sh : shapes)
      if (sh.label == label) return sh;
    throw std::logic_error(std::string("gemm: no workload shape ") + label);
  };
  // Each also captured into a CUDA graph (`-graph` ids, launch: graph): the small ones' loops time the host.
  // A shape whose call throws (a candidate cuBLASLt cannot run after all) is recorded as failed and the
  // others still run.
  for (const auto& sh : shapes) {
    try {
      run_case(ctx, g, fp16_32, sh, reps, /*graph=*/true);
    } catch (const std::exception& e) {
      ctx.fail("gemm: " + sh.label + ": " + e.what() + " (shape skipped)");
      cudaGetLastError();
    }
  }
  for (const char* label : {"sd15-conv-64x64-320", "llama13b-prefill512-qkvo", "llama13b-prefill512-gate-up"})
    run_case(ctx, g, fp16_16, shape(label), reps);
  // Host cost of one cublasLtMatmul call: an SD linear layer (out-major, as above) and a LLaMA-13B decode
  // linear (one token; m = 1 as in every run since run 12).
  for (const Shape& sh : {shape("sd15-linear-64x64-320"), Shape{"llama13b-decode-1x5120x5120", 1, 5120, 5120, 1, ""}})
    run_matmul_host_cost(ctx, g, fp16_32, sh);
  GV_CUBLAS(cublasLtDestroy(g.lt));
}

}  // namespace gpuperf::validate
