// The int8 GEMM tile on AVX-512 VNNI (vpdpbusd): the body is lowp_body.h; CMake adds -mavx512vnni here only.
#define BERTCORE_KERNEL_AVX512 1
#define BERTCORE_LOWP_VNNI 1
#define BERTCORE_KNS kernels_avx512_vnni
#include "../lowp_body.h"
