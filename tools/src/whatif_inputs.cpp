#include "whatif_inputs.hpp"

#include <variant>

#include "gpuperf/units.hpp"

namespace gpuperf::cli {

WhatIfInputs::WhatIfInputs(const Engine& engine, const WhatIfScenario& sc) : engine_(engine), sc_(sc) {
  for (const auto& w : sc.workloads) {
    const ModelSpec& m = engine.model(w.model_id);
    graphs_.push_back(make_workload(m, w.scenario, w.sd_pass, engine.stack(w.stack_id)));
    footprints_.push_back(memory_footprint(m, w.scenario));
    layer_split_.push_back(std::holds_alternative<LlamaScenario>(w.scenario));
  }
}

const Gpu& WhatIfInputs::gpu(const std::string& id) const {
  for (const auto& g : sc_.hypothetical)
    if (g.spec.id == id) return g;
  return require_gpu(engine_.catalog, id);
}

std::vector<CardInputs> WhatIfInputs::inputs(const ParamSet& params) const {
  std::map<std::string, std::vector<WorkloadPrediction>> predicted;  // per distinct card
  std::vector<CardInputs> out;
  for (const auto& c : sc_.cards) {
    const Gpu& g = gpu(c.gpu_id);
    auto [it, fresh] = predicted.try_emplace(c.gpu_id);
    if (fresh)
      for (std::size_t w = 0; w < sc_.workloads.size(); ++w)
        it->second.push_back(predict_workload(g, graphs_[w], params, engine_.stack(sc_.workloads[w].stack_id)));
    CardInputs in;
    in.gpu_id = c.gpu_id;
    in.label = c.label;
    in.price = c.price * c.count;
    in.tdp_w = g.spec.tdp_w * c.count;
    for (std::size_t w = 0; w < sc_.workloads.size(); ++w) {
      const WorkloadPrediction& p = it->second[w];
      const MemoryFootprint& fp = footprints_[w];
      double capacity = units::gib_to_bytes(g.spec.memory.capacity_gib);
      std::string no_room;
      if (!p.error.empty()) {
        no_room = p.error;
      } else if (!fits_on_cards(fp.weight_bytes, fp.kv_cache_bytes, fp.activation_bytes, capacity, c.count,
                                layer_split_[w])) {
        double need =
            layer_split_[w] ? (fp.weight_bytes + fp.kv_cache_bytes) / c.count + fp.activation_bytes : fp.total();
        no_room = "needs " + format_sig(units::bytes_to_gib(need), 3) + " GiB per card, has " +
                  format_sig(g.spec.memory.capacity_gib, 3) + " GiB";
      }
      double hop_s = sc_.hop_latency_us.value_or(0.0) * 1e-6;
      in.values.push_back(p.error.empty() ? multi_card_value(p.value, c.count, layer_split_[w], hop_s) : 0.0);
      in.no_room.push_back(no_room);
    }
    out.push_back(std::move(in));
  }
  return out;
}

}  // namespace gpuperf::cli
