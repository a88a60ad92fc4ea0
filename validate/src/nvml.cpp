#include "nvml.hpp"

#include <dlfcn.h>

#include <chrono>

namespace gpuperf::validate {

namespace {
// The NVML ABI subset used here (nvml.h): return code 0 = NVML_SUCCESS; clock types 1 = SM, 2 = MEM.
using nvmlReturn = int;
using nvmlDevice = void*;
constexpr int kClockSm = 1;
constexpr int kClockMem = 2;
}  // namespace

struct Nvml {
  void* lib = nullptr;
  nvmlDevice dev = nullptr;
  nvmlReturn (*shutdown)() = nullptr;
  nvmlReturn (*clock_info)(nvmlDevice, int, unsigned*) = nullptr;
  nvmlReturn (*max_clock_info)(nvmlDevice, int, unsigned*) = nullptr;
  nvmlReturn (*driver_version)(char*, unsigned) = nullptr;
  nvmlReturn (*power_default)(nvmlDevice, unsigned*) = nullptr;
};

template <class F>
static bool load(void* lib, const char* name, F& fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

Nvml* nvml_open(const std::string& pci_bus_id) {
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) lib = dlopen("libnvidia-ml.so", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return nullptr;
  auto* n = new Nvml;
  n->lib = lib;
  nvmlReturn (*init)() = nullptr;
  nvmlReturn (*by_pci)(const char*, nvmlDevice*) = nullptr;
  bool ok = load(lib, "nvmlInit_v2", init) && load(lib, "nvmlShutdown", n->shutdown) &&
            load(lib, "nvmlDeviceGetHandleByPciBusId_v2", by_pci) &&
            load(lib, "nvmlDeviceGetClockInfo", n->clock_info) &&
            load(lib, "nvmlDeviceGetMaxClockInfo", n->max_clock_info) &&
            load(lib, "nvmlSystemGetDriverVersion", n->driver_version);
  load(lib, "nvmlDeviceGetPowerManagementDefaultLimit", n->power_default);
  if (!ok || init() != 0) {
    dlclose(lib);
    delete n;
    return nullptr;
  }
  if (by_pci(pci_bus_id.c_str(), &n->dev) != 0) {
    n->shutdown();
    dlclose(lib);
    delete n;
    return nullptr;
  }
  return n;
}

void nvml_read_static(Nvml* n, DeviceInfo& info) {
  if (!n) return;
  char buf[96] = {};
  if (n->driver_version(buf, sizeof buf) == 0) info.driver = buf;
  unsigned v = 0;
  if (n->max_clock_info(n->dev, kClockSm, &v) == 0) info.nvml_max_sm_clock_mhz = v;
  if (n->max_clock_info(n->dev, kClockMem, &v) == 0) info.nvml_max_mem_clock_mhz = v;
  if (n->power_default && n->power_default(n->dev, &v) == 0) info.power_limit_default_w = v / 1000.0;
}

void nvml_sample_clocks(Nvml* n, DeviceInfo& info) {
  if (!n) return;
  unsigned v = 0;
  if (n->clock_info(n->dev, kClockSm, &v) == 0) info.sm_clocks_seen_mhz.push_back(v);
  if (n->clock_info(n->dev, kClockMem, &v) == 0) info.mem_clocks_seen_mhz.push_back(v);
}

void SmClockSampler::start() {
  stop();
  mhz_.clear();
  if (!n_) return;
  running_ = true;
  // The thread alone appends to mhz_ until stop() joins it.
  thread_ = std::thread([this] {
    const auto period = std::chrono::microseconds(period_us_);
    auto next = std::chrono::steady_clock::now();
    while (running_.load(std::memory_order_relaxed)) {
      unsigned v = 0;
      if (n_->clock_info(n_->dev, kClockSm, &v) == 0) mhz_.push_back(v);
      next += period;
      std::this_thread::sleep_until(next);
    }
  });
}

void SmClockSampler::stop() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
}

void nvml_close(Nvml* n) {
  if (!n) return;
  n->shutdown();
  dlclose(n->lib);
  delete n;
}

}  // namespace gpuperf::validate
