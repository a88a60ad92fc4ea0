// measurements_loader: reads specs/measurements/*.yaml strictly; every point's card, model and stack
// must exist and its scenario must be valid for the model.
#pragma once

#include <filesystem>
#include <vector>

#include "gpuperf/io/catalog.hpp"
#include "gpuperf/measurements.hpp"
#include "gpuperf/stack.hpp"

namespace gpuperf::io {

MeasurementSet load_measurement_set(const std::filesystem::path& path, const Catalog& catalog,
                                    const std::vector<ModelSpec>& models, const std::vector<StackSpec>& stacks);

}  // namespace gpuperf::io
