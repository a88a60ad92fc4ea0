#include "gpuperf/whatif.hpp"

#include <algorithm>
#include <boost/math/tools/roots.hpp>
#include <cmath>

namespace gpuperf {

double multi_card_value(double one_card_value, int count, bool layer_split, double hop_latency_s) {
  if (!(one_card_value > 0) || count < 1) return 0;
  if (!layer_split) return one_card_value * count;
  return 1.0 / (1.0 / one_card_value + (count - 1) * hop_latency_s);
}

bool fits_on_cards(double weight_bytes, double kv_cache_bytes, double activation_bytes, double capacity_bytes,
                   int count, bool layer_split) {
  if (count < 1) return false;
  double per_card = layer_split ? (weight_bytes + kv_cache_bytes) / count + activation_bytes
                                : weight_bytes + kv_cache_bytes + activation_bytes;
  return per_card <= capacity_bytes;
}

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
  auto label_of = [](const CardInputs& c) -> const std::string& { return c.label.empty() ? c.gpu_id : c.label; };
  const CardInputs* ref = nullptr;
  for (const auto& c : cards)
    if (label_of(c) == sc.reference) ref = &c;
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
    r.label = label_of(c);
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
    if (r.label == sc.reference) ref_result = &r;
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
  for (std::size_t i = 0; i < order.size(); ++i)  // equal merit per money shares the better rank
    order[i]->rank = i > 0 && order[i]->merit_per_kilo == order[i - 1]->merit_per_kilo ? order[i - 1]->rank
                                                                                       : static_cast<int>(i) + 1;
  return out;
}

std::uint64_t sweep_size(const std::vector<SweepAxis>& axes) {
  std::uint64_t n = 1;
  for (const auto& a : axes) {
    if (a.prices.empty()) return 0;
    if (n > UINT64_MAX / a.prices.size()) return UINT64_MAX;
    n *= a.prices.size();
  }
  return n;
}

SweepResult sweep_prices(const std::vector<CardResult>& results, const std::vector<SweepAxis>& axes,
                         std::size_t max_kept, const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  SweepResult out;
  out.points = sweep_size(axes);
  out.per_card.resize(results.size());
  if (out.points == 0 || out.points == UINT64_MAX) return out;
  // Fixed entries (included, not swept) in descending merit per money; the swept ones change per point.
  std::vector<char> swept(results.size(), 0);
  for (const auto& a : axes) swept[a.card] = 1;
  std::vector<std::size_t> fixed;
  for (std::size_t i = 0; i < results.size(); ++i)
    if (!results[i].excluded && !swept[i]) fixed.push_back(i);
  std::stable_sort(fixed.begin(), fixed.end(),
                   [&](std::size_t a, std::size_t b) { return results[a].merit_per_kilo > results[b].merit_per_kilo; });
  std::vector<double> fixed_value(fixed.size());
  for (std::size_t k = 0; k < fixed.size(); ++k) fixed_value[k] = results[fixed[k]].merit_per_kilo;
  std::vector<std::size_t> live_axes;  // axes of included entries
  for (std::size_t a = 0; a < axes.size(); ++a)
    if (!results[axes[a].card].excluded) live_axes.push_back(a);

  const std::size_t na = axes.size();
  std::vector<std::size_t> index(na, 0);
  std::vector<double> value(na, 0), price(na, 0);
  std::vector<int> axis_rank(na, 0);
  for (auto& s : out.per_card) s.best_rank = 0, s.worst_rank = 0;
  auto note_rank = [&](std::size_t card, int rank) {
    SweepCardSummary& s = out.per_card[card];
    if (rank == 1) ++s.best_buy_points;
    if (s.best_rank == 0 || rank < s.best_rank) s.best_rank = rank;
    if (rank > s.worst_rank) s.worst_rank = rank;
  };
  for (std::uint64_t point = 0; point < out.points; ++point) {
    for (std::size_t a = 0; a < na; ++a) {
      price[a] = axes[a].prices[index[a]];
      const CardResult& r = results[axes[a].card];
      value[a] = r.excluded ? 0.0 : 1000.0 * r.merit / (price[a] + r.energy_cost);
    }
    // Rank = 1 + the number of entries with strictly more merit per money.
    double best_value = fixed.empty() ? -1.0 : fixed_value[0];
    std::size_t best = fixed.empty() ? results.size() : fixed[0];
    for (std::size_t a : live_axes) {
      auto above = std::upper_bound(fixed_value.begin(), fixed_value.end(), value[a], std::greater<double>()) -
                   fixed_value.begin();
      int rank = 1 + static_cast<int>(above);
      for (std::size_t b : live_axes) rank += (b != a && value[b] > value[a]) ? 1 : 0;
      axis_rank[a] = rank;
      note_rank(axes[a].card, rank);
      if (value[a] > best_value) best_value = value[a], best = axes[a].card;
    }
    for (std::size_t k = 0; k < fixed.size(); ++k) {
      int rank = 1 + static_cast<int>(k);
      // Equal values share the better rank, as in evaluate_whatif.
      while (rank > 1 && fixed_value[static_cast<std::size_t>(rank - 2)] == fixed_value[k]) --rank;
      for (std::size_t a : live_axes) rank += value[a] > fixed_value[k] ? 1 : 0;
      note_rank(fixed[k], rank);
    }
    if (out.kept.size() < max_kept) {
      SweepPoint p;
      p.prices = price;
      p.best = best;
      p.ranks = axis_rank;
      out.kept.push_back(std::move(p));
    }
    for (std::size_t a = na; a-- > 0;) {  // odometer: the last axis fastest
      if (++index[a] < axes[a].prices.size()) break;
      index[a] = 0;
    }
    if (progress && (point & 0xFFFF) == 0xFFFF) progress(point + 1, out.points);
  }
  if (progress) progress(out.points, out.points);
  return out;
}

}  // namespace gpuperf
