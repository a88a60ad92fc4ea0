// replay: whole-workload replay (a LLaMA-13B 4-bit decode step). Placeholder until the suite is done.
#include "common.cuh"

namespace gpuperf::validate {

void run_replay(Context&) {}

}  // namespace gpuperf::validate
