// `gpuperf list gpus` and `gpuperf show gpu`: the hardware catalog and its derived ceilings.
#include "commands.hpp"
#include "gpuperf/io/catalog.hpp"

namespace gpuperf::cli {

namespace {

std::string list_of(const io::Catalog& cat) {
  std::string ids;
  for (const auto& g : cat.gpus) ids += (ids.empty() ? "" : ", ") + g.spec.id;
  return ids;
}

}  // namespace

const Gpu& require_gpu(const io::Catalog& cat, const std::string& id) {
  if (const Gpu* g = cat.find_gpu(id)) return *g;
  throw UsageError("unknown GPU '" + id + "' (known: " + list_of(cat) + ")");
}

namespace {

int list_gpus(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  auto parsed = parse_command_args(args, self, own, {}, ctx);
  if (!parsed) return 0;
  io::Catalog cat = io::load_catalog(ctx.specs_dir);
  Table t;
  t.columns = {{"id", "id"},
               {"name", "name"},
               {"arch", "arch"},
               {"sm_count", "SMs"},
               {"boost_clock_mhz", "boost MHz"},
               {"memory_bandwidth_gb_s", "DRAM GB/s"},
               {"l2_mib", "L2 MiB"},
               {"memory_gib", "mem GiB"},
               {"fp16_acc16_tflops", "fp16/16 TFLOPS"},
               {"fp16_acc32_tflops", "fp16/32 TFLOPS"},
               {"launch_price_usd", "launch $"}};
  for (const auto& g : cat.gpus) {
    t.add({g.spec.id, g.spec.name, g.spec.arch_id, g.spec.sm_count, Cell(g.spec.boost_clock_mhz, 0),
           Cell(memory_bandwidth_gb_s(g.spec), 0), Cell(g.spec.l2_mib, 0), Cell(g.spec.memory.capacity_gib, 0),
           Cell(tensor_peak_tflops(g, TensorMode::fp16_acc16), 1),
           Cell(tensor_peak_tflops(g, TensorMode::fp16_acc32), 1), Cell(g.spec.launch_price_usd, 0)});
  }
  t.footnotes = {std::to_string(cat.gpus.size()) +
                 " cards. Bandwidth and TFLOPS are derived (bus x data rate; SMs x per-SM rate x boost clock), dense."};
  ctx.out = t.render(parsed->format);
  return 0;
}

Json gpu_json(const Gpu& g) {
  const GpuSpec& s = g.spec;
  Json j = Json::object();
  j.set("id", s.id);
  j.set("name", s.name);
  Json arch = Json::object();
  arch.set("id", g.arch.id);
  arch.set("name", g.arch.name);
  arch.set("compute_capability", g.arch.compute_capability);
  j.set("arch", std::move(arch));
  j.set("chip", s.chip);
  j.set("segment", std::string(to_string(s.segment)));
  j.set("sm_count", s.sm_count);
  j.set("cuda_cores", s.cuda_cores);
  j.set("tensor_cores", s.tensor_cores);
  j.set("base_clock_mhz", s.base_clock_mhz);
  j.set("boost_clock_mhz", s.boost_clock_mhz);
  if (s.max_boost_clock_mhz) j.set("max_boost_clock_mhz", *s.max_boost_clock_mhz);
  j.set("tensor_fp32_accumulate", s.tensor_fp32_accumulate_half ? "half" : "full");
  Json mem = Json::object();
  mem.set("type", s.memory.type);
  mem.set("bus_width_bits", s.memory.bus_width_bits);
  mem.set("data_rate_gbps", s.memory.data_rate_gbps);
  mem.set("capacity_gib", s.memory.capacity_gib);
  j.set("memory", std::move(mem));
  j.set("l2_mib", s.l2_mib);
  j.set("tdp_w", s.tdp_w);
  Json launch = Json::object();
  launch.set("price_usd", s.launch_price_usd);
  launch.set("date", s.launch_date);
  j.set("launch", std::move(launch));
  Json derived = Json::object();
  derived.set("memory_bandwidth_gb_s", memory_bandwidth_gb_s(s));
  derived.set("l2_bandwidth_gb_s", l2_bandwidth_gb_s(g));
  derived.set("fp32_tflops", fp32_peak_tflops(s));
  derived.set("fp32_ridge_flop_per_byte", fp32_ridge_flop_per_byte(s));
  Json tensor = Json::array();
  for (TensorMode m : kAllTensorModes) {
    auto peak = tensor_peak_tflops(g, m);
    if (!peak) continue;
    Json t = Json::object();
    t.set("mode", std::string(to_string(m)));
    t.set(is_integer_mode(m) ? "tops" : "tflops", *peak);
    t.set("ridge_flop_per_byte", tensor_ridge_flop_per_byte(g, m));
    tensor.push(std::move(t));
  }
  derived.set("tensor", std::move(tensor));
  j.set("derived", std::move(derived));
  Json checks = Json::array();
  for (const auto& c : check_published(g)) {
    Json cj = Json::object();
    cj.set("figure", c.figure);
    cj.set("published", c.published);
    cj.set("derived", c.derived);
    cj.set("error_pct", 100.0 * c.relative_error());
    checks.push(std::move(cj));
  }
  j.set("published_checks", std::move(checks));
  Json survey = Json::object();
  for (const auto& [k, v] : s.survey) survey.set(k, v);
  j.set("survey", std::move(survey));
  Json sources = Json::array();
  for (const auto& src : s.sources) sources.push(src);
  j.set("sources", std::move(sources));
  j.set("notes", s.notes);
  return j;
}

std::string gpu_text(const Gpu& g, Format format) {
  const GpuSpec& s = g.spec;
  Table t;
  t.columns = {{"field", "field"}, {"value", "value"}, {"unit", "unit"}};
  auto row = [&](const std::string& f, Cell v, const std::string& unit) { t.add({f, std::move(v), unit}); };
  row("name", s.name, "");
  row("arch", g.arch.id + " (" + g.arch.name + ", sm_" + g.arch.compute_capability + ")", "");
  row("chip", s.chip, "");
  row("segment", std::string(to_string(s.segment)), "");
  row("sm_count", s.sm_count, "");
  row("cuda_cores", s.cuda_cores, "");
  row("tensor_cores", s.tensor_cores, "");
  row("base_clock", Cell(s.base_clock_mhz, 0), "MHz");
  row("boost_clock", Cell(s.boost_clock_mhz, 0), "MHz");
  if (s.max_boost_clock_mhz) row("max_boost_clock", Cell(*s.max_boost_clock_mhz, 0), "MHz");
  row("tensor_fp32_accumulate", s.tensor_fp32_accumulate_half ? "half rate" : "full rate", "");
  row("memory", s.memory.type + ", " + std::to_string(s.memory.bus_width_bits) + "-bit", "");
  row("memory.data_rate", Cell(s.memory.data_rate_gbps, 2), "Gbit/s/pin");
  row("memory.capacity", Cell(s.memory.capacity_gib, 0), "GiB");
  row("l2", Cell(s.l2_mib, 1), "MiB");
  row("tdp", Cell(s.tdp_w, 0), "W");
  row("launch", "$" + format_sig(s.launch_price_usd, 6) + " on " + s.launch_date, "USD");
  row("derived memory bandwidth", Cell(memory_bandwidth_gb_s(s), 1), "GB/s");
  row("derived L2 bandwidth", Cell(l2_bandwidth_gb_s(g), 0), "GB/s");
  row("derived fp32 peak", Cell(fp32_peak_tflops(s), 1), "TFLOPS");
  row("derived fp32 ridge", Cell(fp32_ridge_flop_per_byte(s), 1), "FLOP/B");
  for (TensorMode m : kAllTensorModes) {
    auto peak = tensor_peak_tflops(g, m);
    if (!peak) continue;
    std::string unit = is_integer_mode(m) ? "TOPS" : "TFLOPS";
    row("derived tensor " + std::string(to_string(m)), Cell(*peak, 1),
        unit + " (ridge " + format_sig(*tensor_ridge_flop_per_byte(g, m), 4) + " FLOP/B)");
  }
  for (const auto& c : check_published(g))
    row("published " + c.figure, Cell(c.published, 1),
        "derived " + format_sig(c.derived.value_or(0), 5) + ", " + format_sig(100.0 * c.relative_error(), 2) + "% off");
  for (const auto& [k, v] : s.survey) row("survey printed " + k, v, "");
  for (const auto& src : s.sources) row("source", src, "");
  if (!s.notes.empty()) t.footnotes.push_back("notes: " + s.notes);
  return t.render(format);
}

int show_gpu(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  own.add_options()("id", po::value<std::string>()->required(), "GPU id (see 'gpuperf list gpus')");
  po::positional_options_description pos;
  pos.add("id", 1);
  auto parsed = parse_command_args(args, self, own, pos, ctx);
  if (!parsed) return 0;
  io::Catalog cat = io::load_catalog(ctx.specs_dir);
  const Gpu& g = require_gpu(cat, parsed->vm["id"].as<std::string>());
  ctx.out = parsed->format == Format::json ? gpu_json(g).dump() : gpu_text(g, parsed->format);
  return 0;
}

}  // namespace

std::vector<CommandSpec> catalog_commands() {
  std::vector<CommandSpec> cmds;
  cmds.push_back(make_command("list gpus", "gpuperf list gpus [--format table|csv|json|md]",
                              "List every card with its derived ceilings.", list_gpus));
  cmds.push_back(make_command("show gpu", "gpuperf show gpu ID [--format table|json|csv|md]",
                              "Every field of one card, its derived ceilings and the published-figure checks.",
                              show_gpu));
  return cmds;
}

}  // namespace gpuperf::cli
