// op_builder: the small vocabulary the workload builders share — linear layers, convolutions, attention
// (fused or naive), norms and elementwise ops — each filled with exact FLOPs and minimum DRAM bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "gpuperf/graph.hpp"

namespace gpuperf::workloads {

// Nominal CUDA-core FLOPs per element of the non-matrix ops (only matrix ops are exact: 2 per
// multiply-add; these ops are memory-bound and their FLOPs only inform the roofline).
inline constexpr double kFlopsAdd = 1;
inline constexpr double kFlopsSilu = 4;
inline constexpr double kFlopsGelu = 8;
inline constexpr double kFlopsQuickGelu = 5;
inline constexpr double kFlopsNorm = 8;
inline constexpr double kFlopsRmsNorm = 4;
inline constexpr double kFlopsSoftmax = 5;
inline constexpr double kFlopsRotary = 3;

inline double dbl(std::int64_t v) { return static_cast<double>(v); }

// Appends ops to a graph with one activation dtype and one tensor mode.
class OpBuilder {
 public:
  OpBuilder(Graph& g, DType act, std::optional<TensorMode> mode, DType weight)
      : g_(g), act_(act), mode_(mode), weight_(weight) {}

  double act_bytes() const { return bytes_per_element(act_); }
  double weight_bytes_per_element() const { return bytes_per_element(weight_); }
  DType act() const { return act_; }
  std::optional<TensorMode> mode() const { return mode_; }

  Op& add(Op op) {
    g_.ops.push_back(std::move(op));
    return g_.ops.back();
  }

  Op base(std::string name, OpClass c, int kernels) const {
    Op op;
    op.name = std::move(name);
    op.op_class = c;
    op.dtype = act_;
    op.weight_dtype = weight_;
    op.kernels = kernels;
    return op;
  }

  // y[m, n] = x[m, k] W[k, n] (+ b): a linear layer over `m` tokens, weights in the builder's dtype.
  Op& linear(std::string name, std::int64_t m, std::int64_t k, std::int64_t n, bool bias, int kernels) {
    Op op = base(std::move(name), OpClass::gemm, kernels);
    op.gemm = {m, n, k, 1};
    op.tensor_mode = mode_;
    op.parameters = k * n + (bias ? n : 0);
    op.flops = 2.0 * dbl(m) * dbl(n) * dbl(k);
    op.weight_bytes = dbl(op.parameters) * weight_bytes_per_element();
    op.activation_bytes = dbl(m) * dbl(k) * act_bytes();
    op.write_bytes = dbl(m) * dbl(n) * act_bytes();
    return add(std::move(op));
  }

  // A 2-D convolution (NCHW, padding kernel/2) as an implicit GEMM: m = N·Ho·Wo, n = Cout, k = Cin·kh·kw.
  // `out_h`/`out_w` are the output size (stride 2 halves, rounding up).
  Op& conv(std::string name, std::int64_t n_img, std::int64_t c_in, std::int64_t h, std::int64_t w, std::int64_t c_out,
           std::int64_t kernel, std::int64_t stride, int kernels) {
    const std::int64_t ho = (h + stride - 1) / stride;
    const std::int64_t wo = (w + stride - 1) / stride;
    Op op = base(std::move(name), OpClass::conv, kernels);
    op.gemm = {n_img * ho * wo, c_out, c_in * kernel * kernel, 1};
    op.tensor_mode = mode_;
    op.parameters = c_out * c_in * kernel * kernel + c_out;
    op.flops = 2.0 * dbl(op.gemm.m) * dbl(op.gemm.n) * dbl(op.gemm.k);
    op.weight_bytes = dbl(op.parameters) * weight_bytes_per_element();
    op.activation_bytes = dbl(n_img) * dbl(c_in) * dbl(h) * dbl(w) * act_bytes();
    op.write_bytes = dbl(n_img) * dbl(c_out) * dbl(ho) * dbl(wo) * act_bytes();
    return add(std::move(op));
  }

  // An elementwise op reading `read_elems` activations and writing `write_elems`.
  Op& elementwise(std::string name, double read_elems, double write_elems, double flops_per_elem, int kernels,
                  OpClass c = OpClass::elementwise) {
    Op op = base(std::move(name), c, kernels);
    op.flops = flops_per_elem * write_elems;
    op.activation_bytes = read_elems * act_bytes();
    op.write_bytes = write_elems * act_bytes();
    return add(std::move(op));
  }

  // A normalization over `elems` activations with `params` affine parameters (weight + bias).
  Op& norm(std::string name, double elems, std::int64_t params, double flops_per_elem, int kernels,
           double param_bytes_per_element = 0) {
    Op op = base(std::move(name), OpClass::norm, kernels);
    op.parameters = params;
    op.flops = flops_per_elem * elems;
    op.weight_bytes =
        dbl(params) * (param_bytes_per_element > 0 ? param_bytes_per_element : weight_bytes_per_element());
    op.activation_bytes = elems * act_bytes();
    op.write_bytes = elems * act_bytes();
    return add(std::move(op));
  }

  // Attention of `heads` heads per image over `batch` images: q_len queries against kv_len keys,
  // head dimension `head_dim`. Fused (flash / memory-efficient) never writes the score matrix; naive
  // writes the scores, runs softmax over them and reads them back. `kv_cache_elems_per_image` > 0
  // means K and V come from a cache (read as cache_bytes with `kv_bytes` per element) instead of
  // activations. `causal_fused` halves the fused kernel's work (masked blocks are skipped).
  struct AttentionArgs {
    std::string name;
    std::int64_t batch = 1;
    std::int64_t heads = 1;
    std::int64_t q_len = 1;
    std::int64_t kv_len = 1;
    std::int64_t head_dim = 1;
    std::int64_t kv_heads = 0;  // 0 = heads (no grouped-query sharing)
    bool from_cache = false;
    double kv_bytes = 2;
    bool causal = false;
    int kernels_flash = 1;
    int kernels_scores = 1;
    int kernels_softmax = 1;
    int kernels_pv = 1;
  };
  void attention(const AttentionArgs& a, bool fused) {
    const std::int64_t kv_heads = a.kv_heads > 0 ? a.kv_heads : a.heads;
    const double bh = dbl(a.batch) * dbl(a.heads);
    const double q_elems = dbl(a.batch) * dbl(a.q_len) * dbl(a.heads) * dbl(a.head_dim);
    const double kv_elems = dbl(a.batch) * dbl(a.kv_len) * dbl(kv_heads) * dbl(a.head_dim);  // K or V
    const double kv_read = kv_elems * (a.from_cache ? a.kv_bytes : act_bytes());
    const GemmShape scores_shape{a.q_len, a.kv_len, a.head_dim, a.batch * a.heads};
    if (fused) {
      Op op = base(a.name, OpClass::attention, a.kernels_flash);
      op.gemm = scores_shape;
      op.tensor_mode = mode_;
      // Causal fused kernels compute only the q x kv pairs at or below the diagonal.
      double pairs = dbl(a.q_len) * dbl(a.kv_len);
      if (a.causal && a.q_len == a.kv_len) pairs = dbl(a.q_len) * dbl(a.q_len + 1) / 2.0;
      op.flops = 4.0 * bh * pairs * dbl(a.head_dim);
      op.sfu_results = bh * pairs;  // the softmax's exponential of every score
      op.activation_bytes = q_elems * act_bytes() + (a.from_cache ? 0.0 : 2.0 * kv_read);
      op.cache_bytes = a.from_cache ? 2.0 * kv_read : 0.0;
      op.write_bytes = q_elems * act_bytes();
      add(std::move(op));
      return;
    }
    const double score_elems = bh * dbl(a.q_len) * dbl(a.kv_len);
    Op s = base(a.name + ".scores", OpClass::gemm, a.kernels_scores);
    s.gemm = scores_shape;
    s.tensor_mode = mode_;
    s.flops = 2.0 * score_elems * dbl(a.head_dim);
    s.activation_bytes = q_elems * act_bytes() + (a.from_cache ? 0.0 : kv_read);
    s.cache_bytes = a.from_cache ? kv_read : 0.0;
    s.write_bytes = score_elems * act_bytes();
    add(std::move(s));
    elementwise(a.name + ".softmax", score_elems, score_elems, kFlopsSoftmax, a.kernels_softmax, OpClass::softmax)
        .sfu_results = score_elems;
    Op pv = base(a.name + ".pv", OpClass::gemm, a.kernels_pv);
    pv.gemm = {a.q_len, a.head_dim, a.kv_len, a.batch * a.heads};
    pv.tensor_mode = mode_;
    pv.flops = 2.0 * score_elems * dbl(a.head_dim);
    pv.activation_bytes = score_elems * act_bytes() + (a.from_cache ? 0.0 : kv_read);
    pv.cache_bytes = a.from_cache ? kv_read : 0.0;
    pv.write_bytes = q_elems * act_bytes();
    add(std::move(pv));
  }

 private:
  Graph& g_;
  DType act_;
  std::optional<TensorMode> mode_;
  DType weight_;
};

// Largest (inputs + outputs) of any op: the activation working set an op needs at once.
inline double peak_op_activation_bytes(const Graph& g) {
  double peak = 0;
  for (const auto& op : g.ops) {
    double live = op.activation_bytes + op.write_bytes;
    if (live > peak) peak = live;
  }
  return peak;
}

}  // namespace gpuperf::workloads
