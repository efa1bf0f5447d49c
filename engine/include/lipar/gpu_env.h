#pragma once
// NVLink multicast (NCCL's NVLS, PyTorch's symmetric-memory multicast) stays off in every process
// LIPAR Studio starts: the lent multi-GPU machines must not use it, and the pipeline stages
// (issue 16) do not need it. Sets NCCL_NVLS_ENABLE=0 and TORCH_SYMM_MEM_DISABLE_MULTICAST=1 in
// the environment (overriding other values), before any communicator exists. Call first thing in
// main(); the stage pipeline calls it too.

namespace lipar {

void keep_nvlink_multicast_off();

}  // namespace lipar
