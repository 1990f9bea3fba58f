// rows kernels for the scalar family: the body is rows_body.h; it keeps the baseline flags.
#define BERTCORE_KERNEL_SCALAR 1
#include "../rows_body.h"
