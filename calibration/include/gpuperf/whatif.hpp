// whatif: which card is the best buy for a mix of work at given prices — the figure of merit per card
// (weighted geometric mean of performance relative to a reference card), value per money and per
// watt, the Pareto front of price against merit, and each card's break-even price against the
// reference (a Boost.Math root finder). Pure functions of predicted values.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gpuperf/measurements.hpp"

namespace gpuperf {

struct WhatIfWorkload {
  std::string name;
  std::string model_id;
  std::string stack_id;
  Scenario scenario;
  int sd_pass = 0;
  double weight = 1;
};

// One entry of the scenario: `count` cards of one kind bought at `price` each (in the entry's market).
struct WhatIfCard {
  std::string label;   // unique in the scenario: the gpu id, "2x <gpu>", "<gpu> (used)" unless given
  std::string gpu_id;  // a card of the catalog or one of the scenario's hypothetical cards
  std::string market;  // launch | street | used
  int count = 1;
  double price = 0;                // per card; the first price of the grid when swept
  std::vector<double> price_grid;  // per card; empty = fixed price, else the prices to sweep
};

// Several cards of one kind: Stable Diffusion runs independent images on each (count x it/s); a LLaMA
// decode is split by layers, so a token still passes every layer in turn (one card's time) plus one
// hand-over of the hidden state per card boundary.
double multi_card_value(double one_card_value, int count, bool layer_split, double hop_latency_s);
// Whether a workload fits: each card holds the whole footprint (independent images), or its share of
// the weights and KV cache plus the activations (layer split).
bool fits_on_cards(double weight_bytes, double kv_cache_bytes, double activation_bytes, double capacity_bytes,
                   int count, bool layer_split);

// Running cost from board power: energy = TDP x hours_per_day x 365 x years, at price_per_kwh.
struct PowerCost {
  double price_per_kwh = 0;
  double hours_per_day = 0;
  double years = 0;
};

struct WhatIfScenario {
  std::string id;
  std::string description;
  std::string currency;   // a label, e.g. "USD"
  std::string reference;  // card the merit is relative to
  std::vector<WhatIfWorkload> workloads;
  std::vector<WhatIfCard> cards;
  std::optional<PowerCost> power;
  std::string market;                                        // default market of the entries' prices
  std::vector<Gpu> hypothetical;                             // cards that do not exist: a base plus overrides
  std::vector<std::pair<std::string, std::string>> compare;  // label pairs: P(A beats B)
  std::optional<double> hop_latency_us;                      // layer-split LLaMA: hand-over per card boundary
};

// What the model says of one card for each workload (computed once per card and workload).
struct CardInputs {
  std::string gpu_id;
  double price = 0;
  double tdp_w = 0;
  std::vector<double> values;        // predicted value per workload (it/s, tokens/s)
  std::vector<std::string> no_room;  // per workload: why it cannot run (empty = it fits)
  std::string label;                 // the entry's label (the reference names it); empty = gpu_id
};

struct CardResult {
  std::string gpu_id;
  std::string label;
  double price = 0;
  double energy_cost = 0;  // over the scenario's years; 0 without a power cost
  std::vector<double> values;
  double merit = 0;           // weighted geometric mean of value / reference value
  double merit_per_kilo = 0;  // merit per 1000 currency units of price + energy
  double merit_per_kw = 0;    // merit per kW of board power
  bool excluded = false;
  std::string reason;           // why excluded
  bool pareto = false;          // no other card is both cheaper (or equal) and better (or equal)
  double break_even_price = 0;  // price at which merit per money equals the reference's
  int rank = 0;                 // 1 = best merit per money among the included cards
};

// Merit, value, Pareto front, break-even and rank for every card. `reference` must be one of the cards
// and must hold every workload.
std::vector<CardResult> evaluate_whatif(const WhatIfScenario& scenario, const std::vector<CardInputs>& cards,
                                        std::string& error);

// The price p at which merit / (p + energy) equals `target_merit_per_money`, found by bracketing and
// TOMS 748; nullopt when no non-negative price reaches it (the energy alone costs too much).
std::optional<double> break_even_price(double merit, double energy_cost, double target_merit_per_money);

// ---- price sweeps ----
// A swept entry: its index in the results of evaluate_whatif and the total prices (count x price) to try.
struct SweepAxis {
  std::size_t card = 0;
  std::vector<double> prices;
};
struct SweepPoint {
  std::vector<double> prices;  // per axis
  std::size_t best = 0;        // index of the best buy (highest merit per money)
  std::vector<int> ranks;      // per axis: the swept entry's rank at this point
};
struct SweepCardSummary {
  std::uint64_t best_buy_points = 0;  // grid points at which the entry ranks first
  int best_rank = 0, worst_rank = 0;  // over the grid; 0 for excluded entries
};
struct SweepResult {
  std::uint64_t points = 0;
  std::vector<SweepPoint> kept;            // the first `max_kept` points, in grid order
  std::vector<SweepCardSummary> per_card;  // per result of evaluate_whatif
};
// Number of grid points (the product of the axes' sizes), saturating at UINT64_MAX.
std::uint64_t sweep_size(const std::vector<SweepAxis>& axes);
// Ranks every grid point of the axes' prices (the last axis varies fastest). Merit and energy do not
// depend on the price, so each point costs a few comparisons; `progress(done, total)` is called about
// every 2^16 points.
SweepResult sweep_prices(const std::vector<CardResult>& results, const std::vector<SweepAxis>& axes,
                         std::size_t max_kept,
                         const std::function<void(std::uint64_t, std::uint64_t)>& progress = nullptr);

}  // namespace gpuperf
