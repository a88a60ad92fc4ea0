// Fuzz target: the command line, in process, through cli::run with the bundled specs.
// The input is split into arguments at newlines. Kept safe and fast:
// - it runs in a temp folder of its own, and an input with an argument containing '/' or ".." is
//   skipped, so any path a command writes (report/calibrate --out) lands in that folder;
// - `calibrate` (a least-squares fit with restarts) and `report` (accuracy refits, scaling predicts
//   every card: seconds a run) are skipped, `table` gets --no-loo (the leave-one-out refits are fits
//   too); `whatif` gets
//   --samples=0 (no Monte Carlo) unless the input gives --sa..., which is then skipped. Their loaders
//   have targets of their own.
#include <unistd.h>

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "fuzz_support.hpp"

namespace {

bool has_prefix(const std::vector<std::string>& args, std::string_view prefix) {
  for (const auto& a : args)
    if (a.rfind(prefix, 0) == 0) return true;
  return false;
}

bool has_word(const std::vector<std::string>& args, std::string_view word) {
  for (const auto& a : args)
    if (a == word) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  static const fs::path cwd = [] {
    fs::path dir = gpuperf::fuzz::work_dir() / "cli";
    fs::create_directories(dir);
    return dir;
  }();
  static const fs::path home = fs::current_path();
  std::vector<std::string> args;
  std::string word;
  for (std::size_t i = 0; i < size; ++i) {
    const char c = static_cast<char>(data[i]);
    if (c == '\n') {
      args.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  if (size > 0 && data[size - 1] != '\n') args.push_back(word);
  if (args.size() > 32) return 0;
  for (const auto& a : args)
    if (a.find('/') != std::string::npos || a.find("..") != std::string::npos) return -1;
  if (has_word(args, "calibrate")) return -1;
  if (has_word(args, "report")) return -1;
  // `table` and `plot scaling` refit once per card for their leave-one-out points (seconds under the
  // sanitizers): every spelling of --no-loo (its abbreviations too) is taken out and one put back last.
  if (has_word(args, "table") || has_word(args, "scaling")) {
    std::erase_if(args, [](const std::string& a) {
      return a.size() >= 3 && std::string_view("--no-loo").substr(0, a.size()) == a;
    });
    args.push_back("--no-loo");
  }
  if (has_word(args, "whatif")) {
    if (has_prefix(args, "--sa")) return -1;
    args.push_back("--samples=0");
  }
  std::ostringstream out, err;
  // Only while the command runs: libFuzzer's own relative paths (corpus, artifacts) stay valid.
  if (::chdir(cwd.c_str()) != 0) std::abort();
  (void)gpuperf::cli::run(args, gpuperf::fuzz::specs_dir(), out, err);
  if (::chdir(home.c_str()) != 0) std::abort();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cwd, ec)) fs::remove_all(e.path(), ec);
  return 0;
}
