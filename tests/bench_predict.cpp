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

static void BM_PredictSdUnetStep512(benchmark::State& state) {
  Fixture& f = fx();
  Workload w = make_workload(*io::find_model(f.models, "sd15"), SdScenario{}, 0);
  const Gpu& g = *f.catalog.find_gpu("rtx-4090");
  const StackSpec& s = f.stack("a1111-xformers-2023");
  for (auto _ : state) benchmark::DoNotOptimize(predict_workload(g, w, f.params, s).value);
  state.counters["ops"] = static_cast<double>(w.graph.ops.size());
}
BENCHMARK(BM_PredictSdUnetStep512)->Unit(benchmark::kMicrosecond);

static void BM_PredictLlama13bDecode(benchmark::State& state) {
  Fixture& f = fx();
  LlamaScenario sc;
  sc.weights = *weight_format_from_string("gptq4-g128");
  Workload w = make_workload(*io::find_model(f.models, "llama-13b"), sc, 0);
  const Gpu& g = *f.catalog.find_gpu("rtx-3060-12gb");
  const StackSpec& s = f.stack("textgen-gptq-2023");
  for (auto _ : state) benchmark::DoNotOptimize(predict_workload(g, w, f.params, s).value);
  state.counters["ops"] = static_cast<double>(w.graph.ops.size());
}
BENCHMARK(BM_PredictLlama13bDecode)->Unit(benchmark::kMicrosecond);
