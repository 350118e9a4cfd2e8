// The MLP's matrix products at CPU level baseline (flags in src/CMakeLists.txt).
#define DSIGNSGD_MATMUL_LEVEL baseline
#define DSIGNSGD_MATMUL_EIGEN dsignsgd_eigen_baseline
#include "matmul_kernels.inc"
