#include "peaks.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "gpuperf/statistics.hpp"

namespace gpuperf::validate {

std::optional<PerSmRates> per_sm_rates(int cc_major, int cc_minor) {
  const int cc = cc_major * 10 + cc_minor;
  switch (cc) {
    case 75:  // turing-tu10x
      return PerSmRates{128, 1024, std::nullopt, std::nullopt, 2048};
    case 80:  // ampere-ga100
      return PerSmRates{128, 1024 * 2, 512 * 2, std::nullopt, 2048 * 2};
    case 86:  // ampere-ga10x
    case 87:
      return PerSmRates{256, 1024, 512, std::nullopt, 2048};
    case 89:  // ada-ad10x
      return PerSmRates{256, 1024, 512, 2048, 2048};
    case 90:  // hopper-gh100
      return PerSmRates{256, 4096, 2048, 8192, 8192};
    case 120:  // blackwell-gb20x
      return PerSmRates{256, 1024, 512, 2048, 2048};
    default:
      return std::nullopt;
  }
}

std::string arch_id_for(int cc_major, int cc_minor) {
  switch (cc_major * 10 + cc_minor) {
    case 75:
      return "turing-tu10x";
    case 80:
      return "ampere-ga100";
    case 86:
    case 87:
      return "ampere-ga10x";
    case 89:
      return "ada-ad10x";
    case 90:
      return "hopper-gh100";
    case 120:
      return "blackwell-gb20x";
    default:
      return "";
  }
}

Peaks compute_peaks(const DeviceInfo& d) {
  Peaks p;
  p.clock_mhz = std::max(d.sm_clock_max_mhz, d.nvml_max_sm_clock_mhz);
  // DDR: two transfers per memory clock on every pin (HBM and GDDR as the runtime reports their clock).
  p.dram_gb_s = d.memory_clock_mhz * 1e6 * 2.0 * d.bus_width_bits / 8.0 / 1e9;
  const double sm_ghz = d.sm_count * p.clock_mhz * 1e-3;  // SMs x GHz
  p.l2_gb_s = sm_ghz * 128.0;
  if (auto r = per_sm_rates(d.cc_major, d.cc_minor)) {
    auto tf = [&](std::optional<double> rate) -> std::optional<double> {
      if (!rate) return std::nullopt;
      return *rate * sm_ghz * 1e-3;  // FLOP/clk/SM x SM x GHz = GFLOP/s; /1e3 = TFLOP/s
    };
    p.fp32_tflops = tf(r->fp32_flop_per_clk);
    p.fp16_tflops = tf(r->fp16);
    p.tf32_tflops = tf(r->tf32);
    p.fp8_tflops = tf(r->fp8);
    p.int8_tops = tf(r->int8);
  }
  return p;
}

std::vector<std::pair<std::string, double>> peaks_for_file(const Peaks& p) {
  std::vector<std::pair<std::string, double>> out;
  auto r1 = [](double x) { return std::round(x * 10) / 10; };
  out.emplace_back("clock_mhz", p.clock_mhz);
  out.emplace_back("dram_gb_s", r1(p.dram_gb_s));
  out.emplace_back("l2_gb_s_bound", r1(p.l2_gb_s));
  if (p.fp32_tflops) out.emplace_back("fp32_tflops", r1(*p.fp32_tflops));
  if (p.fp16_tflops) out.emplace_back("fp16_tflops", r1(*p.fp16_tflops));
  if (p.tf32_tflops) out.emplace_back("tf32_tflops", r1(*p.tf32_tflops));
  if (p.fp8_tflops) out.emplace_back("fp8_tflops", r1(*p.fp8_tflops));
  if (p.int8_tops) out.emplace_back("int8_tops", r1(*p.int8_tops));
  return out;
}

namespace {

std::string fmt(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

struct Ceiling {
  std::optional<double> value;
  std::string derivation;
};

enum class Rule { rate, positive, unknown };

Rule rule_for(const std::string& kind) {
  static const char* rates[] = {"dram_read_gb_s",
                                "dram_write_gb_s",
                                "dram_copy_gb_s",
                                "bw_sweep_gb_s",
                                "l2_read_gb_s",
                                "gemm_tflops",
                                "fp32_fma_tflops",
                                "gemv_q4_gb_s",
                                "replay_gb_s",
                                "attention_tflops",
                                "attention_exp_probe_tflops"};
  static const char* positives[] = {
      "l2_knee_mib", "launch_latency_us",  "host_dispatch_us", "graph_launch_us_per_kernel",
      "replay_ms",   "replay_floor_ratio", "gemv_q4_us"};
  for (const char* k : rates)
    if (kind == k) return Rule::rate;
  for (const char* k : positives)
    if (kind == k) return Rule::positive;
  return Rule::unknown;
}

Ceiling ceiling_for(const Measurement& m, const Peaks& p) {
  const std::string& k = m.kind;
  const std::string dram = "memory clock x bus width x 2 = " + fmt(p.dram_gb_s) + " GB/s";
  if (k == "dram_read_gb_s" || k == "dram_write_gb_s" || k == "dram_copy_gb_s" || k == "gemv_q4_gb_s" ||
      k == "replay_gb_s")
    return {p.dram_gb_s, dram};
  if (k == "l2_read_gb_s" || k == "bw_sweep_gb_s")
    return {std::max(p.l2_gb_s, p.dram_gb_s),
            "SMs x 128 B/clk x " + fmt(p.clock_mhz) + " MHz = " + fmt(p.l2_gb_s) + " GB/s"};
  if (k == "fp32_fma_tflops") return {p.fp32_tflops, "SMs x FP32 FLOP/clk/SM x clock"};
  if (k == "attention_tflops" || k == "attention_exp_probe_tflops")
    return {p.fp16_tflops, "SMs x fp16 tensor FLOP/clk/SM x clock"};
  if (k == "gemm_tflops") {
    const std::string dtype = m.condition("dtype");
    if (dtype == "fp16" || dtype == "bf16") return {p.fp16_tflops, "SMs x fp16 tensor FLOP/clk/SM x clock"};
    if (dtype == "tf32") return {p.tf32_tflops, "SMs x tf32 tensor FLOP/clk/SM x clock"};
    if (dtype == "fp8") return {p.fp8_tflops, "SMs x fp8 tensor FLOP/clk/SM x clock"};
    if (dtype == "int8") return {p.int8_tops, "SMs x int8 tensor OP/clk/SM x clock"};
    return {std::nullopt, "no tensor rate for dtype '" + dtype + "'"};
  }
  return {std::nullopt, "no ceiling"};
}

}  // namespace

std::optional<std::string> refusal(const Measurement& m, const Peaks& p) {
  const std::string who = "measurement '" + m.id + "' (" + m.kind + ")";
  if (m.stats.repeats <= 0) return who + ": no samples";
  for (double x : {m.value, m.stats.median, m.stats.min, m.stats.max}) {
    if (!std::isfinite(x)) return who + ": non-finite figure";
    if (x <= 0) return who + ": figure " + fmt(x) + " is not positive";
  }
  switch (rule_for(m.kind)) {
    case Rule::unknown:
      return who + ": unknown kind, no refusal rule";
    case Rule::positive:
      return std::nullopt;
    case Rule::rate:
      break;
  }
  Ceiling c = ceiling_for(m, p);
  if (!c.value || *c.value <= 0)
    return who + ": the card's theoretical ceiling is unknown (" + c.derivation + "), cannot check " + fmt(m.value);
  const double top = std::max(m.value, m.stats.max);
  if (top > *c.value)
    return who + ": " + fmt(top) + " " + m.unit + " is above the card's theoretical peak " + fmt(*c.value) + " (" +
           c.derivation + ")";
  return std::nullopt;
}

std::vector<std::string> refusals(const std::vector<Measurement>& ms, const Peaks& p) {
  std::vector<std::string> out;
  for (const auto& m : ms)
    if (auto r = refusal(m, p)) out.push_back(*r);
  return out;
}

std::optional<double> l2_knee_mib(std::vector<SweepPoint> sweep, double reported_l2_mib) {
  std::sort(sweep.begin(), sweep.end(),
            [](const SweepPoint& a, const SweepPoint& b) { return a.buffer_mib < b.buffer_mib; });
  std::vector<double> dram;
  double hi = 0;
  std::size_t hi_at = 0;
  for (std::size_t i = 0; i < sweep.size(); ++i) {
    if (sweep[i].buffer_mib >= 4 * reported_l2_mib) dram.push_back(sweep[i].gb_s);
    if (sweep[i].gb_s > hi) {
      hi = sweep[i].gb_s;
      hi_at = i;
    }
  }
  if (dram.size() < 2 || hi_at + 1 >= sweep.size()) return std::nullopt;
  const double lo = stats::median(dram);
  if (!(hi > 1.2 * lo)) return std::nullopt;  // no cache plateau to speak of
  const double half = 0.5 * (hi + lo);
  for (std::size_t i = hi_at + 1; i < sweep.size(); ++i) {
    if (sweep[i].gb_s >= half) continue;
    const SweepPoint& a = sweep[i - 1];
    const SweepPoint& b = sweep[i];
    const double t = (a.gb_s - half) / (a.gb_s - b.gb_s);  // in (0, 1]
    return std::exp(std::log(a.buffer_mib) + t * (std::log(b.buffer_mib) - std::log(a.buffer_mib)));
  }
  return std::nullopt;
}

std::string card_id_for(std::string_view device_name) {
  std::string n(device_name);
  auto has = [&](const char* s) { return n.find(s) != std::string::npos; };
  if (has("H100") && (has("HBM3") || has("SXM"))) return "h100-sxm";
  if (has("H100") && has("PCIe")) return "h100-pcie";
  if (has("H200")) return "h200-sxm";
  std::string slug;
  for (char c : n) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      slug += static_cast<char>(std::tolower(u));
    } else if (!slug.empty() && slug.back() != '-') {
      slug += '-';
    }
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  for (const char* prefix : {"nvidia-", "geforce-"})
    if (slug.rfind(prefix, 0) == 0) slug = slug.substr(std::string(prefix).size());
  return slug.empty() ? "unknown-gpu" : slug;
}

std::string emit_gpu_spec(const DeviceInfo& d, const std::string& card_id, const std::string& date) {
  const std::string arch = arch_id_for(d.cc_major, d.cc_minor);
  auto rates = per_sm_rates(d.cc_major, d.cc_minor);
  const int lanes = rates ? static_cast<int>(rates->fp32_flop_per_clk / 2) : 0;
  std::string n = d.name;
  auto has = [&](const char* s) { return n.find(s) != std::string::npos; };
  std::string segment = "geforce";
  if (has("H100") || has("H200") || has("A100") || has("A30") || has("L4") || has("L40") || has("B200"))
    segment = "datacenter";
  else if (has("RTX A") || has("Ada Generation") || has("Quadro") || has("Blackwell"))
    segment = "workstation";
  std::string mem_type;
  if (has("HBM3e"))
    mem_type = "HBM3e";
  else if (has("HBM3"))
    mem_type = "HBM3";
  else if (arch == "ampere-ga100" || arch == "hopper-gh100")
    mem_type = "HBM2e";
  else if (arch == "blackwell-gb20x")
    mem_type = "GDDR7";
  else
    mem_type = "GDDR6";
  const char* chip = arch == "hopper-gh100" ? "GH100" : arch == "ampere-ga100" ? "GA100" : "unknown";
  const double data_rate_gbps = std::round(d.memory_clock_mhz * 2.0 / 1000.0 * 1000) / 1000;
  const double bw = d.bus_width_bits / 8.0 * data_rate_gbps;
  const double clock = std::max(d.sm_clock_max_mhz, d.nvml_max_sm_clock_mhz);

  std::string o;
  o += "# Written by gpuperf-validate --emit-spec from what the CUDA runtime and NVML report on this card.\n";
  o += "# Review before adding to specs/gpus/: fill in the keys marked FILL IN, check chip and memory type.\n";
  o += "version: 1\n";
  o += "id: " + card_id + "\n";
  o += "name: " + yaml_quote(d.name) + "\n";
  o += "arch: " + (arch.empty() ? std::string("null  # FILL IN: unknown compute capability") : arch) + "\n";
  o += "chip: " + std::string(chip) + "\n";
  o += "segment: " + segment + "\n";
  o += "sm_count: " + std::to_string(d.sm_count) + "\n";
  o += "cuda_cores: " + std::to_string(d.sm_count * lanes) + "\n";
  o += "tensor_cores: " + std::to_string(d.sm_count * 4) + "\n";
  o += "base_clock_mhz: " + yaml_number(clock) + "  # the runtime reports no base clock: top clock used\n";
  o += "boost_clock_mhz: " + yaml_number(clock) + "\n";
  o += "tensor_fp32_accumulate: " + std::string(segment == "geforce" ? "half" : "full") + "\n";
  o += "memory:\n";
  o += "  type: " + mem_type + "  # inferred from the name and architecture\n";
  o += "  bus_width_bits: " + std::to_string(d.bus_width_bits) + "\n";
  o += "  data_rate_gbps: " + yaml_number(data_rate_gbps) + "\n";
  o += "  capacity_gib: " + yaml_number(std::round(d.memory_bytes / (1024.0 * 1024.0 * 1024.0) * 100) / 100) + "\n";
  o += "l2_mib: " + yaml_number(d.l2_bytes / (1024.0 * 1024.0)) + "\n";
  if (d.power_limit_default_w > 0)
    o += "tdp_w: " + yaml_number(d.power_limit_default_w) + "  # NVML default power limit\n";
  else
    o += "tdp_w: null  # FILL IN: NVML not available\n";
  o += "launch:\n";
  o += "  price_usd: null  # FILL IN\n";
  o += "  price_basis: null  # FILL IN: msrp or street-estimate\n";
  o += "  date: null  # FILL IN: YYYY-MM-DD\n";
  o += "published:\n";
  o += "  memory_bandwidth_gb_s: " + yaml_number(std::round(bw)) +
       "  # NOT a vendor figure: bus width / 8 x data rate as the runtime reports them\n";
  o += "sources: [" + yaml_quote("measured by gpuperf-validate on " + date) + "]\n";
  o += "notes: >\n  Device-reported: " + d.name + ", compute capability " + std::to_string(d.cc_major) + "." +
       std::to_string(d.cc_minor) + ", driver " + (d.driver.empty() ? "unknown" : d.driver) +
       ". Vendor figures (fp32_tflops, tensor_tflops) omitted: unknown to the device.\n";
  return o;
}

}  // namespace gpuperf::validate
