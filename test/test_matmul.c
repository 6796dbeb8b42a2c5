/*
 * test_matmul.c -- the hand-written OpenMP matmul (the readable reference of
 * 03_model.cu) against the CBLAS path the model uses (03_model_cpu.h),
 * forward and backward, on awkward sizes. In a build without CBLAS there is
 * nothing to compare: SKIP.
 */
#include "../03_model.cu"

#ifdef USE_CBLAS
/* largest difference, relative to the largest magnitude in the array (float32
 * sums in different orders differ by rounding, ~1e-7 of the terms' size) */
static float max_rel_diff(const float *a, const float *b, size_t n) {
    float worst = 0.0f, scale = 1e-30f;
    for (size_t i = 0; i < n; i++) {
        if (fabsf(a[i] - b[i]) > worst) worst = fabsf(a[i] - b[i]);
        if (fabsf(a[i]) > scale) scale = fabsf(a[i]);
    }
    return worst / scale;
}

int main(void) {
    int failed = 0;
    int shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {64, 128, 384}, {33, 96, 257}, {130, 48, 16}};
    Rng r;
    rng_seed(&r, 3);
    for (int k = 0; k < 5; k++) {
        int N = shapes[k][0], IC = shapes[k][1], OC = shapes[k][2];
        size_t ni = (size_t)N * IC, nw = (size_t)OC * IC, no = (size_t)N * OC;
        float *inp = (float *)xmalloc(4 * ni), *w = (float *)xmalloc(4 * nw), *bias = (float *)xmalloc(4 * OC);
        float *dout = (float *)xmalloc(4 * no);
        float *out1 = (float *)xmalloc(4 * no), *out2 = (float *)xmalloc(4 * no);
        float *dinp1 = (float *)xcalloc(ni, 4), *dinp2 = (float *)xcalloc(ni, 4);
        float *dw1 = (float *)xcalloc(nw, 4), *dw2 = (float *)xcalloc(nw, 4);
        float *db1 = (float *)xcalloc(OC, 4), *db2 = (float *)xcalloc(OC, 4);
        for (size_t i = 0; i < ni; i++) inp[i] = rng_normal(&r);
        for (size_t i = 0; i < nw; i++) w[i] = rng_normal(&r);
        for (int i = 0; i < OC; i++) bias[i] = rng_normal(&r);
        for (size_t i = 0; i < no; i++) dout[i] = rng_normal(&r);
        /* gradients accumulate: start both from the same non-zero values */
        for (size_t i = 0; i < ni; i++) dinp1[i] = dinp2[i] = 0.5f;
        for (int i = 0; i < OC; i++) db1[i] = db2[i] = -0.25f;
        matmul_forward_reference(out1, inp, w, bias, N, IC, OC);
        matmul_forward(out2, inp, w, bias, N, IC, OC);
        matmul_backward_reference(dinp1, dw1, db1, dout, inp, w, N, IC, OC);
        matmul_backward(dinp2, dw2, db2, dout, inp, w, N, IC, OC);
        float e[4] = {max_rel_diff(out1, out2, no), max_rel_diff(dinp1, dinp2, ni),
                      max_rel_diff(dw1, dw2, nw), max_rel_diff(db1, db2, OC)};
        int ok = e[0] < 1e-5f && e[1] < 1e-5f && e[2] < 1e-5f && e[3] < 1e-5f;
        printf("%s: matmul %dx%d @ (%dx%d)^T reference vs CBLAS: out %.1e dinp %.1e dweight %.1e dbias %.1e\n",
               ok ? "PASS" : "FAIL", N, IC, OC, IC, e[0], e[1], e[2], e[3]);
        failed += !ok;
        free(inp); free(w); free(bias); free(dout); free(out1); free(out2);
        free(dinp1); free(dinp2); free(dw1); free(dw2); free(db1); free(db2);
    }
    return failed ? 1 : 0;
}
#else
int main(void) {
    printf("SKIP: matmul reference vs CBLAS (this build has no CBLAS)\n");
    return 0;
}
#endif
