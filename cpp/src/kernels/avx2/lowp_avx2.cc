// bf16 and int8 GEMM tiles for the avx2 family: the body is lowp_body.h; CMake gives this file its ISA flags.
#define BERTCORE_KERNEL_AVX2 1
#include "../lowp_body.h"
