// engine: what the predicting commands load once — catalog, models, stacks, parameters (priors plus the
// chosen calibration) — and the helpers that turn a measurement set into prepared points.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "gpuperf/fit.hpp"
#include "gpuperf/io/catalog.hpp"
#include "gpuperf/io/params_loader.hpp"
#include "gpuperf/measurements.hpp"
#include "gpuperf/workloads.hpp"

namespace gpuperf::cli {

struct Engine {
  std::filesystem::path specs_dir;
  io::Catalog catalog;
  std::vector<ModelSpec> models;
  std::vector<StackSpec> stacks;
  ParamSet params;
  std::optional<std::filesystem::path> calibration_path;  // nullopt: priors only
  std::optional<io::ParamFile> calibration;

  const ModelSpec& model(const std::string& id) const;
  const StackSpec& stack(const std::string& id) const;
  // The calibration's covariance as an Eigen matrix over its names (empty when none).
  Eigen::MatrixXd covariance() const;
  int dof() const;
  double residual_sd_log() const;
  // The calibration's independent parts with their scatter (one part, from the summary, for files
  // that list none); empty without a calibration.
  std::vector<FitBlock> blocks() const;
};

// `calibration`: a file, "none" (priors only) or empty (the default calibration when it exists).
Engine load_engine(const std::filesystem::path& specs_dir, const std::string& calibration);

// Adds --calibration to a command's options.
void add_calibration_option(po::options_description& desc);

// Loads measurement files and prepares their points (graphs built once).
struct PreparedSets {
  std::vector<MeasurementSet> sets;
  std::vector<PreparedPoint> points;
};
PreparedSets prepare_measurements(const Engine& engine, const std::vector<std::string>& files);

// The default stack for a model kind: the survey's stacks, which are calibrated.
std::string default_stack(const ModelSpec& model);

// "priors (uncalibrated)" or the calibration file's name: where a command's parameters come from.
std::string calibration_label(const Engine& engine);

// Adds --model and --stack (default: default_stack) to a command's options.
void add_model_stack_options(po::options_description& desc);

// One workload from the command line: model, stack, scenario (validated against the model), the step graph.
struct WorkloadRequest {
  const ModelSpec* model = nullptr;
  const StackSpec* stack = nullptr;
  Scenario scenario;
  int sd_pass = 0;
  std::string scenario_text;
  Workload workload;
};
// The workload --model, --stack and the scenario options describe. Stable Diffusion requests cover the
// UNet step only; `covered` names what the command covers for that --part message ("predictions").
// Throws UsageError for an unknown model or stack or an invalid scenario.
WorkloadRequest workload_request_from(const Engine& engine, const po::variables_map& vm, const std::string& covered);

}  // namespace gpuperf::cli
