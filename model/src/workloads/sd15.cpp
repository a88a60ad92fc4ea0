// Stable Diffusion 1.x graphs: the UNet step, the CLIP text encoder and the VAE decoder, laid out as
// the CompVis ldm code (which Automatic1111 runs) and diffusers' UNet2DConditionModel build them.
#include <algorithm>
#include <string>
#include <vector>

#include "gpuperf/workloads.hpp"
#include "op_builder.hpp"

namespace gpuperf {

using workloads::dbl;
using workloads::OpBuilder;

namespace {

struct Spatial {
  std::int64_t channels = 0;
  std::int64_t h = 0;
  std::int64_t w = 0;
};

std::string idx(const std::string& prefix, std::size_t i) { return prefix + "." + std::to_string(i); }

OpBuilder builder_for(Graph& g, Precision p) {
  const DType act = activation_dtype(p);
  return OpBuilder(g, act, tensor_mode_of(p), act);
}

// A ResNet block: GroupNorm, SiLU, 3x3 conv, (+ projected time embedding), GroupNorm, SiLU, 3x3 conv,
// a 1x1 shortcut conv when the channel count changes, and the residual add.
void resblock(OpBuilder& b, const SdKernelCounts& k, const std::string& p, std::int64_t n, std::int64_t c_in,
              std::int64_t c_out, std::int64_t h, std::int64_t w, std::int64_t temb_dim) {
  const double hw = dbl(h) * dbl(w);
  const double in_elems = dbl(n) * dbl(c_in) * hw;
  const double out_elems = dbl(n) * dbl(c_out) * hw;
  b.norm(p + ".norm1", in_elems, 2 * c_in, workloads::kFlopsNorm, k.groupnorm);
  b.elementwise(p + ".silu1", in_elems, in_elems, workloads::kFlopsSilu, k.silu);
  b.conv(p + ".conv1", n, c_in, h, w, c_out, 3, 1, k.conv);
  if (temb_dim > 0) {
    b.elementwise(p + ".temb_silu", dbl(n * temb_dim), dbl(n * temb_dim), workloads::kFlopsSilu, k.silu);
    b.linear(p + ".temb_proj", n, temb_dim, c_out, true, k.linear);
    b.elementwise(p + ".temb_add", out_elems + dbl(n * c_out), out_elems, workloads::kFlopsAdd, k.residual_add);
  }
  b.norm(p + ".norm2", out_elems, 2 * c_out, workloads::kFlopsNorm, k.groupnorm);
  b.elementwise(p + ".silu2", out_elems, out_elems, workloads::kFlopsSilu, k.silu);
  b.conv(p + ".conv2", n, c_out, h, w, c_out, 3, 1, k.conv);
  if (c_in != c_out) b.conv(p + ".skip", n, c_in, h, w, c_out, 1, 1, k.conv);
  b.elementwise(p + ".residual", 2 * out_elems, out_elems, workloads::kFlopsAdd, k.residual_add);
}

// A spatial transformer: GroupNorm, 1x1 proj_in, to tokens, `depth` blocks of (LayerNorm, self-attention,
// LayerNorm, cross-attention to the text context, LayerNorm, GEGLU feed-forward, each with a residual),
// back to NCHW, 1x1 proj_out and the outer residual.
void transformer(OpBuilder& b, const SdModelSpec& m, const std::string& p, std::int64_t n, std::int64_t c,
                 std::int64_t h, std::int64_t w, bool fused) {
  const SdKernelCounts& k = m.kernels;
  const SdUnetSpec& u = m.unet;
  const std::int64_t s = h * w;
  const std::int64_t tokens = n * s;
  const std::int64_t ctx_len = m.text.max_length;
  const std::int64_t heads = u.attention_heads;
  const std::int64_t ff = u.ff_mult * c;
  const double elems = dbl(tokens) * dbl(c);
  b.norm(p + ".norm", elems, 2 * c, workloads::kFlopsNorm, k.groupnorm);
  b.conv(p + ".proj_in", n, c, h, w, c, 1, 1, k.conv);
  b.elementwise(p + ".to_tokens", elems, elems, 0, k.layout_copy);
  for (int d = 0; d < u.transformer_depth; ++d) {
    const std::string q = idx(p + ".block", static_cast<std::size_t>(d));
    OpBuilder::AttentionArgs a;
    a.batch = n;
    a.heads = heads;
    a.head_dim = c / heads;
    a.q_len = s;
    a.kernels_flash = k.attention_flash;
    a.kernels_scores = k.attention_naive_scores;
    a.kernels_softmax = k.softmax;
    a.kernels_pv = k.attention_naive_pv;

    b.norm(q + ".norm1", elems, 2 * c, workloads::kFlopsNorm, k.layernorm);
    b.linear(q + ".attn1.to_q", tokens, c, c, false, k.linear);
    b.linear(q + ".attn1.to_k", tokens, c, c, false, k.linear);
    b.linear(q + ".attn1.to_v", tokens, c, c, false, k.linear);
    a.name = q + ".attn1.attention";
    a.kv_len = s;
    b.attention(a, fused);
    b.linear(q + ".attn1.to_out", tokens, c, c, true, k.linear);
    b.elementwise(q + ".attn1.residual", 2 * elems, elems, workloads::kFlopsAdd, k.residual_add);

    b.norm(q + ".norm2", elems, 2 * c, workloads::kFlopsNorm, k.layernorm);
    b.linear(q + ".attn2.to_q", tokens, c, c, false, k.linear);
    b.linear(q + ".attn2.to_k", n * ctx_len, u.context_dim, c, false, k.linear);
    b.linear(q + ".attn2.to_v", n * ctx_len, u.context_dim, c, false, k.linear);
    a.name = q + ".attn2.attention";
    a.kv_len = ctx_len;
    b.attention(a, fused);
    b.linear(q + ".attn2.to_out", tokens, c, c, true, k.linear);
    b.elementwise(q + ".attn2.residual", 2 * elems, elems, workloads::kFlopsAdd, k.residual_add);

    b.norm(q + ".norm3", elems, 2 * c, workloads::kFlopsNorm, k.layernorm);
    b.linear(q + ".ff.proj", tokens, c, 2 * ff, true, k.linear);
    b.elementwise(q + ".ff.geglu", dbl(tokens) * dbl(2 * ff), dbl(tokens) * dbl(ff),
                  workloads::kFlopsGelu + workloads::kFlopsAdd, k.geglu);
    b.linear(q + ".ff.out", tokens, ff, c, true, k.linear);
    b.elementwise(q + ".ff.residual", 2 * elems, elems, workloads::kFlopsAdd, k.residual_add);
  }
  b.elementwise(p + ".to_image", elems, elems, 0, k.layout_copy);
  b.conv(p + ".proj_out", n, c, h, w, c, 1, 1, k.conv);
  b.elementwise(p + ".residual", 2 * elems, elems, workloads::kFlopsAdd, k.residual_add);
}

std::int64_t latent_side(std::int64_t pixels, const SdVaeSpec& vae) { return pixels / vae.scale_factor; }

// The UNet's down path: the skip tensors it leaves for the up path, in push order.
std::vector<Spatial> unet_skips(const SdUnetSpec& u, std::int64_t h, std::int64_t w) {
  std::vector<Spatial> skips;
  std::int64_t ch = u.block_channels.front();
  skips.push_back({ch, h, w});
  const std::size_t levels = u.block_channels.size();
  for (std::size_t i = 0; i < levels; ++i) {
    ch = u.block_channels[i];
    for (int j = 0; j < u.layers_per_block; ++j) skips.push_back({ch, h, w});
    if (i + 1 != levels) {
      h = (h + 1) / 2;
      w = (w + 1) / 2;
      skips.push_back({ch, h, w});
    }
  }
  return skips;
}

}  // namespace

Graph build_sd_unet_step(const SdModelSpec& m, const SdScenario& sc, int pass) {
  const SdUnetSpec& u = m.unet;
  const SdKernelCounts& k = m.kernels;
  const bool fused = sc.attention == AttentionKind::flash;
  const Resolution res = sc.pass_resolution(pass);
  const std::int64_t n = sc.unet_batch();
  std::int64_t h = latent_side(res.height, m.vae);
  std::int64_t w = latent_side(res.width, m.vae);

  Graph g;
  g.model_id = m.id;
  g.unit = pass == 1 && sc.hires ? "UNet step (hires pass)" : "UNet step";
  OpBuilder b = builder_for(g, sc.precision);

  // Time embedding: sinusoidal features, then linear, SiLU, linear (once per step).
  b.elementwise("time.sinusoidal", dbl(n), dbl(n * u.timestep_channels), 4, k.timestep_embedding);
  b.linear("time.linear1", n, u.timestep_channels, u.time_embed_dim, true, k.linear);
  b.elementwise("time.silu", dbl(n * u.time_embed_dim), dbl(n * u.time_embed_dim), workloads::kFlopsSilu, k.silu);
  b.linear("time.linear2", n, u.time_embed_dim, u.time_embed_dim, true, k.linear);

  const std::size_t levels = u.block_channels.size();
  std::int64_t ch = u.block_channels.front();
  b.conv("conv_in", n, u.in_channels, h, w, ch, 3, 1, k.conv);
  std::vector<Spatial> skips{{ch, h, w}};
  for (std::size_t i = 0; i < levels; ++i) {
    const std::int64_t c_out = u.block_channels[i];
    for (int j = 0; j < u.layers_per_block; ++j) {
      const std::string p = idx(idx("down", i), static_cast<std::size_t>(j));
      resblock(b, k, p + ".res", n, ch, c_out, h, w, u.time_embed_dim);
      ch = c_out;
      if (u.block_attention[i]) transformer(b, m, p + ".attn", n, ch, h, w, fused);
      skips.push_back({ch, h, w});
    }
    if (i + 1 != levels) {
      b.conv(idx("down", i) + ".downsample", n, ch, h, w, ch, 3, 2, k.conv);
      h = (h + 1) / 2;
      w = (w + 1) / 2;
      skips.push_back({ch, h, w});
    }
  }

  resblock(b, k, "mid.res.0", n, ch, ch, h, w, u.time_embed_dim);
  transformer(b, m, "mid.attn", n, ch, h, w, fused);
  resblock(b, k, "mid.res.1", n, ch, ch, h, w, u.time_embed_dim);

  for (std::size_t i = 0; i < levels; ++i) {
    const std::size_t level = levels - 1 - i;
    const std::int64_t c_out = u.block_channels[level];
    for (int j = 0; j <= u.layers_per_block; ++j) {
      const std::string p = idx(idx("up", i), static_cast<std::size_t>(j));
      const Spatial skip = skips.back();
      skips.pop_back();
      const double cat_elems = dbl(n) * dbl(ch + skip.channels) * dbl(h) * dbl(w);
      b.elementwise(p + ".concat", cat_elems, cat_elems, 0, k.concat);
      resblock(b, k, p + ".res", n, ch + skip.channels, c_out, h, w, u.time_embed_dim);
      ch = c_out;
      if (u.block_attention[level]) transformer(b, m, p + ".attn", n, ch, h, w, fused);
    }
    if (i + 1 != levels) {
      // Nearest upsampling to the next skip's size (2x, or one less where a stride-2 conv rounded up).
      const Spatial& next = skips.back();
      b.elementwise(idx("up", i) + ".upsample.interpolate", dbl(n) * dbl(ch) * dbl(h) * dbl(w),
                    dbl(n) * dbl(ch) * dbl(next.h) * dbl(next.w), 0, k.upsample);
      h = next.h;
      w = next.w;
      b.conv(idx("up", i) + ".upsample.conv", n, ch, h, w, ch, 3, 1, k.conv);
    }
  }

  const double out_elems = dbl(n) * dbl(ch) * dbl(h) * dbl(w);
  b.norm("out.norm", out_elems, 2 * ch, workloads::kFlopsNorm, k.groupnorm);
  b.elementwise("out.silu", out_elems, out_elems, workloads::kFlopsSilu, k.silu);
  b.conv("out.conv", n, ch, h, w, u.out_channels, 3, 1, k.conv);

  // The sampler: combine the CFG halves, then the solver's update of the latents.
  const double latent = dbl(sc.batch) * dbl(u.out_channels) * dbl(h) * dbl(w);
  if (sc.cfg) b.elementwise("sampler.cfg_combine", 2 * latent, latent, 3, k.cfg_combine);
  b.elementwise("sampler.update", 2 * latent, latent, 4, k.sampler_step);
  return g;
}

Graph build_sd_text_encoder(const SdModelSpec& m, const SdScenario& sc) {
  const ClipTextSpec& t = m.text;
  const SdKernelCounts& k = m.kernels;
  const std::int64_t seqs = sc.cfg ? 2 * sc.batch : sc.batch;  // prompt and negative prompt
  const std::int64_t tokens = seqs * t.max_length;
  const std::int64_t d = t.width;
  const double elems = dbl(tokens) * dbl(d);

  Graph g;
  g.model_id = m.id;
  g.unit = "text encoding";
  OpBuilder b = builder_for(g, sc.precision);

  Op tok = b.base("embeddings.token", OpClass::embedding, k.embedding);
  tok.parameters = t.vocab_size * d;
  tok.weight_bytes = elems * b.weight_bytes_per_element();  // one row per token
  tok.activation_bytes = dbl(tokens) * 8;                   // int64 token ids
  tok.write_bytes = elems * b.act_bytes();
  b.add(std::move(tok));
  Op pos = b.base("embeddings.position", OpClass::embedding, k.embedding + k.residual_add);
  pos.parameters = t.max_length * d;
  pos.weight_bytes = dbl(pos.parameters) * b.weight_bytes_per_element();
  pos.activation_bytes = elems * b.act_bytes();
  pos.write_bytes = elems * b.act_bytes();
  pos.flops = elems;
  b.add(std::move(pos));

  for (int l = 0; l < t.layers; ++l) {
    const std::string p = idx("layer", static_cast<std::size_t>(l));
    b.norm(p + ".norm1", elems, 2 * d, workloads::kFlopsNorm, k.layernorm);
    b.linear(p + ".attn.q_proj", tokens, d, d, true, k.linear);
    b.linear(p + ".attn.k_proj", tokens, d, d, true, k.linear);
    b.linear(p + ".attn.v_proj", tokens, d, d, true, k.linear);
    // transformers' CLIPAttention (2023) is bmm, causal mask, softmax, bmm whatever the UNet uses.
    OpBuilder::AttentionArgs a;
    a.name = p + ".attn.attention";
    a.batch = seqs;
    a.heads = t.heads;
    a.head_dim = d / t.heads;
    a.q_len = t.max_length;
    a.kv_len = t.max_length;
    a.causal = true;
    a.kernels_scores = k.attention_naive_scores;
    a.kernels_softmax = k.softmax + k.causal_mask;
    a.kernels_pv = k.attention_naive_pv;
    b.attention(a, false);
    b.linear(p + ".attn.out_proj", tokens, d, d, true, k.linear);
    b.elementwise(p + ".attn.residual", 2 * elems, elems, workloads::kFlopsAdd, k.residual_add);
    b.norm(p + ".norm2", elems, 2 * d, workloads::kFlopsNorm, k.layernorm);
    b.linear(p + ".mlp.fc1", tokens, d, t.mlp_dim, true, k.linear);
    const double mlp_elems = dbl(tokens) * dbl(t.mlp_dim);
    b.elementwise(p + ".mlp.quick_gelu", mlp_elems, mlp_elems, workloads::kFlopsQuickGelu, k.quick_gelu);
    b.linear(p + ".mlp.fc2", tokens, t.mlp_dim, d, true, k.linear);
    b.elementwise(p + ".mlp.residual", 2 * elems, elems, workloads::kFlopsAdd, k.residual_add);
  }
  b.norm("final_norm", elems, 2 * d, workloads::kFlopsNorm, k.layernorm);
  return g;
}

namespace {

void vae_attention(OpBuilder& b, const SdKernelCounts& k, const std::string& p, std::int64_t n, std::int64_t c,
                   std::int64_t h, std::int64_t w, bool fused) {
  const double elems = dbl(n) * dbl(c) * dbl(h) * dbl(w);
  b.norm(p + ".norm", elems, 2 * c, workloads::kFlopsNorm, k.groupnorm);
  b.conv(p + ".q", n, c, h, w, c, 1, 1, k.conv);
  b.conv(p + ".k", n, c, h, w, c, 1, 1, k.conv);
  b.conv(p + ".v", n, c, h, w, c, 1, 1, k.conv);
  // The fused kernel wants token-major q, k, v; the naive bmm reads NCHW through strides.
  if (fused) b.elementwise(p + ".to_tokens", 3 * elems, 3 * elems, 0, 3 * k.layout_copy);
  OpBuilder::AttentionArgs a;
  a.name = p + ".attention";
  a.batch = n;
  a.heads = 1;
  a.head_dim = c;
  a.q_len = h * w;
  a.kv_len = h * w;
  a.kernels_flash = k.attention_flash;
  a.kernels_scores = k.attention_naive_scores;
  a.kernels_softmax = k.softmax;
  a.kernels_pv = k.attention_naive_pv;
  b.attention(a, fused);
  if (fused) b.elementwise(p + ".to_image", elems, elems, 0, k.layout_copy);
  b.conv(p + ".proj_out", n, c, h, w, c, 1, 1, k.conv);
  b.elementwise(p + ".residual", 2 * elems, elems, workloads::kFlopsAdd, k.residual_add);
}

}  // namespace

Graph build_sd_vae_decode(const SdModelSpec& m, const SdScenario& sc) {
  const SdVaeSpec& v = m.vae;
  const SdKernelCounts& k = m.kernels;
  const bool fused = sc.attention == AttentionKind::flash;
  const Resolution res = sc.pass_resolution(1);
  const std::int64_t n = sc.batch;
  std::int64_t h = latent_side(res.height, v);
  std::int64_t w = latent_side(res.width, v);

  Graph g;
  g.model_id = m.id;
  g.unit = "VAE decode";
  OpBuilder b = builder_for(g, sc.precision);

  const double latent = dbl(n) * dbl(v.latent_channels) * dbl(h) * dbl(w);
  b.elementwise("latent_scale", latent, latent, 1, k.latent_scale);
  b.conv("post_quant_conv", n, v.latent_channels, h, w, v.latent_channels, 1, 1, k.conv);
  std::int64_t ch = v.block_channels.back();
  b.conv("conv_in", n, v.latent_channels, h, w, ch, 3, 1, k.conv);
  resblock(b, k, "mid.res.0", n, ch, ch, h, w, 0);
  vae_attention(b, k, "mid.attn", n, ch, h, w, fused);
  resblock(b, k, "mid.res.1", n, ch, ch, h, w, 0);
  const std::size_t levels = v.block_channels.size();
  for (std::size_t i = 0; i < levels; ++i) {
    const std::int64_t c_out = v.block_channels[levels - 1 - i];
    for (int j = 0; j <= v.layers_per_block; ++j) {
      resblock(b, k, idx(idx("up", i), static_cast<std::size_t>(j)) + ".res", n, ch, c_out, h, w, 0);
      ch = c_out;
    }
    if (i + 1 != levels) {
      b.elementwise(idx("up", i) + ".upsample.interpolate", dbl(n) * dbl(ch) * dbl(h) * dbl(w),
                    4 * dbl(n) * dbl(ch) * dbl(h) * dbl(w), 0, k.upsample);
      h *= 2;
      w *= 2;
      b.conv(idx("up", i) + ".upsample.conv", n, ch, h, w, ch, 3, 1, k.conv);
    }
  }
  const double out_elems = dbl(n) * dbl(ch) * dbl(h) * dbl(w);
  b.norm("out.norm", out_elems, 2 * ch, workloads::kFlopsNorm, k.groupnorm);
  b.elementwise("out.silu", out_elems, out_elems, workloads::kFlopsSilu, k.silu);
  b.conv("out.conv", n, ch, h, w, v.out_channels, 3, 1, k.conv);
  return g;
}

Graph build_sd_latent_upscale(const SdModelSpec& m, const SdScenario& sc) {
  Graph g;
  g.model_id = m.id;
  g.unit = "latent upscale";
  if (!sc.hires) return g;
  OpBuilder b = builder_for(g, sc.precision);
  const auto& v = m.vae;
  const double from = dbl(sc.batch) * dbl(v.latent_channels) * dbl(latent_side(sc.resolution.height, v)) *
                      dbl(latent_side(sc.resolution.width, v));
  const double to = dbl(sc.batch) * dbl(v.latent_channels) * dbl(latent_side(sc.hires->height, v)) *
                    dbl(latent_side(sc.hires->width, v));
  b.elementwise("latent_upscale", from, to, 8, m.kernels.latent_upscale);
  return g;
}

std::vector<GraphRun> build_sd_image(const SdModelSpec& m, const SdScenario& sc) {
  std::vector<GraphRun> runs;
  runs.push_back({"text-encoder", build_sd_text_encoder(m, sc), 1});
  runs.push_back({"unet", build_sd_unet_step(m, sc, 0), sc.steps});
  if (sc.hires) {
    runs.push_back({"latent-upscale", build_sd_latent_upscale(m, sc), 1});
    runs.push_back({"unet-hires", build_sd_unet_step(m, sc, 1), sc.effective_hires_steps()});
  }
  runs.push_back({"vae-decode", build_sd_vae_decode(m, sc), 1});
  return runs;
}

MemoryFootprint memory_footprint(const SdModelSpec& m, const SdScenario& sc) {
  MemoryFootprint f;
  const double wb = bytes_per_element(activation_dtype(sc.precision));
  double peak = 0;
  for (const auto& run : build_sd_image(m, sc)) {
    if (run.part != "unet-hires" && run.part != "latent-upscale")
      f.weight_bytes += dbl(total_parameters(run.graph)) * wb;
    peak = std::max(peak, workloads::peak_op_activation_bytes(run.graph));
  }
  // The up path needs every skip tensor of the down path alive at once.
  double skips = 0;
  for (int pass = 0; pass < (sc.hires ? 2 : 1); ++pass) {
    const Resolution r = sc.pass_resolution(pass);
    double s = 0;
    for (const auto& sk : unet_skips(m.unet, latent_side(r.height, m.vae), latent_side(r.width, m.vae)))
      s += dbl(sc.unet_batch()) * dbl(sk.channels) * dbl(sk.h) * dbl(sk.w) * wb;
    skips = std::max(skips, s);
  }
  f.activation_bytes = peak + skips;
  return f;
}

}  // namespace gpuperf
