// rows kernels for the avx2 family: the body is rows_body.h; CMake gives this file its ISA flags.
#define BERTCORE_KERNEL_AVX2 1
#include "../rows_body.h"
