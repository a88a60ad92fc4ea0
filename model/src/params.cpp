#include "gpuperf/params.hpp"

#include <algorithm>

namespace gpuperf {

void ParamSet::set(ParamDef def) {
  for (auto& d : defs_)
    if (d.name == def.name) {
      d = std::move(def);
      return;
    }
  defs_.push_back(std::move(def));
}

bool ParamSet::set_value(std::string_view name, double value) {
  for (auto& d : defs_)
    if (d.name == name) {
      d.value = std::clamp(value, d.lo, d.hi);
      return true;
    }
  return false;
}

const ParamDef* ParamSet::find(std::string_view name) const {
  for (const auto& d : defs_)
    if (d.name == name) return &d;
  return nullptr;
}

std::optional<double> ParamSet::lookup(std::string_view scope, std::string_view name) const {
  // "<scope>.<name>" compared in place: predictions resolve parameters on every call.
  const ParamDef* plain = nullptr;
  for (const auto& d : defs_) {
    std::string_view n = d.name;
    if (n.size() == scope.size() + 1 + name.size() && n.substr(0, scope.size()) == scope && n[scope.size()] == '.' &&
        n.substr(scope.size() + 1) == name)
      return d.value;
    if (n == name) plain = &d;
  }
  if (plain) return plain->value;
  return std::nullopt;
}

const std::vector<std::string>& hardware_param_names() {
  static const std::vector<std::string> names = {
      "tensor_efficiency",      "attention_efficiency",    "cuda_core_efficiency", "dram_efficiency",
      "l2_efficiency",          "l2_resident_fraction",    "clock_ratio",          "kernel_latency_cycles",
      "dequant_ops_per_weight", "attention_query_tile",    "dram_ramp_us",         "cta_overhead_cycles",
      "kernel_gap_us",          "sm_load_bytes_per_cycle", "gemv_chain_us"};
  return names;
}

HardwareParams resolve_hardware(const ParamSet& params, std::string_view arch_id, std::vector<std::string>& missing,
                                std::string_view stack_id) {
  HardwareParams hw;
  double* fields[] = {
      &hw.tensor_efficiency,      &hw.attention_efficiency,    &hw.cuda_core_efficiency, &hw.dram_efficiency,
      &hw.l2_efficiency,          &hw.l2_resident_fraction,    &hw.clock_ratio,          &hw.kernel_latency_cycles,
      &hw.dequant_ops_per_weight, &hw.attention_query_tile,    &hw.dram_ramp_us,         &hw.cta_overhead_cycles,
      &hw.kernel_gap_us,          &hw.sm_load_bytes_per_cycle, &hw.gemv_chain_us};
  const auto& names = hardware_param_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto v = params.lookup(arch_id, names[i]);
    if (!stack_id.empty() && !params.find(std::string(arch_id) + "." + names[i])) {
      if (auto sv = params.lookup(stack_id, names[i])) v = sv;
    }
    if (v) {
      *fields[i] = *v;
    } else {
      missing.push_back(names[i]);
    }
  }
  return hw;
}

}  // namespace gpuperf

#include "gpuperf/stack.hpp"

namespace gpuperf {

StackParams resolve_stack(const ParamSet& params, const StackSpec& stack, std::vector<std::string>& missing) {
  StackParams sp;
  sp.sync_per_step = stack.sync_per_step;
  sp.one_kernel_per_op = stack.one_kernel_per_op;
  sp.dependent_launch = stack.dependent_launch;
  auto get = [&](const std::string& name, double& out) {
    if (const ParamDef* d = params.find(name)) {
      out = d->value;
    } else {
      missing.push_back(name);
    }
  };
  get(stack.host_us_per_kernel_param, sp.host_us_per_kernel);
  get(stack.host_ms_per_step_param, sp.host_ms_per_step);
  return sp;
}

}  // namespace gpuperf
