// Speed of a what-if price sweep: scenario evaluations (a full ranking of every entry) per second, with
// the per-card predictions made once before the sweep, as `gpuperf whatif` does.
#include <benchmark/benchmark.h>

#include "engine.hpp"
#include "gpuperf/io/whatif_loader.hpp"
#include "whatif_inputs.hpp"

using namespace gpuperf;

namespace {
struct SweepFixture {
  cli::Engine engine = cli::load_engine(GPUPERF_SPECS_DIR, "");
  WhatIfScenario sc =
      io::load_whatif_file(std::filesystem::path(GPUPERF_SPECS_DIR) / "scenarios" / "survey-launch-prices.yaml",
                           engine.catalog, engine.models, engine.stacks);
  std::vector<CardResult> results;
  SweepFixture() {
    std::string error;
    results = evaluate_whatif(sc, cli::WhatIfInputs(engine, sc).inputs(engine.params), error);
    if (!error.empty()) throw std::runtime_error(error);
  }
};
SweepFixture& sweep_fx() {
  static SweepFixture f;
  return f;
}
std::vector<double> grid(double from, double step, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(from + step * i);
  return v;
}
}  // namespace

// Two swept cards (RTX 4090 and RTX 3090, 1000 prices each: 10^6 grid points) among 17 entries.
static void BM_WhatIfPriceSweep(benchmark::State& state) {
  auto& f = sweep_fx();
  std::vector<SweepAxis> axes;
  for (std::size_t i = 0; i < f.results.size(); ++i)
    if (f.results[i].gpu_id == "rtx-4090" || f.results[i].gpu_id == "rtx-3090")
      axes.push_back({i, grid(500, 1.5, static_cast<int>(state.range(0)))});
  std::uint64_t points = 0;
  for (auto _ : state) {
    SweepResult r = sweep_prices(f.results, axes, 0);
    benchmark::DoNotOptimize(r.per_card.data());
    points += r.points;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(points));
}
BENCHMARK(BM_WhatIfPriceSweep)->Arg(1000)->Unit(benchmark::kMillisecond);

// The part that is not a sweep: predicting 17 cards x 3 workloads once (graphs prebuilt).
static void BM_WhatIfPredictEntries(benchmark::State& state) {
  auto& f = sweep_fx();
  cli::WhatIfInputs inputs(f.engine, f.sc);
  for (auto _ : state) benchmark::DoNotOptimize(inputs.inputs(f.engine.params).data());
}
BENCHMARK(BM_WhatIfPredictEntries)->Unit(benchmark::kMillisecond);
