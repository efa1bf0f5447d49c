#include "lipar/gpu_env.h"

#include <cstdlib>

namespace lipar {

void keep_nvlink_multicast_off() {
    ::setenv("NCCL_NVLS_ENABLE", "0", 1);
    ::setenv("TORCH_SYMM_MEM_DISABLE_MULTICAST", "1", 1);
}

}  // namespace lipar
