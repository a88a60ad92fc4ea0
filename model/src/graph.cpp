#include "gpuperf/graph.hpp"

#include <array>

namespace gpuperf {

std::string_view to_string(DType dtype) {
  switch (dtype) {
    case DType::fp32:
      return "fp32";
    case DType::fp16:
      return "fp16";
    case DType::bf16:
      return "bf16";
    case DType::fp8:
      return "fp8";
    case DType::int8:
      return "int8";
    case DType::int4:
      return "int4";
  }
  return "?";
}

double bytes_per_element(DType dtype) {
  switch (dtype) {
    case DType::fp32:
      return 4;
    case DType::fp16:
    case DType::bf16:
      return 2;
    case DType::fp8:
    case DType::int8:
      return 1;
    case DType::int4:
      return 0.5;
  }
  return 0;
}

std::string_view to_string(OpClass op_class) {
  switch (op_class) {
    case OpClass::conv:
      return "conv";
    case OpClass::gemm:
      return "gemm";
    case OpClass::attention:
      return "attention";
    case OpClass::softmax:
      return "softmax";
    case OpClass::norm:
      return "norm";
    case OpClass::elementwise:
      return "elementwise";
    case OpClass::embedding:
      return "embedding";
    case OpClass::dequant_gemv:
      return "dequant-gemv";
    case OpClass::dequant_gemm:
      return "dequant-gemm";
    case OpClass::sampling:
      return "sampling";
  }
  return "?";
}

bool same_cost(const Op& a, const Op& b) {
  return a.op_class == b.op_class && a.gemm.m == b.gemm.m && a.gemm.n == b.gemm.n && a.gemm.k == b.gemm.k &&
         a.gemm.batch == b.gemm.batch && a.dtype == b.dtype && a.weight_dtype == b.weight_dtype &&
         a.tensor_mode == b.tensor_mode && a.flops == b.flops && a.weight_bytes == b.weight_bytes &&
         a.activation_bytes == b.activation_bytes && a.cache_bytes == b.cache_bytes && a.write_bytes == b.write_bytes &&
         a.dequant_weights == b.dequant_weights && a.kernels == b.kernels;
}

std::optional<RepeatedBlock> find_repeated_block(const Graph& g) {
  const std::size_t n = g.ops.size();
  std::optional<RepeatedBlock> best;
  for (std::size_t begin = 0; begin < std::min<std::size_t>(n, 8); ++begin) {
    for (std::size_t period = 1; begin + 3 * period <= n; ++period) {
      // Count whole blocks equal to the first one; most candidates fail on their first op.
      std::size_t count = 1;
      while (begin + (count + 1) * period <= n) {
        bool same = true;
        for (std::size_t j = 0; j < period && same; ++j)
          same = same_cost(g.ops[begin + j], g.ops[begin + count * period + j]);
        if (!same) break;
        ++count;
      }
      if (count >= 3 && (!best || count * period > best->count * best->period))
        best = RepeatedBlock{begin, period, count};
    }
  }
  return best;
}

double total_flops(const Graph& g) {
  double s = 0;
  for (const auto& op : g.ops) s += op.flops;
  return s;
}

double total_bytes(const Graph& g) {
  double s = 0;
  for (const auto& op : g.ops) s += op.bytes();
  return s;
}

double total_weight_bytes(const Graph& g) {
  double s = 0;
  for (const auto& op : g.ops) s += op.weight_bytes;
  return s;
}

std::int64_t total_parameters(const Graph& g) {
  std::int64_t s = 0;
  for (const auto& op : g.ops) s += op.parameters;
  return s;
}

int total_kernels(const Graph& g) {
  int s = 0;
  for (const auto& op : g.ops) s += op.kernels;
  return s;
}

std::vector<ClassTotals> class_totals(const Graph& g) {
  std::array<ClassTotals, kOpClassCount> acc{};
  for (int i = 0; i < kOpClassCount; ++i) acc[static_cast<std::size_t>(i)].op_class = static_cast<OpClass>(i);
  for (const auto& op : g.ops) {
    auto& t = acc[static_cast<std::size_t>(op.op_class)];
    t.ops += 1;
    t.kernels += op.kernels;
    t.flops += op.flops;
    t.bytes += op.bytes();
  }
  std::vector<ClassTotals> out;
  for (const auto& t : acc)
    if (t.ops > 0) out.push_back(t);
  return out;
}

}  // namespace gpuperf
