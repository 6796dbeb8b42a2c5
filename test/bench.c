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
 *                [--attention plain|fused] [--size L,H,C,V,B,T] [--profile]
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

/* --profile: the layers' share of a step on the GPU, from profiled steps
 * (03_model_profile.h), largest first */
static void print_profile(int steps, double step_seconds, double profiled_seconds) {
    for (int i = 0; i < g_n_layer_times; i++) /* sort by time, largest first */
        for (int j = i + 1; j < g_n_layer_times; j++)
            if (g_layer_times[j].seconds > g_layer_times[i].seconds) {
                LayerTime t = g_layer_times[i];
                g_layer_times[i] = g_layer_times[j];
                g_layer_times[j] = t;
            }
    printf("  where a step's time goes (profiled: %.2f ms a step, against %.2f ms unprofiled):\n",
           1e3 * profiled_seconds / steps, 1e3 * step_seconds);
    printf("    %-34s %9s %10s %6s\n", "layer", "calls", "ms", "share");
    double listed = 0;
    for (int i = 0; i < g_n_layer_times; i++) {
        const LayerTime *t = &g_layer_times[i];
        int name_len = (int)strcspn(t->call, "(");
        if (name_len > 4 && !strncmp(t->call + name_len - 4, "_gpu", 4)) name_len -= 4;
        printf("    %-34.*s %9ld %10.3f %5.1f%%\n", name_len, t->call, t->calls / steps, 1e3 * t->seconds / steps,
               100 * t->seconds / profiled_seconds);
        listed += t->seconds;
    }
    printf("    %-34s %9s %10.3f %5.1f%%   (calls and ms: a step's)\n", "(the rest: uploads, host work)", "",
           1e3 * (profiled_seconds - listed) / steps, 100 * (profiled_seconds - listed) / profiled_seconds);
}

/* one training step: forward, backward, clipping, AdamW (clipping and AdamW
 * get rows of their own in a profile) */
static void train_step(Model *m, const Batch *bt, const AdamWConfig *opt, int step) {
    model_zero_grad(m);
    model_forward(m, bt, 1);
    model_backward(m, bt);
    double t0 = profile_start();
    clip_grad_norm(m, 1.0f);
    profile_stop("clip_grad_norm", t0);
    t0 = profile_start();
    adamw_update(m, opt, step);
    profile_stop("adamw_update", t0);
    device_sync();
}

int main(int argc, char **argv) {
    int steps = 10, matmul = MATMUL_FP32, profile = 0;
    const char *device = "auto", *size = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: bench [--steps N] [--device cpu|cuda|auto] [--matmul fp32|tf32|bf16] [--tf32]\n"
                   "             [--attention plain|fused] [--size L,H,C,V,B,T] [--profile]\n"
                   "  --size     one model and batch of your own: layers, heads, width, vocabulary,\n"
                   "             sequences, positions (default: two sizes for the device)\n"
                   "  --profile  on the GPU, also each layer's share of a step\n");
            return 0;
        }
        else if (!strcmp(argv[i], "--steps")) steps = (int)parse_long("--steps", flag_value(argc, argv, &i), 1, 100000);
        else if (!strcmp(argv[i], "--device")) device = flag_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--tf32")) matmul = MATMUL_TF32;
        else if (!strcmp(argv[i], "--matmul")) matmul = parse_matmul(flag_value(argc, argv, &i));
        else if (!strcmp(argv[i], "--size")) size = flag_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--profile")) profile = 1;
        else if (!strcmp(argv[i], "--attention")) g_attention = parse_attention(flag_value(argc, argv, &i));
        else die("unknown flag '%s'", argv[i]);
    }
    device_select(device, matmul);
    if (profile && g_device != DEVICE_CUDA) die("--profile times the GPU's layers: it needs --device cuda and a GPU");
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
    int n_sizes = 2;
    BenchSize own;
    char own_name[96];
    if (size) {
        if (sscanf(size, "%d,%d,%d,%d,%d,%d", &own.L, &own.H, &own.C, &own.V, &own.B, &own.T) != 6 || own.L < 1 ||
            own.H < 1 || own.C < own.H || own.C % own.H || own.V <= N_SPECIAL_TOKENS || own.B < 1 || own.T < 2)
            die("--size wants L,H,C,V,B,T (layers, heads, width a multiple of heads, vocabulary over %d, "
                "sequences, positions >= 2), got '%s'", N_SPECIAL_TOKENS, size);
        snprintf(own_name, sizeof own_name, "%d layers, %d heads, width %d, B*T = %d*%d", own.L, own.H, own.C, own.B,
                 own.T);
        own.name = own_name;
    }
    if (g_device == DEVICE_CPU) {
        peak = sgemm_gflops();
        printf("CBLAS sgemm 1024^3: %.1f GFLOP/s\n", peak);
    }
#ifdef __CUDACC__
    else {
        cudaDeviceProp prop;
        CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
        nominal = 1000 * nominal_peak(prop.name, g_matmul);
        int n = 8192;
#ifdef CUDA_EMULATOR
        n = 64; /* the emulator's products are plain loops: its timings mean nothing anyway */
#endif
        peak = cublas_gemm_gflops(n);
        printf("GPU: %s, %s matrix products, %s attention; nominal dense peak %.1f TFLOP/s%s; a cuBLAS product "
               "of %d^3 in the same arithmetic: %.1f TFLOP/s\n", prop.name, MATMUL_NAMES[g_matmul],
               ATTENTION_NAMES[g_attention], nominal / 1000, nominal > 0 ? "" : " (unknown card)", n, peak / 1000);
        sizes = gpu_sizes;
    }
#endif
    if (size) {
        sizes = &own;
        n_sizes = 1;
    }
    for (int k = 0; k < n_sizes; k++) {
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
            train_step(&m, &bt, &opt, step + 1);
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
        if (profile) { /* as many steps again, each layer timed */
            g_n_layer_times = 0;
            g_profile = 1;
            double t0 = now_seconds();
            for (int step = 0; step < steps; step++) train_step(&m, &bt, &opt, steps + 3 + step);
            double profiled = now_seconds() - t0;
            g_profile = 0;
            print_profile(steps, median, profiled);
        }
        batch_free(&bt);
        model_free(&m);
    }
    return 0;
}
