// measurements_loader: reads specs/measurements/*.yaml strictly; every point's card, model and stack
// must exist and its scenario must be valid for the model.
#pragma once

#include <filesystem>
#include <vector>

#include "gpuperf/io/catalog.hpp"
#include "gpuperf/io/yaml_reader.hpp"
#include "gpuperf/measurements.hpp"
#include "gpuperf/stack.hpp"

namespace gpuperf::io {

// A scenario mapping (`resolution: 512x512`, `weights: gptq4-g128`, ...) read strictly and validated
// against `model`; for SD, `pass: base|hires` sets `pass` (0 or 1).
Scenario read_scenario_map(MapReader& r, const ModelSpec& model, int& pass);

// Also reads gpuperf-validate files (`generator: gpuperf-validate`, `micro:` list): the measurements the
// model can express become one-op points under the cuda-graph stack — GEMMs at their shapes
// (gemm_tflops), the DRAM copy kernel (dram_copy_gb_s, method kernel) and the 4-bit GEMV replayed in a
// graph (gemv_q4_gb_s, mode graph); the other kinds are descriptive and skipped.
MeasurementSet load_measurement_set(const std::filesystem::path& path, const Catalog& catalog,
                                    const std::vector<ModelSpec>& models, const std::vector<StackSpec>& stacks);

}  // namespace gpuperf::io
