#pragma once
// OpenBLAS picks its matrix kernels from the processor's model number. On processors its build
// does not know (new server parts, virtual machines that report a generic model) it falls back to
// the oldest x86-64 kernels ("Prescott", SSE3): measured 2.6x slower for the Nano DiT on a
// 2-core Xeon VM with AVX-512. The kernel choice is read from OPENBLAS_CORETYPE when the library
// loads, before main() runs, so the fix is a re-exec of the program with that variable set.
//
// Call first thing in main(). Does nothing when OPENBLAS_CORETYPE is already set, when
// LIPAR_BLAS_TUNING=0, when the BLAS in use is not OpenBLAS, or when OpenBLAS already chose a
// kernel that uses AVX2 or AVX-512. Returns only when no re-exec happened.

namespace lipar {

// The OpenBLAS kernel family in use ("Prescott", "SkylakeX", ...), or "" when not OpenBLAS.
const char* blas_core_name();

void tune_blas_for_this_cpu(char** argv);

}  // namespace lipar
