#include "gpuperf/io/whatif_loader.hpp"

#include <cmath>
#include <utility>
#include <variant>

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
  sc.market = r.choice("market", {"launch", "street", "used"});
  if (r.has("hypothetical_cards")) {
    YAML::Node hl = r.sequence("hypothetical_cards");
    for (std::size_t i = 0; i < hl.size(); ++i) {
      MapReader h(hl[i], path.string(), "hypothetical_cards[" + std::to_string(i) + "]");
      std::string id = h.string("id");
      if (!valid_id(id)) h.fail("id", "'" + id + "' must be lowercase letters, digits and single dashes");
      if (catalog.find_gpu(id)) h.fail("id", "'" + id + "' is a card of the catalog; name the hypothetical card apart");
      for (const auto& o : sc.hypothetical)
        if (o.spec.id == id) h.fail("id", "hypothetical card '" + id + "' given twice");
      std::string base_id = h.string("base");
      const Gpu* base = catalog.find_gpu(base_id);
      if (!base) h.fail("base", "unknown GPU '" + base_id + "'");
      MapReader o = h.map("overrides");
      Gpu g = read_hypothetical_gpu(o, id, *base, catalog.arches);
      if (auto n = h.optional_string("notes")) g.spec.notes = *n;
      h.finish();
      sc.hypothetical.push_back(std::move(g));
    }
  }
  auto known_gpu = [&](const std::string& id) {
    if (catalog.find_gpu(id)) return true;
    for (const auto& g : sc.hypothetical)
      if (g.spec.id == id) return true;
    return false;
  };
  YAML::Node cl = r.sequence("cards");
  for (std::size_t i = 0; i < cl.size(); ++i) {
    MapReader c(cl[i], path.string(), "cards[" + std::to_string(i) + "]");
    WhatIfCard x;
    x.gpu_id = c.string("gpu");
    if (!known_gpu(x.gpu_id)) c.fail("gpu", "unknown GPU '" + x.gpu_id + "' (neither in the catalog nor hypothetical)");
    x.market = c.has("market") ? c.choice("market", {"launch", "street", "used"}) : sc.market;
    if (c.has("count")) x.count = static_cast<int>(c.int_in("count", 1, 64));
    YAML::Node price = c.node("price");
    std::string price_field = c.field_path("price");
    constexpr double kMaxPrice = 1e12;
    constexpr std::size_t kMaxGridPoints = 1000000;
    if (price.IsScalar()) {
      x.price = c.number_in("price", 1e-9, kMaxPrice);
    } else if (price.IsSequence()) {
      if (price.size() == 0) c.fail("price", "an empty list of prices");
      if (price.size() > kMaxGridPoints) c.fail("price", "more than 1000000 prices in one grid");
      for (std::size_t k = 0; k < price.size(); ++k) {
        double v = scalar_number(price[k], path.string(), price_field + "[" + std::to_string(k) + "]");
        if (!(v >= 1e-9 && v <= kMaxPrice))
          c.fail_node(price[k], price_field + "[" + std::to_string(k) + "]", "must be in [1e-09, 1e+12]");
        x.price_grid.push_back(v);
      }
    } else if (price.IsMap()) {
      MapReader g(price, path.string(), price_field);
      double from = g.number_in("from", 1e-9, kMaxPrice), to = g.number_in("to", 1e-9, kMaxPrice);
      double step = g.number_in("step", 1e-9, kMaxPrice);
      g.finish();
      if (to < from) g.fail("to", "must not be below 'from'");
      double n = std::floor((to - from) / step * (1 + 1e-12)) + 1;
      if (n > static_cast<double>(kMaxGridPoints))
        g.fail("step", "the grid has " + std::to_string(static_cast<long long>(n)) + " prices, more than 1000000");
      for (std::size_t k = 0; k < static_cast<std::size_t>(n); ++k)
        x.price_grid.push_back(from + step * static_cast<double>(k));
    } else {
      c.fail("price", "expected a number, a list of numbers or {from, to, step}");
    }
    if (!x.price_grid.empty()) x.price = x.price_grid.front();
    if (x.price_grid.size() == 1) x.price_grid.clear();
    if (c.has("label")) {
      x.label = c.string("label");
      if (x.label.empty() || x.label.size() > 80) c.fail("label", "must be 1 to 80 characters");
    } else {
      x.label = (x.count > 1 ? std::to_string(x.count) + "x " : "") + x.gpu_id +
                (x.market != sc.market ? " (" + x.market + ")" : "");
    }
    c.finish();
    for (const auto& o : sc.cards)
      if (o.label == x.label)
        c.fail(c.has("label") ? "label" : "gpu",
               "card '" + x.label + "' given twice (give each entry its own 'label')");
    sc.cards.push_back(std::move(x));
  }
  bool has_reference = false;
  for (const auto& c : sc.cards) has_reference = has_reference || c.label == sc.reference;
  if (!has_reference) r.fail("reference", "'" + sc.reference + "' is not one of the cards");
  if (r.has("compare")) {
    YAML::Node pl = r.sequence("compare");
    for (std::size_t i = 0; i < pl.size(); ++i) {
      MapReader p(pl[i], path.string(), "compare[" + std::to_string(i) + "]");
      std::string a = p.string("a"), b = p.string("b");
      for (const auto& [key, label] : {std::pair{"a", a}, std::pair{"b", b}}) {
        bool found = false;
        for (const auto& c : sc.cards) found = found || c.label == label;
        if (!found) p.fail(key, "'" + label + "' is not one of the cards");
      }
      if (a == b) p.fail("b", "compares '" + a + "' with itself");
      p.finish();
      sc.compare.emplace_back(a, b);
    }
  }
  bool multi = false, layer_split = false;
  for (const auto& c : sc.cards) multi = multi || c.count > 1;
  for (const auto& w : sc.workloads) layer_split = layer_split || std::holds_alternative<LlamaScenario>(w.scenario);
  if (r.has("multi_card")) {
    MapReader m = r.map("multi_card");
    sc.hop_latency_us = m.number_in("llm_hop_latency_us", 0, 1e6);
    m.finish();
  } else if (multi && layer_split) {
    r.fail("cards",
           "a card has count > 1 and a workload is a LLaMA model: give multi_card.llm_hop_latency_us "
           "(the hand-over of the hidden state from one card to the next, per token)");
  }
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
