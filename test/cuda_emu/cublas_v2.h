/*
 * test/cuda_emu/cublas_v2.h -- cuBLAS's single-precision matrix product for
 * the CUDA emulator (see cuda_runtime.h here): the column-major
 * C = alpha op(A) op(B) + beta C of cublasSgemm and of cublasGemmEx with
 * fp32 matrices, as a plain triple loop.
 *
 * It checks what the real library checks (sizes, leading dimensions: a bad
 * one returns CUBLAS_STATUS_INVALID_VALUE) and what it cannot (that each
 * matrix lies in one device buffer, read as far as its last element). That is
 * where a row-major program calling a column-major library goes wrong: a
 * transposed operand or a wrong leading dimension gives a product of the
 * right shape and the wrong numbers, which test_parity then sees.
 * The sums are in double, so the result is the exact product rounded once.
 * cublasGemmEx's TF32 and bf16 compute types round each operand to 10 or 7
 * mantissa bits first (to nearest), as the tensor cores do.
 */
#ifndef CUDA_EMU_CUBLAS_H
#define CUDA_EMU_CUBLAS_H

#include "cuda_runtime.h"

typedef enum {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
} cublasStatus_t;
typedef enum { CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14 } cudaDataType;
typedef enum {
    CUBLAS_COMPUTE_32F = 68,
    CUBLAS_COMPUTE_32F_FAST_16F = 74,
    CUBLAS_COMPUTE_32F_FAST_16BF = 75,
    CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
} cublasComputeType_t;
typedef enum { CUBLAS_GEMM_DEFAULT = -1 } cublasGemmAlgo_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum {
    CUBLAS_DEFAULT_MATH = 0,
    CUBLAS_TENSOR_OP_MATH = 1,
    CUBLAS_PEDANTIC_MATH = 2,
    CUBLAS_TF32_TENSOR_OP_MATH = 3,
} cublasMath_t;

struct EmuCublas { cublasMath_t math; };
typedef EmuCublas *cublasHandle_t;

static inline cublasStatus_t cublasCreate(cublasHandle_t *h) {
    *h = new EmuCublas{CUBLAS_DEFAULT_MATH};
    return CUBLAS_STATUS_SUCCESS;
}
static inline cublasStatus_t cublasDestroy(cublasHandle_t h) {
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
/* TF32 is recorded, not emulated: the products stay exact */
static inline cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}

/* a column-major matrix with `rows` rows, `cols` columns and leading
 * dimension ld must lie in one device buffer */
static inline void emu_check_matrix(const char *name, const float *p, int rows, int cols, int ld) {
    if (rows == 0 || cols == 0) return;
    size_t last = (size_t)ld * (cols - 1) + rows; /* elements from the first to the last */
    if (!emu_find(p, sizeof(float) * last))
        emu_fail("cublasSgemm: matrix %s (%d x %d, leading dimension %d) is not inside one device buffer "
                 "(a host pointer, or it runs past the end of its buffer)", name, rows, cols, ld);
}

/* x rounded to `bits` mantissa bits, to nearest (ties to even): how an fp32
 * operand reaches the tensor cores as TF32 (10 bits) or bf16 (7); 23 bits:
 * x itself */
static inline float emu_round_mantissa(float x, int bits) {
    if (bits >= 23 || !isfinite(x)) return x;
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    int drop = 23 - bits;
    uint32_t lsb = (u >> drop) & 1u;
    u = (u + (1u << (drop - 1)) - 1u + lsb) & ~((1u << drop) - 1u);
    memcpy(&x, &u, sizeof u);
    return x;
}

/* C (m x n) = alpha op(A) (m x k) op(B) (k x n) + beta C, all column-major;
 * op(X) is X (CUBLAS_OP_N) or its transpose (CUBLAS_OP_T); the operands
 * rounded to `bits` mantissa bits */
static inline cublasStatus_t emu_gemm(cublasHandle_t h, cublasOperation_t transa, cublasOperation_t transb,
                                      int m, int n, int k, const float *alpha, const float *A, int lda,
                                      const float *B, int ldb, const float *beta, float *C, int ldc, int bits) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    int a_rows = transa == CUBLAS_OP_N ? m : k, a_cols = transa == CUBLAS_OP_N ? k : m;
    int b_rows = transb == CUBLAS_OP_N ? k : n, b_cols = transb == CUBLAS_OP_N ? n : k;
    if (m < 0 || n < 0 || k < 0 || lda < (a_rows > 1 ? a_rows : 1) || ldb < (b_rows > 1 ? b_rows : 1) ||
        ldc < (m > 1 ? m : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (emu_find(alpha, sizeof *alpha) || emu_find(beta, sizeof *beta))
        emu_fail("cublasSgemm: alpha and beta are read from the host (the default pointer mode)");
    if (k > 0) {
        emu_check_matrix("A", A, a_rows, a_cols, lda);
        emu_check_matrix("B", B, b_rows, b_cols, ldb);
    }
    emu_check_matrix("C", C, m, n, ldc);
    emu_set_device_access(1);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double sum = 0.0;
            for (int p = 0; p < k; p++) {
                float a = transa == CUBLAS_OP_N ? A[i + (size_t)p * lda] : A[p + (size_t)i * lda];
                float b = transb == CUBLAS_OP_N ? B[p + (size_t)j * ldb] : B[j + (size_t)p * ldb];
                sum += (double)emu_round_mantissa(a, bits) * emu_round_mantissa(b, bits);
            }
            float *c = &C[i + (size_t)j * ldc];
            /* beta == 0: C is written, never read (it may hold NaN) */
            *c = (float)(*alpha * sum + (*beta == 0.0f ? 0.0 : (double)*beta * *c));
        }
    emu_set_device_access(0);
    return CUBLAS_STATUS_SUCCESS;
}

static inline cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float *alpha, const float *A, int lda,
                                         const float *B, int ldb, const float *beta, float *C, int ldc) {
    return emu_gemm(h, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, 23);
}

/* fp32 matrices only; the compute type says how the operands are rounded */
static inline cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void *alpha, const void *A, cudaDataType a_type,
                                          int lda, const void *B, cudaDataType b_type, int ldb, const void *beta,
                                          void *C, cudaDataType c_type, int ldc, cublasComputeType_t compute,
                                          cublasGemmAlgo_t algo) {
    (void)algo;
    if (a_type != CUDA_R_32F || b_type != CUDA_R_32F || c_type != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    int bits = compute == CUBLAS_COMPUTE_32F             ? 23
               : compute == CUBLAS_COMPUTE_32F_FAST_TF32 ? 10
               : compute == CUBLAS_COMPUTE_32F_FAST_16BF ? 7
                                                         : -1;
    if (bits < 0) return CUBLAS_STATUS_NOT_SUPPORTED;
    return emu_gemm(h, transa, transb, m, n, k, (const float *)alpha, (const float *)A, lda, (const float *)B, ldb,
                    (const float *)beta, (float *)C, ldc, bits);
}

#endif /* CUDA_EMU_CUBLAS_H */
