// Speed of one prediction on a prebuilt graph: an SD UNet step and a LLaMA decode token.
#include <benchmark/benchmark.h>

#include "gpuperf/io/catalog.hpp"
#include "gpuperf/io/model_loader.hpp"
#include "gpuperf/io/params_loader.hpp"
#include "gpuperf/workload_predict.hpp"

using namespace gpuperf;

namespace {
struct Fixture {
  io::Catalog catalog = io::load_catalog(GPUPERF_SPECS_DIR);
  std::vector<ModelSpec> models = io::load_models(GPUPERF_SPECS_DIR);
  std::vector<StackSpec> stacks = io::load_stacks(GPUPERF_SPECS_DIR);
  ParamSet params = io::load_params(GPUPERF_SPECS_DIR, io::default_calibration(GPUPERF_SPECS_DIR));
  const StackSpec& stack(const char* id) {
    for (const auto& s : stacks)
      if (s.id == id) return s;
    return stacks.front();
  }
};
Fixture& fx() {
  static Fixture f;
  return f;
}
}  // namespace

// One prediction: the step simulated on a card with parameters already resolved for its architecture
// and stack (resolution is per parameter set, not per prediction: see BM_ResolveParameters).
static void predict_step(benchmark::State& state, const char* gpu, const Workload& w, const char* stack) {
  Fixture& f = fx();
  const Gpu& g = *f.catalog.find_gpu(gpu);
  const StackSpec& s = f.stack(stack);
  std::vector<std::string> missing;
  HardwareParams hw = resolve_hardware(f.params, g.arch.id, missing, s.id);
  StackParams sp = resolve_stack(f.params, s, missing);
  for (auto _ : state) benchmark::DoNotOptimize(simulate_step(g, w.graph, hw, sp).seconds);
  state.counters["ops"] = static_cast<double>(w.graph.ops.size());
}

static void BM_PredictSdUnetStep512(benchmark::State& state) {
  Fixture& f = fx();
  Workload w = make_workload(*io::find_model(f.models, "sd15"), SdScenario{}, 0, f.stack("a1111-xformers-2023"));
  predict_step(state, "rtx-4090", w, "a1111-xformers-2023");
}
BENCHMARK(BM_PredictSdUnetStep512)->Unit(benchmark::kMicrosecond);

static void BM_PredictLlama13bDecode(benchmark::State& state) {
  Fixture& f = fx();
  LlamaScenario sc;
  sc.weights = *weight_format_from_string("gptq4-g128");
  Workload w = make_workload(*io::find_model(f.models, "llama-13b"), sc, 0, f.stack("textgen-gptq-2023"));
  predict_step(state, "rtx-3060-12gb", w, "textgen-gptq-2023");
}
BENCHMARK(BM_PredictLlama13bDecode)->Unit(benchmark::kMicrosecond);

// The whole call a command makes: parameter resolution by name plus the step.
static void BM_PredictWorkloadWithResolution(benchmark::State& state) {
  Fixture& f = fx();
  LlamaScenario sc;
  sc.weights = *weight_format_from_string("gptq4-g128");
  Workload w = make_workload(*io::find_model(f.models, "llama-13b"), sc, 0, f.stack("textgen-gptq-2023"));
  const Gpu& g = *f.catalog.find_gpu("rtx-3060-12gb");
  const StackSpec& s = f.stack("textgen-gptq-2023");
  for (auto _ : state) benchmark::DoNotOptimize(predict_workload(g, w, f.params, s).value);
}
BENCHMARK(BM_PredictWorkloadWithResolution)->Unit(benchmark::kMicrosecond);
