#include "measurement.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "gpuperf/statistics.hpp"

namespace gpuperf::validate {

Summary summarize(const std::vector<double>& samples) {
  Summary s;
  s.repeats = static_cast<int>(samples.size());
  if (samples.empty()) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    s.median = s.min = s.max = s.noise_pct = nan;
    return s;
  }
  s.median = stats::median(samples);
  auto [lo, hi] = std::minmax_element(samples.begin(), samples.end());
  s.min = *lo;
  s.max = *hi;
  const double spread = stats::quantile(samples, 0.9) - stats::quantile(samples, 0.1);
  s.noise_pct = s.median != 0 ? 100.0 * spread / std::fabs(s.median) : 0.0;
  return s;
}

std::vector<double> rates_from_times(const std::vector<double>& seconds, double amount, double scale) {
  std::vector<double> out;
  out.reserve(seconds.size());
  for (double t : seconds) out.push_back(t > 0 ? amount / t * scale : std::numeric_limits<double>::quiet_NaN());
  return out;
}

std::string Measurement::condition(std::string_view key) const {
  for (const auto& c : conditions) {
    if (c.key != key) continue;
    if (const auto* s = std::get_if<std::string>(&c.value)) return *s;
    if (const auto* i = std::get_if<std::int64_t>(&c.value)) return std::to_string(*i);
    return yaml_number(std::get<double>(c.value));
  }
  return "";
}

Measurement make_measurement(std::string id, std::string kind, std::string unit, const std::vector<double>& samples,
                             std::vector<Condition> conditions) {
  Measurement m;
  m.id = std::move(id);
  m.kind = std::move(kind);
  m.unit = std::move(unit);
  m.stats = summarize(samples);
  m.value = m.stats.median;
  m.conditions = std::move(conditions);
  return m;
}

std::vector<Condition> sm_clock_conditions(const std::vector<double>& sm_mhz) {
  if (sm_mhz.empty()) return {};
  double sum = 0;
  for (double v : sm_mhz) sum += v;
  const double mean = sum / static_cast<double>(sm_mhz.size());
  return {{"sm_mhz_mean", std::round(mean * 10) / 10},
          {"sm_mhz_min", static_cast<std::int64_t>(std::llround(*std::min_element(sm_mhz.begin(), sm_mhz.end())))},
          {"sm_mhz_samples", static_cast<std::int64_t>(sm_mhz.size())}};
}

std::string yaml_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string yaml_number(double x) {
  if (std::isnan(x)) return ".nan";
  if (std::isinf(x)) return x > 0 ? ".inf" : "-.inf";
  if (x == std::trunc(x) && std::fabs(x) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", x);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", x);
  return buf;
}

namespace {

std::string condition_value(const ConditionValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return yaml_quote(*s);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return yaml_number(std::get<double>(v));
}

void emit_clock_summary(std::string& out, const char* key, const std::vector<double>& mhz) {
  if (mhz.empty()) return;
  Summary s = summarize(mhz);
  out += std::string("    ") + key + ": {min: " + yaml_number(s.min) + ", median: " + yaml_number(s.median) +
         ", max: " + yaml_number(s.max) + ", samples: " + std::to_string(s.repeats) + "}\n";
}

}  // namespace

std::string to_yaml(const MeasurementFile& f) {
  const DeviceInfo& d = f.device;
  std::string out;
  out += "# Measured by gpuperf-validate (validate/). Schema: specs/measurements/README.md.\n";
  out += "version: 1\n";
  out += "generator: " + yaml_quote(f.generator) + "\n";
  out += "date: " + yaml_quote(f.date) + "\n";
  out += "card_id: " + yaml_quote(f.card_id) + "\n";
  out += "device:\n";
  out += "  name: " + yaml_quote(d.name) + "\n";
  out += "  compute_capability: " + yaml_quote(std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor)) + "\n";
  out += "  sm_count: " + std::to_string(d.sm_count) + "\n";
  out += "  sm_clock_max_mhz: " + yaml_number(d.sm_clock_max_mhz) + "\n";
  out += "  memory_clock_mhz: " + yaml_number(d.memory_clock_mhz) + "\n";
  out += "  bus_width_bits: " + std::to_string(d.bus_width_bits) + "\n";
  out += "  l2_mib: " + yaml_number(d.l2_bytes / (1024.0 * 1024.0)) + "\n";
  out += "  memory_gib: " + yaml_number(std::round(d.memory_bytes / (1024.0 * 1024.0 * 1024.0) * 100) / 100) + "\n";
  out += "  driver: " + yaml_quote(d.driver) + "\n";
  out += "  cuda_driver_version: " + std::to_string(d.cuda_driver_version) + "\n";
  out += "  cuda_runtime_version: " + std::to_string(d.cuda_runtime_version) + "\n";
  out += "  pci_bus_id: " + yaml_quote(d.pci_bus_id) + "\n";
  out += "  clocks_seen:  # NVML, read after each measurement\n";
  if (d.sm_clocks_seen_mhz.empty() && d.mem_clocks_seen_mhz.empty()) out += "    available: false\n";
  emit_clock_summary(out, "sm_mhz", d.sm_clocks_seen_mhz);
  emit_clock_summary(out, "memory_mhz", d.mem_clocks_seen_mhz);
  if (d.nvml_max_sm_clock_mhz > 0) out += "    sm_max_mhz: " + yaml_number(d.nvml_max_sm_clock_mhz) + "\n";
  if (d.nvml_max_mem_clock_mhz > 0) out += "    memory_max_mhz: " + yaml_number(d.nvml_max_mem_clock_mhz) + "\n";
  if (d.power_limit_default_w > 0) out += "  power_limit_default_w: " + yaml_number(d.power_limit_default_w) + "\n";
  out += "peaks:  # theoretical ceilings from cudaDeviceProp; a figure above its ceiling is refused\n";
  if (f.peaks.empty()) out += "  {}\n";
  for (const auto& [key, v] : f.peaks) out += "  " + key + ": " + yaml_number(v) + "\n";
  out += "micro:\n";
  if (f.micro.empty()) out += "  []\n";
  for (const auto& m : f.micro) {
    out += "  - id: " + yaml_quote(m.id) + "\n";
    out += "    kind: " + m.kind + "\n";
    out += "    value: " + yaml_number(m.value) + "\n";
    out += "    unit: " + yaml_quote(m.unit) + "\n";
    out += "    median: " + yaml_number(m.stats.median) + "\n";
    out += "    min: " + yaml_number(m.stats.min) + "\n";
    out += "    max: " + yaml_number(m.stats.max) + "\n";
    out += "    repeats: " + std::to_string(m.stats.repeats) + "\n";
    out += "    noise_pct: " + yaml_number(std::round(m.stats.noise_pct * 100) / 100) + "\n";
    out += "    conditions: {";
    for (std::size_t i = 0; i < m.conditions.size(); ++i) {
      out += (i ? ", " : "") + m.conditions[i].key + ": " + condition_value(m.conditions[i].value);
    }
    out += "}\n";
  }
  return out;
}

void write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  namespace fs = std::filesystem;
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) throw std::runtime_error(path.string() + ": cannot create a temporary file: " + std::strerror(errno));
  const std::string tmp(name.data());
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw std::runtime_error(path.string() + ": " + what + ": " + std::strerror(err));
  };
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0) fail("chmod failed");
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(path.string() + ": close failed: " + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(path.string() + ": rename failed: " + std::strerror(err));
  }
}

}  // namespace gpuperf::validate
