// nvml: the few NVML calls gpuperf-validate makes (driver version, clocks, power limit), loaded with
// dlopen at run time so the program builds without NVML's header and runs on machines without it.
#pragma once

#include <string>

#include "measurement.hpp"

namespace gpuperf::validate {

struct Nvml;
// nullptr if libnvidia-ml is absent or has no device with this PCI bus id.
Nvml* nvml_open(const std::string& pci_bus_id);
void nvml_read_static(Nvml* n, DeviceInfo& info);
// Appends the current SM and memory clocks to info's clocks-seen lists.
void nvml_sample_clocks(Nvml* n, DeviceInfo& info);
void nvml_close(Nvml* n);

}  // namespace gpuperf::validate
