// gpuperf-validate: measures the card it runs on. For now it only finds the card; the microbenchmarks
// come with the validation issue.
#include <cuda_runtime.h>

#include <cstdio>

int main() {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    std::fprintf(stderr, "gpuperf-validate: no CUDA GPU found (%s)\n",
                 err == cudaSuccess ? "no device" : cudaGetErrorString(err));
    return 2;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("device: %s, %d SMs, compute capability %d.%d\n", prop.name, prop.multiProcessorCount, prop.major,
              prop.minor);
  return 0;
}
