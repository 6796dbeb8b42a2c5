/*
 * 03_model_blas.h -- the CPU's matrix products: CBLAS where the build has it
 * (the Makefile defines USE_CBLAS when it finds OpenBLAS), and which kernels
 * OpenBLAS runs them with.
 *
 * OpenBLAS chooses its kernels for the CPU when the program loads. On a CPU
 * it does not recognise it falls back to its oldest generic ones, "Prescott"
 * (SSE3, 4 floats at a time): on the development machine, an Intel Xeon that
 * OpenBLAS 0.3.21 does not know (family 6, model 207), that made training 3x
 * slower than its AVX-512 kernels (docs/benchmark.md). The environment
 * variable OPENBLAS_CORETYPE overrides the choice, but only when the library
 * loads, so a running program can only say which value to use: run_all.sh
 * and `make bench` ask (03_model --blas-coretype) and set it.
 */
#ifndef MODEL_BLAS_H
#define MODEL_BLAS_H
#include "common.h"
#ifdef USE_CBLAS
#include <cblas.h>
#ifdef __cplusplus
extern "C"
#endif
char *openblas_get_corename(void); /* OpenBLAS's own; not in every cblas.h */
#endif

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

#endif /* MODEL_BLAS_H */
