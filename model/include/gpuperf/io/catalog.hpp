// catalog: loads specs/arches and specs/gpus into plain structs, checking every field and every
// derived figure against the vendor's published one.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "gpuperf/error.hpp"
#include "gpuperf/hardware.hpp"

namespace gpuperf::io {

inline constexpr int kSpecVersion = 1;

ArchSpec load_arch_file(const std::filesystem::path& path);
// Loads one card; `arches` resolves its arch and checks counts and published figures.
GpuSpec load_gpu_file(const std::filesystem::path& path, const std::vector<ArchSpec>& arches);

class MapReader;
// A card that does not exist: `base` with the fields of `overrides` (same names and ranges as a card
// file: sm_count, clocks, memory.*, l2_mib, tdp_w, arch, ...) replaced, checked like any card. Core
// counts follow sm_count unless given; the base's published figures are dropped.
Gpu read_hypothetical_gpu(MapReader& overrides, const std::string& id, const Gpu& base,
                          const std::vector<ArchSpec>& arches);

struct Catalog {
  std::vector<ArchSpec> arches;
  std::vector<Gpu> gpus;  // sorted by id

  const Gpu* find_gpu(std::string_view id) const;
  const ArchSpec* find_arch(std::string_view id) const;
};

// Loads <specs>/arches/*.yaml and <specs>/gpus/*.yaml; rejects duplicates and any bad file.
Catalog load_catalog(const std::filesystem::path& specs_dir);

// *.yaml files of a folder, sorted; a missing folder is an InputError.
std::vector<std::filesystem::path> yaml_files_in(const std::filesystem::path& dir);

}  // namespace gpuperf::io
