/*
 * 03_model_cpu.h -- the CPU's fast paths, which compute what the readable
 * code of 03_model.cu computes, only faster:
 *   1. the matrix products through CBLAS, where the build has it (the
 *      Makefile defines USE_CBLAS when it finds OpenBLAS), and which kernels
 *      OpenBLAS runs them with
 *   2. exp and tanh that the compiler vectorizes (the softmax and GELU use them)
 *
 * Which kernels: OpenBLAS chooses its kernels for the CPU when the program
 * loads. On a CPU it does not recognise it falls back to its oldest generic
 * ones, "Prescott" (SSE3, 4 floats at a time): on the development machine,
 * an Intel Xeon that OpenBLAS 0.3.21 does not know (family 6, model 207),
 * that made training 3x slower than its AVX-512 kernels (docs/benchmark.md).
 * The environment variable OPENBLAS_CORETYPE overrides the choice, but only
 * when the library loads, so a running program can only say which value to
 * use: run_all.sh and `make bench` ask (03_model --blas-coretype) and set it.
 */
#ifndef MODEL_CPU_H
#define MODEL_CPU_H
#include "common.h"
#ifdef USE_CBLAS
#include <cblas.h>
#ifdef __cplusplus
extern "C"
#endif
char *openblas_get_corename(void); /* OpenBLAS's own; not in every cblas.h */
#endif

/* ---- 1. the matrix products through CBLAS ----
 * matmul_forward_reference and matmul_backward_reference (03_model.cu, 2.1)
 * with the sums in OpenBLAS's order; test/test_matmul.c compares the two. */
#ifdef USE_CBLAS
/* out (N, OC) = inp (N, IC) @ weight (OC, IC)^T + bias: start from the bias
 * in every row, then out += inp @ weight^T */
static inline void matmul_forward_cblas(float *out, const float *inp, const float *weight, const float *bias,
                                        int N, int IC, int OC) {
    if (bias) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, bias, sizeof(float) * OC);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, inp, IC, weight, IC,
                bias ? 1.0f : 0.0f, out, OC);
}

/* dinp (N, IC) += dout @ weight;  dweight (OC, IC) += dout^T @ inp;  dbias += column sums */
static inline void matmul_backward_cblas(float *dinp, float *dweight, float *dbias, const float *dout,
                                         const float *inp, const float *weight, int N, int IC, int OC) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC, 1.0f, dout, OC, weight, IC,
                1.0f, dinp, IC);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f,
                dweight, IC);
    if (dbias) {
        /* column sums, split by column blocks so each thread owns its outputs */
#pragma omp parallel for schedule(static)
        for (int o0 = 0; o0 < OC; o0 += 64) {
            int o1 = o0 + 64 < OC ? o0 + 64 : OC;
            float sum[64] = {0};
            for (int n = 0; n < N; n++)
                for (int o = o0; o < o1; o++) sum[o - o0] += dout[(size_t)n * OC + o];
            for (int o = o0; o < o1; o++) dbias[o] += sum[o - o0];
        }
    }
}
#endif

/* ---- which kernels OpenBLAS runs (see the top) ---- */
/* the kernels behind the CPU's matrix products, for the progress line */
static inline const char *blas_kernels(void) {
#ifdef USE_CBLAS
    return openblas_get_corename();
#else
    return "none: the hand-written OpenMP matmul";
#endif
}

/* Does /proc/cpuinfo list this CPU flag (e.g. "avx2")? 0 where it cannot tell. */
static inline int cpu_has_flag(const char *flag) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return 0;
    static char line[8192];
    int found = 0;
    size_t n = strlen(flag);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5)) continue;
        for (char *p = strstr(line, flag); p; p = strstr(p + 1, flag))
            if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n')) found = 1;
        break; /* the first CPU's flags are enough */
    }
    fclose(f);
    return found;
}

/* The OPENBLAS_CORETYPE this CPU should run with, where OpenBLAS fell back to
 * its generic kernels and the CPU has better ones; NULL where it did not. */
static inline const char *blas_better_coretype(void) {
#ifdef USE_CBLAS
    const char *kernels = openblas_get_corename();
    if (!kernels || strcmp(kernels, "Prescott") != 0) return NULL;
    if (cpu_has_flag("avx512f") && cpu_has_flag("avx512bw") && cpu_has_flag("avx512dq") &&
        cpu_has_flag("avx512vl"))
        return "SkylakeX";
    if (cpu_has_flag("avx2") && cpu_has_flag("fma")) return "Haswell";
#endif
    return NULL;
}

/* ---- 2. exp and tanh that the compiler can vectorize ----
 * The C library's expf and tanhf are called one value at a time; in the
 * softmax over the vocabulary and in GELU they were a fifth of a training
 * step. These plain-arithmetic versions compile to 8-wide AVX2 code inside
 * `#pragma omp simd` loops (with -fno-trapping-math, see the Makefile).
 *   exp(x) = 2^k * exp(r),  k = round(x / ln 2),  r = x - k ln 2 in [-ln2/2, ln2/2];
 * exp(r) is a degree-7 polynomial (the minimax coefficients of Cephes' expf),
 * ln 2 is split in two parts so that r is exact, and 2^k is built directly in
 * the float's exponent bits. Relative error below 1e-7 on [-87, 88]: outside,
 * the argument is clamped (exp(-87) ~ 1.6e-38, the smallest normal float). */
static inline float exp_vec(float x) {
    x = x > -87.0f ? x : -87.0f;
    x = x < 88.0f ? x : 88.0f;
    float k = rintf(x * 1.44269504088896341f);          /* x / ln 2, to nearest */
    float r = x - k * 0.693359375f + k * 2.12194440e-4f; /* x - k ln 2 */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23; /* the float 2^k */
    float two_k;
    memcpy(&two_k, &bits, sizeof two_k);
    return p * two_k;
}
/* tanh(u) = 1 - 2 / (exp(2u) + 1); |u| > 9 is +-1 to float precision */
static inline float tanh_vec(float u) {
    u = u > -9.0f ? u : -9.0f;
    u = u < 9.0f ? u : 9.0f;
    return 1.0f - 2.0f / (exp_vec(2.0f * u) + 1.0f);
}

#endif /* MODEL_CPU_H */
