// stack: a software stack (e.g. Automatic1111 + xformers 2023, text-generation-webui + GPTQ, PyTorch
// eager, CUDA graphs) — what it is and the host-cost parameters every card shares under it.
#pragma once

#include <string>
#include <vector>

#include "gpuperf/params.hpp"

namespace gpuperf {

struct StackSpec {
  std::string id;
  std::string name;
  std::string description;
  bool sync_per_step = true;
  bool one_kernel_per_op = false;  // `kernels: one-per-op` (fused runtimes, validate's replay) vs `framework`
  bool dependent_launch = false;   // `launch: programmatic-dependent` (sm_90 PDL) vs `plain`
  std::vector<ParamDef> params;    // "<id>.<name>", or the shared name a stack file gives
  // The parameter names this stack reads; stacks on the same host share a host parameter by name.
  std::string host_us_per_kernel_param;
  std::string host_ms_per_step_param;
  std::vector<std::string> sources;
};

// The stack's resolved parameters from `params` (calibrated values override the stack file's).
StackParams resolve_stack(const ParamSet& params, const StackSpec& stack, std::vector<std::string>& missing);

}  // namespace gpuperf
