#include "engine.hpp"

#include <map>

#include "gpuperf/io/measurements_loader.hpp"
#include "gpuperf/io/model_loader.hpp"
#include "scenario_options.hpp"

namespace gpuperf::cli {

namespace fs = std::filesystem;

const ModelSpec& Engine::model(const std::string& id) const {
  if (const ModelSpec* m = io::find_model(models, id)) return *m;
  std::string known;
  for (const auto& m : models) known += (known.empty() ? "" : ", ") + m.id;
  throw UsageError("unknown model '" + id + "' (known: " + known + ")");
}

const StackSpec& Engine::stack(const std::string& id) const {
  for (const auto& s : stacks)
    if (s.id == id) return s;
  std::string known;
  for (const auto& s : stacks) known += (known.empty() ? "" : ", ") + s.id;
  throw UsageError("unknown stack '" + id + "' (known: " + known + ")");
}

Eigen::MatrixXd Engine::covariance() const {
  if (!calibration || calibration->covariance.empty()) return {};
  const auto n = static_cast<Eigen::Index>(calibration->covariance_names.size());
  Eigen::MatrixXd m(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j)
      m(i, j) = calibration->covariance[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
  return m;
}

int Engine::dof() const {
  if (!calibration) return 0;
  auto it = calibration->summary.find("dof");
  return it == calibration->summary.end() ? 0 : static_cast<int>(it->second);
}

double Engine::residual_sd_log() const {
  if (!calibration) return 0;
  auto it = calibration->summary.find("residual_sd_log");
  return it == calibration->summary.end() ? 0 : it->second;
}

std::vector<FitBlock> Engine::blocks() const {
  if (!calibration) return {};
  if (!calibration->blocks.empty()) return calibration->blocks;
  return {FitBlock{calibration->covariance_names, residual_sd_log(), dof()}};
}

Engine load_engine(const fs::path& specs_dir, const std::string& calibration) {
  Engine e;
  e.specs_dir = specs_dir;
  e.catalog = io::load_catalog(specs_dir);
  e.models = io::load_models(specs_dir);
  e.stacks = io::load_stacks(specs_dir);
  if (calibration == "none") {
    e.calibration_path = std::nullopt;
  } else if (!calibration.empty()) {
    e.calibration_path = fs::path(calibration);
  } else {
    e.calibration_path = io::default_calibration(specs_dir);
  }
  e.params = io::load_params(specs_dir, e.calibration_path);
  if (e.calibration_path) e.calibration = io::load_param_file(*e.calibration_path);
  return e;
}

void add_calibration_option(po::options_description& desc) {
  desc.add_options()("calibration", po::value<std::string>()->default_value(""),
                     "parameter file: a calibration YAML, or 'none' for the priors (default: "
                     "specs/calibrations/default.yaml)");
}

std::string default_stack(const ModelSpec& model) {
  return model.kind == ModelKind::diffusion ? "a1111-xformers-2023" : "textgen-gptq-2023";
}

std::string calibration_label(const Engine& engine) {
  return engine.calibration_path ? engine.calibration_path->filename().string() : std::string("priors (uncalibrated)");
}

void add_model_stack_options(po::options_description& desc) {
  desc.add_options()("model", po::value<std::string>()->required(), "model id (see 'gpuperf list models')")(
      "stack", po::value<std::string>(),
      "software stack id (default: a1111-xformers-2023 for SD, textgen-gptq-2023 for LLaMA)");
}

WorkloadRequest workload_request_from(const Engine& engine, const po::variables_map& vm, const std::string& covered) {
  WorkloadRequest r;
  r.model = &engine.model(vm["model"].as<std::string>());
  r.stack = &engine.stack(vm.count("stack") ? vm["stack"].as<std::string>() : default_stack(*r.model));
  if (const SdModelSpec* sd = r.model->sd()) {
    SdScenario s = sd_scenario_from(vm, *r.model);
    if (sd_part_from(vm) != SdPart::unet)
      throw UsageError("--part: " + covered + " cover the UNet step (--part unet) only");
    if (auto problem = validate(*sd, s)) throw UsageError(*problem);
    r.sd_pass = s.hires ? 1 : 0;
    r.scenario = s;
  } else {
    LlamaScenario s = llama_scenario_from(vm, *r.model);
    if (auto problem = validate(*r.model->llama(), s)) throw UsageError(*problem);
    r.scenario = s;
  }
  r.scenario_text = describe_scenario(r.scenario, r.sd_pass);
  r.workload = make_workload(*r.model, r.scenario, r.sd_pass, *r.stack);
  return r;
}

PreparedSets prepare_measurements(const Engine& engine, const std::vector<std::string>& files) {
  PreparedSets out;
  for (const auto& f : files) {
    fs::path path(f);
    // A bare id names a set of the spec tree; a relative path that is not there from here is read from
    // the tree's repository (a calibration lists e.g. validate/results/h100-sxm.yaml so).
    if (path.extension().empty() && !fs::exists(path)) {
      path = engine.specs_dir / "measurements" / (f + ".yaml");
    } else if (path.is_relative() && !fs::exists(path) && fs::exists(engine.specs_dir.parent_path() / path)) {
      path = engine.specs_dir.parent_path() / path;
    }
    out.sets.push_back(io::load_measurement_set(path, engine.catalog, engine.models, engine.stacks));
  }
  for (const auto& set : out.sets) {
    // A card measured more than once in a set (a replay file: several workloads and stacks) is told
    // apart by what was run; a survey table keeps the card alone.
    std::map<std::string, int> per_card;
    for (const auto& pt : set.points)
      if (!pt.micro) ++per_card[pt.gpu_id];
    for (const auto& pt : set.points) {
      PreparedPoint p;
      p.set_id = set.id;
      p.gpu = engine.catalog.find_gpu(pt.gpu_id);
      p.stack = &engine.stack(pt.stack_id);
      p.workload = pt.micro ? *pt.micro : make_workload(engine.model(pt.model_id), pt.scenario, pt.sd_pass, *p.stack);
      p.measured = pt.value;
      p.price_usd = pt.price_usd;
      if (pt.micro) {
        p.label = pt.micro_id;
      } else if (per_card[pt.gpu_id] > 1) {
        p.label =
            pt.gpu_id + " " + pt.model_id + " (" + describe_scenario(pt.scenario, pt.sd_pass) + ") " + pt.stack_id;
      } else {
        p.label = pt.gpu_id;
      }
      out.points.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace gpuperf::cli
