// Loading the whole catalog (parse + validate + cross-check) and deriving every ceiling.
#include <benchmark/benchmark.h>

#include "gpuperf/io/catalog.hpp"

using namespace gpuperf;

static void BM_LoadCatalog(benchmark::State& state) {
  for (auto _ : state) {
    io::Catalog cat = io::load_catalog(GPUPERF_SPECS_DIR);
    benchmark::DoNotOptimize(cat.gpus.data());
  }
}
BENCHMARK(BM_LoadCatalog)->Unit(benchmark::kMillisecond);

static void BM_DeriveCeilings(benchmark::State& state) {
  io::Catalog cat = io::load_catalog(GPUPERF_SPECS_DIR);
  for (auto _ : state) {
    double sum = 0;
    for (const auto& g : cat.gpus) {
      sum += memory_bandwidth_gb_s(g.spec) + fp32_peak_tflops(g.spec) + l2_bandwidth_gb_s(g);
      for (TensorMode m : kAllTensorModes) sum += tensor_ridge_flop_per_byte(g, m).value_or(0);
    }
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(BM_DeriveCeilings);
