// whatif: which card is the best buy for a mix of work at given prices — the figure of merit per card
// (weighted geometric mean of performance relative to a reference card), value per money and per
// watt, the Pareto front of price against merit, and each card's break-even price against the
// reference (a Boost.Math root finder). Pure functions of predicted values.
#pragma once

#include <optional>
#include <string>
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

struct WhatIfCard {
  std::string gpu_id;
  double price = 0;
};

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
};

// What the model says of one card for each workload (computed once per card and workload).
struct CardInputs {
  std::string gpu_id;
  double price = 0;
  double tdp_w = 0;
  std::vector<double> values;        // predicted value per workload (it/s, tokens/s)
  std::vector<std::string> no_room;  // per workload: why it cannot run (empty = it fits)
};

struct CardResult {
  std::string gpu_id;
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

}  // namespace gpuperf
