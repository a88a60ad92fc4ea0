// gemv_q4: a weight-only 4-bit GEMV (GPTQ-like): y[N] = W[N x K] x[K], fp16 activations, int4 weights
// with an fp16 scale and zero per group of 128 along K: w = (q - zero) * scale.
//
// Layout (what the packer on the host writes and the kernel reads), chosen so that a warp's activation
// reads are contiguous: K is cut into blocks of 256 (one 8-element word per lane), and four blocks make
// one 16-byte vector per lane.
//   qweight: uint32 [N][W] with W = ceil(K/1024)*128 words per row (the tail past K/8 words is padding,
//            never read). Word (block b, lane l) holds columns b*256 + l*8 ... + 7 and sits at
//            (b/4)*128 + l*4 + b%4. Inside a word, column c0+2p is in bits 4p..4p+3 and c0+2p+1 in
//            bits 16+4p..16+4p+3 (p = 0..3), so (word >> 4p) & 0x000F000F | 0x64006400 is the half2
//            (1024 + q[2p], 1024 + q[2p+1]).
//   scale_zero: half2 [N][K/128] = (scale, zero) of each group.
// Two output rows per warp; each lane streams 16-byte weight vectors, all of a row pair's loads issued
// before the arithmetic; each activation vector serves both rows. K must be a multiple of 256, <= 16384.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>
#include <vector>

namespace gpuperf::validate {

struct Q4Weights {
  const std::uint32_t* qweight = nullptr;
  const __half2* scale_zero = nullptr;
  int n = 0;
  int k = 0;
  // Bytes the kernel must read: the packed weights (padding excluded) and the group scales and zeros.
  double bytes() const { return double(n) * k / 2 + double(n) * (k / 128) * 4; }
  // Words per row in storage (with padding).
  __host__ __device__ static int row_words(int k) { return (k + 1023) / 1024 * 128; }
};

// Launches y = W x on `s` (asynchronous; launch errors are thrown at the next checked call).
void launch_gemv_q4(const Q4Weights& w, const __half* x, __half* y, cudaStream_t s);

// Host packing of unpacked 4-bit values q[n*K + k] (0..15) into the qweight layout above (padding 0).
std::vector<std::uint32_t> pack_q4(const std::vector<std::uint8_t>& q, int n, int k);
// Element (row, col) of a packed qweight.
int unpack_q4(const std::vector<std::uint32_t>& packed, int k, int row, int col);

}  // namespace gpuperf::validate
