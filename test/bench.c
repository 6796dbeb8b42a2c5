/*
 * bench.c -- training-step throughput of the model (`make bench` on the CPU;
 * build/cuda/bench on the GPU).
 *
 * For each size: time full training steps (forward, backward, gradient
 * clipping, AdamW) on random tokens with AR ranks (every position scored),
 * and report tokens/s and achieved GFLOP/s by the model's own FLOP count.
 * In the same run it measures the machine's CBLAS sgemm GFLOP/s on a large
 * square product, so the ratio is meaningful on a shared, noisy machine.
 *
 * FLOP count (a multiply-add is 2 FLOPs; training = 3 x forward). The
 * encoder runs at all B*T positions, the decoder only at the S = B*(T-1)
 * scored ones (AR ranks score every position after BOS):
 *   per position, forward:
 *     encoder  L x 6C^2 (q,k,v)  + (L-1) x (2C^2 + 16C^2) (attention out, MLP)
 *              + (L-1) x 4 x ((T+1)/2) x C   (scores and weighted sums over the
 *              (T+1)/2 keys a query may see on average under AR ranks)
 *   per scored position, forward:
 *     decoder  L x (2C^2 + 2C^2 + 16C^2) + L x 4 x ((T+1)/2) x C
 *     logits   2CV
 *
 * On the GPU (the nvcc build, --device cuda or auto with a GPU) it reports
 * MFU: the model FLOP/s over the card's nominal dense peak for the arithmetic
 * of its matrix products (--matmul fp32, tf32 or bf16), and, measured in the
 * same run, a cuBLAS product of 8192^3 in the same arithmetic: the practical
 * ceiling.
 *
 *   usage: bench [--steps N] [--device cpu|cuda|auto] [--matmul fp32|tf32|bf16]
 *          (threads: OMP_NUM_THREADS; --tf32 = --matmul tf32)
 */
#include "../03_model.cu"

typedef struct { const char *name; int L, H, C, V, B, T; } BenchSize;

static double flops_per_step(const BenchSize *s) {
    double L = s->L, C = s->C, T = s->T, V = s->V, keys = (T + 1) / 2;
    double encoder = L * 6 * C * C + (L - 1) * 18 * C * C + (L - 1) * 4 * keys * C;
    double decoder = L * 20 * C * C + L * 4 * keys * C + 2 * C * V;
    double positions = (double)s->B * s->T, scored = (double)s->B * (s->T - 1);
    return 3.0 * (encoder * positions + decoder * scored);
}

static double sgemm_gflops(void) {
#ifdef USE_CBLAS
    int n = 1024;
    float *a = (float *)xmalloc(4L * n * n), *b = (float *)xmalloc(4L * n * n), *c = (float *)xmalloc(4L * n * n);
    for (long i = 0; i < (long)n * n; i++) a[i] = b[i] = 0.001f * (float)(i % 1000);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t = now_seconds();
        for (int k = 0; k < 4; k++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double g = 4 * 2.0 * n * n * (double)n / (now_seconds() - t) / 1e9;
        if (g > best) best = g;
    }
    free(a); free(b); free(c);
    return best;
#else
    return 0.0;
#endif
}

static void print_machine(void) {
    char model[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10)) {
                char *v = strchr(line, ':');
                if (v) { snprintf(model, sizeof model, "%s", v + 2); model[strcspn(model, "\n")] = 0; }
                break;
            }
        fclose(f);
    }
    printf("machine: %s, %ld cores online, %d OpenMP threads, matmul: %s%s\n", model,
           sysconf(_SC_NPROCESSORS_ONLN), omp_get_max_threads(),
#ifdef USE_CBLAS
           "CBLAS (OpenBLAS), kernels ",
#else
           "",
#endif
           blas_kernels());
}

#ifdef __CUDACC__
/* cuBLAS GFLOP/s on an n^3 product of random numbers in the arithmetic of
 * --matmul, as the model's products run (the best of 5 timings) */
static double cublas_gemm_gflops(int n) {
    float *a = (float *)device_alloc(4L * n * n, 1), *b = (float *)device_alloc(4L * n * n, 1),
          *c = (float *)device_alloc(4L * n * n, 1);
    float *host = (float *)xmalloc(4L * n * n); /* not zeros: they can run faster than real data */
    Rng r;
    rng_seed(&r, 1);
    for (long i = 0; i < (long)n * n; i++) host[i] = rng_normal(&r);
    device_upload(a, host, 4L * n * n);
    device_upload(b, host, 4L * n * n);
    free(host);
    gemm_gpu(CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    device_sync();
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t = now_seconds();
        for (int k = 0; k < 4; k++) gemm_gpu(CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        device_sync();
        double g = 4 * 2.0 * n * n * (double)n / (now_seconds() - t) / 1e9;
        if (g > best) best = g;
    }
    device_free(a, 1); device_free(b, 1); device_free(c, 1);
    return best;
}

/* The card's nominal dense peak in TFLOP/s for the arithmetic of --matmul
 * (fp32 on the CUDA cores; TF32 or bf16 on the tensor cores), from its name
 * and the vendor's data sheets; 0 when unknown. */
static double nominal_peak(const char *name, int matmul) {
    double fp32 = 0, tf32 = 0, bf16 = 0;
    if (strstr(name, "H100") && strstr(name, "PCIe")) { fp32 = 51.2; tf32 = 378; bf16 = 756; }
    else if (strstr(name, "H100") || strstr(name, "H200")) { fp32 = 66.9; tf32 = 494.7; bf16 = 989.4; }
    else if (strstr(name, "A100")) { fp32 = 19.5; tf32 = 156; bf16 = 312; }
    return matmul == MATMUL_BF16 ? bf16 : matmul == MATMUL_TF32 ? tf32 : fp32;
}
#endif

int main(int argc, char **argv) {
    int steps = 10, matmul = MATMUL_FP32;
    const char *device = "auto";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) { printf("usage: bench [--steps N] [--device cpu|cuda|auto] [--matmul fp32|tf32|bf16] [--tf32]\n"); return 0; }
        else if (!strcmp(argv[i], "--steps")) steps = (int)parse_long("--steps", flag_value(argc, argv, &i), 1, 100000);
        else if (!strcmp(argv[i], "--device")) device = flag_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--tf32")) matmul = MATMUL_TF32;
        else if (!strcmp(argv[i], "--matmul")) matmul = parse_matmul(flag_value(argc, argv, &i));
        else die("unknown flag '%s'", argv[i]);
    }
    device_select(device, matmul);
    print_machine();
    double peak = 0, nominal = 0; /* GFLOP/s */
    BenchSize cpu_sizes[] = {
        {"4 layers, width 256, B*T = 16*64", 4, 4, 256, 4096, 16, 64},
        {"6 layers, width 384, B*T = 8*128", 6, 6, 384, 4096, 8, 128},
    };
    /* on the GPU: the quick preset's model on its retrieval data, and the
     * paper's 12-layer, 9-head, 576-wide encoder-decoder at length 128 */
#ifdef __CUDACC__
    BenchSize gpu_sizes[] = {
        {"quick preset: 2 layers, width 128, B*T = 256*8", 2, 4, 128, 12007, 256, 8},
        {"paper: 12 layers, 9 heads, width 576, B*T = 64*128", 12, 9, 576, 32768, 64, 128},
    };
#endif
    BenchSize *sizes = cpu_sizes;
    if (g_device == DEVICE_CPU) {
        peak = sgemm_gflops();
        printf("CBLAS sgemm 1024^3: %.1f GFLOP/s\n", peak);
    }
#ifdef __CUDACC__
    else {
        cudaDeviceProp prop;
        CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
        nominal = 1000 * nominal_peak(prop.name, g_matmul);
        peak = cublas_gemm_gflops(8192);
        printf("GPU: %s, %s matrix products; nominal dense peak %.1f TFLOP/s%s; a cuBLAS product of 8192^3 in the same arithmetic: %.1f TFLOP/s\n",
               prop.name, MATMUL_NAMES[g_matmul], nominal / 1000, nominal > 0 ? "" : " (unknown card)", peak / 1000);
        sizes = gpu_sizes;
    }
#endif
    for (int k = 0; k < 2; k++) {
        const BenchSize *s = &sizes[k];
        ModelConfig c = {s->L, s->H, s->C, s->V, s->T};
        Model m;
        model_alloc(&m, &c);
        model_init_params(&m, 1);
        model_to_device(&m); /* a no-op on the CPU */
        Batch bt;
        batch_init(&bt, s->B, s->T);
        bt.B = s->B;
        bt.T = s->T;
        Rng r;
        rng_seed(&r, 5);
        for (int b = 0; b < s->B; b++) {
            bt.lengths[b] = s->T;
            for (int t = 0; t < s->T; t++) {
                bt.tokens[b * s->T + t] = t == 0 ? TOK_BOS : N_SPECIAL_TOKENS + (int)rng_below(&r, s->V - N_SPECIAL_TOKENS);
                bt.ranks[b * s->T + t] = t; /* AR */
                if (t >= 1) batch_score(&bt, b, t);
            }
        }
        AdamWConfig opt = {1e-4f, 0.9f, 0.98f, 1e-8f, 0.1f, 1.0f};
        double *times = (double *)xmalloc(sizeof(double) * steps);
        for (int step = 0; step < steps + 2; step++) {
            double t0 = now_seconds();
            model_zero_grad(&m);
            model_forward(&m, &bt, 1);
            model_backward(&m, &bt);
            clip_grad_norm(&m, 1.0f);
            adamw_update(&m, &opt, step + 1);
            device_sync();
            double dt = now_seconds() - t0;
            if (step >= 2) times[step - 2] = dt; /* after two warm-up steps */
        }
        /* the median step time: robust to the odd slow step on a shared machine */
        for (int i = 0; i < steps; i++)
            for (int j = i + 1; j < steps; j++)
                if (times[j] < times[i]) { double t = times[i]; times[i] = times[j]; times[j] = t; }
        double median = times[steps / 2];
        free(times);
        double gflops = flops_per_step(s) / median / 1e9;
        if (g_device == DEVICE_CPU)
            printf("%-36s %zu params: %8.0f tokens/s  %6.1f GFLOP/s  (%.0f%% of sgemm)  median of %d steps\n",
                   s->name, m.n_params, s->B * s->T / median, gflops, peak > 0 ? 100 * gflops / peak : 0.0, steps);
        else
            printf("%-50s %zu params: %9.0f tokens/s  %7.1f TFLOP/s  MFU %.1f%%  (%.0f%% of that product)  median of %d steps\n",
                   s->name, m.n_params, s->B * s->T / median, gflops / 1000,
                   nominal > 0 ? 100 * gflops / nominal : 0.0, peak > 0 ? 100 * gflops / peak : 0.0, steps);
        batch_free(&bt);
        model_free(&m);
    }
    return 0;
}
