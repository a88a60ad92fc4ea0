// measurement: the host-side half of gpuperf-validate — summaries of repeated timings, the measurement
// records and the `version: 1` measurement YAML they are written to. Plain C++, no CUDA, so CI tests it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace gpuperf::validate {

// Median, extremes and spread of one quantity over repeats (each sample already in the reported unit).
struct Summary {
  double median = 0;
  double min = 0;
  double max = 0;
  int repeats = 0;
  // Robust spread: (p90 - p10) / median, in percent.
  double noise_pct = 0;
};
// Empty input gives NaN median/min/max and repeats 0 (the refusal rule then rejects it).
Summary summarize(const std::vector<double>& samples);

// Times (seconds per run) to rates: `amount` / t for each sample (e.g. bytes -> bytes/s).
std::vector<double> rates_from_times(const std::vector<double>& seconds, double amount, double scale = 1.0);

using ConditionValue = std::variant<std::string, double, std::int64_t>;
struct Condition {
  std::string key;
  ConditionValue value;
};

struct Measurement {
  std::string id;    // unique within a file, lowercase with dashes
  std::string kind;  // dram_copy_gb_s, gemm_tflops, ... (the unit is in the name)
  double value = 0;  // the figure the model reads: the median
  std::string unit;
  Summary stats;
  std::vector<Condition> conditions;

  // The condition's value as text ("" if absent).
  std::string condition(std::string_view key) const;
};

// Builds a measurement whose value is the median of `samples`.
Measurement make_measurement(std::string id, std::string kind, std::string unit, const std::vector<double>& samples,
                             std::vector<Condition> conditions);

// The SM clock of a timed window as conditions: `sm_mhz_mean` (to 0.1 MHz), `sm_mhz_min` and
// `sm_mhz_samples`, from clock samples (MHz) read while the window ran; none without samples (no NVML).
std::vector<Condition> sm_clock_conditions(const std::vector<double>& sm_mhz);

// What the program learnt about the card (cudaDeviceProp, cudaDeviceGetAttribute, NVML).
struct DeviceInfo {
  std::string name;
  int cc_major = 0;
  int cc_minor = 0;
  int sm_count = 0;
  double sm_clock_max_mhz = 0;  // cudaDevAttrClockRate: the top boost clock
  double memory_clock_mhz = 0;  // cudaDevAttrMemoryClockRate
  int bus_width_bits = 0;
  double l2_bytes = 0;
  double memory_bytes = 0;
  int max_threads_per_sm = 0;
  std::string driver;            // NVML driver version string, or "" if NVML is absent
  int cuda_driver_version = 0;   // cudaDriverGetVersion, e.g. 13000
  int cuda_runtime_version = 0;  // cudaRuntimeGetVersion
  std::string pci_bus_id;
  // NVML: clocks read while the suite ran (SM MHz) and the card's limits; 0 = not available.
  std::vector<double> sm_clocks_seen_mhz;
  std::vector<double> mem_clocks_seen_mhz;
  double nvml_max_sm_clock_mhz = 0;
  double nvml_max_mem_clock_mhz = 0;
  double power_limit_default_w = 0;
};

struct MeasurementFile {
  std::string generator = "gpuperf-validate";
  std::string date;  // YYYY-MM-DD (UTC)
  std::string card_id;
  DeviceInfo device;
  std::vector<std::pair<std::string, double>> peaks;  // theoretical ceilings used by the refusal rule
  std::vector<Measurement> micro;
};

// YAML text of the file (`version: 1`). Deterministic: same input, same bytes.
std::string to_yaml(const MeasurementFile& file);

// Writes `text` to `path` atomically: a temporary file in the same folder, flushed, then renamed over
// `path`. Throws std::runtime_error (with the path and the reason) on failure; `path` is then untouched.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

// A YAML double-quoted scalar of `s` (quotes, backslashes and control characters escaped).
std::string yaml_quote(std::string_view s);
// A number as YAML: integers without a fraction, others with 7 significant digits; NaN/inf as .nan/.inf.
std::string yaml_number(double x);

}  // namespace gpuperf::validate
