// progress: one self-overwriting line on stderr for work that runs longer than a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace gpuperf::cli {

class Progress {
 public:
  // Nothing is printed before `after_s` seconds have passed; then at most every 0.25 s.
  Progress(std::ostream* err, std::string what, double after_s = 1.0);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();

  void update(std::uint64_t done, std::uint64_t total);
  bool printed() const { return printed_; }

 private:
  using Clock = std::chrono::steady_clock;
  std::ostream* err_;
  std::string what_;
  double after_s_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_{};
  bool printed_ = false;
};

}  // namespace gpuperf::cli
