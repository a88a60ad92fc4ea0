#include "gpuperf/io/whatif_loader.hpp"

#include "gpuperf/io/measurements_loader.hpp"
#include "gpuperf/io/yaml_reader.hpp"

namespace gpuperf::io {

namespace fs = std::filesystem;

WhatIfScenario load_whatif_file(const fs::path& path, const Catalog& catalog, const std::vector<ModelSpec>& models,
                                const std::vector<StackSpec>& stacks) {
  MapReader r(load_yaml_file(path), path.string(), "");
  WhatIfScenario sc;
  sc.id = read_spec_header(r, path, kSpecVersion);
  sc.description = r.string("description");
  sc.currency = r.string("currency");
  sc.reference = r.string("reference");
  YAML::Node wl = r.sequence("workloads");
  for (std::size_t i = 0; i < wl.size(); ++i) {
    MapReader w(wl[i], path.string(), "workloads[" + std::to_string(i) + "]");
    WhatIfWorkload x;
    x.name = w.string("name");
    x.model_id = w.string("model");
    const ModelSpec* model = nullptr;
    for (const auto& m : models)
      if (m.id == x.model_id) model = &m;
    if (!model) w.fail("model", "unknown model '" + x.model_id + "'");
    x.stack_id = w.string("stack");
    bool known_stack = false;
    for (const auto& s : stacks) known_stack = known_stack || s.id == x.stack_id;
    if (!known_stack) w.fail("stack", "unknown stack '" + x.stack_id + "'");
    x.weight = w.number_in("weight", 1e-9, 1e9);
    MapReader s(w.node("scenario"), path.string(), w.field_path("scenario"));
    if (!s.yaml().IsMap()) w.fail("scenario", "expected a mapping");
    x.scenario = read_scenario_map(s, *model, x.sd_pass);
    w.finish();
    for (const auto& o : sc.workloads)
      if (o.name == x.name) w.fail("name", "workload '" + x.name + "' given twice");
    sc.workloads.push_back(std::move(x));
  }
  YAML::Node cl = r.sequence("cards");
  bool has_reference = false;
  for (std::size_t i = 0; i < cl.size(); ++i) {
    MapReader c(cl[i], path.string(), "cards[" + std::to_string(i) + "]");
    WhatIfCard x;
    x.gpu_id = c.string("gpu");
    if (!catalog.find_gpu(x.gpu_id)) c.fail("gpu", "unknown GPU '" + x.gpu_id + "'");
    x.price = c.number_in("price", 1e-9, 1e12);
    c.finish();
    for (const auto& o : sc.cards)
      if (o.gpu_id == x.gpu_id) c.fail("gpu", "card '" + x.gpu_id + "' given twice");
    has_reference = has_reference || x.gpu_id == sc.reference;
    sc.cards.push_back(std::move(x));
  }
  if (!has_reference) r.fail("reference", "'" + sc.reference + "' is not one of the cards");
  if (r.has("power")) {
    MapReader p = r.map("power");
    PowerCost pc;
    pc.price_per_kwh = p.number_in("price_per_kwh", 0, 1e6);
    pc.hours_per_day = p.number_in("hours_per_day", 0, 24);
    pc.years = p.number_in("years", 0, 100);
    p.finish();
    sc.power = pc;
  }
  r.string_list("sources");
  r.finish();
  return sc;
}

}  // namespace gpuperf::io
