// The LLaMA graphs: exact parameter counts, decode bytes = weights + KV cache to the byte, weight
// formats with their scales, grouped-query attention, naive vs flash prefill, validation.
#include <gtest/gtest.h>

#include <filesystem>

#include "gpuperf/io/model_loader.hpp"
#include "gpuperf/workloads.hpp"

using namespace gpuperf;

namespace {

const LlamaModelSpec& llama(const std::string& id) {
  static const auto models = io::load_models(GPUPERF_SPECS_DIR);
  const ModelSpec* m = io::find_model(models, id);
  if (!m || !m->llama()) throw std::runtime_error("no model " + id);
  return *m->llama();
}

WeightFormat fmt(const std::string& s) {
  auto f = weight_format_from_string(s);
  if (!f) throw std::runtime_error("bad format " + s);
  return *f;
}

LlamaScenario decode(std::int64_t context, const std::string& weights = "fp16", std::int64_t batch = 1) {
  LlamaScenario sc;
  sc.context = context;
  sc.weights = fmt(weights);
  sc.batch = batch;
  return sc;
}

double sum_cache(const Graph& g) {
  double s = 0;
  for (const auto& op : g.ops) s += op.cache_bytes;
  return s;
}

const Op& find_op(const Graph& g, const std::string& name) {
  for (const auto& op : g.ops)
    if (op.name == name) return op;
  static Op none;
  ADD_FAILURE() << "no op " << name;
  return none;
}

// Parameters in closed form: embedding and untied lm_head V·d each, per layer q/o d², k/v d·kv_dim,
// gate/up/down 3·d·f, two RMSNorm weights 2d; the final norm d.
std::int64_t closed_params(const LlamaModelSpec& m) {
  const std::int64_t d = m.dim, kvd = m.kv_dim(), f = m.ffn_dim;
  return 2 * m.vocab_size * d + m.n_layers * (2 * d * d + 2 * d * kvd + 3 * d * f + 2 * d) + d;
}

// Decode weight bytes per step: every linear of every layer once in the format (with its scales),
// the RMSNorm weights (fp16, or fp32 in ggml), the lm_head (fp16 for HF formats, Q6_K in llama.cpp),
// and one embedding row per sequence (fp16 row, or the ggml format's blocks).
double closed_decode_weight_bytes(const LlamaModelSpec& m, const WeightFormat& f, std::int64_t batch) {
  const std::int64_t d = m.dim, kvd = m.kv_dim(), ff = m.ffn_dim;
  const double dd = static_cast<double>(d), vocab = static_cast<double>(m.vocab_size);
  const bool ggml = f.is_ggml();
  const double norm = ggml ? 4.0 : 2.0;
  const double per_layer = 2 * weight_matrix_bytes(f, d, d) + 2 * weight_matrix_bytes(f, d, kvd) +
                           2 * weight_matrix_bytes(f, d, ff) + weight_matrix_bytes(f, ff, d) + 2 * dd * norm;
  const double lm_head = ggml ? vocab * (dd / 256) * 210.0 : 2.0 * vocab * dd;
  const double row = ggml ? weight_matrix_bytes(f, d, 1) : 2.0 * dd;
  return static_cast<double>(m.n_layers) * per_layer + dd * norm + lm_head + static_cast<double>(batch) * row;
}

}  // namespace

TEST(LlamaParameters, MatchTheReferenceCheckpointsExactly) {
  const std::pair<const char*, std::int64_t> expected[] = {
      {"llama-7b", 6738415616},   {"llama-13b", 13015864320},  {"llama-33b", 32528943616},  {"llama-65b", 65285660672},
      {"llama2-7b", 6738415616},  {"llama2-13b", 13015864320}, {"llama2-70b", 68976648192}, {"llama3-8b", 8030261248},
      {"llama3-70b", 70553706496}};  // Llama 3.1: "8.03B", "70.55B" in the model cards
  for (const auto& [id, count] : expected) {
    const auto& m = llama(id);
    EXPECT_EQ(total_parameters(build_llama_decode(m, decode(16))), count) << id;
    EXPECT_EQ(closed_params(m), count) << id;
    EXPECT_EQ(total_parameters(build_llama_prefill(m, LlamaScenario{})), count) << id;
  }
}

TEST(LlamaDecode, BytesPerTokenAreWeightsPlusKvCacheToTheByte) {
  // weight bytes = closed_decode_weight_bytes() above;
  // KV cache read = n_layers · 2 (K and V) · batch · context · kv_dim · bytes(kv dtype).
  for (const char* id : {"llama-7b", "llama-13b", "llama2-70b", "llama3-8b"}) {
    const auto& m = llama(id);
    for (const char* w : {"fp16", "int8", "gptq4-g128", "gptq4", "q4_0", "q4_k"}) {
      for (std::int64_t batch : {1, 4}) {
        LlamaScenario sc = decode(512, w, batch);
        const Graph g = build_llama_decode(m, sc);
        EXPECT_DOUBLE_EQ(total_weight_bytes(g), closed_decode_weight_bytes(m, sc.weights, batch)) << id << " " << w;
        const double kv = static_cast<double>(m.n_layers * 2 * batch * 512 * m.kv_dim() * 2);
        EXPECT_DOUBLE_EQ(sum_cache(g), kv) << id << " " << w;
      }
    }
  }
}

TEST(LlamaDecode, KvCacheGrowsWithContextAndShrinksWithFp8) {
  const auto& m = llama("llama-13b");
  const double at512 = sum_cache(build_llama_decode(m, decode(512)));
  const double at2048 = sum_cache(build_llama_decode(m, decode(2048)));
  EXPECT_DOUBLE_EQ(at2048, 4 * at512);
  LlamaScenario sc = decode(512);
  sc.kv_dtype = DType::fp8;
  EXPECT_DOUBLE_EQ(sum_cache(build_llama_decode(m, sc)), at512 / 2);
  // 13B fp16 at 512 tokens: 40 layers · 2 · 512 · 5120 · 2 bytes.
  EXPECT_DOUBLE_EQ(at512, 40.0 * 2 * 512 * 5120 * 2);
}

TEST(LlamaDecode, GroupedQueryAttentionReadsEightKvHeads) {
  const auto& m = llama("llama2-70b");
  EXPECT_EQ(m.kv_dim(), 1024);
  const Graph g = build_llama_decode(m, decode(4096));
  EXPECT_DOUBLE_EQ(sum_cache(g), 80.0 * 2 * 4096 * 1024 * 2);
  const Op& k = find_op(g, "layer.0.attn.k_proj");
  EXPECT_EQ(k.gemm.n, 1024);
  const Op& scores = find_op(g, "layer.0.attn.attention.scores");
  EXPECT_EQ(scores.gemm.batch, 64);  // query heads
  EXPECT_EQ(scores.gemm.m, 1);
  EXPECT_EQ(scores.gemm.n, 4096);
  EXPECT_EQ(scores.gemm.k, 128);
}

// Under a stack that runs transformers' own ops, torch.cat rebuilds each layer's cache every token: the
// past entries are read and the whole cache written (13B fp16 cache at 512 tokens: 0.84 GB per token).
TEST(LlamaDecode, TransformersConcatenationReadsThePastAndWritesTheWholeCache) {
  const auto& m = llama("llama-13b");
  LlamaScenario fused = decode(512, "gptq4-g128");
  LlamaScenario hf = fused;
  hf.framework_ops = true;
  const Graph gf = build_llama_decode(m, fused);
  const Op& in_place = find_op(gf, "layer.0.attn.kv_append");
  EXPECT_DOUBLE_EQ(in_place.cache_bytes, 0);
  EXPECT_DOUBLE_EQ(in_place.write_bytes, 2.0 * 5120 * 2);  // the new K and V entries
  const Graph g = build_llama_decode(m, hf);
  const Op& cat = find_op(g, "layer.0.attn.kv_append");
  EXPECT_DOUBLE_EQ(cat.activation_bytes, 2.0 * 5120 * 2);   // the new K and V
  EXPECT_DOUBLE_EQ(cat.cache_bytes, 511.0 * 2 * 5120 * 2);  // the past 511 entries
  EXPECT_DOUBLE_EQ(cat.write_bytes, 512.0 * 2 * 5120 * 2);  // the whole cache anew
  double per_token = 0;
  for (const auto& op : g.ops)
    if (op.name.find("kv_append") != std::string::npos) per_token += op.cache_bytes + op.write_bytes;
  EXPECT_NEAR(per_token / 1e9, 0.839, 0.001);
  // The attention reads the same cache either way (no grouped K/V in LLaMA-13B).
  EXPECT_DOUBLE_EQ(find_op(g, "layer.0.attn.attention.scores").cache_bytes,
                   find_op(gf, "layer.0.attn.attention.scores").cache_bytes);
  // Batch 4: four sequences' caches.
  hf.batch = 4;
  const Graph g4 = build_llama_decode(m, hf);
  EXPECT_DOUBLE_EQ(find_op(g4, "layer.0.attn.kv_append").write_bytes, 4 * cat.write_bytes);
}

// llama.cpp writes the new entries into its preallocated cache under any stack; prefill has no past.
TEST(LlamaDecode, LlamaCppAndPrefillDoNotConcatenate) {
  const auto& m = llama("llama-13b");
  LlamaScenario q4 = decode(512, "q4_0");
  q4.framework_ops = true;
  const Graph gq = build_llama_decode(m, q4);
  const Op& cpy = find_op(gq, "layer.0.attn.kv_append");
  EXPECT_DOUBLE_EQ(cpy.cache_bytes, 0);
  EXPECT_DOUBLE_EQ(cpy.write_bytes, 2.0 * 5120 * 2);
  LlamaScenario pre;
  pre.phase = LlamaPhase::prefill;
  pre.prompt_tokens = 128;
  pre.weights = fmt("gptq4-g128");
  pre.framework_ops = true;
  const Graph gp = build_llama(m, pre);
  const Op& store = find_op(gp, "layer.0.attn.kv_append");
  EXPECT_DOUBLE_EQ(store.cache_bytes, 0);
  EXPECT_DOUBLE_EQ(store.write_bytes, 128.0 * 2 * 5120 * 2);
}

// transformers' repeat_kv materialises grouped K/V at the query heads' count, and attention reads that.
TEST(LlamaDecode, TransformersExpandsGroupedKvBeforeAttention) {
  const auto& m = llama("llama3-8b");
  ASSERT_EQ(m.kv_dim(), 1024);
  LlamaScenario fused = decode(2048, "gptq4-g128");
  LlamaScenario hf = fused;
  hf.framework_ops = true;
  const Graph g = build_llama_decode(m, hf);
  const Op& cat = find_op(g, "layer.0.attn.kv_append");
  // torch.cat (past 2047 read, 2048 written) then repeat_kv (2048 read, written at 4096 wide).
  EXPECT_DOUBLE_EQ(cat.cache_bytes, (2047.0 + 2048.0) * 2 * 1024 * 2);
  EXPECT_DOUBLE_EQ(cat.write_bytes, 2048.0 * 2 * 1024 * 2 + 2048.0 * 2 * 4096 * 2);
  const Op& expanded = find_op(g, "layer.0.attn.attention.scores");
  const Graph gf = build_llama_decode(m, fused);
  const Op& grouped = find_op(gf, "layer.0.attn.attention.scores");
  EXPECT_DOUBLE_EQ(expanded.cache_bytes, 4 * grouped.cache_bytes);  // 32 query heads over 8 K/V heads
  // llama.cpp broadcasts K/V heads in mul_mat: no expansion.
  LlamaScenario q4 = decode(2048, "q4_0");
  q4.framework_ops = true;
  const Graph gg = build_llama_decode(m, q4);
  EXPECT_DOUBLE_EQ(find_op(gg, "layer.0.attn.attention.scores").cache_bytes, grouped.cache_bytes);
}

TEST(WeightFormats, GptqG128IsFourBitsPlusTwentyBitsPerGroupOf128) {
  const WeightFormat g128 = fmt("gptq4-g128");
  EXPECT_EQ(to_string(g128), "gptq4-g128");
  EXPECT_DOUBLE_EQ(weight_matrix_bytes(g128, 4096, 4096) / (4096.0 * 4096.0), (4 + 20.0 / 128) / 8);
  EXPECT_DOUBLE_EQ(bits_per_weight(g128, 5120), 4 + 20.0 / 128);
  EXPECT_DOUBLE_EQ(bits_per_weight(fmt("gptq4-g32"), 4096), 4 + 20.0 / 32);
  EXPECT_DOUBLE_EQ(bits_per_weight(fmt("gptq4"), 4096), 4 + 20.0 / 4096);  // one group per column
}

TEST(WeightFormats, LlamaCppBlocksAreFourAndAHalfBits) {
  EXPECT_DOUBLE_EQ(bits_per_weight(fmt("q4_0"), 4096), 4.5);  // 18 bytes per 32
  EXPECT_DOUBLE_EQ(bits_per_weight(fmt("q4_k"), 4096), 4.5);  // 144 bytes per 256
  EXPECT_DOUBLE_EQ(weight_matrix_bytes(fmt("q4_0"), 4096, 1), 4096 / 32 * 18.0);
  EXPECT_DOUBLE_EQ(weight_matrix_bytes(fmt("q4_k"), 4096, 1), 4096 / 256 * 144.0);
  EXPECT_DOUBLE_EQ(bits_per_weight(fmt("fp16"), 4096), 16);
  EXPECT_DOUBLE_EQ(bits_per_weight(fmt("int8"), 4096), 8 + 32.0 / 4096);  // fp32 absmax per row
}

TEST(WeightFormats, ParseRejectsUnknownNames) {
  for (const char* bad : {"", "fp8", "gptq4-g0", "gptq4-g100", "gptq4-g", "gptq4-g128x", "q4", "Q4_0", "int4"})
    EXPECT_FALSE(weight_format_from_string(bad).has_value()) << bad;
  for (const char* good : {"fp16", "int8", "gptq4", "gptq4-g32", "gptq4-g1024", "q4_0", "q4_k"})
    EXPECT_EQ(to_string(*weight_format_from_string(good)), good);
}

TEST(LlamaDecode, GptqKeepsEmbeddingAndLmHeadInFp16AndDequantizesOnCudaCores) {
  const auto& m = llama("llama-13b");
  const Graph g = build_llama_decode(m, decode(512, "gptq4-g128"));
  const Op& q = find_op(g, "layer.0.attn.q_proj");
  EXPECT_EQ(q.op_class, OpClass::dequant_gemv);
  EXPECT_FALSE(q.tensor_mode.has_value());
  EXPECT_DOUBLE_EQ(q.dequant_weights, 5120.0 * 5120);
  EXPECT_EQ(q.weight_dtype, DType::int4);
  const Op& head = find_op(g, "lm_head");
  EXPECT_EQ(head.op_class, OpClass::gemm);
  EXPECT_DOUBLE_EQ(head.weight_bytes, 2.0 * 5120 * 32000);
  const Op& emb = find_op(g, "embedding");
  EXPECT_DOUBLE_EQ(emb.weight_bytes, 2.0 * 5120);  // one row per token
  EXPECT_EQ(emb.parameters, 32000 * 5120);
  // Prefill unpacks and runs a tensor-core GEMM.
  LlamaScenario pre;
  pre.phase = LlamaPhase::prefill;
  pre.weights = fmt("gptq4-g128");
  const Graph prefill = build_llama(m, pre);
  const Op& pq = find_op(prefill, "layer.0.attn.q_proj");
  EXPECT_EQ(pq.op_class, OpClass::dequant_gemm);
  EXPECT_EQ(pq.tensor_mode, TensorMode::fp16_acc32);
  EXPECT_EQ(pq.gemm.m, 512);
}

TEST(LlamaDecode, FlopsAreTwicePerWeightPlusAttention) {
  const auto& m = llama("llama-7b");
  const Graph g = build_llama_decode(m, decode(1024));
  double matrix = 0;
  for (const auto& op : g.ops)
    if (op.op_class == OpClass::gemm || op.op_class == OpClass::attention || op.op_class == OpClass::dequant_gemv)
      matrix += op.flops;
  // Every weight except the embedding table multiplies once; attention adds 2·2·context·d per layer.
  const double weights = static_cast<double>(closed_params(m) - m.vocab_size * m.dim - (2 * m.n_layers + 1) * m.dim);
  EXPECT_DOUBLE_EQ(matrix, 2 * weights + 32.0 * 4 * 1024 * 4096);
}

TEST(LlamaPrefill, NaiveWritesTheScoreMatrixFlashSkipsTheMaskedHalf) {
  const auto& m = llama("llama-7b");
  LlamaScenario sc;
  sc.phase = LlamaPhase::prefill;
  sc.prompt_tokens = 2048;
  sc.attention = AttentionKind::naive;
  const Graph naive = build_llama(m, sc);
  const double scores = 32.0 * 2048 * 2048 * 2;  // heads · P² fp16
  EXPECT_DOUBLE_EQ(find_op(naive, "layer.0.attn.attention.scores").write_bytes, scores);
  EXPECT_DOUBLE_EQ(find_op(naive, "layer.0.attn.attention.softmax").activation_bytes, scores);
  sc.attention = AttentionKind::flash;
  const Graph flash = build_llama(m, sc);
  const Op& f = find_op(flash, "layer.0.attn.attention");
  EXPECT_EQ(f.op_class, OpClass::attention);
  EXPECT_LT(f.write_bytes, scores);
  EXPECT_DOUBLE_EQ(f.flops, 4.0 * 32 * (2048.0 * 2049 / 2) * 128);
  // The prefill writes the prompt's K/V into the cache and reads none from it.
  EXPECT_DOUBLE_EQ(sum_cache(flash), 0);
  EXPECT_DOUBLE_EQ(find_op(flash, "layer.0.attn.kv_append").write_bytes, 2048.0 * 2 * 4096 * 2);
  // HF computes logits for every prompt position in 2023.
  EXPECT_EQ(find_op(flash, "lm_head").gemm.m, 2048);
}

TEST(LlamaCpp, UsesFp32ActivationsQ6kOutputAndFp32Norms) {
  const auto& m = llama("llama-7b");
  const Graph g = build_llama_decode(m, decode(512, "q4_0"));
  EXPECT_EQ(find_op(g, "layer.0.attn_norm").dtype, DType::fp32);
  EXPECT_DOUBLE_EQ(find_op(g, "layer.0.attn_norm").weight_bytes, 4.0 * 4096);
  EXPECT_DOUBLE_EQ(find_op(g, "lm_head").weight_bytes, 32000.0 * 16 * 210);
  EXPECT_DOUBLE_EQ(find_op(g, "embedding").weight_bytes, 4096.0 / 32 * 18);
  EXPECT_EQ(find_op(g, "layer.0.ffn.down_proj").kernels, m.llama_cpp.linear);
}

TEST(LlamaValidate, RejectsContextsBeyondTheModelAndAbsurdValues) {
  const auto& m1 = llama("llama-13b");
  const auto& m2 = llama("llama2-13b");
  EXPECT_FALSE(validate(m1, decode(2048)).has_value());
  EXPECT_TRUE(validate(m1, decode(2049)).has_value());
  EXPECT_FALSE(validate(m2, decode(4096)).has_value());
  EXPECT_TRUE(validate(m2, decode(std::int64_t{1} << 40)).has_value());
  EXPECT_TRUE(validate(m1, decode(0)).has_value());
  EXPECT_TRUE(validate(m1, decode(512, "fp16", 0)).has_value());
  EXPECT_TRUE(validate(m1, decode(512, "fp16", 1000000000)).has_value());
  LlamaScenario pre;
  pre.phase = LlamaPhase::prefill;
  pre.prompt_tokens = 4096;
  EXPECT_TRUE(validate(m1, pre).has_value());
  LlamaScenario kv = decode(512);
  kv.kv_dtype = DType::int4;
  EXPECT_TRUE(validate(m1, kv).has_value());
  auto e = validate(m1, decode(4096));
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->find("2048"), std::string::npos) << *e;
}

TEST(LlamaFootprint, CountsStoredWeightsAndTheKvCache) {
  const auto& m = llama("llama-13b");
  const MemoryFootprint fp16 = memory_footprint(m, decode(2048));
  EXPECT_DOUBLE_EQ(fp16.weight_bytes, 2.0 * 13015864320);
  EXPECT_DOUBLE_EQ(fp16.kv_cache_bytes, 40.0 * 2 * 2048 * 5120 * 2);
  const MemoryFootprint gptq = memory_footprint(m, decode(2048, "gptq4-g128"));
  EXPECT_LT(gptq.weight_bytes, 0.3 * fp16.weight_bytes);
  // Stored = read per decode step except the embedding table (all rows stored, one read).
  const double read = closed_decode_weight_bytes(m, fmt("gptq4-g128"), 1);
  EXPECT_DOUBLE_EQ(gptq.weight_bytes, read - 2.0 * 5120 + 2.0 * 5120 * 32000);
}
