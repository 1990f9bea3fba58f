// throughput probes for the avx512 family: the body is probe_body.h; CMake gives this file its ISA flags.
#define BERTCORE_KERNEL_AVX512 1
#include "../probe_body.h"
