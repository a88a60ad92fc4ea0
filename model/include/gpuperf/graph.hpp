// graph: a workload as the list of operations a framework launches, each with its shape, exact FLOPs
// (2 per multiply-add) and minimum DRAM bytes. Pure values; builders live in workloads.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpuperf/hardware.hpp"

namespace gpuperf {

enum class DType { fp32, fp16, bf16, fp8, int8, int4 };
std::string_view to_string(DType dtype);
double bytes_per_element(DType dtype);  // int4: 0.5

enum class OpClass {
  conv,          // convolution (runs as an implicit GEMM)
  gemm,          // dense matrix multiply (linear layers, batched attention matmuls)
  attention,     // fused attention (flash / memory-efficient): never writes the score matrix
  softmax,       // naive attention's softmax over the written score matrix
  norm,          // GroupNorm, LayerNorm, RMSNorm
  elementwise,   // activations, residual adds, GEGLU gating, rotary, upsample copies, concat
  embedding,     // token / timestep embedding lookups
  dequant_gemv,  // weight-only quantized matrix-vector product (decode)
  dequant_gemm,  // weight-only quantized matrix-matrix product (prefill)
  sampling,      // logits processing and token sampling
};
inline constexpr int kOpClassCount = 10;
std::string_view to_string(OpClass op_class);

// The GEMM view of an op: `batch` independent problems, each producing an m x n output with a
// reduction of length k. Convolutions: m = N·H_out·W_out, n = C_out, k = C_in·kh·kw. Attention:
// m = query length, n = key length, k = head dim, batch = N·heads. Zero for non-matrix ops.
struct GemmShape {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  std::int64_t batch = 1;
};

struct Op {
  std::string name;  // dotted path, e.g. "down.1.attn.0.ff.proj_in"
  OpClass op_class = OpClass::elementwise;
  GemmShape gemm;
  DType dtype = DType::fp16;         // activation / compute dtype
  DType weight_dtype = DType::fp16;  // stored weight dtype (int4 for 4-bit formats)
  // The tensor-core mode its FLOPs run in; nullopt = CUDA cores (FP32 FMA lanes).
  std::optional<TensorMode> tensor_mode;
  double flops = 0;
  double weight_bytes = 0;      // weights read (including quantization scales and zeros)
  double activation_bytes = 0;  // activations read (inputs produced by earlier ops)
  double cache_bytes = 0;       // persistent state read (KV cache), not produced by the previous op
  double write_bytes = 0;       // outputs written
  double dequant_weights = 0;   // weights unpacked on CUDA cores before use
  double sfu_results = 0;       // special-function results (softmax exponentials) on the SFUs
  std::int64_t parameters = 0;  // parameters owned by this op (each counted once per graph)
  int kernels = 1;              // launches in a typical eager framework

  double bytes() const { return weight_bytes + activation_bytes + cache_bytes + write_bytes; }
};

// A run of identical blocks in a graph (a transformer's layers): ops [begin, begin + period) repeat
// `count` times back to back, each op costing the same as its counterpart in every block.
struct RepeatedBlock {
  std::size_t begin = 0;
  std::size_t period = 0;
  std::size_t count = 0;
};

// Ops that time the same on any card: equal cost (same_cost) after an op of equal cost (the
// predecessor's output decides what an op reads from L2). key[i] numbers op i's (cost, predecessor
// cost) pair from 0 to keys - 1, so a prediction times each pair once.
struct TimingIndex {
  std::vector<std::uint32_t> key;
  std::uint32_t keys = 0;
  // Per key: its tensor op's tile shape (m, n, k, batch, attention or not) numbered 0 .. shapes - 1,
  // or -1 for an op off the tensor cores; wave efficiency depends on the shape alone.
  std::vector<std::int32_t> key_shape;
  std::uint32_t shapes = 0;
};

struct Graph {
  std::string model_id;
  std::string unit;  // what one run of the graph is: "UNet step", "decode token", ...
  std::vector<Op> ops;
  std::optional<RepeatedBlock> repeat;  // set by find_repeated_block; lets predictions skip ahead
  TimingIndex timing;                   // set by index_timings; ignored unless it covers every op
  // The step repeats on the same buffers (a micro-benchmark calling one kernel again and again): an op
  // whose operands and output fit in the L2 finds its operands there, left by the previous repetition.
  bool warm_l2 = false;
};

// Two ops cost the same on any card when every field the roofline reads is equal (names aside).
bool same_cost(const Op& a, const Op& b);
// The longest run of at least three identical back-to-back blocks starting among the first few ops;
// nullopt if there is none.
std::optional<RepeatedBlock> find_repeated_block(const Graph& g);
// The graph's timing pairs (see TimingIndex). Recompute after changing the ops.
TimingIndex index_timings(const Graph& g);

struct ClassTotals {
  OpClass op_class = OpClass::elementwise;
  int ops = 0;
  int kernels = 0;
  double flops = 0;
  double bytes = 0;
};

double total_flops(const Graph& g);
double total_bytes(const Graph& g);
double total_weight_bytes(const Graph& g);
std::int64_t total_parameters(const Graph& g);
int total_kernels(const Graph& g);
// Per-class totals, in enum order, classes with no op left out.
std::vector<ClassTotals> class_totals(const Graph& g);

}  // namespace gpuperf
