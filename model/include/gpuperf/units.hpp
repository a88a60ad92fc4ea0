// units: the one place where unit conversions live; every quantity elsewhere carries its unit in its name.
#pragma once

namespace gpuperf::units {

inline constexpr double kGiga = 1e9;
inline constexpr double kTera = 1e12;
inline constexpr double kMega = 1e6;
inline constexpr double kBytesPerMib = 1024.0 * 1024.0;
inline constexpr double kBytesPerGib = 1024.0 * 1024.0 * 1024.0;

constexpr double mhz_to_hz(double mhz) { return mhz * kMega; }
constexpr double gb_s_to_bytes_s(double gb_s) { return gb_s * kGiga; }
constexpr double bytes_s_to_gb_s(double bytes_s) { return bytes_s / kGiga; }
constexpr double tflops_to_flops(double tflops) { return tflops * kTera; }
constexpr double flops_to_tflops(double flops) { return flops / kTera; }
constexpr double mib_to_bytes(double mib) { return mib * kBytesPerMib; }
constexpr double gib_to_bytes(double gib) { return gib * kBytesPerGib; }
constexpr double bytes_to_gib(double bytes) { return bytes / kBytesPerGib; }
constexpr double bytes_to_mib(double bytes) { return bytes / kBytesPerMib; }
constexpr double s_to_us(double s) { return s * 1e6; }
constexpr double us_to_s(double us) { return us * 1e-6; }
constexpr double s_to_ms(double s) { return s * 1e3; }

}  // namespace gpuperf::units
