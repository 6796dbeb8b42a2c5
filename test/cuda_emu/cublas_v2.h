/*
 * test/cuda_emu/cublas_v2.h -- cuBLAS's single-precision matrix product for
 * the CUDA emulator (see cuda_runtime.h here): the column-major
 * C = alpha op(A) op(B) + beta C of cublasSgemm, as a plain triple loop.
 *
 * It checks what the real library checks (sizes, leading dimensions: a bad
 * one returns CUBLAS_STATUS_INVALID_VALUE) and what it cannot (that each
 * matrix lies in one device buffer, read as far as its last element). That is
 * where a row-major program calling a column-major library goes wrong: a
 * transposed operand or a wrong leading dimension gives a product of the
 * right shape and the wrong numbers, which test_parity then sees.
 * The sums are in double, so the result is the exact product rounded once.
 */
#ifndef CUDA_EMU_CUBLAS_H
#define CUDA_EMU_CUBLAS_H

#include "cuda_runtime.h"

typedef enum {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_INVALID_VALUE = 7,
} cublasStatus_t;
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

/* C (m x n) = alpha op(A) (m x k) op(B) (k x n) + beta C, all column-major;
 * op(X) is X (CUBLAS_OP_N) or its transpose (CUBLAS_OP_T) */
static inline cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float *alpha, const float *A, int lda,
                                         const float *B, int ldb, const float *beta, float *C, int ldc) {
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
                sum += (double)a * b;
            }
            float *c = &C[i + (size_t)j * ldc];
            /* beta == 0: C is written, never read (it may hold NaN) */
            *c = (float)(*alpha * sum + (*beta == 0.0f ? 0.0 : (double)*beta * *c));
        }
    emu_set_device_access(0);
    return CUBLAS_STATUS_SUCCESS;
}

#endif /* CUDA_EMU_CUBLAS_H */
