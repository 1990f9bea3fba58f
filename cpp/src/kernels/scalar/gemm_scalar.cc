// gemm kernels for the scalar family: the body is gemm_body.h; it keeps the baseline flags.
#define BERTCORE_KERNEL_SCALAR 1
#include "../gemm_body.h"
