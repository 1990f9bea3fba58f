// gemm kernels for the avx512 family: the body is gemm_body.h; CMake gives this file its ISA flags.
#define BERTCORE_KERNEL_AVX512 1
#include "../gemm_body.h"
