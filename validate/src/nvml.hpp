// nvml: the few NVML calls gpuperf-validate makes (driver version, clocks, power limit), loaded with
// dlopen at run time so the program builds without NVML's header and runs on machines without it; and a
// sampler that reads the SM clock on a thread of its own while a timed loop runs.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "measurement.hpp"

namespace gpuperf::validate {

struct Nvml;
// nullptr if libnvidia-ml is absent or has no device with this PCI bus id.
Nvml* nvml_open(const std::string& pci_bus_id);
void nvml_read_static(Nvml* n, DeviceInfo& info);
// Appends the current SM and memory clocks to info's clocks-seen lists.
void nvml_sample_clocks(Nvml* n, DeviceInfo& info);
void nvml_close(Nvml* n);

// Reads the SM clock (NVML) about every `period_us` on a thread of its own, from start() until stop(),
// so that a measurement can report the mean clock of its timed window. Without NVML (n == nullptr) it
// samples nothing and mhz() stays empty. start() clears earlier samples.
class SmClockSampler {
 public:
  explicit SmClockSampler(Nvml* n, int period_us = 1000) : n_(n), period_us_(period_us) {}
  ~SmClockSampler() { stop(); }
  SmClockSampler(const SmClockSampler&) = delete;
  SmClockSampler& operator=(const SmClockSampler&) = delete;
  void start();
  void stop();
  // SM clock samples of the last window, MHz.
  const std::vector<double>& mhz() const { return mhz_; }

 private:
  Nvml* n_;
  int period_us_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  std::vector<double> mhz_;
};

}  // namespace gpuperf::validate
