// The bf16 GEMM tile on AVX-512 BF16 (vdpbf16ps): the body is lowp_body.h; CMake adds -mavx512bf16 here only.
#define BERTCORE_KERNEL_AVX512 1
#define BERTCORE_LOWP_BF16 1
#define BERTCORE_KNS kernels_avx512_bf16
#include "../lowp_body.h"
