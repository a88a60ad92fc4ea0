// whatif_inputs: what the model says of every entry of a what-if scenario — predicted value per
// workload (several cards of one kind included) and whether the workload fits — computed once per
// distinct card and workload, for the calibrated parameters or any draw of them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine.hpp"
#include "gpuperf/whatif.hpp"
#include "gpuperf/workload_predict.hpp"

namespace gpuperf::cli {

class WhatIfInputs {
 public:
  // Builds each workload's graph once. `sc` and `engine` must outlive this object.
  WhatIfInputs(const Engine& engine, const WhatIfScenario& sc);

  // The card an entry names: from the catalog or the scenario's hypothetical cards.
  const Gpu& gpu(const std::string& id) const;
  const std::string& unit(std::size_t workload) const { return graphs_[workload].unit; }

  // One CardInputs per entry of the scenario (price and power of all `count` cards together), each
  // distinct card predicted once per workload under `params`.
  std::vector<CardInputs> inputs(const ParamSet& params) const;

 private:
  const Engine& engine_;
  const WhatIfScenario& sc_;
  std::vector<Workload> graphs_;
  std::vector<MemoryFootprint> footprints_;
  std::vector<bool> layer_split_;
};

}  // namespace gpuperf::cli
