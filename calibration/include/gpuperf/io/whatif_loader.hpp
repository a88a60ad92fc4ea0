// whatif_loader: reads a what-if scenario file (specs/scenarios/*.yaml) strictly: prices per card, a
// weighted workload mix, optional power cost; every card, model, stack and scenario is checked.
#pragma once

#include <filesystem>
#include <vector>

#include "gpuperf/io/catalog.hpp"
#include "gpuperf/stack.hpp"
#include "gpuperf/whatif.hpp"

namespace gpuperf::io {

WhatIfScenario load_whatif_file(const std::filesystem::path& path, const Catalog& catalog,
                                const std::vector<ModelSpec>& models, const std::vector<StackSpec>& stacks);

}  // namespace gpuperf::io
