#include "gpuperf/io/params_loader.hpp"

#include <algorithm>
#include <limits>

#include "gpuperf/io/catalog.hpp"
#include "gpuperf/io/yaml_reader.hpp"

namespace gpuperf::io {

namespace fs = std::filesystem;

namespace {

constexpr double kHuge = 1e12;

// Reads `{value, min, max, unit, meaning[, fit]}` for parameter `name`.
ParamDef read_param(MapReader& r, const std::string& name) {
  ParamDef d;
  d.name = name;
  d.lo = r.number_in("min", 0, kHuge);
  d.hi = r.number_in("max", 0, kHuge);
  if (d.hi < d.lo) r.fail("max", "must not be below min");
  d.value = r.number_in("value", d.lo, d.hi);
  d.unit = r.has("unit") ? r.node("unit").Scalar() : std::string();
  d.meaning = r.string("meaning");
  d.fit = r.has("fit") ? r.boolean("fit") : true;
  return d;
}

}  // namespace

StackSpec load_stack_file(const fs::path& path) {
  MapReader r(load_yaml_file(path), path.string(), "");
  StackSpec s;
  s.id = read_spec_header(r, path, kSpecVersion);
  s.name = r.string("name");
  s.description = r.string("description");
  s.sync_per_step = r.boolean("sync_per_step");
  s.one_kernel_per_op = r.choice("kernels", {"framework", "one-per-op"}) == "one-per-op";
  s.dependent_launch = r.choice("launch", {"plain", "programmatic-dependent"}) == "programmatic-dependent";
  MapReader params = r.map("parameters");
  for (const char* key : {"host_us_per_kernel", "host_ms_per_step"}) {
    MapReader p = params.map(key);
    // `shared_as: NAME` makes stacks that run on the same host read one parameter.
    std::string name = p.has("shared_as") ? p.string("shared_as") : s.id + "." + key;
    s.params.push_back(read_param(p, name));
    p.finish();
    (std::string(key) == "host_us_per_kernel" ? s.host_us_per_kernel_param : s.host_ms_per_step_param) = name;
  }
  params.finish();
  s.sources = r.string_list("sources");
  r.finish();
  return s;
}

std::vector<StackSpec> load_stacks(const fs::path& specs_dir) {
  std::vector<StackSpec> out;
  for (const auto& f : yaml_files_in(specs_dir / "stacks")) {
    StackSpec s = load_stack_file(f);
    for (const auto& o : out)
      if (o.id == s.id) throw InputError({f.string(), 0, 0}, "id", "duplicate stack id '" + s.id + "'");
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const StackSpec& a, const StackSpec& b) { return a.id < b.id; });
  return out;
}

ParamFile load_param_file(const fs::path& path) {
  MapReader r(load_yaml_file(path), path.string(), "");
  ParamFile f;
  f.id = read_spec_header(r, path, kSpecVersion);
  f.description = r.string("description");
  YAML::Node list = r.sequence("parameters");
  for (std::size_t i = 0; i < list.size(); ++i) {
    MapReader p(list[i], path.string(), "parameters[" + std::to_string(i) + "]");
    std::string name = p.string("name");
    ParamDef d = read_param(p, name);
    if (p.has("ci95_low") || p.has("ci95_high")) {
      double lo = p.number_in("ci95_low", -kHuge, kHuge);
      double hi = p.number_in("ci95_high", -kHuge, kHuge);
      f.ci95[name] = {lo, hi};
    }
    p.finish();
    for (const auto& o : f.params)
      if (o.name == name) p.fail("name", "parameter '" + name + "' given twice");
    f.params.push_back(std::move(d));
  }
  if (r.has("summary")) {
    MapReader s = r.map("summary");
    for (const auto& kv : s.yaml())
      if (kv.first.IsScalar())
        // dof becomes an int (Student-t intervals): an integer, not any number.
        f.summary[kv.first.Scalar()] =
            kv.first.Scalar() == "dof"
                ? static_cast<double>(s.int_in("dof", 0, std::numeric_limits<std::int32_t>::max()))
                : s.number_in(kv.first.Scalar(), -kHuge, kHuge);
    s.finish();
  }
  if (r.has("covariance")) {
    MapReader c = r.map("covariance");
    f.covariance_names = c.string_list("names");
    // Each name is one of this file's parameters, once (the matrix is indexed by them).
    YAML::Node names = c.node("names");
    for (std::size_t i = 0; i < f.covariance_names.size(); ++i) {
      const std::string& name = f.covariance_names[i];
      const std::string field = c.field_path("names") + "[" + std::to_string(i) + "]";
      if (std::none_of(f.params.begin(), f.params.end(), [&](const ParamDef& d) { return d.name == name; }))
        c.fail_node(names[i], field, "'" + name + "' is not one of this file's parameters");
      if (std::find(f.covariance_names.begin(), f.covariance_names.begin() + static_cast<std::ptrdiff_t>(i), name) !=
          f.covariance_names.begin() + static_cast<std::ptrdiff_t>(i))
        c.fail_node(names[i], field, "'" + name + "' given twice");
    }
    YAML::Node rows = c.sequence("matrix");
    if (rows.size() != f.covariance_names.size())
      c.fail("matrix", "must have one row per name (" + std::to_string(f.covariance_names.size()) + ")");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::string field = c.field_path("matrix") + "[" + std::to_string(i) + "]";
      if (!rows[i].IsSequence() || rows[i].size() != f.covariance_names.size())
        c.fail_node(rows[i], field, "must be a list of " + std::to_string(f.covariance_names.size()) + " numbers");
      std::vector<double> row;
      for (std::size_t j = 0; j < rows[i].size(); ++j) {
        auto v = scalar_number(rows[i][j], path.string(), field + "[" + std::to_string(j) + "]");
        row.push_back(v);
      }
      f.covariance.push_back(std::move(row));
    }
    c.finish();
  }
  if (r.has("blocks")) {
    YAML::Node list2 = r.sequence("blocks");
    std::vector<std::string> seen;
    for (std::size_t i = 0; i < list2.size(); ++i) {
      MapReader b(list2[i], path.string(), "blocks[" + std::to_string(i) + "]");
      FitBlock block;
      block.names = b.string_list("names");
      YAML::Node names = b.node("names");
      for (std::size_t k = 0; k < block.names.size(); ++k) {
        const std::string& name = block.names[k];
        const std::string field = b.field_path("names") + "[" + std::to_string(k) + "]";
        if (std::find(f.covariance_names.begin(), f.covariance_names.end(), name) == f.covariance_names.end())
          b.fail_node(names[k], field, "'" + name + "' is not one of covariance.names");
        if (std::find(seen.begin(), seen.end(), name) != seen.end())
          b.fail_node(names[k], field, "'" + name + "' is in two blocks");
        seen.push_back(name);
      }
      block.residual_sd_log = b.number_in("residual_sd_log", 0, kHuge);
      block.dof = static_cast<int>(b.int_in("dof", 0, std::numeric_limits<std::int32_t>::max()));
      b.finish();
      f.blocks.push_back(std::move(block));
    }
  }
  if (r.has("measurements")) f.measurements = r.string_list("measurements");
  f.sources = r.string_list("sources");
  if (r.has("generated_by")) r.string("generated_by");  // informative
  r.finish();
  return f;
}

std::optional<fs::path> default_calibration(const fs::path& specs_dir) {
  fs::path p = specs_dir / "calibrations" / "default.yaml";
  std::error_code ec;
  if (fs::exists(p, ec)) return p;
  return std::nullopt;
}

ParamSet load_params(const fs::path& specs_dir, const std::optional<fs::path>& calibration) {
  ParamSet set;
  for (auto& d : load_param_file(specs_dir / "calibrations" / "priors.yaml").params) set.set(std::move(d));
  for (const auto& s : load_stacks(specs_dir))
    for (const auto& d : s.params) set.set(d);
  if (calibration) {
    ParamFile cal = load_param_file(*calibration);
    for (const auto& d : cal.params) {
      const ParamDef* known = set.find(d.name);
      if (!known)
        throw InputError({calibration->string(), 0, 0}, "parameters",
                         "'" + d.name + "' is not a parameter of the priors or any stack");
      ParamDef merged = *known;
      merged.value = std::clamp(d.value, known->lo, known->hi);
      set.set(merged);
    }
  }
  return set;
}

}  // namespace gpuperf::io
