// bf16 and int8 GEMM tiles for the scalar family: the body is lowp_body.h; it keeps the baseline flags.
#define BERTCORE_KERNEL_SCALAR 1
#include "../lowp_body.h"
