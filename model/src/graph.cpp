#include "gpuperf/graph.hpp"

#include <functional>
#include <map>
#include <tuple>
#include <unordered_map>

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
         a.dequant_weights == b.dequant_weights && a.sfu_results == b.sfu_results && a.kernels == b.kernels;
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

TimingIndex index_timings(const Graph& g) {
  auto cost_hash = [](const Op& op) {
    std::size_t h = static_cast<std::size_t>(op.op_class);
    auto mix = [&h](std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
    mix(std::hash<std::int64_t>{}(op.gemm.m));
    mix(std::hash<std::int64_t>{}(op.gemm.n));
    mix(std::hash<std::int64_t>{}(op.gemm.k));
    mix(std::hash<std::int64_t>{}(op.gemm.batch));
    mix(std::hash<double>{}(op.flops));
    mix(std::hash<double>{}(op.weight_bytes));
    mix(std::hash<double>{}(op.activation_bytes));
    mix(std::hash<double>{}(op.write_bytes));
    return h;
  };
  // Cost classes: ops equal under same_cost share one.
  std::unordered_map<std::size_t, std::vector<std::uint32_t>> buckets;  // hash -> cost classes
  std::vector<const Op*> representative;
  std::vector<std::uint32_t> cost(g.ops.size());
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    auto& bucket = buckets[cost_hash(g.ops[i])];
    std::uint32_t c = static_cast<std::uint32_t>(representative.size());
    for (std::uint32_t candidate : bucket)
      if (same_cost(*representative[candidate], g.ops[i])) c = candidate;
    if (c == representative.size()) {
      representative.push_back(&g.ops[i]);
      bucket.push_back(c);
    }
    cost[i] = c;
  }
  // Pairs (cost, predecessor's cost); the first op has no predecessor.
  TimingIndex index;
  index.key.resize(g.ops.size());
  std::unordered_map<std::uint64_t, std::uint32_t> pairs;
  // A shape's efficiency depends on its tensor mode too (the CTA overhead in flops is per mode).
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, bool, int>, std::int32_t> shapes;
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    std::uint64_t before = i == 0 ? 0xFFFFFFFFull : cost[i - 1];
    auto [it, fresh] = pairs.try_emplace((static_cast<std::uint64_t>(cost[i]) << 32) | before, index.keys);
    if (fresh) {
      ++index.keys;
      const Op& op = g.ops[i];
      std::int32_t shape = -1;
      if (op.tensor_mode) {
        auto [s, added] = shapes.try_emplace({op.gemm.m, op.gemm.n, op.gemm.k, op.gemm.batch,
                                              op.op_class == OpClass::attention, static_cast<int>(*op.tensor_mode)},
                                             static_cast<std::int32_t>(index.shapes));
        if (added) ++index.shapes;
        shape = s->second;
      }
      index.key_shape.push_back(shape);
    }
    index.key[i] = it->second;
  }
  return index;
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
