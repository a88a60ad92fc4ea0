#include "gpuperf/io/measurements_loader.hpp"

#include <algorithm>
#include <limits>

#include "gpuperf/io/yaml_reader.hpp"

namespace gpuperf::io {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int32_t>::max();

Resolution read_resolution(MapReader& r, const char* key) {
  std::string s = r.string(key);
  auto x = s.find('x');
  std::int64_t w = 0, h = 0;
  try {
    if (x == std::string::npos) throw std::invalid_argument("no x");
    std::size_t used_w = 0, used_h = 0;
    w = std::stoll(s.substr(0, x), &used_w);
    h = std::stoll(s.substr(x + 1), &used_h);
    if (used_w != x || used_h != s.size() - x - 1) throw std::invalid_argument("junk");
  } catch (const std::exception&) {
    r.fail(key, "expected WIDTHxHEIGHT in pixels, got '" + s + "'");
  }
  return Resolution{w, h};
}

SdScenario read_sd(MapReader& r, int& pass) {
  SdScenario s;
  if (r.has("resolution")) s.resolution = read_resolution(r, "resolution");
  if (r.has("batch")) s.batch = r.int_in("batch", 1, kMaxBatch);
  if (r.has("cfg")) s.cfg = r.boolean("cfg");
  if (r.has("steps")) s.steps = r.int_in("steps", 1, kMaxSteps);
  if (r.has("attention")) s.attention = *attention_kind_from_string(r.choice("attention", {"flash", "naive"}));
  if (r.has("precision")) s.precision = *precision_from_string(r.choice("precision", {"fp16", "bf16", "fp32", "tf32"}));
  if (r.has("hires")) s.hires = read_resolution(r, "hires");
  if (r.has("hires_steps")) s.hires_steps = r.int_in("hires_steps", 1, kMaxSteps);
  pass = 0;
  if (r.has("pass")) {
    pass = r.choice("pass", {"base", "hires"}) == "hires" ? 1 : 0;
    if (pass == 1 && !s.hires) r.fail("pass", "'hires' needs a hires resolution");
  }
  return s;
}

LlamaScenario read_llama(MapReader& r) {
  LlamaScenario s;
  if (r.has("phase"))
    s.phase = r.choice("phase", {"decode", "prefill"}) == "decode" ? LlamaPhase::decode : LlamaPhase::prefill;
  if (r.has("context")) s.context = r.int_in("context", 1, kMaxInt);
  if (r.has("prompt_tokens")) s.prompt_tokens = r.int_in("prompt_tokens", 1, kMaxInt);
  if (r.has("batch")) s.batch = r.int_in("batch", 1, kMaxBatch);
  if (r.has("weights")) {
    std::string w = r.string("weights");
    auto f = weight_format_from_string(w);
    if (!f) r.fail("weights", "unknown weight format '" + w + "' (fp16, int8, gptq4, gptq4-g128, q4_0, q4_k)");
    s.weights = *f;
  }
  if (r.has("kv_dtype")) {
    std::string k = r.choice("kv_dtype", {"fp16", "fp8", "int8"});
    s.kv_dtype = k == "fp16" ? DType::fp16 : k == "fp8" ? DType::fp8 : DType::int8;
  }
  if (r.has("attention")) s.attention = *attention_kind_from_string(r.choice("attention", {"flash", "naive"}));
  return s;
}

// A scenario map, checked against the model it belongs to.
Scenario read_scenario(MapReader& r, const ModelSpec& model, int& pass) {
  pass = 0;
  Scenario out;
  std::optional<std::string> problem;
  if (const SdModelSpec* sd = model.sd()) {
    SdScenario s = read_sd(r, pass);
    problem = validate(*sd, s);
    out = s;
  } else {
    LlamaScenario s = read_llama(r);
    problem = validate(*model.llama(), s);
    out = s;
  }
  r.finish();
  if (problem) throw InputError(r.location(), r.field_path(""), *problem);
  return out;
}

template <class T, class Id>
const T* find_by_id(const std::vector<T>& items, const std::string& id, Id id_of) {
  for (const auto& x : items)
    if (id_of(x) == id) return &x;
  return nullptr;
}

}  // namespace

MeasurementSet load_measurement_set(const fs::path& path, const Catalog& catalog, const std::vector<ModelSpec>& models,
                                    const std::vector<StackSpec>& stacks) {
  MapReader r(load_yaml_file(path), path.string(), "");
  MeasurementSet set;
  set.path = path.string();
  set.id = read_spec_header(r, path, kSpecVersion);
  set.description = r.string("description");
  set.conditions = r.string("conditions");

  auto model_of = [&](MapReader& m, const char* key) {
    std::string id = m.string(key);
    const ModelSpec* model = find_by_id(models, id, [](const ModelSpec& x) { return x.id; });
    if (!model) m.fail(key, "unknown model '" + id + "'");
    return model;
  };
  auto stack_of = [&](MapReader& m, const char* key) {
    std::string id = m.string(key);
    if (!find_by_id(stacks, id, [](const StackSpec& x) { return x.id; })) m.fail(key, "unknown stack '" + id + "'");
    return id;
  };
  auto metric_of = [&](MapReader& m, const ModelSpec& model) {
    std::string metric = m.choice("metric", {"it/s", "tokens/s"});
    if ((metric == "it/s") != (model.kind == ModelKind::diffusion))
      m.fail("metric", "'" + metric + "' does not fit model '" + model.id + "'");
    return metric;
  };

  // Set-level defaults that points may override.
  const ModelSpec* model = model_of(r, "model");
  std::string stack = stack_of(r, "stack");
  std::string metric = metric_of(r, *model);
  YAML::Node scenario_node = r.node("scenario");
  int pass = 0;
  MapReader scenario_reader(scenario_node, path.string(), "scenario");
  Scenario scenario = read_scenario(scenario_reader, *model, pass);

  YAML::Node list = r.sequence("points");
  for (std::size_t i = 0; i < list.size(); ++i) {
    MapReader p(list[i], path.string(), "points[" + std::to_string(i) + "]");
    MeasurementPoint pt;
    pt.where = p.location();
    pt.gpu_id = p.string("gpu");
    if (!catalog.find_gpu(pt.gpu_id)) p.fail("gpu", "unknown GPU '" + pt.gpu_id + "'");
    const ModelSpec* m = p.has("model") ? model_of(p, "model") : model;
    pt.model_id = m->id;
    pt.stack_id = p.has("stack") ? stack_of(p, "stack") : stack;
    pt.metric = p.has("metric") ? metric_of(p, *m) : metric;
    if (m != model && !p.has("scenario")) p.fail("model", "a point with another model needs its own scenario");
    if (p.has("scenario")) {
      MapReader s(p.node("scenario"), path.string(), p.field_path("scenario"));
      pt.scenario = read_scenario(s, *m, pt.sd_pass);
    } else {
      pt.scenario = scenario;
      pt.sd_pass = pass;
    }
    pt.value = p.number_in("value", 1e-9, 1e12);
    if (p.has("price_usd")) pt.price_usd = p.number_in("price_usd", 0, 1e9);
    p.finish();
    set.points.push_back(std::move(pt));
  }
  set.sources = r.string_list("sources");
  r.finish();
  return set;
}

}  // namespace gpuperf::io
