// throughput probes for the scalar family: the body is probe_body.h; it keeps the baseline flags.
#define BERTCORE_KERNEL_SCALAR 1
#include "../probe_body.h"
