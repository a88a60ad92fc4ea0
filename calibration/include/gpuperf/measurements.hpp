// measurements: sets of measured workload figures (the survey's tables, or what validate/ measured on
// the local card), each point naming card, model, scenario, stack and the measured value.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "gpuperf/error.hpp"
#include "gpuperf/workload_predict.hpp"

namespace gpuperf {

struct MeasurementPoint {
  std::string gpu_id;
  std::string model_id;
  std::string stack_id;
  std::string metric;  // "it/s" (SD: UNet steps per second) or "tokens/s"
  Scenario scenario;
  int sd_pass = 0;  // SD: which pass's it/s (0 base, 1 hires)
  double value = 0;
  std::optional<double> price_usd;
  InputLocation where;
  // Micro-benchmark points (gpuperf-validate files) carry their own one-op graph instead of a scenario.
  std::string micro_id;
  std::optional<Workload> micro;
};

struct MeasurementSet {
  std::string id;
  std::string path;
  std::string description;
  std::string conditions;
  std::vector<MeasurementPoint> points;
  std::vector<std::string> sources;
};

}  // namespace gpuperf
