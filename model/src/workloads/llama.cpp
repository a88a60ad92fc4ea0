// LLaMA-1/2 graphs: prefill and decode of the decoder-only transformer (RMSNorm, rotary attention with
// optional grouped-query K/V, SwiGLU feed-forward), with weights in fp16, int8, GPTQ or llama.cpp formats.
#include <algorithm>
#include <string>
#include <string_view>

#include "gpuperf/workloads.hpp"
#include "op_builder.hpp"

namespace gpuperf {

using workloads::dbl;
using workloads::OpBuilder;

namespace {

// How one tensor is stored: a weight format, or Q6_K (llama.cpp's output matrix).
struct Storage {
  WeightFormat format;
  bool q6_k = false;
};

double storage_bytes(const Storage& s, std::int64_t k, std::int64_t n) {
  if (s.q6_k) return dbl(n) * dbl((k + 255) / 256) * 210.0;  // 256 weights: ql 128 + qh 64 + scales 16 + d 2
  return weight_matrix_bytes(s.format, k, n);
}

DType storage_dtype(const Storage& s) {
  if (s.q6_k) return DType::int4;  // sub-byte; the nearest DType
  switch (s.format.kind) {
    case WeightFormatKind::fp16:
      return DType::fp16;
    case WeightFormatKind::int8:
      return DType::int8;
    default:
      return DType::int4;
  }
}

// Where each tensor of the model is stored for a format: GPTQ and LLM.int8() keep the embedding and
// lm_head in fp16; llama.cpp quantizes the token embedding with the format and the output matrix as Q6_K.
struct Layout {
  Storage linear;
  Storage embedding;
  Storage lm_head;
  double norm_bytes_per_weight = 2;  // ggml keeps 1-D tensors in fp32
};

Layout layout_for(const WeightFormat& f) {
  Layout l;
  l.linear.format = f;
  if (f.is_ggml()) {
    l.embedding.format = f;
    l.lm_head.q6_k = true;
    l.norm_bytes_per_weight = 4;
  }
  return l;
}

const LlamaFramework& framework_for(const LlamaModelSpec& m, const WeightFormat& f) {
  return f.is_ggml() ? m.llama_cpp : m.hf;
}

constexpr std::string_view kKvAppend = ".attn.kv_append";  // the cache update op's name suffix

class LlamaBuilder {
 public:
  LlamaBuilder(Graph& g, const LlamaModelSpec& m, const LlamaScenario& sc, bool prefill)
      : m_(m),
        sc_(sc),
        prefill_(prefill),
        fw_(framework_for(m, sc.weights)),
        layout_(layout_for(sc.weights)),
        b_(g, sc.weights.is_ggml() ? DType::fp32 : DType::fp16, TensorMode::fp16_acc32, DType::fp16) {}

  // A linear layer over `tokens` rows in the tensor's storage format.
  void linear(const std::string& name, std::int64_t tokens, std::int64_t k, std::int64_t n, const Storage& s) {
    const bool quantized = s.q6_k || s.format.is_weight_only_quantized();
    const bool int8 = !s.q6_k && s.format.kind == WeightFormatKind::int8;
    int kernels = fw_.linear;
    if (int8) kernels = fw_.linear_int8;
    if (!s.q6_k && s.format.kind == WeightFormatKind::gptq4) kernels = fw_.linear_gptq;
    Op op = b_.base(name, OpClass::gemm, kernels);
    op.gemm = {tokens, n, k, 1};
    op.weight_dtype = storage_dtype(s);
    op.parameters = k * n;
    op.flops = 2.0 * dbl(tokens) * dbl(n) * dbl(k);
    op.weight_bytes = storage_bytes(s, k, n);
    op.activation_bytes = dbl(tokens) * dbl(k) * b_.act_bytes();
    op.write_bytes = dbl(tokens) * dbl(n) * b_.act_bytes();
    if (int8) {
      op.tensor_mode = TensorMode::int8;  // bitsandbytes quantizes activations and runs igemmlt
    } else if (quantized) {
      // Decode unpacks weights inside a matrix-vector kernel on CUDA cores; prefill unpacks them to
      // fp16 and runs a tensor-core GEMM (cuBLAS; llama.cpp computes it in fp16).
      op.op_class = prefill_ ? OpClass::dequant_gemm : OpClass::dequant_gemv;
      op.tensor_mode = prefill_ ? std::optional<TensorMode>(ggml_gemm_mode()) : std::nullopt;
      op.dequant_weights = dbl(k) * dbl(n);
    } else {
      op.tensor_mode = TensorMode::fp16_acc32;
    }
    b_.add(std::move(op));
  }

  TensorMode ggml_gemm_mode() const { return sc_.weights.is_ggml() ? TensorMode::fp16_acc16 : TensorMode::fp16_acc32; }

  void rmsnorm(const std::string& name, std::int64_t tokens) {
    Op& op = b_.norm(name, dbl(tokens) * dbl(m_.dim), m_.dim, workloads::kFlopsRmsNorm, fw_.rmsnorm,
                     layout_.norm_bytes_per_weight);
    if (layout_.norm_bytes_per_weight == 4) op.weight_dtype = DType::fp32;
  }

  Graph& build(Graph& g) {
    const std::int64_t b = sc_.batch;
    const std::int64_t t = prefill_ ? sc_.prompt_tokens : 1;  // new tokens per sequence
    const std::int64_t tokens = b * t;
    const std::int64_t d = m_.dim;
    const std::int64_t kvd = m_.kv_dim();
    const std::int64_t hd = m_.head_dim();
    const std::int64_t f = m_.ffn_dim;
    const double ab = b_.act_bytes();
    const double kvb = bytes_per_element(sc_.kv_dtype);
    const double elems = dbl(tokens) * dbl(d);

    g.model_id = m_.id;
    g.unit = prefill_ ? "prefill" : "decode step";

    Op emb = b_.base("embedding", OpClass::embedding, fw_.embedding);
    emb.weight_dtype = storage_dtype(layout_.embedding);
    emb.parameters = m_.vocab_size * d;
    emb.weight_bytes = dbl(tokens) * storage_bytes(layout_.embedding, d, 1);   // one row per token
    emb.activation_bytes = dbl(tokens) * (sc_.weights.is_ggml() ? 4.0 : 8.0);  // int32 / int64 ids
    emb.write_bytes = elems * ab;
    b_.add(std::move(emb));

    for (std::int64_t l = 0; l < m_.n_layers; ++l) {
      const std::string p = "layer." + std::to_string(l);
      rmsnorm(p + ".attn_norm", tokens);
      linear(p + ".attn.q_proj", tokens, d, d, layout_.linear);
      linear(p + ".attn.k_proj", tokens, d, kvd, layout_.linear);
      linear(p + ".attn.v_proj", tokens, d, kvd, layout_.linear);
      // Rotary: q and k, with one cos and one sin row per position.
      b_.elementwise(p + ".attn.rotary", dbl(tokens) * dbl(d + kvd) + 2.0 * dbl(t) * dbl(hd),
                     dbl(tokens) * dbl(d + kvd), workloads::kFlopsRotary, fw_.rotary);
      Op append = b_.base(p + std::string(kKvAppend), OpClass::elementwise, fw_.kv_append);
      append.activation_bytes = dbl(tokens) * dbl(2 * kvd) * ab;
      append.write_bytes = dbl(tokens) * dbl(2 * kvd) * kvb;
      const bool framework = sc_.framework_ops;
      // Entries of K and of V per sequence after this step's update.
      const std::int64_t kv_len = prefill_ ? t : sc_.context;
      if (kv_cache_concatenates(m_, sc_) && !prefill_) {
        // torch.cat(past, new): the past entries are read and the whole cache written anew.
        append.cache_bytes = dbl(b) * dbl(kv_len - 1) * dbl(2 * kvd) * kvb;
        append.write_bytes = dbl(b) * dbl(kv_len) * dbl(2 * kvd) * kvb;
      }
      const bool expand = framework && fw_.expand_grouped_kv && m_.n_kv_heads < m_.n_heads;
      if (expand) {
        // repeat_kv: the updated K and V read once and written at the query heads' count.
        append.cache_bytes += dbl(b) * dbl(kv_len) * dbl(2 * kvd) * kvb;
        append.write_bytes += dbl(b) * dbl(kv_len) * dbl(2 * d) * kvb;
      }
      b_.add(std::move(append));
      OpBuilder::AttentionArgs a;
      a.name = p + ".attn.attention";
      a.batch = b;
      a.heads = m_.n_heads;
      a.kv_heads = expand ? m_.n_heads : m_.n_kv_heads;  // expanded K/V: one head of K/V per query head
      a.head_dim = hd;
      a.q_len = t;
      a.kv_len = prefill_ ? t : sc_.context;
      a.from_cache = !prefill_;  // prefill attends to the K/V it just computed
      a.kv_bytes = kvb;
      a.causal = prefill_;
      a.kernels_flash = fw_.attention_flash;
      a.kernels_scores = fw_.attention_naive_scores;
      a.kernels_softmax = fw_.softmax;
      a.kernels_pv = fw_.attention_naive_pv;
      if (prefill_ && sc_.weights.is_ggml()) {
        // llama.cpp multiplies the fp16 K/V with cuBLAS in fp16 during prefill.
        OpBuilder gb(g, b_.act(), TensorMode::fp16_acc16, DType::fp16);
        gb.attention(a, sc_.attention == AttentionKind::flash);
      } else {
        b_.attention(a, sc_.attention == AttentionKind::flash);
      }
      linear(p + ".attn.o_proj", tokens, d, d, layout_.linear);
      b_.elementwise(p + ".attn.residual", 2 * elems, elems, workloads::kFlopsAdd, fw_.residual_add);
      rmsnorm(p + ".ffn_norm", tokens);
      linear(p + ".ffn.gate_proj", tokens, d, f, layout_.linear);
      linear(p + ".ffn.up_proj", tokens, d, f, layout_.linear);
      b_.elementwise(p + ".ffn.silu_mul", 2.0 * dbl(tokens) * dbl(f), dbl(tokens) * dbl(f), workloads::kFlopsSilu + 1,
                     fw_.silu_mul);
      linear(p + ".ffn.down_proj", tokens, f, d, layout_.linear);
      b_.elementwise(p + ".ffn.residual", 2 * elems, elems, workloads::kFlopsAdd, fw_.residual_add);
    }
    // Logits: for every prompt position where the framework computes them all, else the last one.
    const std::int64_t logit_rows = prefill_ && fw_.prefill_logits == PrefillLogits::all ? tokens : b;
    rmsnorm("final_norm", logit_rows);
    linear("lm_head", logit_rows, d, m_.vocab_size, layout_.lm_head);

    Op samp = b_.base("sampling", OpClass::sampling, fw_.sampling);
    samp.flops = 5.0 * dbl(b) * dbl(m_.vocab_size);
    samp.activation_bytes = dbl(b) * dbl(m_.vocab_size) * ab;
    samp.write_bytes = dbl(b) * 8.0;
    b_.add(std::move(samp));
    return g;
  }

 private:
  const LlamaModelSpec& m_;
  const LlamaScenario& sc_;
  bool prefill_;
  const LlamaFramework& fw_;
  Layout layout_;
  OpBuilder b_;
};

Graph build(const LlamaModelSpec& m, const LlamaScenario& sc, bool prefill) {
  Graph g;
  LlamaBuilder lb(g, m, sc, prefill);
  lb.build(g);
  return g;
}

}  // namespace

Graph build_llama_decode(const LlamaModelSpec& m, const LlamaScenario& sc) { return build(m, sc, false); }
Graph build_llama_prefill(const LlamaModelSpec& m, const LlamaScenario& sc) { return build(m, sc, true); }
Graph build_llama(const LlamaModelSpec& m, const LlamaScenario& sc) {
  return build(m, sc, sc.phase == LlamaPhase::prefill);
}

bool kv_cache_concatenates(const LlamaModelSpec& m, const LlamaScenario& sc) {
  return sc.kv_concat ? *sc.kv_concat : sc.framework_ops && framework_for(m, sc.weights).kv_concat;
}

double kv_cache_update_bytes(const Graph& g) {
  double bytes = 0;
  for (const auto& op : g.ops)
    if (op.name.ends_with(kKvAppend)) bytes += op.cache_bytes + op.write_bytes;
  return bytes;
}

MemoryFootprint memory_footprint(const LlamaModelSpec& m, const LlamaScenario& sc) {
  const Layout l = layout_for(sc.weights);
  const std::int64_t d = m.dim;
  const std::int64_t kvd = m.kv_dim();
  const double per_layer = storage_bytes(l.linear, d, d) * 2 + storage_bytes(l.linear, d, kvd) * 2 +
                           storage_bytes(l.linear, d, m.ffn_dim) * 2 + storage_bytes(l.linear, m.ffn_dim, d) +
                           2.0 * dbl(d) * l.norm_bytes_per_weight;
  MemoryFootprint f;
  f.weight_bytes = dbl(m.n_layers) * per_layer + dbl(d) * l.norm_bytes_per_weight +
                   dbl(m.vocab_size) * storage_bytes(l.embedding, d, 1) + storage_bytes(l.lm_head, d, m.vocab_size);
  const std::int64_t len = sc.phase == LlamaPhase::prefill ? sc.prompt_tokens : sc.context;
  f.kv_cache_bytes = dbl(m.n_layers) * 2.0 * dbl(sc.batch) * dbl(len) * dbl(kvd) * bytes_per_element(sc.kv_dtype);
  f.activation_bytes = workloads::peak_op_activation_bytes(build_llama(m, sc));
  return f;
}

}  // namespace gpuperf
