// rows kernels for the scalar family: the body is rows_body.h; CMake gives this file its ISA flags.
#define BERTCORE_KERNEL_SCALAR 1
#include "../rows_body.h"
