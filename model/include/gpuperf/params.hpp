// params: the few physical parameters θ of the model — named, bounded, with units and meanings — and
// their resolution into the plain structs the roofline and timeline use for one card and one stack.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpuperf {

// One parameter. Names are scoped: "dram_efficiency" applies to every card; "ada-ad10x.tensor_efficiency"
// to the cards of one architecture (it overrides the unscoped one); "a1111-xformers-2023.host_us_per_kernel"
// to one software stack. Never one per card: that would be a lookup table, not a model.
struct ParamDef {
  std::string name;
  double value = 0;
  double lo = 0;
  double hi = 0;
  std::string unit;
  std::string meaning;
  bool fit = true;  // calibrate may move it; false = held at `value`
};

// One independent part of a calibration: parameters that no measured point shares with another part
// were fitted on that part's points alone, and its residual scatter is its own (a survey's card-to-card
// scatter is not a micro-benchmark's).
struct FitBlock {
  std::vector<std::string> names;  // the part's fitted parameters
  double residual_sd_log = 0;      // sqrt(SSR / dof) of log(pred / meas) over the part's points
  int dof = 0;                     // the part's points − its parameters
};

class ParamSet {
 public:
  // Adds or replaces a parameter by name.
  void set(ParamDef def);
  // Changes only the value of an existing parameter (clamped to its bounds); false if unknown.
  bool set_value(std::string_view name, double value);
  const ParamDef* find(std::string_view name) const;
  // The scoped value `scope.name` if defined, else the unscoped `name`; nullopt if neither.
  std::optional<double> lookup(std::string_view scope, std::string_view name) const;
  const std::vector<ParamDef>& all() const { return defs_; }
  std::vector<ParamDef>& all() { return defs_; }

 private:
  std::vector<ParamDef> defs_;
};

// Hardware parameters: physical efficiencies and latencies shared by all cards of an architecture.
struct HardwareParams {
  double tensor_efficiency = 0;        // fraction of the tensor-core peak that large GEMMs and convs reach
  double attention_efficiency = 0;     // fraction of the tensor-core peak that fused attention reaches
  double cuda_core_efficiency = 0;     // fraction of the FP32-lane peak reached by CUDA-core math
  double dram_efficiency = 0;          // fraction of the derived DRAM bandwidth that streaming kernels reach
  double l2_efficiency = 0;            // fraction of the derived L2 bandwidth
  double l2_resident_fraction = 0;     // share of the L2 an activation may occupy and still be read from L2
  double clock_ratio = 0;              // sustained clock under load / rated boost clock
  double kernel_latency_cycles = 0;    // fixed GPU time per kernel (launch, ramp, tail), in core cycles
  double dequant_ops_per_weight = 0;   // CUDA-core operations to unpack one 4-bit weight
  double attention_query_tile = 0;     // queries per CTA of fused attention; each CTA streams its head's K and V
  double dram_ramp_us = 0;             // per kernel that reads DRAM: first-byte latency (PDL hides it)
  double kernel_gap_us = 0;            // dead time between consecutive kernels of a stream, added to each
  double cta_overhead_cycles = 0;      // fixed core cycles per tensor-core CTA (GEMM tile, attention query tile)
  double sm_load_bytes_per_cycle = 0;  // bytes one SM can load per core cycle (L2 or DRAM to the SM)
  double gemv_chain_us = 0;  // per 4-bit GEMV: the serial work around its weight stream that PDL does not hide
};

// Software-stack parameters: host cost of issuing work, shared by every card under that stack.
struct StackParams {
  double host_us_per_kernel = 0;   // host time to issue one kernel (framework + launch)
  double host_ms_per_step = 0;     // host time per step outside kernel issue (sampler, Python, sync)
  bool sync_per_step = true;       // the host waits for the GPU at the end of each step
  bool one_kernel_per_op = false;  // fused kernels (one per op) instead of the framework's kernel counts
  bool dependent_launch = false;   // programmatic dependent launch: weight streams start before the wait
};

// Every hardware parameter name, in the order of HardwareParams.
const std::vector<std::string>& hardware_param_names();

// Resolves the hardware parameters for an architecture under a stack; the missing names are returned
// in `missing` (never silently defaulted). Lookup order: "<arch>.<name>", "<stack>.<name>", "<name>" —
// a stack may change what the GPU sees per kernel (CUDA graphs replay kernels with less overhead).
HardwareParams resolve_hardware(const ParamSet& params, std::string_view arch_id, std::vector<std::string>& missing,
                                std::string_view stack_id = {});

}  // namespace gpuperf
