#include "gpuperf/io/model_loader.hpp"

#include <algorithm>
#include <cmath>

#include "gpuperf/io/catalog.hpp"
#include "gpuperf/io/yaml_reader.hpp"

namespace gpuperf::io {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kMaxWidth = 1 << 20;

int small_int(MapReader& r, std::string_view key, std::int64_t lo = 1, std::int64_t hi = kMaxWidth) {
  return static_cast<int>(r.int_in(key, lo, hi));
}

std::vector<int> int_list(MapReader& r, std::string_view key) {
  YAML::Node seq = r.sequence(key);
  std::vector<int> out;
  for (std::size_t i = 0; i < seq.size(); ++i) {
    const std::string field = r.field_path(key) + "[" + std::to_string(i) + "]";
    double v = scalar_positive(seq[i], r.file(), field);
    if (v != std::floor(v) || v > static_cast<double>(kMaxWidth))
      r.fail_node(seq[i], field, "expected an integer from 1 to " + std::to_string(kMaxWidth));
    out.push_back(static_cast<int>(v));
  }
  return out;
}

std::vector<bool> bool_list(MapReader& r, std::string_view key) {
  YAML::Node seq = r.sequence(key);
  std::vector<bool> out;
  for (std::size_t i = 0; i < seq.size(); ++i) {
    const std::string field = r.field_path(key) + "[" + std::to_string(i) + "]";
    const std::string s = seq[i].IsScalar() ? seq[i].Scalar() : std::string();
    if (s != "true" && s != "false") r.fail_node(seq[i], field, "expected true or false");
    out.push_back(s == "true");
  }
  return out;
}

void require_divides(MapReader& r, std::string_view key, std::int64_t divisor, std::int64_t value,
                     const std::string& what) {
  if (divisor <= 0 || value % divisor != 0)
    r.fail(key, std::to_string(divisor) + " does not divide " + what + " (" + std::to_string(value) + ")");
}

SdKernelCounts read_sd_kernels(MapReader k) {
  SdKernelCounts c;
  auto get = [&](const char* key) { return small_int(k, key, 1, 1000); };
  c.groupnorm = get("kernels_per_groupnorm");
  c.layernorm = get("kernels_per_layernorm");
  c.silu = get("kernels_per_silu");
  c.conv = get("kernels_per_conv");
  c.linear = get("kernels_per_linear");
  c.geglu = get("kernels_per_geglu");
  c.quick_gelu = get("kernels_per_quick_gelu");
  c.attention_flash = get("kernels_per_attention_flash");
  c.attention_naive_scores = get("kernels_per_attention_naive_scores");
  c.softmax = get("kernels_per_softmax");
  c.attention_naive_pv = get("kernels_per_attention_naive_pv");
  c.causal_mask = get("kernels_per_causal_mask");
  c.layout_copy = get("kernels_per_layout_copy");
  c.residual_add = get("kernels_per_residual_add");
  c.timestep_embedding = get("kernels_per_timestep_embedding");
  c.embedding = get("kernels_per_embedding");
  c.upsample = get("kernels_per_upsample");
  c.concat = get("kernels_per_concat");
  c.latent_scale = get("kernels_per_latent_scale");
  c.cfg_combine = get("kernels_per_cfg_combine");
  c.sampler_step = get("kernels_per_sampler_step");
  c.latent_upscale = get("kernels_per_latent_upscale");
  k.finish();
  return c;
}

SdModelSpec read_sd(MapReader& r) {
  SdModelSpec s;
  {
    MapReader u = r.map("unet");
    SdUnetSpec& x = s.unet;
    x.in_channels = small_int(u, "in_channels");
    x.out_channels = small_int(u, "out_channels");
    x.block_channels = int_list(u, "block_channels");
    x.block_attention = bool_list(u, "block_attention");
    if (x.block_attention.size() != x.block_channels.size())
      u.fail("block_attention", "has " + std::to_string(x.block_attention.size()) + " entries but block_channels has " +
                                    std::to_string(x.block_channels.size()));
    if (x.block_channels.size() > 8) u.fail("block_channels", "more than 8 resolution levels");
    x.layers_per_block = small_int(u, "layers_per_block", 1, 16);
    x.attention_heads = small_int(u, "attention_heads", 1, 1024);
    x.transformer_depth = small_int(u, "transformer_depth", 1, 64);
    x.context_dim = small_int(u, "context_dim");
    x.ff_mult = small_int(u, "ff_mult", 1, 64);
    x.norm_groups = small_int(u, "norm_groups", 1, 1024);
    x.timestep_channels = small_int(u, "timestep_channels");
    x.time_embed_dim = small_int(u, "time_embed_dim");
    for (std::size_t i = 0; i < x.block_channels.size(); ++i) {
      const std::string what = "block_channels[" + std::to_string(i) + "]";
      require_divides(u, "norm_groups", x.norm_groups, x.block_channels[i], what);
      if (x.block_attention[i]) require_divides(u, "attention_heads", x.attention_heads, x.block_channels[i], what);
    }
    u.finish();
  }
  {
    MapReader t = r.map("text_encoder");
    ClipTextSpec& x = s.text;
    x.vocab_size = small_int(t, "vocab_size");
    x.max_length = small_int(t, "max_length", 1, 65536);
    x.width = small_int(t, "width");
    x.layers = small_int(t, "layers", 1, 1024);
    x.heads = small_int(t, "heads", 1, 1024);
    x.mlp_dim = small_int(t, "mlp_dim");
    require_divides(t, "heads", x.heads, x.width, "width");
    t.finish();
  }
  {
    MapReader v = r.map("vae");
    SdVaeSpec& x = s.vae;
    x.latent_channels = small_int(v, "latent_channels");
    x.block_channels = int_list(v, "block_channels");
    if (x.block_channels.size() > 8) v.fail("block_channels", "more than 8 resolution levels");
    x.layers_per_block = small_int(v, "layers_per_block", 1, 16);
    x.out_channels = small_int(v, "out_channels");
    x.norm_groups = small_int(v, "norm_groups", 1, 1024);
    x.scale_factor = small_int(v, "scale_factor", 1, 1024);
    x.scaling_factor = v.number_in("scaling_factor", 1e-6, 1e6);
    const std::int64_t expected = std::int64_t{1} << (x.block_channels.size() - 1);
    if (x.scale_factor != expected)
      v.fail("scale_factor", std::to_string(x.scale_factor) + " is inconsistent with " +
                                 std::to_string(x.block_channels.size()) + " decoder levels (2^" +
                                 std::to_string(x.block_channels.size() - 1) + " = " + std::to_string(expected) + ")");
    for (std::size_t i = 0; i < x.block_channels.size(); ++i)
      require_divides(v, "norm_groups", x.norm_groups, x.block_channels[i],
                      "block_channels[" + std::to_string(i) + "]");
    v.finish();
  }
  // The UNet works on the VAE's latents and cross-attends to the text encoder's output.
  if (s.unet.in_channels != s.vae.latent_channels)
    r.fail("unet", "in_channels " + std::to_string(s.unet.in_channels) + " differs from vae.latent_channels " +
                       std::to_string(s.vae.latent_channels));
  if (s.unet.context_dim != s.text.width)
    r.fail("unet", "context_dim " + std::to_string(s.unet.context_dim) + " differs from text_encoder.width " +
                       std::to_string(s.text.width));
  s.kernels = read_sd_kernels(r.map("kernels"));
  return s;
}

LlamaFramework read_framework(MapReader k, std::string name, bool hf) {
  LlamaFramework f;
  f.name = std::move(name);
  auto get = [&](const char* key) { return small_int(k, key, 1, 1000); };
  f.embedding = get("kernels_per_embedding");
  f.rmsnorm = get("kernels_per_rmsnorm");
  f.linear = get("kernels_per_linear");
  if (hf) {
    f.linear_int8 = get("kernels_per_linear_int8");
    f.linear_gptq = get("kernels_per_linear_gptq");
  } else {
    f.linear_int8 = f.linear_gptq = f.linear;
  }
  f.rotary = get("kernels_per_rotary");
  f.kv_append = get("kernels_per_kv_append");
  f.attention_flash = get("kernels_per_attention_flash");
  f.attention_naive_scores = get("kernels_per_attention_naive_scores");
  f.softmax = get("kernels_per_softmax");
  f.attention_naive_pv = get("kernels_per_attention_naive_pv");
  f.silu_mul = get("kernels_per_silu_mul");
  f.residual_add = get("kernels_per_residual_add");
  f.sampling = get("kernels_per_sampling");
  f.prefill_logits = k.choice("prefill_logits", {"last", "all"}) == "all" ? PrefillLogits::all : PrefillLogits::last;
  f.kv_concat = k.choice("kv_cache", {"in-place", "concat"}) == "concat";
  f.expand_grouped_kv = k.choice("grouped_kv", {"shared", "expanded"}) == "expanded";
  k.finish();
  return f;
}

LlamaModelSpec read_llama(MapReader& r) {
  LlamaModelSpec s;
  constexpr std::int64_t kMaxDim = 1 << 17;
  s.dim = r.int_in("dim", 1, kMaxDim);
  s.n_layers = r.int_in("n_layers", 1, 1024);
  s.n_heads = r.int_in("n_heads", 1, 1024);
  s.n_kv_heads = r.int_in("n_kv_heads", 1, 1024);
  s.ffn_dim = r.int_in("ffn_dim", 1, 1 << 20);
  const std::int64_t multiple_of = r.int_in("ffn_multiple_of", 1, 1 << 16);
  std::optional<double> multiplier;
  if (r.has("ffn_dim_multiplier")) multiplier = r.number_in("ffn_dim_multiplier", 0.1, 16);
  s.vocab_size = r.int_in("vocab_size", 1, 1 << 22);
  s.max_context = r.int_in("max_context", 1, 1 << 20);
  r.choice("norm", {"rmsnorm"});
  s.norm_eps = r.number_in("norm_eps", 1e-12, 1e-1);
  require_divides(r, "n_heads", s.n_heads, s.dim, "dim");
  if (s.n_heads % s.n_kv_heads != 0)
    r.fail("n_kv_heads", std::to_string(s.n_kv_heads) + " does not divide n_heads (" + std::to_string(s.n_heads) + ")");
  // The reference code derives the SwiGLU width: int(2/3 * 4 * dim), times ffn_dim_multiplier, rounded
  // up to a multiple of ffn_multiple_of (facebookresearch/llama model.py FeedForward).
  std::int64_t hidden = 2 * 4 * s.dim / 3;
  if (multiplier) hidden = static_cast<std::int64_t>(*multiplier * static_cast<double>(hidden));
  hidden = multiple_of * ((hidden + multiple_of - 1) / multiple_of);
  if (hidden != s.ffn_dim)
    r.fail("ffn_dim", std::to_string(s.ffn_dim) + " differs from the reference derivation " + std::to_string(hidden) +
                          " (int(8 * dim / 3)" + (multiplier ? " x ffn_dim_multiplier" : std::string()) +
                          ", rounded up to ffn_multiple_of)");
  MapReader fw = r.map("frameworks");
  s.hf = read_framework(fw.map("hf_transformers"), "hf-transformers", true);
  s.llama_cpp = read_framework(fw.map("llama_cpp"), "llama.cpp", false);
  fw.finish();
  return s;
}

}  // namespace

ModelSpec load_model_file(const fs::path& path) {
  MapReader r(load_yaml_file(path), path.string(), "");
  ModelSpec m;
  m.id = read_spec_header(r, path, kSpecVersion);
  m.name = r.string("name");
  const std::string kind = r.choice("kind", {"diffusion", "llm"});
  if (kind == "diffusion") {
    m.kind = ModelKind::diffusion;
    SdModelSpec sd = read_sd(r);
    sd.id = m.id;
    m.spec = std::move(sd);
  } else {
    m.kind = ModelKind::llm;
    LlamaModelSpec l = read_llama(r);
    l.id = m.id;
    m.spec = std::move(l);
  }
  m.sources = r.string_list("sources");
  if (auto n = r.optional_string("notes")) m.notes = *n;
  r.finish();
  return m;
}

std::vector<ModelSpec> load_models(const fs::path& specs_dir) {
  std::vector<ModelSpec> models;
  for (const auto& file : yaml_files_in(specs_dir / "models")) models.push_back(load_model_file(file));
  std::sort(models.begin(), models.end(), [](const ModelSpec& a, const ModelSpec& b) { return a.id < b.id; });
  for (std::size_t i = 1; i < models.size(); ++i)
    if (models[i].id == models[i - 1].id)
      throw InputError({(specs_dir / "models").string(), 0, 0}, "model id '" + models[i].id + "' defined twice");
  return models;
}

const ModelSpec* find_model(const std::vector<ModelSpec>& models, std::string_view id) {
  for (const auto& m : models)
    if (m.id == id) return &m;
  return nullptr;
}

}  // namespace gpuperf::io
