// gemv_q4: a weight-only 4-bit GEMV (GPTQ-like): y[N] = W[N x K] x[K], fp16 activations, int4 weights
// with an fp16 scale and zero per group of 128 along K: w = (q - zero) * scale.
//
// Layout (what the packer on the host writes and the kernels read), chosen so that a warp's activation
// reads are contiguous: K is cut into blocks of 256 (one 8-element word per lane), and four blocks make
// one 16-byte vector per lane; 1024 columns (128 words, 512 bytes) are one "tile" of a row.
//   qweight: uint32 [N][W] with W = T*128 words per row, T = ceil(K/1024) tiles (the tail past K/8
//            words is padding, never read). Word (block b, lane l) holds columns b*256 + l*8 ... + 7 and
//            sits at (b/4)*128 + l*4 + b%4. Inside a word, column c0+2p is in bits 4p..4p+3 and c0+2p+1
//            in bits 16+4p..16+4p+3 (p = 0..3), so (word >> 4p) & 0x000F000F | 0x64006400 is the half2
//            (1024 + q[2p], 1024 + q[2p+1]).
//   scale_zero: half2 [N][T*8], (scale, zero) of each group, permuted so that the four groups one lane
//            needs for one tile are one 16-byte vector: group g = 8t + 2j + h (tile t, word j of the
//            lane's vector, h = lane/16) sits at t*8 + h*4 + j. Groups past K/128 are padding.
//   Padding words and groups must hold finite values (the fill writes zeros): the stream kernels read a
//   partial last tile whole and multiply its padding by zero activations.
//   Rows are contiguous, so a matrix is a linear array of N*T 512-byte tiles (item i = row*T + tile at
//   byte i*512 of qweight, its 32 bytes of scales at byte i*32 of scale_zero); matrices that share K can
//   be concatenated row-wise into one (fused q/k/v, gate/up).
// Kernels (all checked against a float64 host reference):
//   rowpair  two output rows per warp, every weight vector of both rows loaded before the arithmetic
//            (run 2's kernel; its register use grows with K).
//   tiles    split-K: a block owns a few rows, its 8 warps share the rows' tiles round-robin, each warp
//            holding U tiles' weight and scale vectors in flight; activations staged once in shared
//            memory; per-tile warp sums added into shared memory; the grid is SMs x resident blocks.
//            The kernel triggers its dependants at entry and waits on its predecessor (griddepcontrol)
//            only after issuing its first weight loads, so under programmatic dependent launch (PDL) a
//            GEMV streams its weights while the previous kernel finishes.
//   tiles_*_db  the same, double-buffered: each warp loads its next U tiles before computing the current
//            U, so its arithmetic overlaps its own loads (run 3: the single-buffered kernels' warps all
//            load, then all compute, in step).
//   stream_dD  (runs 5-7, the fastest) each warp streams one contiguous run of items with a ring of D tiles
//            in flight (item i + D loaded as soon as item i is consumed); per-lane sums across a row's
//            tiles; the zero applied through per-word activation sums staged with x ((q - z) x =
//            (q - 8) x - (z - 8) sum x): 16 instructions per 8 weights. `_lanes`: a row's lane partials go
//            to a (row, lane) shared array by one atomic per lane instead of a warp reduction. `_pf` (run 9,
//            out of the sweep: slower): each warp also prefetches its run into L2 ahead of the ring.
//            The stream kernels optionally fold a preceding RMSNorm or silu(gate) * up into their staging
//            and a residual add into their epilogue (GemvFusion; run 10's replay mode, slower than PDL).
//            `MULTI` (runs 11-12, launch_gemv_q4_multi): up to 3 matrices of one shape on one x in one launch
//            (a layer's q/k/v from separate weights), a block owning rows of one matrix: the rate of the
//            concatenated GEMV.
//   bulk_cC_sS (run 8, out of the sweep: slower) a block's weights and scales by TMA bulk copies into S
//            shared-memory stages of C tiles, completion on mbarriers, all S requested at entry.
// K must be a multiple of 256, <= 16384.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gpuperf::validate {

struct Q4Weights {
  const std::uint32_t* qweight = nullptr;
  const __half2* scale_zero = nullptr;
  int n = 0;
  int k = 0;
  // Bytes the kernel must read: the packed weights (padding excluded) and the group scales and zeros.
  double bytes() const { return double(n) * k / 2 + double(n) * (k / 128) * 4; }
  __host__ __device__ static int tiles(int k) { return (k + 1023) / 1024; }
  // Words per row in storage (with padding).
  __host__ __device__ static int row_words(int k) { return tiles(k) * 128; }
  // half2 (scale, zero) entries per row in storage (with padding).
  __host__ __device__ static int row_groups(int k) { return tiles(k) * 8; }
  // Storage index of group g of `row` in scale_zero.
  __host__ __device__ static std::size_t sz_index(int k, int row, int g) {
    const int t = g / 8, j = (g % 8) / 2, h = g % 2;
    return std::size_t(row) * row_groups(k) + std::size_t(t) * 8 + std::size_t(h) * 4 + std::size_t(j);
  }
};

enum class GemvKernel {
  rowpair,
  tiles_u2,
  tiles_u4,
  tiles_u8,
  tiles_u2_db,
  tiles_u4_db /* U = 3 */,
  stream_d4,
  stream_d6,
  stream_d3,
  stream_d3_lanes,
  stream_d2_lanes,
  bulk /* c16-s4 */,
  bulk_c8_s4,
  bulk_c32_s2,
  stream_d3_lanes_pf,
  stream_d2_lanes_pf
};
std::string to_string(GemvKernel k);

// What a stream GEMV may do besides y = W x (the replay's fused-epilogue mode): its input computed in each
// block's staging from the previous op's input (RMSNorm of x with gamma; or silu(gate) * up from the fused
// gate/up output [gate K | up K], read from `silu_gate_up` instead of x), and a residual added to y.
struct GemvFusion {
  const __half* norm_gamma = nullptr;
  float norm_eps = 1e-6f;
  const __half* silu_gate_up = nullptr;
  const __half* residual = nullptr;
};
void launch_gemv_q4_fused(const Q4Weights& w, const __half* x, __half* y, cudaStream_t s, GemvKernel kernel, bool pdl,
                          const GemvFusion& fu);
// ys[i] = ws[i] x for `count` (<= 3) matrices of one shape in one launch of a stream kernel (run 11: a
// layer's q, k and v from their own, unconcatenated weights; one wave of blocks over all three).
void launch_gemv_q4_multi(const Q4Weights* ws, int count, const __half* x, __half* const* ys, cudaStream_t s,
                          GemvKernel kernel, bool pdl);
// y = W x in float64 on the host for a host x (every row).
std::vector<double> gemv_q4_reference(const Q4Weights& w, const std::vector<double>& x);

// Launches y = W x on `s` (asynchronous; launch errors are thrown at the next checked call). With `pdl`
// the launch carries the programmatic-stream-serialization attribute (tiles kernels only).
void launch_gemv_q4(const Q4Weights& w, const __half* x, __half* y, cudaStream_t s, GemvKernel kernel, bool pdl);
// The kernel the replay uses: the fastest tiles kernel of the gemv suite when it ran, else tiles_u4.
GemvKernel& default_gemv_kernel();

// Host packing of unpacked 4-bit values q[n*K + k] (0..15) into the qweight layout above (padding 0).
std::vector<std::uint32_t> pack_q4(const std::vector<std::uint8_t>& q, int n, int k);
// Element (row, col) of a packed qweight.
int unpack_q4(const std::vector<std::uint32_t>& packed, int k, int row, int col);

// Fills `copies` weight sets of one shape with pseudo-random nibbles, scales and zeros (device).
void fill_q4_weights(std::uint32_t* qw, __half2* sz, int n, int k, unsigned seed, cudaStream_t s);
void fill_half(__half* p, std::size_t n, unsigned seed, float amplitude, cudaStream_t s);
// ||y - ref|| / ||ref|| with a float64 host reference (every row).
double gemv_q4_error(const Q4Weights& w, const __half* x_d, const __half* y_d);

}  // namespace gpuperf::validate
