// model_loader: loads specs/models/*.yaml (Stable Diffusion and LLaMA hyperparameters, with the
// framework kernel counts) into plain ModelSpec structs, checking every field and derived shape.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "gpuperf/error.hpp"
#include "gpuperf/workloads.hpp"

namespace gpuperf::io {

// Loads one model file; any problem is an InputError `file:line:col: field 'x': message`.
ModelSpec load_model_file(const std::filesystem::path& path);

// Loads <specs>/models/*.yaml, sorted by id; rejects duplicate ids and any bad file.
std::vector<ModelSpec> load_models(const std::filesystem::path& specs_dir);

// The model `id` of a loaded list, or nullptr.
const ModelSpec* find_model(const std::vector<ModelSpec>& models, std::string_view id);

}  // namespace gpuperf::io
