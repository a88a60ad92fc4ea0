#include "gpuperf/whatif.hpp"

#include <algorithm>
#include <boost/math/tools/roots.hpp>
#include <cmath>

namespace gpuperf {

std::optional<double> break_even_price(double merit, double energy_cost, double target_merit_per_money) {
  if (!(merit > 0) || !(target_merit_per_money > 0)) return std::nullopt;
  auto f = [&](double p) { return merit / (p + energy_cost) - target_merit_per_money; };
  double lo = 0, hi = 1;
  if (energy_cost <= 0) lo = 1e-12;    // merit / p is unbounded at 0
  if (f(lo) < 0) return std::nullopt;  // even free, the card is worth less than the target
  while (f(hi) > 0) {
    hi *= 2;
    if (hi > 1e15) return std::nullopt;
  }
  boost::uintmax_t iterations = 200;
  auto [a, b] = boost::math::tools::toms748_solve(f, lo, hi, boost::math::tools::eps_tolerance<double>(48), iterations);
  return 0.5 * (a + b);
}

std::vector<CardResult> evaluate_whatif(const WhatIfScenario& sc, const std::vector<CardInputs>& cards,
                                        std::string& error) {
  std::vector<CardResult> out;
  const CardInputs* ref = nullptr;
  for (const auto& c : cards)
    if (c.gpu_id == sc.reference) ref = &c;
  if (!ref) {
    error = "the reference card '" + sc.reference + "' is not among the cards";
    return out;
  }
  for (std::size_t w = 0; w < sc.workloads.size(); ++w)
    if (!ref->no_room[w].empty() || !(ref->values[w] > 0)) {
      error = "the reference card '" + sc.reference + "' cannot run workload '" + sc.workloads[w].name +
              "': " + ref->no_room[w];
      return out;
    }
  double weight_sum = 0;
  for (const auto& w : sc.workloads) weight_sum += w.weight;
  auto energy_of = [&](double tdp_w) {
    if (!sc.power) return 0.0;
    return tdp_w / 1000.0 * sc.power->hours_per_day * 365.0 * sc.power->years * sc.power->price_per_kwh;
  };
  for (const auto& c : cards) {
    CardResult r;
    r.gpu_id = c.gpu_id;
    r.price = c.price;
    r.values = c.values;
    r.energy_cost = energy_of(c.tdp_w);
    double log_merit = 0;
    for (std::size_t w = 0; w < sc.workloads.size(); ++w) {
      if (!c.no_room[w].empty()) {
        r.excluded = true;
        r.reason = sc.workloads[w].name + ": " + c.no_room[w];
        break;
      }
      log_merit += sc.workloads[w].weight / weight_sum * std::log(c.values[w] / ref->values[w]);
    }
    if (!r.excluded) {
      r.merit = std::exp(log_merit);
      r.merit_per_kilo = 1000.0 * r.merit / (r.price + r.energy_cost);
      r.merit_per_kw = c.tdp_w > 0 ? 1000.0 * r.merit / c.tdp_w : 0.0;
    }
    out.push_back(std::move(r));
  }
  const CardResult* ref_result = nullptr;
  for (const auto& r : out)
    if (r.gpu_id == sc.reference) ref_result = &r;
  const double target = ref_result->merit / (ref_result->price + ref_result->energy_cost);
  for (auto& r : out) {
    if (r.excluded) continue;
    r.pareto = std::none_of(out.begin(), out.end(), [&](const CardResult& o) {
      return !o.excluded && &o != &r && o.price <= r.price && o.merit >= r.merit &&
             (o.price < r.price || o.merit > r.merit);
    });
    r.break_even_price = break_even_price(r.merit, r.energy_cost, target).value_or(0.0);
  }
  std::vector<CardResult*> order;
  for (auto& r : out)
    if (!r.excluded) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(),
                   [](const CardResult* a, const CardResult* b) { return a->merit_per_kilo > b->merit_per_kilo; });
  for (std::size_t i = 0; i < order.size(); ++i) order[i]->rank = static_cast<int>(i) + 1;
  return out;
}

}  // namespace gpuperf
