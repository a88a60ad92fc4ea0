// fuzz_support: shared helpers of the libFuzzer targets (and of their replay executables).
// A target writes the input into a per-process temp folder and calls a loader. A thrown InputError is
// the correct answer to bad input and is swallowed; anything else escaping (another exception, a crash,
// a sanitizer report, a timeout, a huge allocation) is a finding.
#pragma once

#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "gpuperf/error.hpp"

namespace gpuperf::fuzz {

namespace fs = std::filesystem;

// The spec tree the targets resolve cards, models and stacks against (read only).
inline fs::path specs_dir() { return fs::path(GPUPERF_SPECS_DIR); }

// A folder of this process's own under the system temp folder, removed at exit.
inline const fs::path& work_dir() {
  static const fs::path dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "gpuperf-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(work_dir(), ec);
    });
    return fs::path(tmpl);
  }();
  return dir;
}

// Loaders require `id:` to equal the file's stem; the file is named after the input's first `id:` line
// (when it is a plain lowercase-dashed id) so that seeds get past the header and into the body.
inline std::string stem_for(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.substr(0, 3) == "id:") {
      std::string id;
      for (char c : line.substr(3)) {
        if (c == ' ' || c == '\r') continue;
        if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-'))
          return "fuzz";
        id += c;
      }
      return id.empty() || id.size() > 64 ? "fuzz" : id;
    }
    pos = end + 1;
  }
  return "fuzz";
}

// Writes the input as <work_dir>/<sub>/<stem>.yaml (the folder emptied first) and returns the path.
inline fs::path write_input(const std::uint8_t* data, std::size_t size, const std::string& sub) {
  const fs::path dir = work_dir() / sub;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const fs::path path = dir / (stem_for(text) + ".yaml");
  std::ofstream(path, std::ios::binary).write(text.data(), static_cast<std::streamsize>(text.size()));
  return path;
}

// Runs `f`; bad input (InputError) is the expected outcome for most inputs.
template <typename F>
void expect_ok_or_input_error(F&& f) {
  try {
    f();
  } catch (const gpuperf::InputError&) {
  }
}

}  // namespace gpuperf::fuzz
