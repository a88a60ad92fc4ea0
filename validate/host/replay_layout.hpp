// replay_layout: where a replay (validate/src/replay.cu) puts the activations of its ops in the "dataflow" placement,
// as offsets into one ring of device memory, the pool. Plain C++ (no CUDA): tested on the host
// (tests/test_replay_layout.cpp).
//
// A real network gives every tensor its own memory: an op finds in L2 what the op before it has just
// written, and the rest of its input (a residual branch, a skip connection, the text embedding) was
// written long before. The model assumes the same: an op's input that the op just before it wrote (and
// that fits in L2) is read from L2, the rest of its activation input from DRAM; every output is written
// back to DRAM. The placement:
// - ops with activations are the byte-moving ops (ReplayKind::bytes) and the weight GEMMs (ReplayKind::gemm
//   with weight bytes); each gets its output region out_i right after out_{i-1} in the ring (256-byte
//   aligned, wrapping to the start when it does not fit);
// - a byte-moving op reads the first min(activation bytes, bytes op i-1 wrote) of its input from out_{i-1}
//   (op i-1 in the plan's order whatever its kind; none when op i-1 has no output region, e.g. attention),
//   the rest of its activation bytes from the region just after out_i (the oldest data in the ring), its
//   weight and cache bytes (norm gammas) from the shared source buffer as before;
// - a weight GEMM reads its activations A from out_{i-1} when op i-1 wrote at least the op's activation
//   bytes, else from the region just after out_i. The replay runs a convolution as an explicit GEMM whose
//   A (pixels x k) is up to 9x the convolution's input: A then starts at out_{i-1} and runs on into the
//   oldest data after it (its first bytes_written(i-1) bytes hot, the rest cold), and out_i goes after
//   A's end so that the GEMM never writes what it reads (where that does not fit before the ring's end,
//   A is the cold region after out_i instead: a `fallback`).
// The ring is at least 4x the L2 and 4x the largest op's output plus input, so that the region after
// out_i was written a lap (at least 3 L2 sizes of writes) ago. A step starts at offset 0 each time; the
// ring's size is stretched (up to 64 tries) until the step's last lap ends at least 4 L2 sizes into the
// ring, so that what the next step's first ops read as cold was not written just before.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "replay_plan.hpp"

namespace gpuperf_replay {

inline std::size_t align256(double b) { return (std::size_t(std::ceil(b)) + 255) / 256 * 256; }

// Whether op `op` gets an output region in the dataflow placement.
inline bool has_flow(const ReplayOp& op) {
  return op.kind == ReplayKind::bytes || (op.kind == ReplayKind::gemm && op.weight_bytes > 0);
}

// One op's regions (byte offsets into the pool).
struct FlowIo {
  bool out = false;           // has an output region (has_flow)
  std::size_t out_off = 0;    // its output region
  std::size_t out_bytes = 0;  // the region's size (256-byte aligned)
  std::size_t written = 0;    // bytes the op writes there
  std::size_t n_read = 0;     // byte ops: 16-byte vectors read (as in the shared placement)
  std::size_t hot_off = 0;    // byte ops: the part of the input op i-1 wrote (n_hot vectors)
  std::size_t n_hot = 0;
  std::size_t cold_off = 0;  // byte ops: the rest of the activation input (n_cold vectors)
  std::size_t n_cold = 0;
  std::size_t n_src = 0;  // byte ops: weight and cache vectors, from the shared source buffer
  std::size_t a_off = 0;  // weight GEMMs: A (activations, batch x m x k fp16)
  std::size_t a_bytes = 0;
  bool a_prev = false;  // weight GEMMs: A starts at out_{i-1}
};

struct FlowLayout {
  std::size_t pool_bytes = 0;
  std::size_t min_pool_bytes = 0;  // 4x the L2, 4x the largest span, 256 MiB
  std::vector<FlowIo> ops;
  double step_bytes = 0;    // how far the step moves through the ring (outputs, A overhangs, wrap padding)
  std::size_t end_off = 0;  // where the step's last output ends
  int wraps = 0;
  int gemm_prev = 0, gemm_overhang = 0, gemm_cold = 0, gemm_fallback = 0;
  double hot_bytes = 0, cold_bytes = 0;  // byte ops: activation bytes read from out_{i-1} / from old data
};

// Lays out `ops` in a ring of `pool` bytes (the sizes in `L.ops` already set).
inline void place_flow(const std::vector<ReplayOp>& ops, std::size_t pool, FlowLayout& L) {
  L.pool_bytes = pool;
  L.step_bytes = 0;
  L.wraps = 0;
  L.gemm_prev = L.gemm_overhang = L.gemm_cold = L.gemm_fallback = 0;
  L.hot_bytes = L.cold_bytes = 0;
  std::size_t h = 0;  // the ring's head: where the next output goes
  // Moves the head to `at` (forward, or to a lower offset after a wrap).
  auto advance = [&](std::size_t from, std::size_t to) {
    L.step_bytes += to >= from ? double(to - from) : double(pool - from) + double(to);
    h = to;
  };
  // Where a region of `need` bytes starting at the head goes: the head, or the ring's start.
  auto at_head = [&](std::size_t need) -> std::size_t {
    if (h + need <= pool) return h;
    ++L.wraps;
    return 0;
  };
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const ReplayOp& op = ops[i];
    FlowIo& f = L.ops[i];
    if (!f.out) continue;
    const FlowIo* p = i > 0 && L.ops[i - 1].out ? &L.ops[i - 1] : nullptr;
    const double prev_written = p ? double(p->written) : 0.0;
    const std::size_t h0 = h;
    if (op.kind == ReplayKind::bytes) {
      const double hot = std::min(op.activation_bytes, prev_written);
      f.n_hot = std::min(f.n_read, std::size_t(std::ceil(hot / 16)));
      f.n_src = std::min(f.n_read - f.n_hot, std::size_t(std::ceil((op.weight_bytes + op.cache_bytes) / 16)));
      f.n_cold = f.n_read - f.n_hot - f.n_src;
      f.hot_off = p ? p->out_off : 0;
      f.out_off = at_head(f.out_bytes + f.n_cold * 16);
      f.cold_off = f.out_off + f.out_bytes;
      L.hot_bytes += hot;
      L.cold_bytes += std::max(0.0, op.activation_bytes - hot);
      advance(h0, f.out_off + f.out_bytes);
      continue;
    }
    // A weight GEMM.
    if (p && prev_written >= op.activation_bytes) {
      if (f.a_bytes <= p->out_bytes) {
        f.a_prev = true;
        f.a_off = p->out_off;
        f.out_off = at_head(f.out_bytes);
        ++L.gemm_prev;
        advance(h0, f.out_off + f.out_bytes);
        continue;
      }
      const std::size_t a_end = align256(double(p->out_off + f.a_bytes));
      if (a_end + f.out_bytes <= pool) {
        f.a_prev = true;
        f.a_off = p->out_off;
        f.out_off = a_end;
        ++L.gemm_overhang;
        advance(h0, f.out_off + f.out_bytes);
        continue;
      }
      ++L.gemm_fallback;
    }
    f.a_prev = false;
    f.out_off = at_head(f.out_bytes + align256(double(f.a_bytes)));
    f.a_off = f.out_off + f.out_bytes;
    ++L.gemm_cold;
    advance(h0, f.out_off + f.out_bytes);
  }
  L.end_off = h;
}

// The dataflow layout of `ops` for a card with `l2_bytes` of L2.
inline FlowLayout dataflow_layout(const std::vector<ReplayOp>& ops, double l2_bytes) {
  FlowLayout L;
  L.ops.resize(ops.size());
  std::size_t span = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const ReplayOp& op = ops[i];
    FlowIo& f = L.ops[i];
    f.out = has_flow(op);
    if (!f.out) continue;
    if (op.kind == ReplayKind::bytes) {
      f.n_read = align256(op.weight_bytes + op.activation_bytes + op.cache_bytes) / 16;
      f.out_bytes = align256(op.write_bytes);
      f.written = f.out_bytes;  // the kernel writes whole 256-byte blocks
      span = std::max(span, f.out_bytes + f.n_read * 16);
    } else {
      f.a_bytes = std::size_t(op.batch * op.m * op.k) * 2;
      f.written = std::size_t(op.batch * op.m * op.n) * 2;
      f.out_bytes = align256(std::max(double(f.written), op.write_bytes));
      span = std::max(span, f.out_bytes + align256(double(f.a_bytes)));
    }
  }
  const double l2 = std::max(l2_bytes, 1.0);
  L.min_pool_bytes = align256(std::max({256.0 * 1024 * 1024, 4 * l2, 4.0 * double(span)}));
  for (int t = 0; t < 64; ++t) {
    place_flow(ops, L.min_pool_bytes + align256(double(L.min_pool_bytes) / 32 * t), L);
    if (L.wraps == 0 || double(L.end_off) >= 4 * l2) break;
  }
  return L;
}

}  // namespace gpuperf_replay
