#include "progress.hpp"

#include <cstdio>

namespace gpuperf::cli {

Progress::Progress(std::ostream* err, std::string what, double after_s)
    : err_(err), what_(std::move(what)), after_s_(after_s) {}

Progress::~Progress() {
  if (printed_ && err_) *err_ << "\n" << std::flush;
}

void Progress::update(std::uint64_t done, std::uint64_t total) {
  if (!err_) return;
  auto now = Clock::now();
  double elapsed_s = std::chrono::duration<double>(now - start_).count();
  if (elapsed_s < after_s_) return;
  if (printed_ && done < total && now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  printed_ = true;
  double share = total > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
  char line[160];
  std::snprintf(line, sizeof line, "\r%s: %llu of %llu (%.0f%%), %.1f s", what_.c_str(),
                static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), share, elapsed_s);
  *err_ << line << std::flush;
}

}  // namespace gpuperf::cli
