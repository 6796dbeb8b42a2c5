/*
 * test_parity.cu -- the GPU layers against the CPU layers (the reference).
 *
 * For each objective's ranks (AR, MLM-U, MLM-r, PLM, and a problem whose
 * prompt is context only) on a random small model and batch:
 *   - the loss, the logits and the gradient of every parameter tensor,
 *     computed once on the CPU and once on the GPU from the same parameters;
 *   - one AdamW step (after gradient clipping) on both;
 *   - a checkpoint written from the GPU model and read on the CPU.
 * Before each GPU run the activation and activation-gradient buffers are
 * filled with NaN, so an element a kernel forgets to write shows up.
 * Tolerances (plain fp32 on both sides): relative error <= 1e-5 on the
 * loss, <= 1e-4 on logits, gradients and updated parameters, measured as
 * max |gpu - cpu| / max |cpu| per tensor. Four cases run the GPU's matrix
 * products in TF32 and bf16 (--matmul), with bounds set by those formats'
 * rounding (tolerances(), below), and check that the rounding is there.
 * Determinism: the same GPU step twice gives bit-identical losses and gradients.
 *
 * Built by nvcc (build/cuda/test_parity; without a GPU it prints SKIP), and by
 * g++ against the CUDA emulator of test/cuda_emu (build/emu/test_parity): the
 * same kernels run on the CPU, one thread at a time, which checks their logic
 * but is not a GPU (test_parity_emu.sh).
 */
#define TRAINER_NO_MAIN
#include "../04_train_ar.cu"
#include "../05_train_mlmu.cu"

static int n_failed = 0;
static void report(int ok, const char *fmt, ...) {
    va_list ap;
    printf(ok ? "PASS: " : "FAIL: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!ok) n_failed++;
}

/* max |a - b| / max |b|: the error relative to the tensor's scale */
static double relative_error(const float *a, const float *b, size_t n) {
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= diff)) diff = d; /* a NaN counts as infinitely wrong */
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
    }
    return diff / (scale > 0 ? scale : 1.0);
}

/* Two sizes. Small: width 48 with 2 heads (head size 24, not a multiple of
 * the 32-lane warp), 2 layers, 37 tokens, 5 sequences of up to 21. Large
 * enough that every loop of the kernels goes round more than once: head
 * size 40 (> 32 lanes), 75 positions (> 2 x 32 keys a warp splits), 600
 * tokens (> 2 x 256 threads of the cross-entropy block), 300 rows (5 chunks
 * of the row sums). */
typedef struct { int layers, heads, embd, vocab, B, T; } Shape;
static const Shape SMALL = {2, 2, 48, 37, 5, 21}, LARGE = {1, 2, 80, 600, 4, 75};
typedef struct {
    const char *name;
    int objective;
    float rate;
    int problem;
    const Shape *shape;
    int matmul;    /* the GPU's matrix products (MATMUL_*; the CPU's are fp32) */
    int attention; /* the GPU's attention kernels (ATTENTION_*) */
} Case;
static const Case CASES[] = {
    {"AR", OBJ_AR, 0, 0, &SMALL, MATMUL_FP32, ATTENTION_PLAIN},
    {"MLM-U", OBJ_MLMU, 0, 0, &SMALL, MATMUL_FP32, ATTENTION_PLAIN},
    {"MLM-r(0.4)", OBJ_MLM, 0.4f, 0, &SMALL, MATMUL_FP32, ATTENTION_PLAIN},
    {"PLM", OBJ_PLM, 0, 0, &SMALL, MATMUL_FP32, ATTENTION_PLAIN},
    {"MLM-U (problem)", OBJ_MLMU, 0, 5, &SMALL, MATMUL_FP32, ATTENTION_PLAIN},
    {"large AR", OBJ_AR, 0, 0, &LARGE, MATMUL_FP32, ATTENTION_PLAIN},
    {"large MLM-U", OBJ_MLMU, 0, 0, &LARGE, MATMUL_FP32, ATTENTION_PLAIN},
    {"fused AR", OBJ_AR, 0, 0, &SMALL, MATMUL_FP32, ATTENTION_FUSED},
    {"fused MLM-U", OBJ_MLMU, 0, 0, &SMALL, MATMUL_FP32, ATTENTION_FUSED},
    {"fused PLM", OBJ_PLM, 0, 0, &SMALL, MATMUL_FP32, ATTENTION_FUSED},
    {"fused MLM-U (problem)", OBJ_MLMU, 0, 5, &SMALL, MATMUL_FP32, ATTENTION_FUSED},
    {"large fused AR", OBJ_AR, 0, 0, &LARGE, MATMUL_FP32, ATTENTION_FUSED},
    {"large fused MLM-U", OBJ_MLMU, 0, 0, &LARGE, MATMUL_FP32, ATTENTION_FUSED},
    {"tf32 AR", OBJ_AR, 0, 0, &SMALL, MATMUL_TF32, ATTENTION_PLAIN},
    {"tf32 MLM-U", OBJ_MLMU, 0, 0, &SMALL, MATMUL_TF32, ATTENTION_PLAIN},
    {"bf16 AR", OBJ_AR, 0, 0, &SMALL, MATMUL_BF16, ATTENTION_PLAIN},
    {"bf16 MLM-U", OBJ_MLMU, 0, 0, &SMALL, MATMUL_BF16, ATTENTION_PLAIN},
};

/* Tolerances by the arithmetic of the GPU's products. fp32: 1e-5 on the
 * loss, 1e-4 on the logits and gradients. TF32 and bf16 round each operand
 * of a product to within u = 2^-11 and 2^-8 (relative): the logits and
 * gradients may be off by 8u, the loss (a mean, where errors average out) by
 * u/8. On the emulator (which rounds to nearest) the small cases measured
 * about 2u and 3u, and u/300 and u/45 on the loss. */
static void tolerances(int matmul, double *loss, double *values) {
    if (matmul == MATMUL_FP32) { *loss = 1e-5; *values = 1e-4; return; }
    double u = ldexp(1.0, matmul == MATMUL_TF32 ? -11 : -8);
    *loss = u / 8;
    *values = 8 * u;
}

/* a random model of the case's shape */
static void random_model(Model *m, const Shape *sh, uint64_t seed) {
    ModelConfig c = {sh->layers, sh->heads, sh->embd, sh->vocab, sh->T + 3};
    model_alloc(m, &c);
    model_init_params(m, seed);
    Rng r;
    rng_seed(&r, seed + 7);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] += 0.05f * rng_normal(&r); /* biases nonzero too */
}

static void random_batch(Batch *bt, const Case *c, uint64_t seed) {
    int B = c->shape->B, T = c->shape->T, V = c->shape->vocab;
    batch_init(bt, B, T);
    Rng r;
    rng_seed(&r, seed);
    bt->B = B;
    bt->T = T;
    bt->n_scored = 0;
    for (int b = 0; b < B; b++) {
        int len = T - (int)rng_below(&r, 6);
        bt->lengths[b] = len;
        bt->first_scored[b] = c->problem ? c->problem : 1;
        for (int t = 0; t < T; t++) {
            bt->tokens[b * T + t] = t == 0 ? TOK_BOS : t < len ? N_SPECIAL_TOKENS + (int)rng_below(&r, V - N_SPECIAL_TOKENS) : TOK_PAD;
            bt->ranks[b * T + t] = RANK_NEVER;
        }
    }
    TrainConfig tc;
    memset(&tc, 0, sizeof tc);
    tc.objective = c->objective;
    tc.mlm_rate = c->rate;
    if (c->objective == OBJ_AR) sample_ranks_ar(bt, &r, &tc);
    else if (c->objective == OBJ_PLM) sample_ranks_plm(bt, &r, &tc);
    else sample_ranks_mlm(bt, &r, &tc);
}

/* the model's copy on the GPU, its activations and their gradients NaN */
static void poison_activations(Model *m, const Batch *bt) {
    GpuModel *g = gpu_model_of(m);
    gpu_ensure_activations(g, &m->config, bt->B, bt->T);
    CUDA_CHECK(cudaMemset(g->act_memory, 0xff, sizeof(float) * g->act_floats)); /* 0xffffffff is a NaN */
    CUDA_CHECK(cudaMemset(g->grad_act_memory, 0xff, sizeof(float) * g->grad_act_floats));
}

static float *download(const float *dev, size_t n) {
    float *host = (float *)xmalloc(sizeof(float) * n);
    CUDA_CHECK(cudaMemcpy(host, dev, sizeof(float) * n, cudaMemcpyDeviceToHost));
    return host;
}

static void check_case(const Case *c, uint64_t seed) {
    Model cpu, gpu;
    Batch bt;
    random_model(&cpu, c->shape, seed);
    random_batch(&bt, c, seed + 1);
    int S = bt.n_scored, V = cpu.config.vocab_size;
    AdamWConfig opt = {1e-3f, 0.9f, 0.98f, 1e-8f, 0.1f, 1.0f};

    /* ---- CPU: logits, loss, gradients, one AdamW step ---- */
    g_device = DEVICE_CPU;
    model_forward(&cpu, &bt, 0);
    float *cpu_logits = (float *)xmalloc(sizeof(float) * (size_t)S * V);
    memcpy(cpu_logits, model_logits(&cpu), sizeof(float) * (size_t)S * V);
    model_zero_grad(&cpu);
    float cpu_loss = model_forward(&cpu, &bt, 1);
    model_backward(&cpu, &bt);
    float *cpu_grads = (float *)xmalloc(sizeof(float) * cpu.n_params);
    memcpy(cpu_grads, cpu.grads, sizeof(float) * cpu.n_params);
    float cpu_norm = clip_grad_norm(&cpu, opt.grad_clip);
    ema_update(&cpu, 0.9f, 1); /* the average starts at the starting weights */
    adamw_update(&cpu, &opt, 1);
    ema_update(&cpu, 0.9f, 2); /* and moves a quarter of the way to the new ones */

    /* ---- GPU: the same, from the same parameters, NaN in every activation ---- */
    g_device = DEVICE_CUDA;
    g_matmul = c->matmul;
    g_attention = c->attention;
    double tol_loss, tol;
    tolerances(c->matmul, &tol_loss, &tol);
    random_model(&gpu, c->shape, seed); /* the CPU model's parameters before its step */
    model_to_device(&gpu);
    GpuModel *on_gpu = gpu_model_of(&gpu);
    poison_activations(&gpu, &bt);
    model_forward(&gpu, &bt, 0);
    double logit_err = relative_error(model_logits(&gpu), cpu_logits, (size_t)S * V);
    report(logit_err <= tol, "%s: logits (%d x %d) relative error %.2e", c->name, S, V, logit_err);
    if (c->matmul != MATMUL_FP32) /* and the option takes effect: the products are rounded */
        report(logit_err > 1e-5, "%s: the logits differ from the CPU's by more than fp32 rounding (%.2e > 1e-5): "
               "the products really are %s", c->name, logit_err, MATMUL_NAMES[c->matmul]);
    poison_activations(&gpu, &bt);
    model_zero_grad(&gpu);
    float gpu_loss = model_forward(&gpu, &bt, 1);
    model_backward(&gpu, &bt);
    double loss_err = fabs((double)gpu_loss - cpu_loss) / fabs((double)cpu_loss);
    report(loss_err <= tol_loss, "%s: loss %.7f (CPU %.7f), relative error %.2e", c->name, gpu_loss, cpu_loss, loss_err);
    float *gpu_grads = download(on_gpu->grads, gpu.n_params);
    double worst = 0.0;
    int worst_tensor = 0;
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        size_t off = (size_t)(cpu.tensors.param_ptrs[t] - cpu.params);
        double e = relative_error(gpu_grads + off, cpu_grads + off, cpu.param_sizes[t]);
        if (!(e <= worst)) { worst = e; worst_tensor = t; }
    }
    report(worst <= tol, "%s: gradients of all %d tensors, worst relative error %.2e (%s)", c->name,
           NUM_PARAM_TENSORS, worst, PARAM_NAMES[worst_tensor]);

    /* determinism: the same step again gives the same bits */
    poison_activations(&gpu, &bt);
    model_zero_grad(&gpu);
    float again = model_forward(&gpu, &bt, 1);
    model_backward(&gpu, &bt);
    float *again_grads = download(on_gpu->grads, gpu.n_params);
    report(again == gpu_loss && memcmp(again_grads, gpu_grads, sizeof(float) * gpu.n_params) == 0,
           "%s: the GPU step is deterministic (same loss and gradients, bit for bit)", c->name);

    /* The optimizer is compared on the same gradients, the CPU's: at step 1
     * Adam moves each parameter by lr * sign(g), so a gradient that is ~0 and
     * rounds to opposite signs on the two devices moves by 2 lr, which says
     * nothing about the optimizer kernels. */
    CUDA_CHECK(cudaMemcpy(on_gpu->grads, cpu_grads, sizeof(float) * gpu.n_params, cudaMemcpyHostToDevice));
    float gpu_norm = clip_grad_norm(&gpu, opt.grad_clip);
    ema_update(&gpu, 0.9f, 1);
    adamw_update(&gpu, &opt, 1);
    ema_update(&gpu, 0.9f, 2);
    float *gpu_params = download(on_gpu->params, gpu.n_params);
    float *gpu_ema = download(on_gpu->ema, gpu.n_params);
    double ema_err = relative_error(gpu_ema, cpu.ema, cpu.n_params);
    report(ema_err <= 1e-4, "%s: the weight average (--ema) after that step: relative error %.2e", c->name, ema_err);
    free(gpu_ema);
    double step_err = relative_error(gpu_params, cpu.params, cpu.n_params);
    double norm_err = fabs((double)gpu_norm - cpu_norm) / cpu_norm;
    report(step_err <= 1e-4 && norm_err <= 1e-4,
           "%s: one AdamW step: parameters relative error %.2e, gradient norm %.2e", c->name, step_err, norm_err);

    /* a checkpoint from the GPU reads back on the CPU as the same numbers */
    char path[] = "/tmp/test_parity_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) die("cannot create a temporary file");
    close(fd);
    CheckpointHeader h;
    memset(&h, 0, sizeof h);
    h.train.objective = c->objective;
    checkpoint_save(path, &gpu, &h);
    g_device = DEVICE_CPU;
    Model loaded;
    CheckpointHeader h2;
    checkpoint_load(path, &loaded, &h2);
    remove(path);
    report(memcmp(loaded.params, gpu_params, sizeof(float) * loaded.n_params) == 0 && h2.has_optimizer,
           "%s: a checkpoint written from the GPU loads on the CPU with the same parameters", c->name);

    model_free(&loaded);
    g_device = DEVICE_CUDA;
    model_free(&gpu);
    g_device = DEVICE_CPU;
    g_matmul = MATMUL_FP32;
    g_attention = ATTENTION_PLAIN;
    model_free(&cpu);
    batch_free(&bt);
    free(cpu_logits); free(cpu_grads); free(gpu_grads); free(again_grads); free(gpu_params);
}

/* usage: test_parity [NAME]: only the cases whose name starts with NAME */
int main(int argc, char **argv) {
    device_select("auto", 0);
    if (g_device != DEVICE_CUDA) {
        printf("SKIP: CPU/GPU parity: no CUDA GPU on this machine\n");
        return 0;
    }
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    printf("GPU: %s\n", prop.name);
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++)
        if (argc < 2 || !strncmp(CASES[k].name, argv[1], strlen(argv[1]))) check_case(&CASES[k], 100 + k);
    return n_failed ? 1 : 0;
}
