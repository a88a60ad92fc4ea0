// params_loader: reads software stacks (specs/stacks) and parameter files (specs/calibrations: the
// priors and the calibrations that `gpuperf calibrate` writes) into ParamDefs.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gpuperf/error.hpp"
#include "gpuperf/params.hpp"
#include "gpuperf/stack.hpp"

namespace gpuperf::io {

StackSpec load_stack_file(const std::filesystem::path& path);
// Every stack under <specs>/stacks, sorted by id; duplicates rejected.
std::vector<StackSpec> load_stacks(const std::filesystem::path& specs_dir);

// A parameter file: the priors, or a calibration written by `gpuperf calibrate`.
struct ParamFile {
  std::string id;
  std::string description;
  std::vector<ParamDef> params;
  std::map<std::string, std::pair<double, double>> ci95;  // name -> (low, high), calibrations only
  std::map<std::string, double> summary;                  // e.g. loo_mape_pct, calibrations only
  // Covariance of the fitted parameters (calibrations only): names in matrix order, row-major matrix.
  std::vector<std::string> covariance_names;
  std::vector<std::vector<double>> covariance;
  // The calibration's independent parts (each a subset of covariance_names) with their own scatter;
  // empty in files that have one part (summary.residual_sd_log and summary.dof describe it).
  std::vector<FitBlock> blocks;
  std::vector<std::string> measurements;  // the measurement files a calibration was fitted on
  std::vector<std::string> sources;
};
ParamFile load_param_file(const std::filesystem::path& path);

// The parameters predictions use: <specs>/calibrations/priors.yaml, every stack's parameters, then
// the values of `calibration` (if given) laid over them. A calibrated name unknown to the priors or
// stacks is an error (it would otherwise be silently ignored).
ParamSet load_params(const std::filesystem::path& specs_dir, const std::optional<std::filesystem::path>& calibration);

// The calibration predictions use by default: <specs>/calibrations/default.yaml when it exists.
std::optional<std::filesystem::path> default_calibration(const std::filesystem::path& specs_dir);

}  // namespace gpuperf::io
