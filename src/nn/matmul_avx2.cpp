// The MLP's matrix products at CPU level avx2 (flags in src/CMakeLists.txt).
#define DSIGNSGD_MATMUL_LEVEL avx2
#define DSIGNSGD_MATMUL_EIGEN dsignsgd_eigen_avx2
#include "matmul_kernels.inc"
