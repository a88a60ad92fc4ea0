// The Stable Diffusion 1.5 graphs: exact parameter counts of the reference models, matrix FLOPs that
// agree with an independent closed form, what flash vs naive attention moves, CFG, precision, hires.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "gpuperf/io/model_loader.hpp"
#include "gpuperf/workloads.hpp"

using namespace gpuperf;

namespace {

const SdModelSpec& sd15() {
  static const ModelSpec m = io::load_model_file(std::filesystem::path(GPUPERF_SPECS_DIR) / "models" / "sd15.yaml");
  return *m.sd();
}

SdScenario scenario(std::int64_t w, std::int64_t h, bool cfg = true, AttentionKind a = AttentionKind::flash) {
  SdScenario sc;
  sc.resolution = {w, h};
  sc.cfg = cfg;
  sc.attention = a;
  return sc;
}

double matrix_flops(const Graph& g) {
  double s = 0;
  for (const auto& op : g.ops)
    if (op.op_class == OpClass::conv || op.op_class == OpClass::gemm || op.op_class == OpClass::attention)
      s += op.flops;
  return s;
}

const Op& find_op(const Graph& g, const std::string& name) {
  for (const auto& op : g.ops)
    if (op.name == name) return op;
  static Op none;
  ADD_FAILURE() << "no op " << name;
  return none;
}

bool has_class(const Graph& g, OpClass c) {
  for (const auto& op : g.ops)
    if (op.op_class == c) return true;
  return false;
}

// ---- closed forms, written from the architecture description, independently of the builder ----

// A 3x3 or 1x1 convolution producing h x w outputs: 2 FLOPs per multiply-add.
double conv_flops(double n, double c_in, double c_out, double h, double w, double k) {
  return 2 * n * h * w * c_in * c_out * k * k;
}
// ResNet block: conv3x3 in->out, conv3x3 out->out, 1x1 shortcut if the width changes, and the
// time-embedding projection 1280 -> out.
double resnet_flops(double n, double c_in, double c_out, double h, double w) {
  return conv_flops(n, c_in, c_out, h, w, 3) + conv_flops(n, c_out, c_out, h, w, 3) +
         (c_in != c_out ? conv_flops(n, c_in, c_out, h, w, 1) : 0) + 2 * n * 1280 * c_out;
}
// Spatial transformer at width c over S = h·w tokens, text context T = 77 x 768:
// C x C matrices per token: proj_in 1, attn1 q/k/v/out 4, attn2 q/out 2, GEGLU proj 8, ff out 4,
// proj_out 1 = 20; attention cores: self 2·(2·S·S·c), cross 2·(2·S·T·c); cross K/V: 2·(2·T·768·c).
double transformer_flops(double n, double c, double h, double w) {
  const double s = h * w, t = 77, dc = 768;
  return 2 * n * s * c * c * 20 + 4 * n * s * s * c + 4 * n * s * t * c + 4 * n * t * dc * c;
}
// The SD 1.5 UNet on an h x w latent (h, w divisible by 8), n images.
double unet_closed_form(double n, double h, double w) {
  const double h1 = h / 2, w1 = w / 2, h2 = h / 4, w2 = w / 4, h3 = h / 8, w3 = w / 8;
  double f = 2 * n * (320 * 1280 + 1280 * 1280);  // time embedding MLP
  f += conv_flops(n, 4, 320, h, w, 3);            // conv_in
  // down 0..3
  f += 2 * resnet_flops(n, 320, 320, h, w) + 2 * transformer_flops(n, 320, h, w) + conv_flops(n, 320, 320, h1, w1, 3);
  f += resnet_flops(n, 320, 640, h1, w1) + resnet_flops(n, 640, 640, h1, w1) + 2 * transformer_flops(n, 640, h1, w1) +
       conv_flops(n, 640, 640, h2, w2, 3);
  f += resnet_flops(n, 640, 1280, h2, w2) + resnet_flops(n, 1280, 1280, h2, w2) +
       2 * transformer_flops(n, 1280, h2, w2) + conv_flops(n, 1280, 1280, h3, w3, 3);
  f += 2 * resnet_flops(n, 1280, 1280, h3, w3);
  // mid
  f += 2 * resnet_flops(n, 1280, 1280, h3, w3) + transformer_flops(n, 1280, h3, w3);
  // up 0..3 (input widths include the concatenated skip)
  f += 3 * resnet_flops(n, 2560, 1280, h3, w3) + conv_flops(n, 1280, 1280, h2, w2, 3);
  f += 2 * resnet_flops(n, 2560, 1280, h2, w2) + resnet_flops(n, 1920, 1280, h2, w2) +
       3 * transformer_flops(n, 1280, h2, w2) + conv_flops(n, 1280, 1280, h1, w1, 3);
  f += resnet_flops(n, 1920, 640, h1, w1) + resnet_flops(n, 1280, 640, h1, w1) + resnet_flops(n, 960, 640, h1, w1) +
       3 * transformer_flops(n, 640, h1, w1) + conv_flops(n, 640, 640, h, w, 3);
  f += resnet_flops(n, 960, 320, h, w) + 2 * resnet_flops(n, 640, 320, h, w) + 3 * transformer_flops(n, 320, h, w);
  f += conv_flops(n, 320, 4, h, w, 3);  // conv_out
  return f;
}

}  // namespace

TEST(SdUnet, HasExactly859520964Parameters) {
  EXPECT_EQ(total_parameters(build_sd_unet_step(sd15(), scenario(512, 512))), 859520964);
}

TEST(SdTextEncoder, HasTheClipTextModelCountOf123060480) {
  // Closed form of CLIPTextModel (ViT-L/14 text tower): token embedding V·D, position embedding P·D,
  // per layer two LayerNorms (2·2D), q/k/v/out projections with bias 4·(D² + D), fc1 D·M + M,
  // fc2 M·D + D; final LayerNorm 2D. V = 49408, P = 77, D = 768, M = 3072, 12 layers.
  const std::int64_t V = 49408, P = 77, D = 768, M = 3072, L = 12;
  const std::int64_t closed = V * D + P * D + L * (4 * D + 4 * (D * D + D) + D * M + M + M * D + D) + 2 * D;
  EXPECT_EQ(closed, 123060480);
  EXPECT_EQ(total_parameters(build_sd_text_encoder(sd15(), scenario(512, 512))), closed);
}

TEST(SdVaeDecoder, HasTheReferenceCountOf49490199IncludingPostQuantConv) {
  // Closed form of the AutoencoderKL decoder (ch 128, ch_mult 1,2,4,4, 2+1 ResNets per level, z 4):
  //   conv3(a, b) = 9ab + b, conv1(a, b) = ab + b, gn(c) = 2c,
  //   res(a, b) = gn(a) + conv3(a, b) + gn(b) + conv3(b, b) + (a != b ? conv1(a, b) : 0),
  //   attn(c) = gn(c) + 4·conv1(c, c)  (single-head q, k, v, proj_out).
  auto conv3 = [](std::int64_t a, std::int64_t b) { return 9 * a * b + b; };
  auto conv1 = [](std::int64_t a, std::int64_t b) { return a * b + b; };
  auto res = [&](std::int64_t a, std::int64_t b) {
    return 2 * a + conv3(a, b) + 2 * b + conv3(b, b) + (a != b ? conv1(a, b) : 0);
  };
  const std::int64_t post_quant = conv1(4, 4);
  const std::int64_t conv_in = conv3(4, 512);
  const std::int64_t mid = 2 * res(512, 512) + 2 * 512 + 4 * conv1(512, 512);
  const std::int64_t up = (3 * res(512, 512) + conv3(512, 512)) * 2              // 512, 512 levels
                          + res(512, 256) + 2 * res(256, 256) + conv3(256, 256)  // 256 level
                          + res(256, 128) + 2 * res(128, 128);                   // 128 level, no upsample
  const std::int64_t out = 2 * 128 + conv3(128, 3);
  const std::int64_t closed = post_quant + conv_in + mid + up + out;
  EXPECT_EQ(closed, 49490199);
  EXPECT_EQ(total_parameters(build_sd_vae_decode(sd15(), scenario(512, 512))), closed);
}

TEST(SdUnet, MatrixFlopsAt512AgreeWithTheClosedForm) {
  for (bool cfg : {false, true}) {
    const Graph g = build_sd_unet_step(sd15(), scenario(512, 512, cfg));
    const double n = cfg ? 2 : 1;
    EXPECT_DOUBLE_EQ(matrix_flops(g), unet_closed_form(n, 64, 64)) << "cfg " << cfg;
  }
  // Naive attention splits the core into two batched GEMMs; the FLOPs are the same.
  const Graph naive = build_sd_unet_step(sd15(), scenario(512, 512, true, AttentionKind::naive));
  EXPECT_DOUBLE_EQ(matrix_flops(naive), unet_closed_form(2, 64, 64));
}

TEST(SdUnet, MatrixFlopsAgreeAtOtherResolutions) {
  EXPECT_DOUBLE_EQ(matrix_flops(build_sd_unet_step(sd15(), scenario(768, 512))), unet_closed_form(2, 64, 96));
  EXPECT_DOUBLE_EQ(matrix_flops(build_sd_unet_step(sd15(), scenario(1024, 1024))), unet_closed_form(2, 128, 128));
}

TEST(SdUnet, CfgDoublesTheUnetFlops) {
  const Graph with = build_sd_unet_step(sd15(), scenario(512, 512, true));
  const Graph without = build_sd_unet_step(sd15(), scenario(512, 512, false));
  EXPECT_DOUBLE_EQ(matrix_flops(with), 2 * matrix_flops(without));
  // Only the sampler's tiny latent ops do not scale with the UNet batch.
  EXPECT_NEAR(total_flops(with) / total_flops(without), 2.0, 1e-4);
  EXPECT_EQ(find_op(with, "conv_in").gemm.m, 2 * 64 * 64);
  EXPECT_EQ(find_op(without, "conv_in").gemm.m, 64 * 64);
}

TEST(SdUnet, ConvolutionsAreImplicitGemms) {
  const Graph g = build_sd_unet_step(sd15(), scenario(512, 512));
  const Op& conv_in = find_op(g, "conv_in");
  EXPECT_EQ(conv_in.op_class, OpClass::conv);
  EXPECT_EQ(conv_in.gemm.m, 2 * 64 * 64);
  EXPECT_EQ(conv_in.gemm.n, 320);
  EXPECT_EQ(conv_in.gemm.k, 4 * 3 * 3);
  const Op& down = find_op(g, "down.0.downsample");
  EXPECT_EQ(down.gemm.m, 2 * 32 * 32);  // stride 2
  EXPECT_EQ(down.gemm.k, 320 * 9);
  const Op& skip = find_op(g, "up.3.1.res.skip");  // 640 (320 + 320 skip) -> 320, 1x1
  EXPECT_EQ(skip.gemm.k, 640);
  EXPECT_EQ(skip.gemm.n, 320);
}

TEST(SdUnet, AttentionShapesFollowTheHeads) {
  const Graph g = build_sd_unet_step(sd15(), scenario(512, 512));
  const Op& self = find_op(g, "down.0.0.attn.block.0.attn1.attention");
  EXPECT_EQ(self.op_class, OpClass::attention);
  EXPECT_EQ(self.gemm.m, 4096);
  EXPECT_EQ(self.gemm.n, 4096);
  EXPECT_EQ(self.gemm.k, 40);         // 320 / 8 heads
  EXPECT_EQ(self.gemm.batch, 2 * 8);  // N x heads
  const Op& cross = find_op(g, "down.0.0.attn.block.0.attn2.attention");
  EXPECT_EQ(cross.gemm.n, 77);
  const Op& ctx_k = find_op(g, "down.0.0.attn.block.0.attn2.to_k");
  EXPECT_EQ(ctx_k.gemm.m, 2 * 77);
  EXPECT_EQ(ctx_k.gemm.k, 768);
}

TEST(SdUnet, NaiveAttentionWritesAndRereadsTheScoreMatrixFlashDoesNot) {
  const Graph flash = build_sd_unet_step(sd15(), scenario(512, 512, true, AttentionKind::flash));
  const Graph naive = build_sd_unet_step(sd15(), scenario(512, 512, true, AttentionKind::naive));
  const double scores = 2.0 * 8 * 4096.0 * 4096.0 * 2;  // N·heads·S² fp16 at the 64x64 level
  const Op& s = find_op(naive, "down.0.0.attn.block.0.attn1.attention.scores");
  const Op& sm = find_op(naive, "down.0.0.attn.block.0.attn1.attention.softmax");
  const Op& pv = find_op(naive, "down.0.0.attn.block.0.attn1.attention.pv");
  EXPECT_DOUBLE_EQ(s.write_bytes, scores);
  EXPECT_DOUBLE_EQ(sm.activation_bytes, scores);
  EXPECT_DOUBLE_EQ(sm.write_bytes, scores);
  EXPECT_GE(pv.activation_bytes, scores);
  const Op& f = find_op(flash, "down.0.0.attn.block.0.attn1.attention");
  EXPECT_DOUBLE_EQ(f.write_bytes, 2.0 * 4096 * 320 * 2);  // only the output
  EXPECT_LT(f.bytes(), scores);
  EXPECT_FALSE(has_class(flash, OpClass::softmax));
  EXPECT_TRUE(has_class(naive, OpClass::softmax));
  EXPECT_GT(total_bytes(naive) - total_bytes(flash), 4 * scores);
  // Either way the softmax takes one exponential per score, on the SFUs.
  EXPECT_DOUBLE_EQ(sm.sfu_results, scores / 2);
  EXPECT_DOUBLE_EQ(f.sfu_results, scores / 2);
  EXPECT_DOUBLE_EQ(s.sfu_results, 0);
}

TEST(SdUnet, PrecisionPicksTheTensorMode) {
  SdScenario sc = scenario(512, 512);
  const Graph g16 = build_sd_unet_step(sd15(), sc);
  EXPECT_EQ(find_op(g16, "conv_in").tensor_mode, TensorMode::fp16_acc32);
  sc.precision = Precision::bf16;
  const Graph gbf = build_sd_unet_step(sd15(), sc);
  EXPECT_EQ(find_op(gbf, "conv_in").tensor_mode, TensorMode::bf16_acc32);
  sc.precision = Precision::fp32;
  const Graph g32 = build_sd_unet_step(sd15(), sc);
  EXPECT_FALSE(find_op(g32, "conv_in").tensor_mode.has_value());
  EXPECT_EQ(find_op(g32, "conv_in").dtype, DType::fp32);
  EXPECT_DOUBLE_EQ(total_weight_bytes(g32), 4.0 * 859520964);
  EXPECT_DOUBLE_EQ(total_weight_bytes(build_sd_unet_step(sd15(), scenario(512, 512))), 2.0 * 859520964);
}

TEST(SdUnet, EveryParameterIsCountedOnceAndOpNamesAreUnique) {
  const Graph g = build_sd_unet_step(sd15(), scenario(512, 512, true, AttentionKind::naive));
  std::set<std::string> names;
  for (const auto& op : g.ops) EXPECT_TRUE(names.insert(op.name).second) << op.name;
  // Weight bytes read equal the parameters (fp16) — each weight read once per step.
  EXPECT_DOUBLE_EQ(total_weight_bytes(g), 2.0 * static_cast<double>(total_parameters(g)));
}

TEST(SdUnet, HiresPassRunsAtTheHighResolutionAndOddLatentsMatchTheirSkips) {
  SdScenario sc = scenario(768, 432);
  sc.hires = Resolution{2048, 1152};
  sc.hires_steps = 25;
  const Graph base = build_sd_unet_step(sd15(), sc, 0);
  const Graph hires = build_sd_unet_step(sd15(), sc, 1);
  EXPECT_EQ(find_op(base, "conv_in").gemm.m, 2 * 54 * 96);
  EXPECT_EQ(find_op(hires, "conv_in").gemm.m, 2 * 144 * 256);
  // 54 -> 27 -> 14 -> 7 going down; the up path upsamples 14 -> 27 to meet the skip (not 28).
  EXPECT_EQ(find_op(base, "up.1.upsample.conv").gemm.m, 2 * 27 * 48);
  EXPECT_EQ(find_op(base, "up.2.upsample.conv").gemm.m, 2 * 54 * 96);
  EXPECT_EQ(total_parameters(base), 859520964);
  EXPECT_DOUBLE_EQ(matrix_flops(hires), unet_closed_form(2, 144, 256));
  EXPECT_NE(hires.unit, base.unit);
}

TEST(SdImage, RunsTextEncoderOnceUnetPerStepAndVaeOnce) {
  SdScenario sc = scenario(768, 432);
  sc.steps = 20;
  sc.hires = Resolution{2048, 1152};
  sc.hires_steps = 25;
  const auto runs = build_sd_image(sd15(), sc);
  ASSERT_EQ(runs.size(), 5u);
  EXPECT_EQ(runs[0].part, "text-encoder");
  EXPECT_EQ(runs[1].part, "unet");
  EXPECT_EQ(runs[1].repeat, 20);
  EXPECT_EQ(runs[2].part, "latent-upscale");
  EXPECT_EQ(runs[3].part, "unet-hires");
  EXPECT_EQ(runs[3].repeat, 25);
  EXPECT_EQ(runs[4].part, "vae-decode");
  // The VAE decodes the hires latent to full resolution: conv_out writes 2048 x 1152 x 3.
  EXPECT_EQ(find_op(runs[4].graph, "out.conv").gemm.m, 2048 * 1152);
  // The text encoder runs prompt and negative prompt.
  EXPECT_EQ(find_op(runs[0].graph, "layer.0.attn.q_proj").gemm.m, 2 * 77);
}

TEST(SdVaeDecoder, RunsAtFullResolutionWithoutCfg) {
  const Graph g = build_sd_vae_decode(sd15(), scenario(512, 512, true));
  EXPECT_EQ(find_op(g, "conv_in").gemm.m, 64 * 64);  // batch 1: CFG does not apply to the VAE
  EXPECT_EQ(find_op(g, "out.conv").gemm.m, 512 * 512);
  EXPECT_EQ(find_op(g, "out.conv").gemm.n, 3);
  EXPECT_EQ(find_op(g, "mid.attn.attention").gemm.m, 4096);
  EXPECT_EQ(find_op(g, "mid.attn.attention").gemm.k, 512);
}

TEST(SdValidate, RejectsBadScenariosWithOneLine) {
  EXPECT_FALSE(validate(sd15(), scenario(512, 512)).has_value());
  for (auto [w, h] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {513, 512}, {512, 0}, {0, 0}, {1000000000, 1000000000}, {8, 8}, {16392, 512}}) {
    auto e = validate(sd15(), scenario(w, h));
    ASSERT_TRUE(e.has_value()) << w << "x" << h;
    EXPECT_EQ(e->find('\n'), std::string::npos);
  }
  SdScenario sc = scenario(512, 512);
  sc.batch = 0;
  EXPECT_TRUE(validate(sd15(), sc).has_value());
  sc.batch = 1;
  sc.steps = 0;
  EXPECT_TRUE(validate(sd15(), sc).has_value());
  sc.steps = 20;
  sc.hires = Resolution{2050, 1152};
  EXPECT_TRUE(validate(sd15(), sc).has_value());
}

TEST(SdFootprint, HoldsAllThreeModelsWeights) {
  const MemoryFootprint f = memory_footprint(sd15(), scenario(512, 512));
  EXPECT_DOUBLE_EQ(f.weight_bytes, 2.0 * (859520964.0 + 123060480.0 + 49490199.0));
  EXPECT_EQ(f.kv_cache_bytes, 0);
  EXPECT_GT(f.activation_bytes, 0);
  // Naive attention at 1024x1024 needs the 2·8·16384² fp16 score matrix alive.
  const MemoryFootprint naive = memory_footprint(sd15(), scenario(1024, 1024, true, AttentionKind::naive));
  EXPECT_GT(naive.activation_bytes, 2.0 * 8 * 16384.0 * 16384.0 * 2);
}
