// atomic_file: every file gpuperf writes goes to a temporary file in the same folder, is flushed, and
// is renamed over the target, so a reader (or an interrupted run) never sees a partial file.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace gpuperf::cli {

// Writes `content` to `path` atomically; throws InputError naming the path on failure.
void write_file_atomically(const std::filesystem::path& path, const std::string& content);

// Throws UsageError when `out` is the same file as one of `inputs` (an output must never replace an
// input of the same run).
void refuse_overwriting_inputs(const std::filesystem::path& out, const std::vector<std::filesystem::path>& inputs);

}  // namespace gpuperf::cli
