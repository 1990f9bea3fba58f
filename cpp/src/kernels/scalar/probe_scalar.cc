// throughput probes for the scalar family: the body is probe_body.h; CMake gives this file its ISA flags.
#define BERTCORE_KERNEL_SCALAR 1
#include "../probe_body.h"
