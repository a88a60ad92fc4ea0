#include <cstdio>

#include "gpuperf/io/catalog.hpp"

int main() {
  auto cat = gpuperf::io::load_catalog(SPECS);
  const auto* g = cat.find_gpu("rtx-4090");
  if (!g) return 1;
  std::printf("rtx-4090 %.0f\n", gpuperf::memory_bandwidth_gb_s(g->spec));
  return 0;
}
