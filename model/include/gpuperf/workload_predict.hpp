// workload_predict: from a model and a scenario to the figure users quote — SD it/s (UNet steps per
// second of one pass) or LLaMA tokens/s — on one card under one stack with one parameter set.
#pragma once

#include <string>
#include <variant>

#include "gpuperf/predict.hpp"
#include "gpuperf/stack.hpp"
#include "gpuperf/workloads.hpp"

namespace gpuperf {

using Scenario = std::variant<SdScenario, LlamaScenario>;

// The graph of one step and what one step yields.
struct Workload {
  Graph graph;
  double items_per_step = 1;  // SD: 1 iteration; decode: batch tokens; prefill: batch x prompt tokens
  std::string unit;           // "it/s" or "tokens/s"
};

// Builds the step graph: SD's UNet step of `sd_pass` (0 base, 1 hires), LLaMA's decode or prefill step as
// `stack` runs it (its framework's cache update under `kernels: framework`, in place under one-per-op).
// The scenario must be valid for the model (see validate()) and match its kind.
Workload make_workload(const ModelSpec& model, const Scenario& scenario, int sd_pass, const StackSpec& stack);

// The memory the scenario needs on the card (weights, KV cache, activations), for either kind of model.
MemoryFootprint memory_footprint(const ModelSpec& model, const Scenario& scenario);

struct WorkloadPrediction {
  std::string error;  // non-empty: no prediction, and why
  double value = 0;   // items per second
  std::string unit;
  StepPrediction step;
};

// Resolves the card's architecture parameters and the stack's, then simulates one step.
WorkloadPrediction predict_workload(const Gpu& gpu, const Workload& workload, const ParamSet& params,
                                    const StackSpec& stack, bool keep_ops = false);

}  // namespace gpuperf
