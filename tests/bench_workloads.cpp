// Graph construction cost: builders run inside predictions and what-if sweeps over every card.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "gpuperf/io/model_loader.hpp"
#include "gpuperf/workloads.hpp"

namespace {

const gpuperf::ModelSpec& model(const char* id) {
  static const auto models = gpuperf::io::load_models(GPUPERF_SPECS_DIR);
  return *gpuperf::io::find_model(models, id);
}

void BM_SdUnetStep512(benchmark::State& state) {
  const auto& sd = *model("sd15").sd();
  gpuperf::SdScenario sc;
  for (auto _ : state) {
    auto g = gpuperf::build_sd_unet_step(sd, sc, 0);
    benchmark::DoNotOptimize(g.ops.data());
  }
}
BENCHMARK(BM_SdUnetStep512);

void BM_Llama13bDecode(benchmark::State& state) {
  const auto& llama = *model("llama-13b").llama();
  gpuperf::LlamaScenario sc;
  for (auto _ : state) {
    auto g = gpuperf::build_llama_decode(llama, sc);
    benchmark::DoNotOptimize(g.ops.data());
  }
}
BENCHMARK(BM_Llama13bDecode);

}  // namespace
