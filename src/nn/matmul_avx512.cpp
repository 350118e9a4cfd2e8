// The MLP's matrix products at CPU level avx512 (flags in src/CMakeLists.txt).
#define DSIGNSGD_MATMUL_LEVEL avx512
#define DSIGNSGD_MATMUL_EIGEN dsignsgd_eigen_avx512
#include "matmul_kernels.inc"
