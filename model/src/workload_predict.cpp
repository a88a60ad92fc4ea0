#include "gpuperf/workload_predict.hpp"

namespace gpuperf {

Workload make_workload(const ModelSpec& model, const Scenario& scenario, int sd_pass, const StackSpec& stack) {
  Workload w;
  if (const auto* sd = std::get_if<SdScenario>(&scenario)) {
    w.graph = build_sd_unet_step(*model.sd(), *sd, sd_pass);
    w.items_per_step = 1;
    w.unit = "it/s";
  } else {
    LlamaScenario ll = std::get<LlamaScenario>(scenario);
    ll.framework_ops = !stack.one_kernel_per_op;
    w.graph = build_llama(*model.llama(), ll);
    w.items_per_step = ll.phase == LlamaPhase::decode ? static_cast<double>(ll.batch)
                                                      : static_cast<double>(ll.batch * ll.prompt_tokens);
    w.unit = "tokens/s";
  }
  w.graph.repeat = find_repeated_block(w.graph);
  w.graph.timing = index_timings(w.graph);
  return w;
}

MemoryFootprint memory_footprint(const ModelSpec& model, const Scenario& scenario) {
  if (const auto* sd = std::get_if<SdScenario>(&scenario)) return memory_footprint(*model.sd(), *sd);
  return memory_footprint(*model.llama(), std::get<LlamaScenario>(scenario));
}

WorkloadPrediction predict_workload(const Gpu& gpu, const Workload& workload, const ParamSet& params,
                                    const StackSpec& stack, bool keep_ops) {
  WorkloadPrediction out;
  out.unit = workload.unit;
  std::vector<std::string> missing;
  HardwareParams hw = resolve_hardware(params, gpu.arch.id, missing, stack.id);
  StackParams sp = resolve_stack(params, stack, missing);
  if (!missing.empty()) {
    out.error = "no value for parameter";
    for (const auto& m : missing) out.error += " '" + m + "'";
    return out;
  }
  out.step = simulate_step(gpu, workload.graph, hw, sp, keep_ops);
  if (!out.step.error.empty()) {
    out.error = out.step.error;
    return out;
  }
  out.value = workload.items_per_step / out.step.seconds;
  return out;
}

}  // namespace gpuperf
