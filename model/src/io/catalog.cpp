#include "gpuperf/io/catalog.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "gpuperf/io/yaml_reader.hpp"

namespace gpuperf::io {

namespace fs = std::filesystem;

std::vector<fs::path> yaml_files_in(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError({dir.string(), 0, 0}, "no such folder");
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto ext = it->path().extension().string();
    if (ext == ".yaml" || ext == ".yml") files.push_back(it->path());
  }
  if (ec) throw InputError({dir.string(), 0, 0}, "cannot list folder: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

ArchSpec load_arch_file(const fs::path& path) {
  MapReader r(load_yaml_file(path), path.string(), "");
  ArchSpec a;
  a.id = read_spec_header(r, path, kSpecVersion);
  a.name = r.string("name");
  a.compute_capability = r.string("compute_capability");
  a.fp32_lanes_per_sm = static_cast<int>(r.int_in("fp32_lanes_per_sm", 1, 1024));
  a.warp_schedulers_per_sm = static_cast<int>(r.int_in("warp_schedulers_per_sm", 1, 16));
  a.sfu_results_per_clk_per_sm = static_cast<int>(r.int_in("sfu_results_per_clk_per_sm", 1, 1024));
  a.tensor_cores_per_sm = static_cast<int>(r.int_in("tensor_cores_per_sm", 1, 64));
  a.max_threads_per_sm = static_cast<int>(r.int_in("max_threads_per_sm", 32, 1 << 16));
  a.shared_memory_per_sm_kib = static_cast<int>(r.int_in("shared_memory_per_sm_kib", 1, 1 << 16));
  a.registers_per_sm_kib = static_cast<int>(r.int_in("registers_per_sm_kib", 1, 1 << 16));
  a.l2_bytes_per_clk_per_sm = r.number_in("l2_bytes_per_clk_per_sm", 1, 4096);
  MapReader rates = r.map("tensor_dense_flop_per_clk_per_sm");
  for (const auto& kv : rates.yaml()) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    auto mode = tensor_mode_from_string(key);
    if (!mode) continue;  // finish() reports it as unknown
    a.tensor_dense_flop_per_clk_per_sm[static_cast<std::size_t>(*mode)] = rates.number_in(key, 1, 1 << 20);
  }
  rates.finish();
  if (!a.tensor_dense_flop_per_clk_per_sm[static_cast<std::size_t>(TensorMode::fp16_acc32)])
    rates.fail("fp16_acc32", "missing (every architecture gpuperf models has fp16 tensor cores)");
  a.sources = r.string_list("sources");
  if (auto n = r.optional_string("notes")) a.notes = *n;
  r.finish();
  return a;
}

namespace {

const ArchSpec& find_arch_or_fail(MapReader& r, const std::string& arch_id, const std::vector<ArchSpec>& arches) {
  auto it = std::find_if(arches.begin(), arches.end(), [&](const ArchSpec& a) { return a.id == arch_id; });
  if (it == arches.end()) {
    std::string known;
    for (const auto& a : arches) known += (known.empty() ? "" : ", ") + a.id;
    r.fail("arch", "unknown architecture '" + arch_id + "' (known: " + known + ")");
  }
  return *it;
}

// The physical fields of a card. With `base` every field is optional and keeps the base's value; the
// core counts then follow sm_count (and the architecture) unless given.
const ArchSpec& read_gpu_fields(MapReader& r, GpuSpec& g, const std::vector<ArchSpec>& arches, const GpuSpec* base) {
  auto want = [&](MapReader& m, std::string_view key) { return !base || m.has(key); };
  if (want(r, "name")) g.name = r.string("name");
  if (want(r, "arch")) g.arch_id = r.string("arch");
  const ArchSpec& arch = find_arch_or_fail(r, g.arch_id, arches);
  if (want(r, "chip")) g.chip = r.string("chip");
  if (want(r, "segment")) {
    auto seg = r.choice("segment", {"geforce", "workstation", "datacenter"});
    g.segment = seg == "geforce" ? Segment::geforce : seg == "workstation" ? Segment::workstation : Segment::datacenter;
  }
  if (want(r, "sm_count")) g.sm_count = static_cast<int>(r.int_in("sm_count", 1, 4096));
  if (base) {
    g.cuda_cores = g.sm_count * arch.fp32_lanes_per_sm;
    g.tensor_cores = g.sm_count * arch.tensor_cores_per_sm;
  }
  if (want(r, "cuda_cores")) g.cuda_cores = static_cast<int>(r.int_in("cuda_cores", 1, 1 << 22));
  if (want(r, "tensor_cores")) g.tensor_cores = static_cast<int>(r.int_in("tensor_cores", 1, 1 << 16));
  auto key_or_sm = [&](std::string_view key) { return r.has(key) ? key : std::string_view("sm_count"); };
  if (g.cuda_cores != g.sm_count * arch.fp32_lanes_per_sm)
    r.fail(key_or_sm("cuda_cores"), std::to_string(g.cuda_cores) + " is inconsistent with " +
                                        std::to_string(g.sm_count) + " SMs x " +
                                        std::to_string(arch.fp32_lanes_per_sm) + " FP32 lanes per SM of " + arch.id);
  if (g.tensor_cores != g.sm_count * arch.tensor_cores_per_sm)
    r.fail(key_or_sm("tensor_cores"),
           std::to_string(g.tensor_cores) + " is inconsistent with " + std::to_string(g.sm_count) + " SMs x " +
               std::to_string(arch.tensor_cores_per_sm) + " tensor cores per SM of " + arch.id);
  if (want(r, "base_clock_mhz")) g.base_clock_mhz = r.number_in("base_clock_mhz", 100, 5000);
  if (want(r, "boost_clock_mhz")) g.boost_clock_mhz = r.number_in("boost_clock_mhz", 100, 5000);
  if (g.boost_clock_mhz < g.base_clock_mhz)
    r.fail(r.has("boost_clock_mhz") ? "boost_clock_mhz" : "base_clock_mhz", "must not be below base_clock_mhz");
  if (r.has("max_boost_clock_mhz")) {
    g.max_boost_clock_mhz = r.number_in("max_boost_clock_mhz", 100, 5000);
  } else if (base && g.max_boost_clock_mhz && r.has("boost_clock_mhz")) {
    g.max_boost_clock_mhz.reset();  // the base's top clock belongs to the base's boost clock
  }
  if (g.max_boost_clock_mhz && *g.max_boost_clock_mhz < g.boost_clock_mhz)
    r.fail(r.has("max_boost_clock_mhz") ? "max_boost_clock_mhz" : "boost_clock_mhz",
           "max_boost_clock_mhz must not be below boost_clock_mhz");
  if (want(r, "tensor_fp32_accumulate"))
    g.tensor_fp32_accumulate_half = r.choice("tensor_fp32_accumulate", {"full", "half"}) == "half";

  if (want(r, "memory")) {
    MapReader mem = r.map("memory");
    if (want(mem, "type"))
      g.memory.type = mem.choice("type", {"GDDR5", "GDDR6", "GDDR6X", "GDDR7", "HBM2", "HBM2e", "HBM3", "HBM3e"});
    if (want(mem, "bus_width_bits"))
      g.memory.bus_width_bits = static_cast<int>(mem.int_in("bus_width_bits", 32, 16384));
    if (want(mem, "data_rate_gbps")) g.memory.data_rate_gbps = mem.number_in("data_rate_gbps", 0.1, 100);
    if (want(mem, "capacity_gib")) g.memory.capacity_gib = mem.number_in("capacity_gib", 0.25, 4096);
    mem.finish();
  }
  if (want(r, "l2_mib")) g.l2_mib = r.number_in("l2_mib", 0.0625, 1024);
  if (want(r, "tdp_w")) g.tdp_w = r.number_in("tdp_w", 1, 5000);
  return arch;
}

}  // namespace

Gpu read_hypothetical_gpu(MapReader& overrides, const std::string& id, const Gpu& base,
                          const std::vector<ArchSpec>& arches) {
  GpuSpec g = base.spec;
  g.id = id;
  g.published.reset();  // the base's published figures are not this card's
  g.survey.clear();
  g.notes = "hypothetical: " + base.spec.id + " with overrides";
  const ArchSpec& arch = read_gpu_fields(overrides, g, arches, &base.spec);
  overrides.finish();
  return Gpu{std::move(g), arch};
}

GpuSpec load_gpu_file(const fs::path& path, const std::vector<ArchSpec>& arches) {
  MapReader r(load_yaml_file(path), path.string(), "");
  GpuSpec g;
  g.id = read_spec_header(r, path, kSpecVersion);
  const ArchSpec& arch = read_gpu_fields(r, g, arches, nullptr);
  MapReader launch = r.map("launch");
  g.launch_price_usd = launch.number_in("price_usd", 1, 1e7);
  g.launch_price_basis = launch.choice("price_basis", {"msrp", "street-estimate"});
  g.launch_date = launch.date("date");
  launch.finish();

  // Published figures, remembering where each was written so a mismatch points at it.
  std::map<std::string, InputLocation> where;
  MapReader pub = r.map("published");
  PublishedFigures figures;
  figures.memory_bandwidth_gb_s = pub.number_in("memory_bandwidth_gb_s", 1, 1e6);
  where["memory_bandwidth_gb_s"] = pub.location("memory_bandwidth_gb_s");
  if (pub.has("fp32_tflops")) {
    figures.fp32_tflops = pub.number_in("fp32_tflops", 0.01, 1e6);
    where["fp32_tflops"] = pub.location("fp32_tflops");
  }
  YAML::Node tensor = pub.has("tensor_tflops") ? pub.sequence("tensor_tflops") : YAML::Node(YAML::NodeType::Sequence);
  for (std::size_t i = 0; i < tensor.size(); ++i) {
    std::string field = "published.tensor_tflops[" + std::to_string(i) + "]";
    MapReader item(tensor[i], path.string(), field);
    std::string dtype = item.choice("dtype", {"fp16", "bf16", "tf32", "fp8", "int8", "int4"});
    std::string acc = item.choice("accumulate", {"fp16", "fp32", "int32"});
    auto mode = tensor_mode_for(dtype, acc);
    if (!mode) item.fail("accumulate", "no tensor mode computes " + dtype + " with " + acc + " accumulate");
    double tflops = item.number_in("tflops", 0.01, 1e7);
    item.finish();
    for (const auto& t : figures.tensor)
      if (t.mode == *mode) item.fail("dtype", "tensor mode " + std::string(to_string(*mode)) + " listed twice");
    figures.tensor.push_back({*mode, tflops});
    where["tensor " + std::string(to_string(*mode))] = item.location("tflops");
  }
  pub.finish();
  g.published = figures;

  if (r.has("survey")) {
    MapReader survey = r.map("survey");
    for (const auto& kv : survey.yaml()) {
      if (!kv.first.IsScalar()) continue;
      g.survey[kv.first.Scalar()] = survey.string(kv.first.Scalar());
    }
    survey.finish();
  }
  g.sources = r.string_list("sources");
  if (auto n = r.optional_string("notes")) g.notes = *n;
  r.finish();

  for (const auto& check : check_published(Gpu{g, arch})) {
    if (check.relative_error() <= kPublishedTolerance) continue;
    char buf[96];
    std::snprintf(buf, sizeof buf, "published %g", check.published);
    std::string msg = std::string(buf) + " but " + check.derivation;
    if (check.derived) {
      std::snprintf(buf, sizeof buf, " (%.1f%% off, more than %.0f%%)", 100 * check.relative_error(),
                    100 * kPublishedTolerance);
      msg += buf;
    }
    throw InputError(where[check.figure], "published." + check.figure, msg);
  }
  return g;
}

const Gpu* Catalog::find_gpu(std::string_view id) const {
  for (const auto& g : gpus)
    if (g.spec.id == id) return &g;
  return nullptr;
}

const ArchSpec* Catalog::find_arch(std::string_view id) const {
  for (const auto& a : arches)
    if (a.id == id) return &a;
  return nullptr;
}

Catalog load_catalog(const fs::path& specs_dir) {
  Catalog cat;
  std::map<std::string, std::string> seen;
  for (const auto& file : yaml_files_in(specs_dir / "arches")) {
    ArchSpec a = load_arch_file(file);
    if (auto [it, fresh] = seen.emplace("arch:" + a.id, file.string()); !fresh)
      throw InputError({file.string(), 0, 0}, "id", "duplicate id '" + a.id + "' (also in " + it->second + ")");
    cat.arches.push_back(std::move(a));
  }
  if (cat.arches.empty()) throw InputError({(specs_dir / "arches").string(), 0, 0}, "no architecture files");
  for (const auto& file : yaml_files_in(specs_dir / "gpus")) {
    GpuSpec g = load_gpu_file(file, cat.arches);
    if (auto [it, fresh] = seen.emplace("gpu:" + g.id, file.string()); !fresh)
      throw InputError({file.string(), 0, 0}, "id", "duplicate id '" + g.id + "' (also in " + it->second + ")");
    const ArchSpec* arch = cat.find_arch(g.arch_id);
    cat.gpus.push_back(Gpu{std::move(g), *arch});
  }
  if (cat.gpus.empty()) throw InputError({(specs_dir / "gpus").string(), 0, 0}, "no GPU files");
  std::sort(cat.gpus.begin(), cat.gpus.end(), [](const Gpu& a, const Gpu& b) { return a.spec.id < b.spec.id; });
  return cat;
}

}  // namespace gpuperf::io
