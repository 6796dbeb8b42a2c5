/*
 * 03_model.cu -- the two-stream encoder-decoder that every objective trains.
 *
 * The paper's idea (section 2): an objective is a choice of which tokens are
 * predicted from which context. This model makes that choice an input. Every
 * position i carries an integer rank[i], and
 *
 *      position i may use the token at position j as context  iff  rank[j] < rank[i].
 *
 * AR is rank[i] = i; MLM is rank 0 for visible tokens and 1 for masked ones;
 * PLM is a random permutation. The network never changes (Appendix G, after
 * XLNet's two streams):
 *
 *   encoder ("content stream"): token embeddings -> L pre-LayerNorm blocks
 *       (attention + 4x GELU MLP). Attention: i attends j iff rank[j] <= rank[i]
 *       (a position sees its own token). RoPE on queries and keys.
 *   decoder ("query stream"): one learned vector at every position, so only RoPE
 *       tells positions apart. Block l cross-attends to the keys and values of
 *       encoder block l with the strict mask rank[j] < rank[i], then its MLP.
 *       After a final LayerNorm, the tied token embedding gives the logits for
 *       the token AT position i (not the next one).
 *
 * Why the mask is leak-free: by induction, the encoder state at j depends only
 * on tokens with rank <= rank[j]; the decoder at i reads encoder states with
 * rank < rank[i]; so its prediction depends only on tokens ranked below it.
 * test/test_model.c proves this bit for bit for every objective.
 *
 * The query stream is only needed where a prediction is made, so it runs on
 * the S scored positions only (the encoder runs on all B*T).
 *
 * The decoder block l uses the keys/values the encoder block l computed from
 * its input, as XLNet's query stream does. The content stream after the last
 * encoder block's key/value projection is therefore never read, so the last
 * encoder block has no attention output and no MLP: they would be parameters
 * that receive no gradient.
 *
 * File layout (read top to bottom):
 *   0. where the layers run: CPU or CUDA GPU, device memory
 *   1. configuration and parameter tensors
 *   2. layers: *_forward / *_backward pairs with their shapes (the CPU code,
 *      the readable reference)
 *   2g. the same layers as CUDA kernels (only when compiled with nvcc)
 *   3. the model: forward, backward, AdamW, checkpoints
 *   4. batches and greedy decoding, left to right or surest position first
 *      (used by 04, 05 and 06)
 *   5. the training driver shared by 04 and 05 (they differ only in ranks)
 *   6. main: build a model from flags and write its initial checkpoint
 *
 * Shapes: B sequences, T positions, C channels, H heads of size D = C/H,
 * V vocabulary, L layers, S scored positions in the batch.
 * Backward functions ADD (+=) into gradients, which are zeroed once per step.
 *
 * CPU and GPU from one source: gcc builds the CPU programs from this file;
 * nvcc builds the same file with section 2g added. Every layer function of
 * section 2 starts with RUN_ON_GPU(its_gpu_version(...)): when the model lives
 * on the GPU that line runs the kernel and returns, otherwise the C loop below
 * it runs. The model's forward and backward passes, the rank samplers and the
 * training loop are the same code on both devices.
 */
#ifndef MODEL_CU /* included once by each of 04, 05, 06 and the tests */
#define MODEL_CU
#include "common.h"
#include <limits.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_num_threads(void) { return 1; }
static int omp_get_max_threads(void) { return 1; }
#endif
#ifdef USE_CBLAS
#include <cblas.h>
#endif
#ifdef __CUDACC__
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif

/* ------------------------------------------------------------------------ */
/* 0. where the layers run                                                   */
/* ------------------------------------------------------------------------ */
/* One switch for the whole program: DEVICE_CPU runs the C loops of section 2,
 * DEVICE_CUDA the kernels of section 2g. device_select() sets it once, from
 * --device; a model must then be moved there with model_to_device(). */
enum { DEVICE_CPU = 0, DEVICE_CUDA = 1 };
static const char *const DEVICE_NAMES[] = {"cpu", "cuda"};
static int g_device = DEVICE_CPU;

/* the index of `name` among names[0..n-1]; else die, naming the flag and the choices */
static inline int parse_choice(const char *flag, const char *name, const char *const *names, int n) {
    char choices[128] = "";
    for (int k = 0; k < n; k++) {
        if (!strcmp(name, names[k])) return k;
        snprintf(choices + strlen(choices), sizeof choices - strlen(choices), "%s%s",
                 k == 0 ? "" : k == n - 1 ? " or " : ", ", names[k]);
    }
    die("%s must be %s, got '%s'", flag, choices, name);
    return 0;
}

/* The arithmetic of the GPU's matrix products (--matmul). The numbers stay
 * fp32 in memory either way; cuBLAS may round the operands of each product:
 *   fp32  plain fp32 (the default; what the CPU computes, to rounding)
 *   tf32  to TF32 (10 mantissa bits) on the tensor cores, sums in fp32
 *   bf16  to bf16 (7 mantissa bits) on the tensor cores, sums in fp32
 * The CPU always computes in fp32. */
enum { MATMUL_FP32 = 0, MATMUL_TF32 = 1, MATMUL_BF16 = 2 };
static const char *const MATMUL_NAMES[] = {"fp32", "tf32", "bf16"};
static int g_matmul = MATMUL_FP32;
static inline int parse_matmul(const char *name) { return parse_choice("--matmul", name, MATMUL_NAMES, 3); }

/* The GPU's attention kernels (--attention); the CPU has one attention.
 *   plain  a warp per query row and head; the probabilities (rows, H, T) are
 *          kept for the backward (the default)
 *   fused  flash-attention style (section 2g): keys in tiles in shared
 *          memory and a running softmax; only each row's log-sum-exp is kept,
 *          and the backward recomputes the probabilities tile by tile */
enum { ATTENTION_PLAIN = 0, ATTENTION_FUSED = 1 };
static const char *const ATTENTION_NAMES[] = {"plain", "fused"};
static int g_attention = ATTENTION_PLAIN;
static inline int parse_attention(const char *name) {
    return parse_choice("--attention", name, ATTENTION_NAMES, 2);
}

#ifdef __CUDACC__
#define HOST_DEVICE __host__ __device__ /* a helper both the CPU and the kernels call */
#define CUDA_CHECK(call)                                                                          \
    do {                                                                                          \
        cudaError_t err_ = (call);                                                                \
        if (err_ != cudaSuccess) die("CUDA error at %s:%d: %s", __FILE__, __LINE__, cudaGetErrorString(err_)); \
    } while (0)
#define CUBLAS_CHECK(call)                                                                        \
    do {                                                                                          \
        cublasStatus_t st_ = (call);                                                              \
        if (st_ != CUBLAS_STATUS_SUCCESS) die("cuBLAS error %d at %s:%d", (int)st_, __FILE__, __LINE__); \
    } while (0)
static cublasHandle_t g_cublas;
static const cublasComputeType_t MATMUL_COMPUTE[] = {CUBLAS_COMPUTE_32F, CUBLAS_COMPUTE_32F_FAST_TF32,
                                                     CUBLAS_COMPUTE_32F_FAST_16BF};
/* after each kernel launch: a launch that failed (a bad grid, too many
 * registers) returns no error by itself, and its kernel simply never runs */
#define CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
/* at the top of a layer function: on the GPU, run the kernel version instead
 * (timed when profiling: profile_start, below) */
#define RUN_ON_GPU(call)                              \
    do {                                              \
        if (g_device == DEVICE_CUDA) {                \
            double profile_t0_ = profile_start();     \
            call;                                     \
            profile_stop(#call, profile_t0_);         \
            return;                                   \
        }                                             \
    } while (0)
#else
#define HOST_DEVICE
#define RUN_ON_GPU(call) ((void)0)
#endif

/* --device cpu|cuda|auto. auto: the GPU when this binary was built with nvcc
 * and the machine has one. matmul: the arithmetic of the GPU's matrix
 * products (MATMUL_*, above); the CPU ignores it. */
static inline void device_select(const char *name, int matmul) {
    int want_cuda = !strcmp(name, "cuda");
    if (!want_cuda && strcmp(name, "cpu") && strcmp(name, "auto"))
        die("--device must be cpu, cuda or auto, got '%s'", name);
    g_device = DEVICE_CPU;
    if (!strcmp(name, "cpu")) return;
#ifdef __CUDACC__
    int n_gpus = 0;
    if (cudaGetDeviceCount(&n_gpus) != cudaSuccess) {
        (void)cudaGetLastError(); /* no driver or no GPU: clear the error */
        n_gpus = 0;
    }
    if (n_gpus > 0) {
        static int cublas_ready = 0;
        CUDA_CHECK(cudaSetDevice(0));
        if (!cublas_ready) CUBLAS_CHECK(cublasCreate(&g_cublas));
        cublas_ready = 1;
        g_matmul = matmul;
        g_device = DEVICE_CUDA;
        return;
    }
    if (want_cuda) die("--device cuda: no CUDA GPU found on this machine");
#else
    (void)matmul;
    if (want_cuda)
        die("--device cuda: this program was built without CUDA; the GPU build is in build/cuda/ "
            "(made by `make` when nvcc is installed)");
#endif
}

/* Memory that lives where the layers run. On the CPU these are calloc, free,
 * memcpy and memset; on the GPU their cuda* counterparts. */
static inline void *device_alloc(size_t bytes, int on_gpu) {
#ifdef __CUDACC__
    if (on_gpu) {
        void *p = NULL;
        CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 1));
        CUDA_CHECK(cudaMemset(p, 0, bytes ? bytes : 1));
        return p;
    }
#endif
    (void)on_gpu;
    return xcalloc(bytes ? bytes : 1, 1);
}

static inline void device_free(void *p, int on_gpu) {
#ifdef __CUDACC__
    if (on_gpu) { if (p) CUDA_CHECK(cudaFree(p)); return; }
#endif
    (void)on_gpu;
    free(p);
}

/* host -> where the layers run, and back */
static inline void device_upload(void *dst, const void *src, size_t bytes) {
#ifdef __CUDACC__
    if (g_device == DEVICE_CUDA) { CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice)); return; }
#endif
    memcpy(dst, src, bytes);
}

static inline void device_download(void *dst, const void *src, size_t bytes) {
#ifdef __CUDACC__
    if (g_device == DEVICE_CUDA) { CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost)); return; }
#endif
    memcpy(dst, src, bytes);
}

/* wait until the GPU has finished everything queued (timing); a no-op on the CPU */
static inline void device_sync(void) {
#ifdef __CUDACC__
    if (g_device == DEVICE_CUDA) CUDA_CHECK(cudaDeviceSynchronize());
#endif
}

static inline void buffer_zero(float *p, size_t n) {
#ifdef __CUDACC__
    if (g_device == DEVICE_CUDA) { CUDA_CHECK(cudaMemset(p, 0, sizeof(float) * n)); return; }
#endif
    memset(p, 0, sizeof(float) * n);
}

/* ---- profiling the GPU layers (bench --profile) ----
 * With g_profile set, RUN_ON_GPU waits for the GPU before and after each
 * layer and adds the time to that layer's row (one row per layer function:
 * `call` is its GPU call as written, e.g. "gelu_forward_gpu(out, inp, N)").
 * The waits expose each launch's latency, so a profiled step runs a little
 * longer than a plain one; the shares are what to read. */
typedef struct {
    const char *call;
    double seconds;
    long calls;
} LayerTime;
#define MAX_PROFILED 32
static LayerTime g_layer_times[MAX_PROFILED];
static int g_profile = 0, g_n_layer_times = 0;

static inline double profile_start(void) {
    if (!g_profile) return 0.0;
    device_sync();
    return now_seconds();
}

static inline void profile_stop(const char *call, double t0) {
    if (!g_profile) return;
    device_sync();
    int k = 0;
    while (k < g_n_layer_times && g_layer_times[k].call != call) k++;
    if (k == MAX_PROFILED) return;
    if (k == g_n_layer_times) g_layer_times[g_n_layer_times++].call = call;
    g_layer_times[k].seconds += now_seconds() - t0;
    g_layer_times[k].calls++;
}

/* ------------------------------------------------------------------------ */
/* 1. configuration and parameters                                           */
/* ------------------------------------------------------------------------ */

typedef struct {
    int32_t n_layer;     /* L: blocks per stream */
    int32_t n_head;      /* H */
    int32_t n_embd;      /* C */
    int32_t vocab_size;  /* V */
    int32_t max_seq_len; /* longest sequence the RoPE table covers */
} ModelConfig;

/* A rank no position is below: padding, never context and never scored. */
#define RANK_NEVER INT32_MAX

/* The parameter tensors, all in one buffer, in this order. "L-1" tensors
 * exist only for the encoder blocks whose output is read (see top). */
enum {
    P_WTE,        /* (V, C) token embedding, tied with the output layer */
    P_DEC_INPUT,  /* (C)    the query stream's one input vector */
    P_ENC_LN1_W, P_ENC_LN1_B,    /* (L, C) */
    P_ENC_QKV_W,  /* (L, 3C, C) */
    P_ENC_QKV_B,  /* (L, 3C) */
    P_ENC_ATTN_W, /* (L-1, C, C) attention output projection */
    P_ENC_ATTN_B, /* (L-1, C) */
    P_ENC_LN2_W, P_ENC_LN2_B,    /* (L-1, C) */
    P_ENC_FC_W,   /* (L-1, 4C, C) */
    P_ENC_FC_B,   /* (L-1, 4C) */
    P_ENC_PROJ_W, /* (L-1, C, 4C) */
    P_ENC_PROJ_B, /* (L-1, C) */
    P_DEC_LN1_W, P_DEC_LN1_B,    /* (L, C) */
    P_DEC_Q_W,    /* (L, C, C) queries; keys and values come from the encoder */
    P_DEC_Q_B,    /* (L, C) */
    P_DEC_ATTN_W, /* (L, C, C) */
    P_DEC_ATTN_B, /* (L, C) */
    P_DEC_LN2_W, P_DEC_LN2_B,    /* (L, C) */
    P_DEC_FC_W,   /* (L, 4C, C) */
    P_DEC_FC_B,   /* (L, 4C) */
    P_DEC_PROJ_W, /* (L, C, 4C) */
    P_DEC_PROJ_B, /* (L, C) */
    P_LNF_W, P_LNF_B, /* (C) final LayerNorm of the query stream */
    NUM_PARAM_TENSORS
};

static const char *const PARAM_NAMES[NUM_PARAM_TENSORS] = {
    "wte", "dec_input", "enc_ln1_w", "enc_ln1_b", "enc_qkv_w", "enc_qkv_b", "enc_attn_w",
    "enc_attn_b", "enc_ln2_w", "enc_ln2_b", "enc_fc_w", "enc_fc_b", "enc_proj_w", "enc_proj_b",
    "dec_ln1_w", "dec_ln1_b", "dec_q_w", "dec_q_b", "dec_attn_w", "dec_attn_b", "dec_ln2_w",
    "dec_ln2_b", "dec_fc_w", "dec_fc_b", "dec_proj_w", "dec_proj_b", "lnf_w", "lnf_b"};

/* Element count of every tensor; also whether AdamW decays it (matrices only). */
static inline void param_sizes(const ModelConfig *c, size_t sizes[NUM_PARAM_TENSORS],
                        int decays[NUM_PARAM_TENSORS]) {
    size_t L = (size_t)c->n_layer, Lm = L - 1, C = (size_t)c->n_embd, V = (size_t)c->vocab_size;
    size_t s[NUM_PARAM_TENSORS] = {
        V * C, C,                                       /* wte, dec_input */
        L * C, L * C, L * 3 * C * C, L * 3 * C,         /* enc ln1, qkv */
        Lm * C * C, Lm * C, Lm * C, Lm * C,             /* enc attn out, ln2 */
        Lm * 4 * C * C, Lm * 4 * C, Lm * C * 4 * C, Lm * C, /* enc mlp */
        L * C, L * C, L * C * C, L * C, L * C * C, L * C,   /* dec ln1, q, attn out */
        L * C, L * C, L * 4 * C * C, L * 4 * C, L * C * 4 * C, L * C, /* dec ln2, mlp */
        C, C};
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        sizes[i] = s[i];
        decays[i] = (i == P_WTE || i == P_ENC_QKV_W || i == P_ENC_ATTN_W || i == P_ENC_FC_W ||
                     i == P_ENC_PROJ_W || i == P_DEC_Q_W || i == P_DEC_ATTN_W ||
                     i == P_DEC_FC_W || i == P_DEC_PROJ_W);
    }
}

/* ------------------------------------------------------------------------ */
/* 2. layers                                                                 */
/* ------------------------------------------------------------------------ */

/* Query rows. The encoder computes every position of the batch: row n is the
 * flat position n = b*T + t. The decoder (query stream) only runs where a
 * prediction is asked for, the S scored positions: row n sits at flat
 * position pos[n]. Rows must come grouped by sequence, b ascending. */
typedef struct {
    int N;                    /* rows */
    const int32_t *pos;       /* (N) flat positions b*T + t, or NULL: row n is position n */
    const int32_t *seq_first; /* (B+1) with pos: the rows of sequence b are
                                 seq_first[b] .. seq_first[b+1]-1 (the GPU needs it) */
} Rows;

static inline HOST_DEVICE int row_position(Rows r, int n) { return r.pos ? r.pos[n] : n; }
/* the rows of sequence b (of T positions): first .. last-1 (the GPU's kernels) */
static inline HOST_DEVICE void sequence_rows(Rows rows, int b, int T, int *first, int *last) {
    *first = rows.pos ? rows.seq_first[b] : b * T;
    *last = rows.pos ? rows.seq_first[b + 1] : (b + 1) * T;
}

/* The B*T positions of a batch grouped by token, for the GPU's embedding
 * backward (model_batch_view fills it; the CPU does not use it). */
typedef struct {
    int groups;                 /* the distinct tokens of the batch */
    const int32_t *by_token;    /* (B*T) the flat positions, grouped by token, in order within a group */
    const int32_t *group_first; /* (groups+1) group g is by_token[group_first[g] .. group_first[g+1]-1] */
    const int32_t *group_token; /* (groups) the token of group g */
} TokenGroups;

/* The attention's sizes (B sequences of T positions, H heads of D channels)
 * and where the heads sit in its inputs (see attention_forward). */
typedef struct {
    int B, T, H, D;
    int q_stride, q_col, kv_stride, k_col, v_col;
} AttentionShape;

#ifdef __CUDACC__
/* the GPU versions of the layers below (section 2g) */
static void matmul_forward_gpu(float *out, const float *inp, const float *weight, const float *bias,
                               int N, int IC, int OC);
static void matmul_backward_gpu(float *dinp, float *dweight, float *dbias, const float *dout,
                                const float *inp, const float *weight, int N, int IC, int OC);
static void layernorm_forward_gpu(float *out, float *mean, float *rstd, const float *inp,
                                  const float *w, const float *b, int N, int C);
static void layernorm_backward_gpu(float *dinp, float *dw, float *db, const float *dout,
                                   const float *inp, const float *w, const float *mean,
                                   const float *rstd, int N, int C);
static void gelu_forward_gpu(float *out, const float *inp, size_t N);
static void gelu_backward_gpu(float *dinp, const float *inp, const float *dout, size_t N);
static void residual_forward_gpu(float *out, const float *a, const float *b, size_t N);
static void embedding_forward_gpu(float *out, const int32_t *tokens, const float *wte, int N, int C);
static void embedding_backward_gpu(float *dwte, TokenGroups groups, const float *dout, int C);
static void rows_broadcast_gpu(float *out, const float *vec, int N, int C);
static void rows_sum_gpu(float *dvec, const float *dout, int N, int C);
static void rope_rotate_gpu(float *x, const float *cos_sin, Rows rows, int T, int stride, int col,
                            int H, int D, int inverse);
static void attention_forward_gpu(float *out, float *probs, const float *q, const float *kv,
                                  const int32_t *ranks, Rows rows, AttentionShape s, int allow_self);
static void attention_backward_gpu(float *dq, float *dkv, const float *dout, const float *out, const float *probs,
                                   const float *q, const float *kv, const int32_t *ranks, Rows rows,
                                   AttentionShape s, int allow_self);
static void crossentropy_forward_backward_gpu(float *logits, float *losses, const int32_t *targets,
                                              const float *weights, double total_weight, int S, int V,
                                              int want_grad);
#endif

/* ---- which kernels run the CPU's matrix products ----
 * OpenBLAS chooses its kernels for the CPU when the program loads. On a CPU
 * it does not recognise it falls back to its oldest generic ones, "Prescott"
 * (SSE3, 4 floats at a time): on the development machine, an Intel Xeon that
 * OpenBLAS 0.3.21 does not know (family 6, model 207), that made training 3x
 * slower than its AVX-512 kernels (README, "Benchmark"). The environment
 * variable OPENBLAS_CORETYPE overrides the choice, but only when the library
 * loads, so a running program can only say which value to use: run_all.sh
 * and `make bench` ask (03_model --blas-coretype) and set it. */
#ifdef USE_CBLAS
#ifdef __cplusplus
extern "C"
#endif
char *openblas_get_corename(void); /* OpenBLAS's own; not in every cblas.h */
#endif

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

/* ---- matmul: out (N, OC) = inp (N, IC) @ weight (OC, IC)^T + bias (OC) ---- */
/* The readable reference, used when no CBLAS is available (and tested
 * against it): one dot product per output element, rows across threads. */
static inline void matmul_forward_reference(float *out, const float *inp, const float *weight,
                                     const float *bias, int N, int IC, int OC) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * IC;
        for (int o = 0; o < OC; o++) {
            const float *w = weight + (size_t)o * IC;
            float sum = bias ? bias[o] : 0.0f;
            for (int i = 0; i < IC; i++) sum += x[i] * w[i];
            out[(size_t)n * OC + o] = sum;
        }
    }
}

/* dinp (N, IC) += dout @ weight;  dweight (OC, IC) += dout^T @ inp;  dbias += column sums */
static inline void matmul_backward_reference(float *dinp, float *dweight, float *dbias, const float *dout,
                                      const float *inp, const float *weight, int N, int IC, int OC) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *dx = dinp + (size_t)n * IC;
        for (int o = 0; o < OC; o++) {
            float g = dout[(size_t)n * OC + o];
            const float *w = weight + (size_t)o * IC;
            for (int i = 0; i < IC; i++) dx[i] += g * w[i];
        }
    }
#pragma omp parallel for schedule(static)
    for (int o = 0; o < OC; o++) {
        float *dw = dweight + (size_t)o * IC;
        for (int n = 0; n < N; n++) {
            float g = dout[(size_t)n * OC + o];
            const float *x = inp + (size_t)n * IC;
            for (int i = 0; i < IC; i++) dw[i] += g * x[i];
        }
    }
    if (dbias) {
#pragma omp parallel for schedule(static)
        for (int o = 0; o < OC; o++) {
            float sum = 0.0f;
            for (int n = 0; n < N; n++) sum += dout[(size_t)n * OC + o];
            dbias[o] += sum;
        }
    }
}

static inline void matmul_forward(float *out, const float *inp, const float *weight, const float *bias,
                           int N, int IC, int OC) {
    RUN_ON_GPU(matmul_forward_gpu(out, inp, weight, bias, N, IC, OC));
#ifdef USE_CBLAS
    /* start from the bias in every row, then out += inp @ weight^T */
    if (bias) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, bias, sizeof(float) * OC);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, inp, IC, weight, IC,
                bias ? 1.0f : 0.0f, out, OC);
#else
    matmul_forward_reference(out, inp, weight, bias, N, IC, OC);
#endif
}

static inline void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, int N, int IC, int OC) {
    RUN_ON_GPU(matmul_backward_gpu(dinp, dweight, dbias, dout, inp, weight, N, IC, OC));
#ifdef USE_CBLAS
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
#else
    matmul_backward_reference(dinp, dweight, dbias, dout, inp, weight, N, IC, OC);
#endif
}

/* ---- LayerNorm over channels: out (N, C) = (x - mean) / std * w + b ---- */
/* mean and rstd (N) are kept for the backward pass. */
static inline void layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                              const float *w, const float *b, int N, int C) {
    RUN_ON_GPU(layernorm_forward_gpu(out, mean, rstd, inp, w, b, N, C));
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float m = 0.0f, v = 0.0f;
        for (int i = 0; i < C; i++) m += x[i];
        m /= C;
        for (int i = 0; i < C; i++) v += (x[i] - m) * (x[i] - m);
        float s = 1.0f / sqrtf(v / C + 1e-5f);
        float *o = out + (size_t)n * C;
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * s * w[i] + b[i];
        mean[n] = m;
        rstd[n] = s;
    }
}

/* With xhat = (x - mean) * rstd and g = dout * w:
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  dw += dout * xhat,  db += dout.
 * dw/db are reductions over rows: each thread sums its rows privately, then
 * the partial sums are added in thread order (deterministic for a thread count). */
static inline void layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                               const float *inp, const float *w, const float *mean,
                               const float *rstd, int N, int C) {
    RUN_ON_GPU(layernorm_backward_gpu(dinp, dw, db, dout, inp, w, mean, rstd, N, C));
#pragma omp parallel
    {
        float *dw_part = (float *)xcalloc((size_t)2 * C, sizeof(float));
        float *db_part = dw_part + C;
#pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
            float m = mean[n], s = rstd[n];
            float g_mean = 0.0f, gx_mean = 0.0f;
            for (int i = 0; i < C; i++) {
                float xhat = (x[i] - m) * s, g = dy[i] * w[i];
                g_mean += g;
                gx_mean += g * xhat;
            }
            g_mean /= C;
            gx_mean /= C;
            float *dx = dinp + (size_t)n * C;
            for (int i = 0; i < C; i++) {
                float xhat = (x[i] - m) * s, g = dy[i] * w[i];
                dx[i] += s * (g - g_mean - xhat * gx_mean);
                dw_part[i] += dy[i] * xhat;
                db_part[i] += dy[i];
            }
        }
#pragma omp for ordered schedule(static, 1)
        for (int t = 0; t < omp_get_num_threads(); t++) {
#pragma omp ordered
            for (int i = 0; i < C; i++) { dw[i] += dw_part[i]; db[i] += db_part[i]; }
        }
        free(dw_part);
    }
}

/* ---- exp and tanh that the compiler can vectorize ----
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

/* ---- GELU, tanh approximation: out = 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))) ---- */
#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */
static inline void gelu_forward(float *out, const float *inp, size_t N) {
    RUN_ON_GPU(gelu_forward_gpu(out, inp, N));
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + tanh_vec(GELU_K * (x + 0.044715f * x * x * x)));
    }
}

static inline void gelu_backward(float *dinp, const float *inp, const float *dout, size_t N) {
    RUN_ON_GPU(gelu_backward_gpu(dinp, inp, dout, N));
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        float u = GELU_K * (x + 0.044715f * x * x * x);
        float th = tanh_vec(u);
        float du = GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] += dout[i] * (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du);
    }
}

/* ---- residual: out (N) = a + b ---- */
static inline void residual_forward(float *out, const float *a, const float *b, size_t N) {
    RUN_ON_GPU(residual_forward_gpu(out, a, b, N));
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < N; i++) out[i] = a[i] + b[i];
}

/* ---- token embedding: out (N, C) = wte[tokens] ---- */
static inline void embedding_forward(float *out, const int32_t *tokens, const float *wte, int N, int C) {
    RUN_ON_GPU(embedding_forward_gpu(out, tokens, wte, N, C));
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) memcpy(out + (size_t)i * C, wte + (size_t)tokens[i] * C, sizeof(float) * C);
}

/* dwte[tokens[i]] += dout[i]; serial, because the same token can repeat
 * (the GPU uses the same positions grouped by token instead) */
static inline void embedding_backward(float *dwte, const int32_t *tokens, TokenGroups groups, const float *dout,
                                      int N, int C) {
    RUN_ON_GPU(embedding_backward_gpu(dwte, groups, dout, C));
    (void)groups;
    for (int i = 0; i < N; i++) {
        float *dst = dwte + (size_t)tokens[i] * C;
        for (int k = 0; k < C; k++) dst[k] += dout[(size_t)i * C + k];
    }
}

/* ---- one vector in every row, and its backward: out (N, C) = vec (C) ---- */
static inline void rows_broadcast(float *out, const float *vec, int N, int C) {
    RUN_ON_GPU(rows_broadcast_gpu(out, vec, N, C));
    for (int n = 0; n < N; n++) memcpy(out + (size_t)n * C, vec, sizeof(float) * C);
}

/* dvec (C) += the sum of the N rows of dout */
static inline void rows_sum(float *dvec, const float *dout, int N, int C) {
    RUN_ON_GPU(rows_sum_gpu(dvec, dout, N, C));
    for (int n = 0; n < N; n++)
        for (int k = 0; k < C; k++) dvec[k] += dout[(size_t)n * C + k];
}


/* ---- RoPE: rotate each pair (x[2k], x[2k+1]) of a head by angle t * 10000^(-2k/D) ---- */
/* x is (N, stride) with H heads of size D starting at column `col`; t is the
 * row's position in its sequence, so attention scores depend on i - j only.
 * cos_sin is (max_seq_len, D/2, 2). Backward rotates by the opposite angle. */
static inline void rope_rotate(float *x, const float *cos_sin, Rows rows, int T, int stride, int col,
                               int H, int D, int inverse) {
    RUN_ON_GPU(rope_rotate_gpu(x, cos_sin, rows, T, stride, col, H, D, inverse));
#pragma omp parallel for schedule(static)
    for (int n = 0; n < rows.N; n++) {
        int t = row_position(rows, n) % T;
        const float *cs = cos_sin + (size_t)t * D;
        for (int h = 0; h < H; h++) {
            float *v = x + (size_t)n * stride + col + h * D;
            for (int k = 0; k < D / 2; k++) {
                float c = cs[2 * k], s = inverse ? -cs[2 * k + 1] : cs[2 * k + 1];
                float x0 = v[2 * k], x1 = v[2 * k + 1];
                v[2 * k] = x0 * c - x1 * s;
                v[2 * k + 1] = x0 * s + x1 * c;
            }
        }
    }
}

/* ---- rank-masked attention ----
 * q: (N, q_stride) query rows, head h at column q_col + h*D;
 * kv: (B, T, kv_stride) keys at k_col, values at v_col, for every position;
 * out (N, C); probs (N, H, T) kept for backward.
 * The query at position i of sequence b attends position j of b iff
 *   allow_self = 1: rank[j] <= rank[i]  (encoder self-attention)
 *   allow_self = 0: rank[j] <  rank[i]  (decoder cross-attention)
 * A row with no allowed key outputs zeros (its probs row is all zero). */

static inline HOST_DEVICE int attention_allowed(int32_t rank_j, int32_t rank_i, int allow_self) {
    return allow_self ? rank_j <= rank_i : rank_j < rank_i;
}

static inline void attention_forward(float *out, float *probs, const float *q, const float *kv,
                                     const int32_t *ranks, Rows rows, AttentionShape s,
                                     int allow_self) {
    RUN_ON_GPU(attention_forward_gpu(out, probs, q, kv, ranks, rows, s, allow_self));
    int C = s.H * s.D;
    float scale = 1.0f / sqrtf((float)s.D);
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < rows.N; n++)
        for (int h = 0; h < s.H; h++) {
            int flat = row_position(rows, n), b = flat / s.T;
            const int32_t *rank = ranks + (size_t)b * s.T;
            int32_t rank_i = ranks[flat];
            const float *qi = q + (size_t)n * s.q_stride + s.q_col + h * s.D;
            float *p = probs + ((size_t)n * s.H + h) * s.T;
            float *o = out + (size_t)n * C + h * s.D;
            float maxv = -INFINITY;
            for (int j = 0; j < s.T; j++) {
                if (!attention_allowed(rank[j], rank_i, allow_self)) { p[j] = -INFINITY; continue; }
                const float *kj = kv + ((size_t)b * s.T + j) * s.kv_stride + s.k_col + h * s.D;
                float dot = 0.0f;
                for (int d = 0; d < s.D; d++) dot += qi[d] * kj[d];
                p[j] = dot * scale;
                if (p[j] > maxv) maxv = p[j];
            }
            for (int d = 0; d < s.D; d++) o[d] = 0.0f;
            if (maxv == -INFINITY) { /* nothing to attend to */
                for (int j = 0; j < s.T; j++) p[j] = 0.0f;
                continue;
            }
            float sum = 0.0f;
            for (int j = 0; j < s.T; j++) {
                p[j] = p[j] == -INFINITY ? 0.0f : expf(p[j] - maxv);
                sum += p[j];
            }
            for (int j = 0; j < s.T; j++) {
                p[j] /= sum;
                if (p[j] == 0.0f) continue;
                const float *vj = kv + ((size_t)b * s.T + j) * s.kv_stride + s.v_col + h * s.D;
                for (int d = 0; d < s.D; d++) o[d] += p[j] * vj[d];
            }
        }
}

/* Backward of the above. With P the probs and dP[i][j] = dout_i . v_j:
 *   dv_j += sum_i P_ij dout_i
 *   dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik)          (softmax backward)
 *   dq_i += scale * sum_j dS_ij k_j,   dk_j += scale * sum_i dS_ij q_i
 * Several query rows of one sequence write the same dk/dv rows, so one thread
 * owns one (sequence b, head h) and walks b's query rows: race-free. */
static inline void attention_backward(float *dq, float *dkv, const float *dout, const float *out,
                                      const float *probs, const float *q, const float *kv,
                                      const int32_t *ranks, Rows rows, AttentionShape s, int allow_self) {
    RUN_ON_GPU(attention_backward_gpu(dq, dkv, dout, out, probs, q, kv, ranks, rows, s, allow_self));
    (void)out; (void)ranks; (void)allow_self; /* read only by the GPU's fused kernels (section 2g) */
    int B = s.B, C = s.H * s.D;
    float scale = 1.0f / sqrtf((float)s.D);
    /* first[b] .. first[b+1]: the query rows of sequence b */
    int *first = (int *)xmalloc(sizeof(int) * (B + 1));
    for (int b = 0, n = 0; b <= B; b++) {
        while (n < rows.N && row_position(rows, n) / s.T < b) n++;
        first[b] = n;
    }
    for (int n = 1; n < rows.N; n++)
        if (row_position(rows, n) / s.T < row_position(rows, n - 1) / s.T)
            die("internal error: attention query rows are not grouped by sequence");
#pragma omp parallel
    {
        float *dp = (float *)xmalloc(sizeof(float) * s.T);
#pragma omp for collapse(2) schedule(static)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < s.H; h++)
                for (int n = first[b]; n < first[b + 1]; n++) {
                    const float *p = probs + ((size_t)n * s.H + h) * s.T;
                    const float *don = dout + (size_t)n * C + h * s.D;
                    const float *qn = q + (size_t)n * s.q_stride + s.q_col + h * s.D;
                    float *dqn = dq + (size_t)n * s.q_stride + s.q_col + h * s.D;
                    float p_dot_dp = 0.0f;
                    for (int j = 0; j < s.T; j++) {
                        dp[j] = 0.0f;
                        if (p[j] == 0.0f) continue;
                        size_t row = ((size_t)b * s.T + j) * s.kv_stride + h * s.D;
                        const float *vj = kv + row + s.v_col;
                        float *dvj = dkv + row + s.v_col;
                        float dot = 0.0f;
                        for (int d = 0; d < s.D; d++) {
                            dot += don[d] * vj[d];
                            dvj[d] += p[j] * don[d];
                        }
                        dp[j] = dot;
                        p_dot_dp += p[j] * dot;
                    }
                    for (int j = 0; j < s.T; j++) {
                        if (p[j] == 0.0f) continue;
                        float ds = p[j] * (dp[j] - p_dot_dp) * scale;
                        size_t row = ((size_t)b * s.T + j) * s.kv_stride + h * s.D;
                        const float *kj = kv + row + s.k_col;
                        float *dkj = dkv + row + s.k_col;
                        for (int d = 0; d < s.D; d++) {
                            dqn[d] += ds * kj[d];
                            dkj[d] += ds * qn[d];
                        }
                    }
                }
        free(dp);
    }
    free(first);
}

/* ---- softmax + cross-entropy over the S scored rows, fused ----
 * logits (S, V) in; losses (S) out. The loss is the weighted mean
 * sum_n w_n loss_n / total_weight, total_weight = sum_n w_n (all w_n = 1:
 * the plain mean over scored tokens). With want_grad the logits are
 * overwritten by their gradient
 * d(loss)/d(logits_n) = w_n (softmax_n - onehot(target_n)) / total_weight. */
static inline void crossentropy_forward_backward(float *logits, float *losses, const int32_t *targets,
                                                 const float *weights, double total_weight, int S, int V,
                                                 int want_grad) {
    RUN_ON_GPU(crossentropy_forward_backward_gpu(logits, losses, targets, weights, total_weight, S, V, want_grad));
#pragma omp parallel for schedule(static)
    for (int n = 0; n < S; n++) {
        float *z = logits + (size_t)n * V;
        float maxv = -INFINITY;
        for (int i = 0; i < V; i++) maxv = z[i] > maxv ? z[i] : maxv;
        float sum = 0.0f; /* terms in (0, 1], V of them: float is plenty */
#pragma omp simd reduction(+ : sum)
        for (int i = 0; i < V; i++) sum += exp_vec(z[i] - maxv);
        float logsum = maxv + logf(sum);
        losses[n] = logsum - z[targets[n]];
        if (want_grad) {
            float scale = (float)(weights[n] / total_weight);
#pragma omp simd
            for (int i = 0; i < V; i++) z[i] = exp_vec(z[i] - logsum) * scale;
            z[targets[n]] -= scale;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* 2g. the same layers on the GPU (CUDA; compiled only by nvcc)              */
/* ------------------------------------------------------------------------ */
/* Each *_gpu function computes exactly what its CPU twin above computes, on
 * device pointers, in fp32 (test/test_parity.cu checks them against each
 * other element by element, on a GPU or on the CUDA emulator of
 * test/cuda_emu). Mostly plain versions: one thread per output element, or
 * one warp (32 threads) per row where a row needs a sum; sums over many rows
 * in two stages; and the attention in two versions, plain and fused
 * (--attention). Every reduction runs in a fixed order (no atomics), so the
 * same inputs give bit-identical outputs run after run. Matrix products go to
 * cuBLAS, in the arithmetic --matmul chose. */
#ifdef __CUDACC__

#define WARP 32
static inline unsigned blocks_for(size_t n, int threads) { return (unsigned)((n + threads - 1) / threads); }

/* the sum / max of v over the 32 lanes of a warp, returned to every lane */
__device__ static float warp_sum(float v) {
    for (int offset = WARP / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}
__device__ static float warp_max(float v) {
    for (int offset = WARP / 2; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

/* ---- matmul through cuBLAS ----
 * cuBLAS is column-major; a row-major (R, K) matrix is a column-major (K, R)
 * one. So out (N, OC) = inp (N, IC) @ weight^T, read column-major, is
 * out^T (OC, N) = weight^T... with weight (OC, IC) row-major = (IC, OC)
 * column-major, transposed: that is op(A) = T on weight, op(B) = N on inp. */
__global__ static void bias_rows_kernel(float *out, const float *bias, int N, int OC) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)N * OC) out[i] = bias[i % OC];
}

/* ---- sums over the rows, in two stages: dvec[c] += sum_n x[n, c] ----
 * (bias gradients, LayerNorm's dw and db). One thread per column walking all
 * N rows would be deterministic but would keep only C threads busy (a few
 * hundred, on a GPU that runs a hundred thousand at once, each adding N
 * numbers one after another). So: stage 1, one thread per (chunk of
 * ROWS_PER_CHUNK rows, column) sums its chunk into partial[chunk][c]; stage 2,
 * one thread per column adds the chunks' sums in chunk order. The order is
 * fixed: the same inputs give the same bits every run. */
#define ROWS_PER_CHUNK 64
static inline HOST_DEVICE int row_chunks(int N) { return (N + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK; }

/* A device scratch buffer of at least `floats` floats: it grows as needed
 * and never shrinks (cudaFree waits for the kernels still using it). */
typedef struct { float *buf; size_t size; } Scratch;
static float *scratch_at_least(Scratch *sc, size_t floats) {
    if (floats > sc->size) {
        if (sc->buf) CUDA_CHECK(cudaFree(sc->buf));
        CUDA_CHECK(cudaMalloc(&sc->buf, sizeof(float) * floats));
        sc->size = floats;
    }
    return sc->buf;
}
static Scratch g_reduce_scratch; /* the partial sums below */

__global__ static void chunk_sums_kernel(float *partial, const float *x, int N, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)row_chunks(N) * C) return;
    int c = (int)(i % C), chunk = (int)(i / C);
    int end = (chunk + 1) * ROWS_PER_CHUNK < N ? (chunk + 1) * ROWS_PER_CHUNK : N;
    float sum = 0.0f;
    for (int n = chunk * ROWS_PER_CHUNK; n < end; n++) sum += x[(size_t)n * C + c];
    partial[i] = sum;
}

/* stage 2: dvec[c] += partial[0][c] + partial[1][c] + ... */
__global__ static void add_chunk_sums_kernel(float *dvec, const float *partial, int chunks, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float sum = 0.0f;
    for (int k = 0; k < chunks; k++) sum += partial[(size_t)k * C + c];
    dvec[c] += sum;
}

static void column_sums_gpu(float *dvec, const float *x, int N, int C) {
    if (N == 0) return;
    float *partial = scratch_at_least(&g_reduce_scratch, (size_t)row_chunks(N) * C);
    chunk_sums_kernel<<<blocks_for((size_t)row_chunks(N) * C, 256), 256>>>(partial, x, N, C);
    CHECK_LAUNCH();
    add_chunk_sums_kernel<<<blocks_for(C, 128), 128>>>(dvec, partial, row_chunks(N), C);
    CHECK_LAUNCH();
}

/* C = alpha op(A) op(B) + beta C, column-major, fp32 in memory, in the
 * arithmetic --matmul chose (cublasGemmEx's compute type) */
static void gemm_gpu(cublasOperation_t op_a, cublasOperation_t op_b, int m, int n, int k, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    CUBLAS_CHECK(cublasGemmEx(g_cublas, op_a, op_b, m, n, k, &alpha, A, CUDA_R_32F, lda, B, CUDA_R_32F, ldb, &beta,
                              C, CUDA_R_32F, ldc, MATMUL_COMPUTE[g_matmul], CUBLAS_GEMM_DEFAULT));
}

static void matmul_forward_gpu(float *out, const float *inp, const float *weight, const float *bias,
                               int N, int IC, int OC) {
    if (bias) {
        bias_rows_kernel<<<blocks_for((size_t)N * OC, 256), 256>>>(out, bias, N, OC);
        CHECK_LAUNCH();
    }
    gemm_gpu(CUBLAS_OP_T, CUBLAS_OP_N, OC, N, IC, 1.0f, weight, IC, inp, IC, bias ? 1.0f : 0.0f, out, OC);
}

static void matmul_backward_gpu(float *dinp, float *dweight, float *dbias, const float *dout,
                                const float *inp, const float *weight, int N, int IC, int OC) {
    /* dinp (N, IC) += dout (N, OC) @ weight (OC, IC):  column-major dinp^T = weight^T-as-stored @ dout^T */
    gemm_gpu(CUBLAS_OP_N, CUBLAS_OP_N, IC, N, OC, 1.0f, weight, IC, dout, OC, 1.0f, dinp, IC);
    /* dweight (OC, IC) += dout^T @ inp:  column-major dweight^T (IC, OC) = inp^T (IC, N) @ dout (N, OC) */
    gemm_gpu(CUBLAS_OP_N, CUBLAS_OP_T, IC, OC, N, 1.0f, inp, IC, dout, OC, 1.0f, dweight, IC);
    if (dbias) column_sums_gpu(dbias, dout, N, OC);
}

/* ---- LayerNorm: one warp per row ---- */
__global__ static void layernorm_forward_kernel(float *out, float *mean, float *rstd, const float *inp,
                                                const float *w, const float *b, int N, int C) {
    int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (row >= N) return;
    const float *x = inp + (size_t)row * C;
    float sum = 0.0f;
    for (int i = lane; i < C; i += WARP) sum += x[i];
    float m = warp_sum(sum) / C;
    float var = 0.0f;
    for (int i = lane; i < C; i += WARP) var += (x[i] - m) * (x[i] - m);
    float s = 1.0f / sqrtf(warp_sum(var) / C + 1e-5f);
    float *o = out + (size_t)row * C;
    for (int i = lane; i < C; i += WARP) o[i] = (x[i] - m) * s * w[i] + b[i];
    if (lane == 0) { mean[row] = m; rstd[row] = s; }
}

/* dx for one row per warp (the formula of layernorm_backward above) */
__global__ static void layernorm_backward_dx_kernel(float *dinp, const float *dout, const float *inp,
                                                    const float *w, const float *mean, const float *rstd,
                                                    int N, int C) {
    int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (row >= N) return;
    const float *x = inp + (size_t)row * C, *dy = dout + (size_t)row * C;
    float m = mean[row], s = rstd[row];
    float g_sum = 0.0f, gx_sum = 0.0f;
    for (int i = lane; i < C; i += WARP) {
        float xhat = (x[i] - m) * s, g = dy[i] * w[i];
        g_sum += g;
        gx_sum += g * xhat;
    }
    float g_mean = warp_sum(g_sum) / C, gx_mean = warp_sum(gx_sum) / C;
    float *dx = dinp + (size_t)row * C;
    for (int i = lane; i < C; i += WARP) {
        float xhat = (x[i] - m) * s, g = dy[i] * w[i];
        dx[i] += s * (g - g_mean - xhat * gx_mean);
    }
}

/* dw, db: sums over the rows in two stages, as column_sums_gpu (above) does;
 * stage 1 writes the chunks' dw sums to partial[chunk][c] and their db sums
 * to partial[chunks + chunk][c] */
__global__ static void layernorm_dwdb_chunks_kernel(float *partial, const float *dout, const float *inp,
                                                    const float *mean, const float *rstd, int N, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    int chunks = row_chunks(N);
    if (i >= (size_t)chunks * C) return;
    int c = (int)(i % C), chunk = (int)(i / C);
    int end = (chunk + 1) * ROWS_PER_CHUNK < N ? (chunk + 1) * ROWS_PER_CHUNK : N;
    float dw_sum = 0.0f, db_sum = 0.0f;
    for (int n = chunk * ROWS_PER_CHUNK; n < end; n++) {
        float dy = dout[(size_t)n * C + c];
        dw_sum += dy * (inp[(size_t)n * C + c] - mean[n]) * rstd[n];
        db_sum += dy;
    }
    partial[i] = dw_sum;
    partial[(size_t)chunks * C + i] = db_sum;
}

static void layernorm_forward_gpu(float *out, float *mean, float *rstd, const float *inp,
                                  const float *w, const float *b, int N, int C) {
    layernorm_forward_kernel<<<blocks_for(N, 256 / WARP), 256>>>(out, mean, rstd, inp, w, b, N, C);
    CHECK_LAUNCH();
}

static void layernorm_backward_gpu(float *dinp, float *dw, float *db, const float *dout,
                                   const float *inp, const float *w, const float *mean,
                                   const float *rstd, int N, int C) {
    if (N == 0) return;
    layernorm_backward_dx_kernel<<<blocks_for(N, 256 / WARP), 256>>>(dinp, dout, inp, w, mean, rstd, N, C);
    CHECK_LAUNCH();
    int chunks = row_chunks(N);
    float *partial = scratch_at_least(&g_reduce_scratch, 2 * (size_t)chunks * C);
    layernorm_dwdb_chunks_kernel<<<blocks_for((size_t)chunks * C, 256), 256>>>(partial, dout, inp, mean, rstd, N, C);
    CHECK_LAUNCH();
    add_chunk_sums_kernel<<<blocks_for(C, 128), 128>>>(dw, partial, chunks, C);
    CHECK_LAUNCH();
    add_chunk_sums_kernel<<<blocks_for(C, 128), 128>>>(db, partial + (size_t)chunks * C, chunks, C);
    CHECK_LAUNCH();
}

/* ---- elementwise: GELU, residual, embedding, broadcast ---- */
__global__ static void gelu_forward_kernel(float *out, const float *inp, size_t N) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= N) return;
    float x = inp[i];
    out[i] = 0.5f * x * (1.0f + tanhf(GELU_K * (x + 0.044715f * x * x * x)));
}

__global__ static void gelu_backward_kernel(float *dinp, const float *inp, const float *dout, size_t N) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= N) return;
    float x = inp[i];
    float th = tanhf(GELU_K * (x + 0.044715f * x * x * x));
    float du = GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
    dinp[i] += dout[i] * (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du);
}

__global__ static void residual_forward_kernel(float *out, const float *a, const float *b, size_t N) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < N) out[i] = a[i] + b[i];
}

__global__ static void embedding_forward_kernel(float *out, const int32_t *tokens, const float *wte, int N, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)N * C) out[i] = wte[(size_t)tokens[i / C] * C + i % C];
}

/* one thread per (token of the batch, channel k) adds up dout[i][k] over the
 * token's positions i, in order: rows that share a token never race */
__global__ static void embedding_backward_kernel(float *dwte, const int32_t *by_token, const int32_t *group_first,
                                                 const int32_t *group_token, const float *dout, int groups, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)groups * C) return;
    int g = (int)(i / C), k = (int)(i % C);
    float sum = 0.0f;
    for (int p = group_first[g]; p < group_first[g + 1]; p++) sum += dout[(size_t)by_token[p] * C + k];
    dwte[(size_t)group_token[g] * C + k] += sum;
}

static void gelu_forward_gpu(float *out, const float *inp, size_t N) {
    gelu_forward_kernel<<<blocks_for(N, 256), 256>>>(out, inp, N);
    CHECK_LAUNCH();
}
static void gelu_backward_gpu(float *dinp, const float *inp, const float *dout, size_t N) {
    gelu_backward_kernel<<<blocks_for(N, 256), 256>>>(dinp, inp, dout, N);
    CHECK_LAUNCH();
}
static void residual_forward_gpu(float *out, const float *a, const float *b, size_t N) {
    residual_forward_kernel<<<blocks_for(N, 256), 256>>>(out, a, b, N);
    CHECK_LAUNCH();
}
static void embedding_forward_gpu(float *out, const int32_t *tokens, const float *wte, int N, int C) {
    embedding_forward_kernel<<<blocks_for((size_t)N * C, 256), 256>>>(out, tokens, wte, N, C);
    CHECK_LAUNCH();
}
static void embedding_backward_gpu(float *dwte, TokenGroups g, const float *dout, int C) {
    if (g.groups == 0) return;
    embedding_backward_kernel<<<blocks_for((size_t)g.groups * C, 256), 256>>>(dwte, g.by_token, g.group_first,
                                                                                g.group_token, dout, g.groups, C);
    CHECK_LAUNCH();
}
static void rows_broadcast_gpu(float *out, const float *vec, int N, int C) {
    bias_rows_kernel<<<blocks_for((size_t)N * C, 256), 256>>>(out, vec, N, C);
    CHECK_LAUNCH();
}
static void rows_sum_gpu(float *dvec, const float *dout, int N, int C) { column_sums_gpu(dvec, dout, N, C); }

/* ---- RoPE: one thread per (row, head, pair) ---- */
__global__ static void rope_rotate_kernel(float *x, const float *cos_sin, Rows rows, int T, int stride,
                                          int col, int H, int D, int inverse) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    int half = D / 2;
    if (i >= (size_t)rows.N * H * half) return;
    int n = (int)(i / ((size_t)H * half)), h = (int)(i / half % H), k = (int)(i % half);
    int t = row_position(rows, n) % T;
    float c = cos_sin[(size_t)t * D + 2 * k], s = cos_sin[(size_t)t * D + 2 * k + 1];
    if (inverse) s = -s;
    float *v = x + (size_t)n * stride + col + h * D;
    float x0 = v[2 * k], x1 = v[2 * k + 1];
    v[2 * k] = x0 * c - x1 * s;
    v[2 * k + 1] = x0 * s + x1 * c;
}

static void rope_rotate_gpu(float *x, const float *cos_sin, Rows rows, int T, int stride, int col,
                            int H, int D, int inverse) {
    size_t n = (size_t)rows.N * H * (D / 2);
    rope_rotate_kernel<<<blocks_for(n, 256), 256>>>(x, cos_sin, rows, T, stride, col, H, D, inverse);
    CHECK_LAUNCH();
}

/* ---- attention: one warp per (query row, head) ----
 * Lanes split the key positions j to compute the scores (kept in probs), the
 * warp reduces max and sum for the softmax, then lanes split the head's D
 * channels to sum the values. Same masking rule and outputs as the CPU. */
__global__ static void attention_forward_kernel(float *out, float *probs, const float *q, const float *kv,
                                                const int32_t *ranks, Rows rows, AttentionShape s,
                                                int allow_self) {
    int warp = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (warp >= rows.N * s.H) return;
    int n = warp / s.H, h = warp % s.H, C = s.H * s.D;
    int flat = row_position(rows, n), b = flat / s.T;
    const int32_t *rank = ranks + (size_t)b * s.T;
    int32_t rank_i = ranks[flat];
    float scale = 1.0f / sqrtf((float)s.D);
    const float *qi = q + (size_t)n * s.q_stride + s.q_col + h * s.D;
    float *p = probs + ((size_t)n * s.H + h) * s.T;
    float maxv = -INFINITY;
    for (int j = lane; j < s.T; j += WARP) {
        int allowed = attention_allowed(rank[j], rank_i, allow_self);
        float score = -INFINITY;
        if (allowed) {
            const float *kj = kv + ((size_t)b * s.T + j) * s.kv_stride + s.k_col + h * s.D;
            float dot = 0.0f;
            for (int d = 0; d < s.D; d++) dot += qi[d] * kj[d];
            score = dot * scale;
        }
        p[j] = score;
        maxv = fmaxf(maxv, score);
    }
    maxv = warp_max(maxv);
    float *o = out + (size_t)n * C + h * s.D;
    if (maxv == -INFINITY) { /* nothing to attend to: zeros */
        for (int j = lane; j < s.T; j += WARP) p[j] = 0.0f;
        for (int d = lane; d < s.D; d += WARP) o[d] = 0.0f;
        return;
    }
    float sum = 0.0f;
    for (int j = lane; j < s.T; j += WARP) {
        p[j] = p[j] == -INFINITY ? 0.0f : expf(p[j] - maxv);
        sum += p[j];
    }
    sum = warp_sum(sum);
    for (int j = lane; j < s.T; j += WARP) p[j] /= sum;
    __syncwarp(); /* every lane reads every p[j] below */
    for (int d = lane; d < s.D; d += WARP) {
        float acc = 0.0f;
        for (int j = 0; j < s.T; j++)
            if (p[j] != 0.0f) acc += p[j] * kv[((size_t)b * s.T + j) * s.kv_stride + s.v_col + h * s.D + d];
        o[d] = acc;
    }
}

/* Backward, step 1, one warp per (query row, head): dP_ij = dout_i . v_j,
 * dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik) * scale (stored in dscores), and
 * dq_i += sum_j dS_ij k_j. */
__global__ static void attention_backward_query_kernel(float *dq, float *dscores, const float *dout,
                                                       const float *probs, const float *kv, Rows rows,
                                                       AttentionShape s) {
    int warp = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (warp >= rows.N * s.H) return;
    int n = warp / s.H, h = warp % s.H, C = s.H * s.D;
    int b = row_position(rows, n) / s.T;
    float scale = 1.0f / sqrtf((float)s.D);
    const float *p = probs + ((size_t)n * s.H + h) * s.T;
    float *ds = dscores + ((size_t)n * s.H + h) * s.T;
    const float *don = dout + (size_t)n * C + h * s.D;
    float p_dot_dp = 0.0f;
    for (int j = lane; j < s.T; j += WARP) {
        float dot = 0.0f;
        if (p[j] != 0.0f) {
            const float *vj = kv + ((size_t)b * s.T + j) * s.kv_stride + s.v_col + h * s.D;
            for (int d = 0; d < s.D; d++) dot += don[d] * vj[d];
        }
        ds[j] = dot; /* dP for now */
        p_dot_dp += p[j] * dot;
    }
    p_dot_dp = warp_sum(p_dot_dp);
    for (int j = lane; j < s.T; j += WARP) ds[j] = p[j] == 0.0f ? 0.0f : p[j] * (ds[j] - p_dot_dp) * scale;
    __syncwarp();
    float *dqn = dq + (size_t)n * s.q_stride + s.q_col + h * s.D;
    for (int d = lane; d < s.D; d += WARP) {
        float acc = 0.0f;
        for (int j = 0; j < s.T; j++)
            if (ds[j] != 0.0f) acc += ds[j] * kv[((size_t)b * s.T + j) * s.kv_stride + s.k_col + h * s.D + d];
        dqn[d] += acc;
    }
}

/* Backward, step 2, one thread per (sequence b, key position j, channel h*D+d):
 * dk_j += sum_i dS_ij q_i and dv_j += sum_i P_ij dout_i over the query rows i
 * of sequence b, in row order. */
__global__ static void attention_backward_kv_kernel(float *dkv, const float *dscores, const float *dout,
                                                    const float *probs, const float *q, Rows rows, int B,
                                                    AttentionShape s) {
    int C = s.H * s.D;
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)B * s.T * C) return;
    int c = (int)(i % C), j = (int)(i / C % s.T), b = (int)(i / ((size_t)C * s.T));
    int h = c / s.D, d = c % s.D;
    int first, last;
    sequence_rows(rows, b, s.T, &first, &last);
    float dk = 0.0f, dv = 0.0f;
    for (int n = first; n < last; n++) {
        size_t at = ((size_t)n * s.H + h) * s.T + j;
        if (probs[at] == 0.0f) continue;
        dk += dscores[at] * q[(size_t)n * s.q_stride + s.q_col + c];
        dv += probs[at] * dout[(size_t)n * C + c];
    }
    size_t row = ((size_t)b * s.T + j) * s.kv_stride;
    dkv[row + s.k_col + h * s.D + d] += dk;
    dkv[row + s.v_col + h * s.D + d] += dv;
}

/* ---- attention, fused: the probabilities never stored (--attention fused) ----
 * A block of FUSED_ROWS warps takes FUSED_ROWS query rows of one sequence b
 * and head h (grid: row groups x H x B), a warp per row. The sequence's keys
 * come in tiles of FUSED_KEYS, one per lane: the block loads a tile's keys
 * and values into shared memory once for all its rows. Each row keeps the
 * running max m of its scores, the running sum l of exp(score - m) and the
 * running sum acc of exp(score - m) v_j; when a tile raises the max, l and
 * acc are scaled by exp(m_old - m_new) first (the "online softmax"). At the
 * end out = acc / l, and only lse = m + log(l) is kept, in the first rows*H
 * floats of the probs buffer: the backward recomputes
 * P_ij = exp(s_ij - lse_i) tile by tile. */
#define FUSED_KEYS 32
#define FUSED_ROWS 8
#define FUSED_MAX_D 128 /* the shared memory holds heads of up to 128 channels */


/* the keys and values j0 .. j0+FUSED_KEYS-1 of sequence b, head h, into
 * shared memory (zeros past T); a row of FUSED_MAX_D + 1 floats, so that 32
 * lanes reading 32 keys' channel d hit 32 different banks */
__device__ static void load_key_tile(float (*k_tile)[FUSED_MAX_D + 1], float (*v_tile)[FUSED_MAX_D + 1],
                                     const float *kv, int b, int h, int j0, AttentionShape s) {
    for (int e = threadIdx.x; e < FUSED_KEYS * s.D; e += blockDim.x) {
        int jj = e / s.D, d = e % s.D, j = j0 + jj;
        size_t at = ((size_t)b * s.T + j) * s.kv_stride + h * s.D + d;
        k_tile[jj][d] = j < s.T ? kv[at + s.k_col] : 0.0f;
        v_tile[jj][d] = j < s.T ? kv[at + s.v_col] : 0.0f;
    }
}

/* sum over the tile's keys jj of weights[jj] * tile[jj][d] */
__device__ static float tile_column_sum(const float *weights, const float (*tile)[FUSED_MAX_D + 1], int d) {
    float sum = 0.0f;
    for (int jj = 0; jj < FUSED_KEYS; jj++) sum += weights[jj] * tile[jj][d];
    return sum;
}

__global__ static void fused_attention_forward_kernel(float *out, float *lse, const float *q, const float *kv,
                                                      const int32_t *ranks, Rows rows, AttentionShape s,
                                                      int allow_self) {
    __shared__ float k_tile[FUSED_KEYS][FUSED_MAX_D + 1], v_tile[FUSED_KEYS][FUSED_MAX_D + 1];
    __shared__ float q_rows[FUSED_ROWS][FUSED_MAX_D], p_rows[FUSED_ROWS][FUSED_KEYS];
    int b = blockIdx.z, h = blockIdx.y, w = threadIdx.x / WARP, lane = threadIdx.x % WARP;
    int first, last;
    sequence_rows(rows, b, s.T, &first, &last);
    int n = first + blockIdx.x * FUSED_ROWS + w;
    int active = n < last; /* no early return: every thread loads tiles and meets at the barriers */
    const int32_t *rank = ranks + (size_t)b * s.T;
    int32_t rank_i = active ? ranks[row_position(rows, n)] : 0;
    if (active)
        for (int d = lane; d < s.D; d += WARP) q_rows[w][d] = q[(size_t)n * s.q_stride + s.q_col + h * s.D + d];
    float scale = 1.0f / sqrtf((float)s.D), m = -INFINITY, l = 0.0f;
    float acc[FUSED_MAX_D / WARP] = {0.0f}; /* this lane's channels d = lane, lane + 32, ... */
    for (int j0 = 0; j0 < s.T; j0 += FUSED_KEYS) {
        __syncthreads(); /* every warp is done with the previous tile */
        load_key_tile(k_tile, v_tile, kv, b, h, j0, s);
        __syncthreads();
        if (!active) continue;
        int j = j0 + lane;
        float score = -INFINITY;
        if (j < s.T && attention_allowed(rank[j], rank_i, allow_self)) {
            float dot = 0.0f;
            for (int d = 0; d < s.D; d++) dot += q_rows[w][d] * k_tile[lane][d];
            score = dot * scale;
        }
        float m_new = fmaxf(m, warp_max(score));
        if (m_new == -INFINITY) continue; /* no key allowed yet (the same for the whole warp) */
        float p = score == -INFINITY ? 0.0f : expf(score - m_new);
        float rescale = expf(m - m_new); /* 0 while m is -inf */
        l = l * rescale + warp_sum(p);
        p_rows[w][lane] = p;
        __syncwarp(); /* every lane reads every p below */
#pragma unroll
        for (int k = 0; k < FUSED_MAX_D / WARP; k++) {
            int d = k * WARP + lane;
            if (d >= s.D) break;
            acc[k] = acc[k] * rescale + tile_column_sum(p_rows[w], v_tile, d);
        }
        __syncwarp(); /* before the next tile's p overwrite these */
        m = m_new;
    }
    if (!active) return;
    float *o = out + (size_t)n * s.H * s.D + h * s.D;
#pragma unroll
    for (int k = 0; k < FUSED_MAX_D / WARP; k++) {
        int d = k * WARP + lane;
        if (d >= s.D) break;
        o[d] = l > 0.0f ? acc[k] / l : 0.0f; /* nothing to attend to: zeros */
    }
    if (lane == 0) lse[(size_t)n * s.H + h] = l > 0.0f ? m + logf(l) : -INFINITY;
}

/* delta_i = dout_i . out_i for each (row, head), a warp each: the backward's
 * sum_j P_ij dP_ij, since sum_j P_ij (dout_i . v_j) = dout_i . out_i */
__global__ static void attention_row_dots_kernel(float *delta, const float *dout, const float *out, int N, int H,
                                                 int D) {
    int warp = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (warp >= N * H) return;
    const float *a = dout + (size_t)warp * D, *o = out + (size_t)warp * D; /* (n, h) sits at n*H*D + h*D */
    float sum = 0.0f;
    for (int d = lane; d < D; d += WARP) sum += a[d] * o[d];
    sum = warp_sum(sum);
    if (lane == 0) delta[warp] = sum;
}

/* P_ij and dS_ij = P_ij (dP_ij - delta_i) scale for one query row (q_row,
 * do_row in shared memory) and this lane's key j of the tile; 0 where row i
 * may not see key j */
__device__ static void recompute_scores(float *p, float *ds, const float *q_row, const float *do_row,
                                        const float *k_row, const float *v_row, float lse_i, float delta_i,
                                        float scale, int allowed, int D) {
    *p = *ds = 0.0f;
    if (!allowed || lse_i == -INFINITY) return;
    float qk = 0.0f, dov = 0.0f;
    for (int d = 0; d < D; d++) {
        qk += q_row[d] * k_row[d];
        dov += do_row[d] * v_row[d];
    }
    *p = expf(qk * scale - lse_i);
    *ds = *p * (dov - delta_i) * scale;
}

/* Backward, queries: the forward's blocks again; dq_i += sum_j dS_ij k_j over
 * the tiles, the lanes splitting the channels */
__global__ static void fused_attention_backward_query_kernel(float *dq, const float *dout, const float *lse,
                                                             const float *delta, const float *q, const float *kv,
                                                             const int32_t *ranks, Rows rows, AttentionShape s,
                                                             int allow_self) {
    __shared__ float k_tile[FUSED_KEYS][FUSED_MAX_D + 1], v_tile[FUSED_KEYS][FUSED_MAX_D + 1];
    __shared__ float q_rows[FUSED_ROWS][FUSED_MAX_D], do_rows[FUSED_ROWS][FUSED_MAX_D];
    __shared__ float ds_rows[FUSED_ROWS][FUSED_KEYS];
    int b = blockIdx.z, h = blockIdx.y, w = threadIdx.x / WARP, lane = threadIdx.x % WARP;
    int first, last;
    sequence_rows(rows, b, s.T, &first, &last);
    int n = first + blockIdx.x * FUSED_ROWS + w;
    int active = n < last;
    const int32_t *rank = ranks + (size_t)b * s.T;
    int32_t rank_i = active ? ranks[row_position(rows, n)] : 0;
    float lse_i = active ? lse[(size_t)n * s.H + h] : 0.0f, delta_i = active ? delta[(size_t)n * s.H + h] : 0.0f;
    if (active)
        for (int d = lane; d < s.D; d += WARP) {
            q_rows[w][d] = q[(size_t)n * s.q_stride + s.q_col + h * s.D + d];
            do_rows[w][d] = dout[(size_t)n * s.H * s.D + h * s.D + d];
        }
    float scale = 1.0f / sqrtf((float)s.D);
    float dq_acc[FUSED_MAX_D / WARP] = {0.0f};
    for (int j0 = 0; j0 < s.T; j0 += FUSED_KEYS) {
        __syncthreads();
        load_key_tile(k_tile, v_tile, kv, b, h, j0, s);
        __syncthreads();
        if (!active) continue;
        int j = j0 + lane;
        int allowed = j < s.T && attention_allowed(rank[j], rank_i, allow_self);
        float p, ds;
        recompute_scores(&p, &ds, q_rows[w], do_rows[w], k_tile[lane], v_tile[lane], lse_i, delta_i, scale,
                         allowed, s.D);
        ds_rows[w][lane] = ds;
        __syncwarp();
#pragma unroll
        for (int k = 0; k < FUSED_MAX_D / WARP; k++) {
            int d = k * WARP + lane;
            if (d >= s.D) break;
            dq_acc[k] += tile_column_sum(ds_rows[w], k_tile, d);
        }
        __syncwarp();
    }
    if (!active) return;
    float *dqn = dq + (size_t)n * s.q_stride + s.q_col + h * s.D;
#pragma unroll
    for (int k = 0; k < FUSED_MAX_D / WARP; k++) {
        int d = k * WARP + lane;
        if (d >= s.D) break;
        dqn[d] += dq_acc[k];
    }
}

/* Backward, keys and values: a block per (tile of FUSED_KEYS keys, head,
 * sequence), the tile loaded once. The sequence's query rows come
 * FUSED_ROWS at a time, a warp per row recomputing its P_ij and dS_ij for the
 * tile's keys; then thread t adds, for key jj = t % 32 and channels
 * d = t / 32 + 8k, dk_j += sum_i dS_ij q_i and dv_j += sum_i P_ij dout_i in
 * row order (deterministic: no atomics). */
__global__ static void fused_attention_backward_kv_kernel(float *dkv, const float *dout, const float *lse,
                                                          const float *delta, const float *q, const float *kv,
                                                          const int32_t *ranks, Rows rows, AttentionShape s,
                                                          int allow_self) {
    __shared__ float k_tile[FUSED_KEYS][FUSED_MAX_D + 1], v_tile[FUSED_KEYS][FUSED_MAX_D + 1];
    __shared__ float q_rows[FUSED_ROWS][FUSED_MAX_D], do_rows[FUSED_ROWS][FUSED_MAX_D];
    __shared__ float p_rows[FUSED_ROWS][FUSED_KEYS], ds_rows[FUSED_ROWS][FUSED_KEYS];
    int b = blockIdx.z, h = blockIdx.y, j0 = blockIdx.x * FUSED_KEYS;
    int w = threadIdx.x / WARP, lane = threadIdx.x % WARP;
    int first, last;
    sequence_rows(rows, b, s.T, &first, &last);
    const int32_t *rank = ranks + (size_t)b * s.T;
    float scale = 1.0f / sqrtf((float)s.D);
    load_key_tile(k_tile, v_tile, kv, b, h, j0, s); /* read after the first barrier below */
    int my_key = threadIdx.x % FUSED_KEYS, my_first_d = threadIdx.x / FUSED_KEYS;
    const int D_STEP = FUSED_ROWS * WARP / FUSED_KEYS; /* 8 channels apart */
    float dk_acc[FUSED_MAX_D / D_STEP] = {0.0f}, dv_acc[FUSED_MAX_D / D_STEP] = {0.0f};
    for (int g = first; g < last; g += FUSED_ROWS) {
        int n = g + w, active = n < last;
        __syncthreads(); /* the tile is loaded, and the previous rows have been added in */
        for (int d = lane; d < s.D; d += WARP) { /* an inactive warp's row is zeros */
            q_rows[w][d] = active ? q[(size_t)n * s.q_stride + s.q_col + h * s.D + d] : 0.0f;
            do_rows[w][d] = active ? dout[(size_t)n * s.H * s.D + h * s.D + d] : 0.0f;
        }
        __syncwarp();
        float p = 0.0f, ds = 0.0f;
        if (active) {
            int32_t rank_i = ranks[row_position(rows, n)];
            int j = j0 + lane;
            int allowed = j < s.T && attention_allowed(rank[j], rank_i, allow_self);
            recompute_scores(&p, &ds, q_rows[w], do_rows[w], k_tile[lane], v_tile[lane], lse[(size_t)n * s.H + h],
                             delta[(size_t)n * s.H + h], scale, allowed, s.D);
        }
        p_rows[w][lane] = p;
        ds_rows[w][lane] = ds;
        __syncthreads(); /* every row's p, dS, q and dout are in */
#pragma unroll
        for (int k = 0; k < FUSED_MAX_D / D_STEP; k++) {
            int d = my_first_d + k * D_STEP;
            if (d >= s.D) break;
            for (int r = 0; r < FUSED_ROWS; r++) {
                dk_acc[k] += ds_rows[r][my_key] * q_rows[r][d];
                dv_acc[k] += p_rows[r][my_key] * do_rows[r][d];
            }
        }
    }
    if (j0 + my_key >= s.T) return;
    size_t row = ((size_t)b * s.T + j0 + my_key) * s.kv_stride + h * s.D;
#pragma unroll
    for (int k = 0; k < FUSED_MAX_D / D_STEP; k++) {
        int d = my_first_d + k * D_STEP;
        if (d >= s.D) break;
        dkv[row + s.k_col + d] += dk_acc[k];
        dkv[row + s.v_col + d] += dv_acc[k];
    }
}

static void fused_attention_check(AttentionShape s) {
    if (s.D > FUSED_MAX_D)
        die("--attention fused: heads of up to %d channels; this model's have %d (use --attention plain)",
            FUSED_MAX_D, s.D);
    if (s.B > 65535) /* the grids below put the sequences on z, which a GPU caps at 65535 */
        die("--attention fused: at most 65535 sequences a batch; this one has %d (use a smaller --batch)", s.B);
}

static void attention_forward_gpu(float *out, float *probs, const float *q, const float *kv,
                                  const int32_t *ranks, Rows rows, AttentionShape s, int allow_self) {
    if (g_attention == ATTENTION_FUSED) {
        fused_attention_check(s);
        dim3 grid((s.T + FUSED_ROWS - 1) / FUSED_ROWS, s.H, s.B);
        fused_attention_forward_kernel<<<grid, FUSED_ROWS * WARP>>>(out, probs, q, kv, ranks, rows, s, allow_self);
        CHECK_LAUNCH();
        return;
    }
    size_t warps = (size_t)rows.N * s.H;
    attention_forward_kernel<<<blocks_for(warps, 256 / WARP), 256>>>(out, probs, q, kv, ranks, rows, s, allow_self);
    CHECK_LAUNCH();
}

static void attention_backward_gpu(float *dq, float *dkv, const float *dout, const float *out, const float *probs,
                                   const float *q, const float *kv, const int32_t *ranks, Rows rows,
                                   AttentionShape s, int allow_self) {
    if (g_attention == ATTENTION_FUSED) {
        fused_attention_check(s);
        static Scratch delta_scratch; /* (rows, H) */
        size_t need = (size_t)rows.N * s.H;
        float *delta = scratch_at_least(&delta_scratch, need);
        attention_row_dots_kernel<<<blocks_for(need, 256 / WARP), 256>>>(delta, dout, out, rows.N, s.H, s.D);
        CHECK_LAUNCH();
        const float *lse = probs;
        dim3 query_grid((s.T + FUSED_ROWS - 1) / FUSED_ROWS, s.H, s.B);
        fused_attention_backward_query_kernel<<<query_grid, FUSED_ROWS * WARP>>>(dq, dout, lse, delta, q, kv, ranks,
                                                                                 rows, s, allow_self);
        CHECK_LAUNCH();
        dim3 key_grid((s.T + FUSED_KEYS - 1) / FUSED_KEYS, s.H, s.B);
        fused_attention_backward_kv_kernel<<<key_grid, FUSED_ROWS * WARP>>>(dkv, dout, lse, delta, q, kv, ranks,
                                                                            rows, s, allow_self);
        CHECK_LAUNCH();
        return;
    }
    int B = s.B;
    /* dS has the shape of probs; a scratch buffer that grows as needed */
    static Scratch dscores_scratch;
    float *dscores = scratch_at_least(&dscores_scratch, (size_t)rows.N * s.H * s.T);
    size_t warps = (size_t)rows.N * s.H;
    attention_backward_query_kernel<<<blocks_for(warps, 256 / WARP), 256>>>(dq, dscores, dout, probs, kv, rows, s);
    CHECK_LAUNCH();
    size_t n = (size_t)B * s.T * s.H * s.D;
    attention_backward_kv_kernel<<<blocks_for(n, 256), 256>>>(dkv, dscores, dout, probs, q, rows, B, s);
    CHECK_LAUNCH();
}

/* ---- softmax + cross-entropy: one block of 256 threads per scored row ---- */
#define CE_THREADS 256
/* sum or max over the block; every thread gets the result */
__device__ static float block_reduce(float v, int is_max) {
    __shared__ float partial[CE_THREADS / WARP];
    int lane = threadIdx.x % WARP, w = threadIdx.x / WARP;
    v = is_max ? warp_max(v) : warp_sum(v);
    __syncthreads(); /* partial may still be read from a previous call */
    if (lane == 0) partial[w] = v;
    __syncthreads();
    v = partial[0];
    for (int k = 1; k < CE_THREADS / WARP; k++) v = is_max ? fmaxf(v, partial[k]) : v + partial[k];
    return v;
}

__global__ static void crossentropy_kernel(float *logits, float *losses, const int32_t *targets,
                                           const float *weights, float inv_total_weight, int V, int want_grad) {
    int n = blockIdx.x;
    float *z = logits + (size_t)n * V;
    float maxv = -INFINITY;
    for (int i = threadIdx.x; i < V; i += CE_THREADS) maxv = fmaxf(maxv, z[i]);
    maxv = block_reduce(maxv, 1);
    float sum = 0.0f;
    for (int i = threadIdx.x; i < V; i += CE_THREADS) sum += expf(z[i] - maxv);
    float logsum = maxv + logf(block_reduce(sum, 0));
    float target_logit = z[targets[n]];
    __syncthreads(); /* everyone has read z[target] before it is overwritten */
    if (threadIdx.x == 0) losses[n] = logsum - target_logit;
    if (!want_grad) return;
    float scale = weights[n] * inv_total_weight;
    for (int i = threadIdx.x; i < V; i += CE_THREADS)
        z[i] = expf(z[i] - logsum) * scale - (i == targets[n] ? scale : 0.0f);
}

static void crossentropy_forward_backward_gpu(float *logits, float *losses, const int32_t *targets,
                                              const float *weights, double total_weight, int S, int V,
                                              int want_grad) {
    if (S == 0) return;
    crossentropy_kernel<<<S, CE_THREADS>>>(logits, losses, targets, weights, (float)(1.0 / total_weight), V, want_grad);
    CHECK_LAUNCH();
}

/* ---- optimizer pieces ---- */
/* sum of squares: each block sums a grid-stride slice, partial[block]; the
 * host adds the partials in order (fixed: deterministic) */
#define NORM_BLOCKS 256
__global__ static void sum_squares_kernel(float *partial, const float *x, size_t n) {
    __shared__ float shared[256];
    float acc = 0.0f;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        acc += x[i] * x[i];
    int tid = threadIdx.x;
    shared[tid] = acc;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if (tid < stride) shared[tid] += shared[tid + stride];
        __syncthreads();
    }
    if (tid == 0) partial[blockIdx.x] = shared[0];
}

__global__ static void scale_kernel(float *x, float scale, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] *= scale;
}

static double sum_squares_gpu(const float *x, size_t n) {
    static float *partial = NULL;
    if (!partial) CUDA_CHECK(cudaMalloc(&partial, sizeof(float) * NORM_BLOCKS));
    sum_squares_kernel<<<NORM_BLOCKS, 256>>>(partial, x, n);
    CHECK_LAUNCH();
    float host[NORM_BLOCKS];
    CUDA_CHECK(cudaMemcpy(host, partial, sizeof host, cudaMemcpyDeviceToHost));
    double total = 0.0;
    for (int k = 0; k < NORM_BLOCKS; k++) total += host[k];
    return total;
}

static void scale_gpu(float *x, float scale, size_t n) {
    scale_kernel<<<blocks_for(n, 256), 256>>>(x, scale, n);
    CHECK_LAUNCH();
}

__global__ static void adamw_kernel(float *params, const float *grads, float *m, float *v, size_t n,
                                    float lr, float beta1, float beta2, float eps, float wd, float c1, float c2) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float g = grads[i];
    float mm = m[i] = beta1 * m[i] + (1.0f - beta1) * g;
    float vv = v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
    float update = (mm / c1) / (sqrtf(vv / c2) + eps);
    params[i] -= lr * (update + wd * params[i]);
}

__global__ static void ema_kernel(float *ema, const float *params, size_t n, float d) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) ema[i] = d * ema[i] + (1.0f - d) * params[i];
}

#endif /* __CUDACC__ */

/* ------------------------------------------------------------------------ */
/* 3. the model                                                              */
/* ------------------------------------------------------------------------ */

/* One batch: B sequences padded to T. The objective's rank sampler fills
 * ranks and the list of scored positions (flat index b*T + t) with their
 * targets (the token that belongs there). */
typedef struct {
    int B, T;
    int32_t *tokens;         /* (B, T), TOK_PAD after a sequence's end */
    int32_t *ranks;          /* (B, T) */
    int32_t *lengths;        /* (B) tokens before padding */
    int32_t *first_scored;   /* (B) first position training may score: 1 (everything after
                                BOS), or the answer start of a problem whose prompt is
                                context only (common.h, KIND_PROBLEM) */
    int n_scored;            /* S */
    int32_t *scored;         /* (S) flat positions */
    int32_t *targets;        /* (S) */
    float *weights;          /* (S) loss weights, 1 unless the objective says otherwise */
    int32_t *seq_first;      /* (B+1) set by model_batch_view for the GPU: the scored
                                positions of sequence b are scored[seq_first[b] ..
                                seq_first[b+1]-1] */
    TokenGroups token_groups; /* set by model_batch_view for the GPU's embedding backward */
    int capacity_B, capacity_T;
} Batch;

static inline void batch_init(Batch *bt, int B, int T) {
    memset(bt, 0, sizeof *bt);
    bt->capacity_B = B;
    bt->capacity_T = T;
    bt->tokens = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)B * T);
    bt->ranks = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)B * T);
    bt->lengths = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)B);
    bt->first_scored = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)B);
    bt->scored = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)B * T);
    bt->targets = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)B * T);
    bt->weights = (float *)xmalloc(sizeof(float) * (size_t)B * T);
}

static inline void batch_free(Batch *bt) {
    free(bt->tokens); free(bt->ranks); free(bt->lengths); free(bt->first_scored); free(bt->scored);
    free(bt->targets);
    free(bt->weights);
}

/* Mark position t of row b as scored: its loss is -log p(token there). */
static inline void batch_score(Batch *bt, int b, int t) {
    int flat = b * bt->T + t;
    bt->scored[bt->n_scored] = flat;
    bt->targets[bt->n_scored] = bt->tokens[flat];
    bt->weights[bt->n_scored] = 1.0f;
    bt->n_scored++;
}

/* Activations kept for the backward pass, all in one buffer. */
typedef struct {
    float *enc_x;     /* (L, B, T, C)  input of encoder block l (x_0 = embeddings) */
    float *enc_ln1;   /* (L, B, T, C) */
    float *enc_ln1_mean, *enc_ln1_rstd; /* (L, B, T) */
    float *enc_qkv;   /* (L, B, T, 3C) queries and keys already rotated by RoPE */
    float *enc_probs; /* (L-1, B, T, H, T) */
    float *enc_atty;  /* (L-1, B, T, C) attention output before the projection */
    float *enc_xmid;  /* (L-1, B, T, C) x + attention */
    float *enc_ln2;   /* (L-1, B, T, C) */
    float *enc_ln2_mean, *enc_ln2_rstd; /* (L-1, B, T) */
    float *enc_fch;   /* (L-1, B, T, 4C) MLP hidden before GELU */
    float *enc_fch_gelu; /* (L-1, B, T, 4C) */
    /* the query stream runs only at the S scored positions (S <= B*T rows) */
    float *dec_z;     /* (L+1, S, C) query-stream states; z_0 = dec_input in every row */
    float *dec_ln1;   /* (L, S, C) */
    float *dec_ln1_mean, *dec_ln1_rstd; /* (L, S) */
    float *dec_q;     /* (L, S, C) rotated queries */
    float *dec_probs; /* (L, S, H, T) */
    float *dec_atty;  /* (L, S, C) */
    float *dec_zmid;  /* (L, S, C) */
    float *dec_ln2;   /* (L, S, C) */
    float *dec_ln2_mean, *dec_ln2_rstd; /* (L, S) */
    float *dec_fch, *dec_fch_gelu; /* (L, S, 4C) */
    float *lnf;       /* (S, C) */
    float *lnf_mean, *lnf_rstd; /* (S) */
    float *logits;    /* (S, V); after backward-mode forward: their gradient */
    float *losses;    /* (S) */
} Activations;

/* Scratch gradients of activations for the backward pass. */
typedef struct {
    float *dx;        /* (B*T or S, C) running residual gradient of a stream */
    float *dln;       /* (B*T or S, C) */
    float *datty;     /* (B*T or S, C) */
    float *dq;        /* (S, C) decoder queries */
    float *dfch;      /* (B*T or S, 4C) */
    float *dfch_gelu; /* (B*T or S, 4C) */
    float *dqkv;      /* (L, B, T, 3C) encoder q/k/v: both streams add into k and v */
} ActivationGrads;

typedef struct {
    ModelConfig config;
    size_t param_sizes[NUM_PARAM_TENSORS];
    int param_decays[NUM_PARAM_TENSORS];
    float *param_ptrs[NUM_PARAM_TENSORS]; /* pointers into params */
    float *grad_ptrs[NUM_PARAM_TENSORS];  /* pointers into grads */
    size_t n_params;
    float *params, *grads;
    float *adam_m, *adam_v; /* AdamW moments, allocated on first update */
    float *ema;             /* running average of params (--ema), allocated on first update */
    float *rope;            /* (max_seq_len, D/2, 2) cos, sin */
    /* activations for batches up to act_B x act_T */
    int act_B, act_T;
    float *act_memory, *grad_act_memory;
    size_t act_floats, grad_act_floats; /* their sizes */
    Activations acts;
    ActivationGrads gacts;
    /* on the GPU (model_to_device): every buffer above is device memory, and */
    int on_device;
    Batch view;                 /* the batch of the last forward, arrays on the device */
    size_t view_capacity;       /* positions (B*T) the view's arrays hold */
    int32_t *host_seq_first;    /* (B+1) staging for view.seq_first */
    int32_t *view_by_token, *view_group_first, *view_group_token; /* view.token_groups' arrays */
    int32_t *host_by_token, *host_group_first, *host_group_token; /* their staging */
    int32_t *host_token_start;  /* (V) counting sort scratch */
    float *host_losses;         /* (B*T) the losses copied back */
    float *host_logits;         /* (S, V) the logits copied back by an inference forward */
    size_t host_logits_size;
} Model;

static inline void model_check_config(const ModelConfig *c, const char *where) {
    if (c->n_layer < 1 || c->n_layer > 64 || c->n_head < 1 || c->n_embd < 2 ||
        c->n_embd % c->n_head != 0 || (c->n_embd / c->n_head) % 2 != 0 || c->vocab_size < 1 ||
        c->max_seq_len < 2 || c->max_seq_len > 65536)
        die("%s: invalid model configuration (layers %d, heads %d, width %d, vocab %d, max length "
            "%d); the width must be a multiple of the heads with an even head size",
            where, c->n_layer, c->n_head, c->n_embd, c->vocab_size, c->max_seq_len);
}

/* Point param_ptrs/grad_ptrs at each tensor's place in params/grads. */
static inline void model_set_tensor_ptrs(Model *m) {
    size_t off = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        m->param_ptrs[i] = m->params + off;
        m->grad_ptrs[i] = m->grads + off;
        off += m->param_sizes[i];
    }
}

/* Allocate parameters and gradients (zeroed); no initialization. */
static inline void model_alloc(Model *m, const ModelConfig *c) {
    memset(m, 0, sizeof *m);
    m->config = *c;
    param_sizes(c, m->param_sizes, m->param_decays);
    m->n_params = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) m->n_params += m->param_sizes[i];
    m->params = (float *)xcalloc(m->n_params, sizeof(float));
    m->grads = (float *)xcalloc(m->n_params, sizeof(float));
    model_set_tensor_ptrs(m);
    int D = c->n_embd / c->n_head;
    m->rope = (float *)xmalloc(sizeof(float) * (size_t)c->max_seq_len * D);
    for (int t = 0; t < c->max_seq_len; t++)
        for (int k = 0; k < D / 2; k++) {
            double angle = t * pow(10000.0, -2.0 * k / D);
            m->rope[(size_t)t * D + 2 * k] = (float)cos(angle);
            m->rope[(size_t)t * D + 2 * k + 1] = (float)sin(angle);
        }
}

/* GPT-2 style initialization: N(0, 0.02) matrices, the projections that
 * write into the residual streams scaled by 1/sqrt(2L), LayerNorm w=1 b=0. */
static inline void model_init_params(Model *m, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    float proj_std = 0.02f / sqrtf(2.0f * m->config.n_layer);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        float *p = m->param_ptrs[i];
        size_t n = m->param_sizes[i];
        int is_ln_weight = i == P_ENC_LN1_W || i == P_ENC_LN2_W || i == P_DEC_LN1_W ||
                           i == P_DEC_LN2_W || i == P_LNF_W;
        int is_residual_proj = i == P_ENC_ATTN_W || i == P_ENC_PROJ_W || i == P_DEC_ATTN_W ||
                               i == P_DEC_PROJ_W;
        for (size_t k = 0; k < n; k++) {
            if (is_ln_weight) p[k] = 1.0f;
            else if (m->param_decays[i] || i == P_DEC_INPUT)
                p[k] = (is_residual_proj ? proj_std : 0.02f) * rng_normal(&rng);
            else p[k] = 0.0f; /* biases */
        }
    }
}

/* (Re)allocate activation memory for batches of up to B x T. */
static inline void model_ensure_activations(Model *m, int B, int T) {
    if (T > m->config.max_seq_len)
        die("sequence length %d exceeds the model's maximum %d", T, m->config.max_seq_len);
    if (B <= m->act_B && T <= m->act_T) return;
    if (B < m->act_B) B = m->act_B;
    if (T < m->act_T) T = m->act_T;
    device_free(m->act_memory, m->on_device);
    device_free(m->grad_act_memory, m->on_device);
    size_t L = m->config.n_layer, C = m->config.n_embd, H = m->config.n_head;
    size_t V = m->config.vocab_size, BT = (size_t)B * T, Lm = L - 1;
    /* one table of sizes, used twice: to size the buffer and to carve it */
    float **ptrs[] = {&m->acts.enc_x, &m->acts.enc_ln1, &m->acts.enc_ln1_mean,
                      &m->acts.enc_ln1_rstd, &m->acts.enc_qkv, &m->acts.enc_probs,
                      &m->acts.enc_atty, &m->acts.enc_xmid, &m->acts.enc_ln2,
                      &m->acts.enc_ln2_mean, &m->acts.enc_ln2_rstd, &m->acts.enc_fch,
                      &m->acts.enc_fch_gelu, &m->acts.dec_z, &m->acts.dec_ln1,
                      &m->acts.dec_ln1_mean, &m->acts.dec_ln1_rstd, &m->acts.dec_q,
                      &m->acts.dec_probs, &m->acts.dec_atty, &m->acts.dec_zmid,
                      &m->acts.dec_ln2, &m->acts.dec_ln2_mean, &m->acts.dec_ln2_rstd,
                      &m->acts.dec_fch, &m->acts.dec_fch_gelu, &m->acts.lnf, &m->acts.lnf_mean,
                      &m->acts.lnf_rstd, &m->acts.logits, &m->acts.losses};
    size_t sizes[] = {L * BT * C, L * BT * C, L * BT, L * BT, L * BT * 3 * C,
                      Lm * BT * H * T, Lm * BT * C, Lm * BT * C, Lm * BT * C, Lm * BT, Lm * BT,
                      Lm * BT * 4 * C, Lm * BT * 4 * C, (L + 1) * BT * C, L * BT * C, L * BT,
                      L * BT, L * BT * C, L * BT * H * T, L * BT * C, L * BT * C, L * BT * C,
                      L * BT, L * BT, L * BT * 4 * C, L * BT * 4 * C, BT * C, BT, BT,
                      BT * V, BT};
    int n = (int)(sizeof sizes / sizeof sizes[0]);
    size_t total = 0;
    for (int i = 0; i < n; i++) total += sizes[i];
    m->act_memory = (float *)device_alloc(sizeof(float) * total, m->on_device);
    m->act_floats = total;
    size_t offset = 0;
    for (int i = 0; i < n; i++) { *ptrs[i] = m->act_memory + offset; offset += sizes[i]; }

    float **gptrs[] = {&m->gacts.dx, &m->gacts.dln, &m->gacts.datty, &m->gacts.dq,
                       &m->gacts.dfch, &m->gacts.dfch_gelu, &m->gacts.dqkv};
    size_t gsizes[] = {BT * C, BT * C, BT * C, BT * C, BT * 4 * C, BT * 4 * C, L * BT * 3 * C};
    int gn = (int)(sizeof gsizes / sizeof gsizes[0]);
    total = 0;
    for (int i = 0; i < gn; i++) total += gsizes[i];
    m->grad_act_memory = (float *)device_alloc(sizeof(float) * total, m->on_device);
    m->grad_act_floats = total;
    offset = 0;
    for (int i = 0; i < gn; i++) { *gptrs[i] = m->grad_act_memory + offset; offset += gsizes[i]; }
    if (m->on_device) {
        free(m->host_losses);
        m->host_losses = (float *)xmalloc(sizeof(float) * BT);
    }
    m->act_B = B;
    m->act_T = T;
}

/* Move a model (parameters, optimizer state, RoPE table) to the GPU when the
 * program runs there (g_device); a no-op on the CPU. After this every layer
 * works on device memory; checkpoint_save copies back what it writes. */
static inline void model_to_device(Model *m) {
    if (g_device != DEVICE_CUDA || m->on_device) return;
    float **host[] = {&m->params, &m->grads, &m->adam_m, &m->adam_v, &m->ema};
    for (int k = 0; k < 5; k++) {
        if (!*host[k]) continue; /* no optimizer state yet */
        float *dev = (float *)device_alloc(sizeof(float) * m->n_params, 1);
        device_upload(dev, *host[k], sizeof(float) * m->n_params);
        free(*host[k]);
        *host[k] = dev;
    }
    size_t rope_size = (size_t)m->config.max_seq_len * (m->config.n_embd / m->config.n_head);
    float *rope = (float *)device_alloc(sizeof(float) * rope_size, 1);
    device_upload(rope, m->rope, sizeof(float) * rope_size);
    free(m->rope);
    m->rope = rope;
    free(m->act_memory); /* activations are reallocated on the device on first use */
    free(m->grad_act_memory);
    m->act_memory = m->grad_act_memory = NULL;
    m->act_B = m->act_T = 0;
    m->on_device = 1;
    model_set_tensor_ptrs(m);
}

/* The batch as the layers see it. On the CPU that is the batch itself; on the
 * GPU, a copy whose arrays were uploaded to device memory, plus seq_first
 * (which rows belong to which sequence, for the attention backward). */
static inline Batch model_batch_view(Model *m, const Batch *bt) {
    Batch v = *bt;
    if (!m->on_device) return v;
    size_t BT = (size_t)bt->B * bt->T;
    if (BT > m->view_capacity) {
        int32_t **arrays[] = {&m->view.tokens, &m->view.ranks, &m->view.scored, &m->view.targets,
                              &m->view_by_token, &m->view_group_token};
        for (int k = 0; k < 6; k++) {
            device_free(*arrays[k], 1);
            *arrays[k] = (int32_t *)device_alloc(sizeof(int32_t) * BT, 1);
        }
        device_free(m->view.weights, 1);
        m->view.weights = (float *)device_alloc(sizeof(float) * BT, 1);
        device_free(m->view.seq_first, 1);
        m->view.seq_first = (int32_t *)device_alloc(sizeof(int32_t) * (BT + 1), 1);
        device_free(m->view_group_first, 1);
        m->view_group_first = (int32_t *)device_alloc(sizeof(int32_t) * (BT + 1), 1);
        free(m->host_seq_first); free(m->host_by_token); free(m->host_group_first); free(m->host_group_token);
        m->host_seq_first = (int32_t *)xmalloc(sizeof(int32_t) * (BT + 1));
        m->host_by_token = (int32_t *)xmalloc(sizeof(int32_t) * BT);
        m->host_group_first = (int32_t *)xmalloc(sizeof(int32_t) * (BT + 1));
        m->host_group_token = (int32_t *)xmalloc(sizeof(int32_t) * BT);
        m->view_capacity = BT;
    }
    if (!m->host_token_start) m->host_token_start = (int32_t *)xmalloc(sizeof(int32_t) * m->config.vocab_size);
    int S = bt->n_scored;
    for (int b = 0, n = 0; b <= bt->B; b++) { /* scored positions come grouped by sequence */
        while (n < S && bt->scored[n] / bt->T < b) n++;
        m->host_seq_first[b] = n;
    }
    device_upload(m->view.tokens, bt->tokens, sizeof(int32_t) * BT);
    device_upload(m->view.ranks, bt->ranks, sizeof(int32_t) * BT);
    device_upload(m->view.scored, bt->scored, sizeof(int32_t) * S);
    device_upload(m->view.targets, bt->targets, sizeof(int32_t) * S);
    device_upload(m->view.weights, bt->weights, sizeof(float) * S);
    device_upload(m->view.seq_first, m->host_seq_first, sizeof(int32_t) * (bt->B + 1));

    /* The positions grouped by token (a counting sort), so that the GPU's
     * embedding backward can give each (token, channel) one thread that adds
     * up that token's positions in order: no two threads write one row. */
    int V = m->config.vocab_size, groups = 0;
    int32_t *start = m->host_token_start;
    memset(start, 0, sizeof(int32_t) * V);
    for (size_t i = 0; i < BT; i++) start[bt->tokens[i]]++; /* counts first */
    for (int tok = 0, offset = 0; tok < V; tok++) {
        int count = start[tok];
        start[tok] = offset; /* then where the token's group starts */
        if (count == 0) continue;
        m->host_group_token[groups] = tok;
        m->host_group_first[groups++] = offset;
        offset += count;
    }
    m->host_group_first[groups] = (int32_t)BT;
    for (size_t i = 0; i < BT; i++) m->host_by_token[start[bt->tokens[i]]++] = (int32_t)i;
    device_upload(m->view_by_token, m->host_by_token, sizeof(int32_t) * BT);
    device_upload(m->view_group_first, m->host_group_first, sizeof(int32_t) * (groups + 1));
    device_upload(m->view_group_token, m->host_group_token, sizeof(int32_t) * groups);
    v.token_groups.groups = groups;
    v.token_groups.by_token = m->view_by_token;
    v.token_groups.group_first = m->view_group_first;
    v.token_groups.group_token = m->view_group_token;
    m->view.token_groups = v.token_groups; /* model_backward reads m->view */

    v.tokens = m->view.tokens;
    v.ranks = m->view.ranks;
    v.scored = m->view.scored;
    v.targets = m->view.targets;
    v.weights = m->view.weights;
    v.seq_first = m->view.seq_first;
    v.lengths = NULL; /* host only; the layers do not read it */
    return v;
}

static inline void model_free(Model *m) {
    int d = m->on_device;
    device_free(m->params, d); device_free(m->grads, d); device_free(m->adam_m, d);
    device_free(m->adam_v, d); device_free(m->ema, d); device_free(m->rope, d);
    device_free(m->act_memory, d); device_free(m->grad_act_memory, d);
    if (d) {
        device_free(m->view.tokens, 1); device_free(m->view.ranks, 1); device_free(m->view.scored, 1);
        device_free(m->view.targets, 1); device_free(m->view.weights, 1); device_free(m->view.seq_first, 1);
        device_free(m->view_by_token, 1); device_free(m->view_group_first, 1); device_free(m->view_group_token, 1);
    }
    free(m->host_seq_first); free(m->host_losses); free(m->host_logits);
    free(m->host_by_token); free(m->host_group_first); free(m->host_group_token); free(m->host_token_start);
    memset(m, 0, sizeof *m);
}

/* The logits (S, V) of the last forward without gradients, in host memory. */
static inline const float *model_logits(const Model *m) { return m->on_device ? m->host_logits : m->acts.logits; }

/* Forward pass. Returns the (weighted) mean cross-entropy over the scored
 * positions (0 if none). With want_grad the logits are replaced by their gradient,
 * ready for model_backward; without it acts.logits (S, V) keeps the logits. */
static inline float model_forward(Model *m, const Batch *bt, int want_grad) {
    const ModelConfig *c = &m->config;
    int B = bt->B, T = bt->T, C = c->n_embd, H = c->n_head, D = C / H, L = c->n_layer;
    int V = c->vocab_size, S = bt->n_scored;
    size_t BT = (size_t)B * T, BTC = BT * C;
    model_ensure_activations(m, B, T);
    Activations *a = &m->acts;
    float **p = m->param_ptrs;
    for (size_t i = 0; i < BT; i++)
        if (bt->tokens[i] < 0 || bt->tokens[i] >= V)
            die("token id %d outside the model's vocabulary of %d", bt->tokens[i], V);
    Batch v = model_batch_view(m, bt);  /* the batch where the layers run */
    Rows all_rows = {(int)BT, NULL, NULL};       /* the encoder: every position */
    Rows scored_rows = {S, v.scored, v.seq_first}; /* the decoder: the scored positions */
    size_t SC = (size_t)S * C;

    /* ---- encoder (content stream) ---- */
    /* x_0 = token embeddings; no absolute positions (RoPE in attention) */
    embedding_forward(a->enc_x, v.tokens, p[P_WTE], (int)BT, C);
    for (int l = 0; l < L; l++) {
        float *x = a->enc_x + l * BTC, *ln1 = a->enc_ln1 + l * BTC;
        float *qkv = a->enc_qkv + l * BTC * 3;
        layernorm_forward(ln1, a->enc_ln1_mean + l * BT, a->enc_ln1_rstd + l * BT, x,
                          p[P_ENC_LN1_W] + l * C, p[P_ENC_LN1_B] + l * C, (int)BT, C);
        matmul_forward(qkv, ln1, p[P_ENC_QKV_W] + (size_t)l * 3 * C * C, p[P_ENC_QKV_B] + l * 3 * C,
                       (int)BT, C, 3 * C);
        rope_rotate(qkv, m->rope, all_rows, T, 3 * C, 0, H, D, 0); /* queries */
        rope_rotate(qkv, m->rope, all_rows, T, 3 * C, C, H, D, 0); /* keys */
        if (l == L - 1) break; /* the last block's keys/values are all the decoder reads */
        AttentionShape sh = {B, T, H, D, 3 * C, 0, 3 * C, C, 2 * C};
        float *atty = a->enc_atty + l * BTC, *xmid = a->enc_xmid + l * BTC;
        float *ln2 = a->enc_ln2 + l * BTC;
        float *fch = a->enc_fch + l * BTC * 4, *fchg = a->enc_fch_gelu + l * BTC * 4;
        float *tmp = a->enc_x + (l + 1) * BTC; /* next block's input, used as scratch first */
        attention_forward(atty, a->enc_probs + l * BT * H * T, qkv, qkv, v.ranks, all_rows, sh, 1);
        matmul_forward(tmp, atty, p[P_ENC_ATTN_W] + (size_t)l * C * C, p[P_ENC_ATTN_B] + l * C,
                       (int)BT, C, C);
        residual_forward(xmid, x, tmp, BTC);
        layernorm_forward(ln2, a->enc_ln2_mean + l * BT, a->enc_ln2_rstd + l * BT, xmid,
                          p[P_ENC_LN2_W] + l * C, p[P_ENC_LN2_B] + l * C, (int)BT, C);
        matmul_forward(fch, ln2, p[P_ENC_FC_W] + (size_t)l * 4 * C * C, p[P_ENC_FC_B] + l * 4 * C,
                       (int)BT, C, 4 * C);
        gelu_forward(fchg, fch, BTC * 4);
        matmul_forward(tmp, fchg, p[P_ENC_PROJ_W] + (size_t)l * 4 * C * C, p[P_ENC_PROJ_B] + l * C,
                       (int)BT, 4 * C, C);
        residual_forward(a->enc_x + (l + 1) * BTC, xmid, tmp, BTC);
    }

    /* ---- decoder (query stream), only at the S scored positions: (S, C) rows ---- */
    if (S == 0) return 0.0f;
    rows_broadcast(a->dec_z, p[P_DEC_INPUT], S, C);
    for (int l = 0; l < L; l++) {
        float *z = a->dec_z + l * SC, *znext = a->dec_z + (l + 1) * SC;
        float *ln1 = a->dec_ln1 + l * SC, *q = a->dec_q + l * SC;
        float *atty = a->dec_atty + l * SC, *zmid = a->dec_zmid + l * SC;
        float *ln2 = a->dec_ln2 + l * SC;
        float *fch = a->dec_fch + l * SC * 4, *fchg = a->dec_fch_gelu + l * SC * 4;
        layernorm_forward(ln1, a->dec_ln1_mean + l * S, a->dec_ln1_rstd + l * S, z,
                          p[P_DEC_LN1_W] + l * C, p[P_DEC_LN1_B] + l * C, S, C);
        matmul_forward(q, ln1, p[P_DEC_Q_W] + (size_t)l * C * C, p[P_DEC_Q_B] + l * C, S, C, C);
        rope_rotate(q, m->rope, scored_rows, T, C, 0, H, D, 0);
        /* queries from the query stream, keys/values from encoder block l */
        AttentionShape sh = {B, T, H, D, C, 0, 3 * C, C, 2 * C};
        attention_forward(atty, a->dec_probs + (size_t)l * S * H * T, q, a->enc_qkv + l * BTC * 3,
                          v.ranks, scored_rows, sh, 0);
        matmul_forward(znext, atty, p[P_DEC_ATTN_W] + (size_t)l * C * C, p[P_DEC_ATTN_B] + l * C,
                       S, C, C);
        residual_forward(zmid, z, znext, SC);
        layernorm_forward(ln2, a->dec_ln2_mean + l * S, a->dec_ln2_rstd + l * S, zmid,
                          p[P_DEC_LN2_W] + l * C, p[P_DEC_LN2_B] + l * C, S, C);
        matmul_forward(fch, ln2, p[P_DEC_FC_W] + (size_t)l * 4 * C * C, p[P_DEC_FC_B] + l * 4 * C,
                       S, C, 4 * C);
        gelu_forward(fchg, fch, SC * 4);
        matmul_forward(znext, fchg, p[P_DEC_PROJ_W] + (size_t)l * 4 * C * C,
                       p[P_DEC_PROJ_B] + l * C, S, 4 * C, C);
        residual_forward(znext, zmid, znext, SC);
    }

    /* ---- output: final LayerNorm, then the tied embedding gives the logits ---- */
    layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, a->dec_z + L * SC, p[P_LNF_W],
                      p[P_LNF_B], S, C);
    matmul_forward(a->logits, a->lnf, p[P_WTE], NULL, S, C, V);
    double total_weight = 0.0;
    for (int s = 0; s < S; s++) total_weight += bt->weights[s];
    crossentropy_forward_backward(a->logits, a->losses, v.targets, v.weights, total_weight, S, V, want_grad);
    const float *losses = a->losses;
    if (m->on_device) { /* copy back what the host reads: the losses, and logits for decoding */
        device_download(m->host_losses, a->losses, sizeof(float) * S);
        losses = m->host_losses;
        if (!want_grad) {
            size_t n = (size_t)S * V;
            if (n > m->host_logits_size) {
                free(m->host_logits);
                m->host_logits = (float *)xmalloc(sizeof(float) * n);
                m->host_logits_size = n;
            }
            device_download(m->host_logits, a->logits, sizeof(float) * n);
        }
    }
    double loss = 0.0;
    for (int s = 0; s < S; s++) loss += (double)bt->weights[s] * losses[s];
    return (float)(loss / total_weight);
}

static inline void model_zero_grad(Model *m) { buffer_zero(m->grads, m->n_params); }

/* Backward pass: adds d(loss)/d(params) into m->grads. Must follow
 * model_forward(m, bt, 1) on the same batch. */
static inline void model_backward(Model *m, const Batch *bt) {
    const ModelConfig *c = &m->config;
    int B = bt->B, T = bt->T, C = c->n_embd, H = c->n_head, D = C / H, L = c->n_layer;
    int V = c->vocab_size, S = bt->n_scored;
    size_t BT = (size_t)B * T, BTC = BT * C;
    Activations *a = &m->acts;
    ActivationGrads *g = &m->gacts;
    float **p = m->param_ptrs, **dp = m->grad_ptrs;
    if (S == 0) return;
    Batch v = m->on_device ? m->view : *bt; /* the batch where the layers run (set by forward) */
    Rows all_rows = {(int)BT, NULL, NULL}, scored_rows = {S, v.scored, v.seq_first};
    size_t SC = (size_t)S * C;

    /* logits = lnf @ wte^T (the logits buffer holds their gradient now) */
    buffer_zero(g->dln, SC);
    matmul_backward(g->dln, dp[P_WTE], NULL, a->logits, a->lnf, p[P_WTE], S, C, V);
    buffer_zero(g->dx, SC);
    layernorm_backward(g->dx, dp[P_LNF_W], dp[P_LNF_B], g->dln, a->dec_z + L * SC, p[P_LNF_W],
                       a->lnf_mean, a->lnf_rstd, S, C);

    /* ---- decoder (S rows), last block first; g->dx holds d(loss)/d(z_{l+1}) ---- */
    buffer_zero(g->dqkv, L * BTC * 3);
    for (int l = L - 1; l >= 0; l--) {
        float *z = a->dec_z + l * SC, *zmid = a->dec_zmid + l * SC;
        float *fch = a->dec_fch + l * SC * 4, *fchg = a->dec_fch_gelu + l * SC * 4;
        /* MLP: z_{l+1} = zmid + proj(gelu(fc(ln2(zmid)))); dx passes through the residual */
        buffer_zero(g->dfch_gelu, SC * 4);
        matmul_backward(g->dfch_gelu, dp[P_DEC_PROJ_W] + (size_t)l * 4 * C * C,
                        dp[P_DEC_PROJ_B] + l * C, g->dx, fchg,
                        p[P_DEC_PROJ_W] + (size_t)l * 4 * C * C, S, 4 * C, C);
        buffer_zero(g->dfch, SC * 4);
        gelu_backward(g->dfch, fch, g->dfch_gelu, SC * 4);
        buffer_zero(g->dln, SC);
        matmul_backward(g->dln, dp[P_DEC_FC_W] + (size_t)l * 4 * C * C, dp[P_DEC_FC_B] + l * 4 * C,
                        g->dfch, a->dec_ln2 + l * SC, p[P_DEC_FC_W] + (size_t)l * 4 * C * C,
                        S, C, 4 * C);
        layernorm_backward(g->dx, dp[P_DEC_LN2_W] + l * C, dp[P_DEC_LN2_B] + l * C, g->dln, zmid,
                           p[P_DEC_LN2_W] + l * C, a->dec_ln2_mean + l * S,
                           a->dec_ln2_rstd + l * S, S, C);
        /* cross-attention: zmid = z + attn_out(attention(q(ln1(z)), k_l, v_l)) */
        buffer_zero(g->datty, SC);
        matmul_backward(g->datty, dp[P_DEC_ATTN_W] + (size_t)l * C * C, dp[P_DEC_ATTN_B] + l * C,
                        g->dx, a->dec_atty + l * SC, p[P_DEC_ATTN_W] + (size_t)l * C * C,
                        S, C, C);
        buffer_zero(g->dq, SC);
        AttentionShape sh = {B, T, H, D, C, 0, 3 * C, C, 2 * C};
        attention_backward(g->dq, g->dqkv + l * BTC * 3, g->datty, a->dec_atty + l * SC,
                           a->dec_probs + (size_t)l * S * H * T, a->dec_q + l * SC,
                           a->enc_qkv + l * BTC * 3, v.ranks, scored_rows, sh, 0);
        rope_rotate(g->dq, m->rope, scored_rows, T, C, 0, H, D, 1); /* undo the rotation */
        buffer_zero(g->dln, SC);
        matmul_backward(g->dln, dp[P_DEC_Q_W] + (size_t)l * C * C, dp[P_DEC_Q_B] + l * C, g->dq,
                        a->dec_ln1 + l * SC, p[P_DEC_Q_W] + (size_t)l * C * C, S, C, C);
        layernorm_backward(g->dx, dp[P_DEC_LN1_W] + l * C, dp[P_DEC_LN1_B] + l * C, g->dln, z,
                           p[P_DEC_LN1_W] + l * C, a->dec_ln1_mean + l * S,
                           a->dec_ln1_rstd + l * S, S, C);
    }
    /* z_0 is dec_input at every scored position */
    rows_sum(dp[P_DEC_INPUT], g->dx, S, C);

    /* ---- encoder, last block first; g->dqkv[l] already holds the decoder's
     *      gradient for keys/values of block l ---- */
    buffer_zero(g->dx, BTC); /* nothing reads the last block's output */
    for (int l = L - 1; l >= 0; l--) {
        float *x = a->enc_x + l * BTC, *qkv = a->enc_qkv + l * BTC * 3, *dqkv = g->dqkv + l * BTC * 3;
        if (l < L - 1) {
            float *xmid = a->enc_xmid + l * BTC;
            float *fch = a->enc_fch + l * BTC * 4, *fchg = a->enc_fch_gelu + l * BTC * 4;
            buffer_zero(g->dfch_gelu, BTC * 4);
            matmul_backward(g->dfch_gelu, dp[P_ENC_PROJ_W] + (size_t)l * 4 * C * C,
                            dp[P_ENC_PROJ_B] + l * C, g->dx, fchg,
                            p[P_ENC_PROJ_W] + (size_t)l * 4 * C * C, (int)BT, 4 * C, C);
            buffer_zero(g->dfch, BTC * 4);
            gelu_backward(g->dfch, fch, g->dfch_gelu, BTC * 4);
            buffer_zero(g->dln, BTC);
            matmul_backward(g->dln, dp[P_ENC_FC_W] + (size_t)l * 4 * C * C,
                            dp[P_ENC_FC_B] + l * 4 * C, g->dfch, a->enc_ln2 + l * BTC,
                            p[P_ENC_FC_W] + (size_t)l * 4 * C * C, (int)BT, C, 4 * C);
            layernorm_backward(g->dx, dp[P_ENC_LN2_W] + l * C, dp[P_ENC_LN2_B] + l * C, g->dln,
                               xmid, p[P_ENC_LN2_W] + l * C, a->enc_ln2_mean + l * BT,
                               a->enc_ln2_rstd + l * BT, (int)BT, C);
            buffer_zero(g->datty, BTC);
            matmul_backward(g->datty, dp[P_ENC_ATTN_W] + (size_t)l * C * C,
                            dp[P_ENC_ATTN_B] + l * C, g->dx, a->enc_atty + l * BTC,
                            p[P_ENC_ATTN_W] + (size_t)l * C * C, (int)BT, C, C);
            AttentionShape sh = {B, T, H, D, 3 * C, 0, 3 * C, C, 2 * C};
            attention_backward(dqkv, dqkv, g->datty, a->enc_atty + l * BTC, a->enc_probs + l * BT * H * T,
                               qkv, qkv, v.ranks, all_rows, sh, 1);
        }
        /* queries and keys were rotated after the projection: rotate their gradients back */
        rope_rotate(dqkv, m->rope, all_rows, T, 3 * C, 0, H, D, 1);
        rope_rotate(dqkv, m->rope, all_rows, T, 3 * C, C, H, D, 1);
        buffer_zero(g->dln, BTC);
        matmul_backward(g->dln, dp[P_ENC_QKV_W] + (size_t)l * 3 * C * C, dp[P_ENC_QKV_B] + l * 3 * C,
                        dqkv, a->enc_ln1 + l * BTC, p[P_ENC_QKV_W] + (size_t)l * 3 * C * C,
                        (int)BT, C, 3 * C);
        layernorm_backward(g->dx, dp[P_ENC_LN1_W] + l * C, dp[P_ENC_LN1_B] + l * C, g->dln, x,
                           p[P_ENC_LN1_W] + l * C, a->enc_ln1_mean + l * BT,
                           a->enc_ln1_rstd + l * BT, (int)BT, C);
    }
    /* x_0 = wte[tokens]: scatter into the embedding rows */
    embedding_backward(dp[P_WTE], v.tokens, v.token_groups, g->dx, (int)BT, C);
}

/* ---- optimizer: AdamW with global-norm clipping ---- */
typedef struct {
    float lr, beta1, beta2, eps, weight_decay, grad_clip;
} AdamWConfig;

/* Scale gradients so their global L2 norm is at most max_norm; returns the norm before. */
static inline float clip_grad_norm(Model *m, float max_norm) {
#ifdef __CUDACC__
    if (m->on_device) {
        float norm = (float)sqrt(sum_squares_gpu(m->grads, m->n_params));
        if (max_norm > 0 && norm > max_norm) scale_gpu(m->grads, max_norm / norm, m->n_params);
        return norm;
    }
#endif
    double sumsq = 0.0;
#pragma omp parallel for reduction(+ : sumsq) schedule(static)
    for (size_t i = 0; i < m->n_params; i++) sumsq += (double)m->grads[i] * m->grads[i];
    float norm = (float)sqrt(sumsq);
    if (max_norm > 0 && norm > max_norm) {
        float scale = max_norm / norm;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < m->n_params; i++) m->grads[i] *= scale;
    }
    return norm;
}

/* One AdamW step (Loshchilov & Hutter): decoupled weight decay on matrices.
 * `step` counts from 1 (bias correction). */
static inline void adamw_update(Model *m, const AdamWConfig *o, int step) {
    if (!m->adam_m) {
        m->adam_m = (float *)device_alloc(sizeof(float) * m->n_params, m->on_device);
        m->adam_v = (float *)device_alloc(sizeof(float) * m->n_params, m->on_device);
    }
    float c1 = 1.0f - powf(o->beta1, (float)step), c2 = 1.0f - powf(o->beta2, (float)step);
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        size_t off = (size_t)(m->param_ptrs[t] - m->params), n = m->param_sizes[t];
        float wd = m->param_decays[t] ? o->weight_decay : 0.0f;
        if (n == 0) continue; /* a tensor a 1-layer model does not have */
#ifdef __CUDACC__
        if (m->on_device) {
            adamw_kernel<<<blocks_for(n, 256), 256>>>(m->params + off, m->grads + off, m->adam_m + off,
                                                       m->adam_v + off, n, o->lr, o->beta1, o->beta2,
                                                       o->eps, wd, c1, c2);
            CHECK_LAUNCH();
            continue;
        }
#endif
#pragma omp parallel for schedule(static)
        for (size_t i = off; i < off + n; i++) {
            float gr = m->grads[i];
            float mm = m->adam_m[i] = o->beta1 * m->adam_m[i] + (1.0f - o->beta1) * gr;
            float vv = m->adam_v[i] = o->beta2 * m->adam_v[i] + (1.0f - o->beta2) * gr * gr;
            float update = (mm / c1) / (sqrtf(vv / c2) + o->eps);
            m->params[i] -= o->lr * (update + wd * m->params[i]);
        }
    }
}

/* Weight averaging (--ema D): after every step, ema = d * ema + (1 - d) * params,
 * an exponential moving average of the weights over roughly the last 1/(1-D)
 * steps (Polyak averaging). A run at a high learning rate swings around a good
 * solution; the average sits nearer its middle. The decay ramps up as
 * d = min(D, (1 + step) / (10 + step)) so the average forgets the random
 * initialization early. Evaluation and best.ckpt use the average. */
static inline void ema_update(Model *m, float max_decay, int step) {
    if (!m->ema) {
        m->ema = (float *)device_alloc(sizeof(float) * m->n_params, m->on_device);
        buffer_zero(m->ema, m->n_params); /* so 0 * ema below reads no garbage */
    }
    /* step counts from 1; the first average (d = 0) is the weights themselves */
    float d = step <= 1 ? 0.0f : fminf(max_decay, (1.0f + step) / (10.0f + step));
#ifdef __CUDACC__
    if (m->on_device) {
        ema_kernel<<<blocks_for(m->n_params, 256), 256>>>(m->ema, m->params, m->n_params, d);
        CHECK_LAUNCH();
        return;
    }
#endif
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < m->n_params; i++) m->ema[i] = d * m->ema[i] + (1.0f - d) * m->params[i];
}

/* Swap the trained weights and their average, so that what follows (an
 * evaluation, 06_eval) runs on the average; swap again to go back. */
static inline void model_swap_ema(Model *m) {
    if (!m->ema) return;
    float *t = m->params;
    m->params = m->ema;
    m->ema = t;
    model_set_tensor_ptrs(m);
}

/* Learning rate at `step` (0-based): linear warmup, then cosine decay to min_frac * lr. */
static inline float lr_schedule(float lr, int step, int warmup, int total, float min_frac) {
    if (step < warmup) return lr * (float)(step + 1) / (float)warmup;
    if (total <= warmup) return lr;
    float progress = (float)(step - warmup) / (float)(total - warmup);
    if (progress > 1.0f) progress = 1.0f;
    float cosine = 0.5f * (1.0f + cosf(3.14159265358979f * progress));
    return lr * (min_frac + (1.0f - min_frac) * cosine);
}

/* ---- checkpoints ----
 *   CheckpointHeader   256 bytes: what the model is, how it was trained, where training is
 *   float params[n_params]
 *   float adam_m[n_params], adam_v[n_params]     (only if has_optimizer)
 *   float ema[n_params]                          (only if has_ema: the --ema average)
 * A checkpoint carries everything 04/05 need to resume bit-identically and
 * everything 06 needs to evaluate: the configuration, the objective (which
 * decides the inference ranks) and the vocabulary it was trained with. */
#define CHECKPOINT_MAGIC 0x31504B43u /* "CKP1" */
#define CHECKPOINT_VERSION 1

enum { OBJ_NONE = 0, OBJ_AR = 1, OBJ_MLM = 2, OBJ_MLMU = 3, OBJ_PLM = 4, NUM_OBJECTIVES };
static const char *const OBJECTIVE_NAMES[NUM_OBJECTIVES] = {"none", "ar", "mlm", "mlm-u", "plm"};

/* Everything that defines a training run; stored in the checkpoint. */
typedef struct {
    int32_t objective;    /* OBJ_* */
    float mlm_rate;       /* fixed masking rate for OBJ_MLM */
    int32_t batch_size;
    int32_t total_steps;
    int32_t warmup_steps;
    float lr, min_lr_frac, weight_decay, grad_clip, beta1, beta2;
    int32_t eval_every;   /* steps between test evaluations (0: never) */
    int32_t elbo_weights; /* MLM: weight masked tokens by the ELBO of Eq. 5 */
    uint64_t seed;
    float valid_fraction; /* train queries held out for choosing the best checkpoint */
    float ema_decay;      /* --ema: decay of the weight average (0: none) */
} TrainConfig;

typedef struct {
    uint32_t magic, version;
    ModelConfig model;
    uint32_t vocab_hash;  /* FNV-1a of the vocab.txt the model was trained with */
    int32_t has_optimizer;
    int32_t step;         /* optimizer steps taken */
    uint64_t n_params;
    TrainConfig train;
    uint64_t rng_state;   /* the training loop's RNG, for bit-identical resume */
    int32_t epoch, epoch_pos; /* position in the shuffled training data */
    float best_valid_em;  /* best mean validation exact match so far (-1: none yet) */
    int32_t best_step;    /* the step best.ckpt holds */
    int32_t has_ema;      /* an average of the weights follows the other tensors */
    uint8_t reserved[108]; /* pads the header to 256 bytes */
} CheckpointHeader;

/* the header is exactly 256 bytes; a compile error here means a field changed */
typedef char checkpoint_header_is_256_bytes[sizeof(CheckpointHeader) == 256 ? 1 : -1];

static inline void checkpoint_save(const char *path, const Model *m, const CheckpointHeader *h_in) {
    CheckpointHeader h = *h_in;
    h.magic = CHECKPOINT_MAGIC;
    h.version = CHECKPOINT_VERSION;
    h.model = m->config;
    h.n_params = m->n_params;
    h.has_optimizer = m->adam_m != NULL;
    h.has_ema = m->ema != NULL;
    memset(h.reserved, 0, sizeof h.reserved);
    FILE *f = output_open(path);
    xfwrite(&h, sizeof h, f, path);
    /* the same bytes from either device: a model on the GPU is copied back first */
    const float *tensors[4] = {m->params, m->adam_m, m->adam_v, m->ema};
    float *staging = m->on_device ? (float *)xmalloc(sizeof(float) * m->n_params) : NULL;
    for (int k = 0; k < 4; k++) {
        const float *data = tensors[k];
        if (!data) continue; /* no optimizer state, or no average */
        if (staging) {
            device_download(staging, tensors[k], sizeof(float) * m->n_params);
            data = staging;
        }
        xfwrite(data, sizeof(float) * m->n_params, f, path);
    }
    free(staging);
    output_commit(f, path);
}

/* Load a checkpoint into a freshly allocated model; header returned in *h. */
static inline void checkpoint_load(const char *path, Model *m, CheckpointHeader *h) {
    FILE *f = xfopen_read(path);
    xfread(h, sizeof *h, f, path);
    if (h->magic != CHECKPOINT_MAGIC)
        die("'%s' is not a checkpoint (magic 0x%08x, expected 0x%08x); make one with 03_model or "
            "04/05", path, h->magic, CHECKPOINT_MAGIC);
    if (h->version != CHECKPOINT_VERSION)
        die("'%s' has checkpoint version %u, this program reads version %u", path, h->version,
            CHECKPOINT_VERSION);
    model_check_config(&h->model, path);
    if (h->train.objective < 0 || h->train.objective >= NUM_OBJECTIVES)
        die("'%s': unknown objective %d", path, h->train.objective);
    model_alloc(m, &h->model);
    if (h->n_params != m->n_params)
        die("'%s' holds %llu parameters but its configuration needs %zu", path,
            (unsigned long long)h->n_params, m->n_params);
    xfread(m->params, sizeof(float) * m->n_params, f, path);
    if (h->has_optimizer) {
        m->adam_m = (float *)xmalloc(sizeof(float) * m->n_params);
        m->adam_v = (float *)xmalloc(sizeof(float) * m->n_params);
        xfread(m->adam_m, sizeof(float) * m->n_params, f, path);
        xfread(m->adam_v, sizeof(float) * m->n_params, f, path);
    }
    if (h->has_ema) {
        m->ema = (float *)xmalloc(sizeof(float) * m->n_params);
        xfread(m->ema, sizeof(float) * m->n_params, f, path);
    }
    char extra;
    if (fread(&extra, 1, 1, f) == 1) die("'%s' has trailing bytes after its last tensor", path);
    fclose(f);
}

/* The data a model is used on must use the vocabulary it was built for. */
static inline void check_vocab_matches(const CheckpointHeader *h, const TokenData *d, const char *ckpt,
                                const char *data) {
    if ((uint32_t)h->model.vocab_size != d->header.vocab_size || h->vocab_hash != d->header.vocab_hash)
        die("'%s' was built for a vocabulary of %d tokens (hash %08x) but '%s' uses one of %u "
            "tokens (hash %08x); tokenize the data and build the model from the same vocab.txt",
            ckpt, h->model.vocab_size, h->vocab_hash, data, d->header.vocab_size,
            d->header.vocab_hash);
}

/* ------------------------------------------------------------------------ */
/* 4. batches from token files, and greedy left-to-right decoding            */
/* ------------------------------------------------------------------------ */

/* Copy examples[ids[0..n)] into the batch, padded to the longest; ranks and
 * scored positions are left for the objective's rank sampler. */
static inline void batch_fill(Batch *bt, const TokenData *d, const int *ids, int n) {
    int T = 0;
    for (int b = 0; b < n; b++)
        if (d->examples[ids[b]].length > T) T = d->examples[ids[b]].length;
    if (n > bt->capacity_B || T > bt->capacity_T) die("batch of %d x %d exceeds its capacity", n, T);
    bt->B = n;
    bt->T = T;
    bt->n_scored = 0;
    for (int b = 0; b < n; b++) {
        const ExampleRecord *e = &d->examples[ids[b]];
        bt->lengths[b] = e->length;
        bt->first_scored[b] = e->kind == KIND_PROBLEM ? e->answer_start : 1;
        for (int t = 0; t < T; t++) {
            bt->tokens[b * T + t] = t < e->length ? d->tokens[e->offset + t] : TOK_PAD;
            bt->ranks[b * T + t] = RANK_NEVER;
        }
    }
}

/* Does an objective decode with AR ranks (rank = position) or with MLM ranks
 * (everything known has rank 0, the position to predict rank 1)? DESIGN.md's
 * table: AR and PLM models are left-to-right factorizations; MLM models were
 * trained to fill masked positions from everything visible. */
static inline int objective_decodes_with_ar_ranks(int objective) {
    return objective == OBJ_AR || objective == OBJ_PLM || objective == OBJ_NONE;
}

/* Results of decoding a set of queries, split by direction. */
typedef struct {
    int n[3];              /* queries per direction (index DIR_*) */
    int exact[3];          /* whole answer, EOS included, right */
    long tokens[3];        /* answer tokens (EOS included) */
    long tokens_right[3];  /* of which the greedy output has the gold token */
    int alt_n[3];          /* queries with an alt answer (common.h: the relationship task) */
    int alt_exact[3];      /* of which the greedy output is the alt answer: "incorrect inference" */
} DecodeStats;

/* Score one decoded query: `gen` holds its answer tokens (answer_len of
 * them; the answer ends at its first EOS). Adds it to the stats by direction
 * and, if `out` is not NULL, copies the answer there, terminated by -1. */
static inline void decode_score_query(DecodeStats *st, const TokenData *d, const ExampleRecord *e,
                                      const int32_t *gen, int32_t *out, int max_len) {
    int answer_len = e->length - e->answer_start, dir = e->direction;
    int gen_len = 0; /* up to the first EOS (inclusive) or the gold length */
    while (gen_len < answer_len) {
        gen_len++;
        if (gen[gen_len - 1] == TOK_EOS) break;
    }
    int all_right = gen_len == answer_len;
    for (int t = 0; t < answer_len; t++) {
        int gold = d->tokens[e->offset + e->answer_start + t];
        int right = t < gen_len && gen[t] == gold;
        st->tokens_right[dir] += right;
        all_right &= right;
    }
    st->n[dir]++;
    st->tokens[dir] += answer_len;
    st->exact[dir] += all_right;
    if (e->alt_length > 0) { /* the output up to its EOS is the alt answer */
        const int32_t *alt = d->tokens + e->alt_offset;
        int is_alt = gen_len == e->alt_length + 1 && gen[e->alt_length] == TOK_EOS;
        for (int t = 0; is_alt && t < e->alt_length; t++) is_alt = gen[t] == alt[t];
        st->alt_n[dir]++;
        st->alt_exact[dir] += is_alt;
    }
    if (out) {
        for (int t = 0; t < gen_len; t++) out[t] = gen[t];
        if (gen_len < max_len) out[gen_len] = -1;
    }
}

/* Greedy left-to-right decoding (DESIGN.md section 2). For each query: the
 * prompt is context; to predict answer position t the model sees the prompt
 * and the t tokens generated so far, and position t is the one query. It
 * stops at EOS or after the gold answer's length (a longer output could not
 * match anyway). Queries are decoded batch_size at a time.
 * If `outputs` is not NULL, the generated tokens of query k go to
 * outputs[k * max_len ...], terminated by -1. */
static inline DecodeStats decode_queries(Model *m, int objective, const TokenData *d, const int *query_ids,
                                  int n_queries, int batch_size, int32_t *outputs) {
    DecodeStats st;
    memset(&st, 0, sizeof st);
    int max_len = (int)d->header.max_len;
    Batch bt;
    batch_init(&bt, batch_size, max_len);
    int32_t *generated = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)batch_size * max_len);
    int *done = (int *)xmalloc(sizeof(int) * batch_size);
    int ar_ranks = objective_decodes_with_ar_ranks(objective);
    for (int start = 0; start < n_queries; start += batch_size) {
        int n = n_queries - start < batch_size ? n_queries - start : batch_size;
        int max_answer = 0;
        for (int b = 0; b < n; b++) {
            const ExampleRecord *e = &d->examples[query_ids[start + b]];
            int answer_len = e->length - e->answer_start;
            if (answer_len > max_answer) max_answer = answer_len;
            done[b] = 0;
            for (int t = 0; t < max_len; t++) generated[b * max_len + t] = -1;
        }
        for (int step = 0; step < max_answer; step++) {
            /* sequence b: prompt + generated[0..step), then the query position.
             * T covers the rows still decoding: a finished row (done) is all
             * padding, and its prompt + step could run past max_len when
             * another row's answer is longer. */
            int T = 1;
            for (int b = 0; b < n; b++) {
                const ExampleRecord *e = &d->examples[query_ids[start + b]];
                if (!done[b] && e->answer_start + step + 1 > T) T = e->answer_start + step + 1;
            }
            bt.B = n;
            bt.T = T;
            bt.n_scored = 0;
            for (int b = 0; b < n; b++) {
                const ExampleRecord *e = &d->examples[query_ids[start + b]];
                int query_pos = e->answer_start + step;
                for (int t = 0; t < T; t++) {
                    int32_t tok = TOK_PAD, rank = RANK_NEVER;
                    if (done[b]) { /* finished: an all-padding row */
                        bt.tokens[b * T + t] = TOK_PAD;
                        bt.ranks[b * T + t] = RANK_NEVER;
                        continue;
                    }
                    if (t < e->answer_start) tok = d->tokens[e->offset + t];
                    else if (t < query_pos) tok = generated[b * max_len + t - e->answer_start];
                    if (t < query_pos) rank = ar_ranks ? t : 0;
                    else if (t == query_pos) rank = ar_ranks ? t : 1;
                    bt.tokens[b * T + t] = tok;
                    bt.ranks[b * T + t] = rank;
                }
                bt.lengths[b] = done[b] ? 0 : query_pos + 1;
                if (query_pos >= m->config.max_seq_len) done[b] = 1;
                if (!done[b]) batch_score(&bt, b, query_pos); /* target unused: PAD */
            }
            if (bt.n_scored == 0) break;
            model_forward(m, &bt, 0);
            for (int s = 0; s < bt.n_scored; s++) {
                int b = bt.scored[s] / T;
                const float *z = model_logits(m) + (size_t)s * m->config.vocab_size;
                int best = 0;
                for (int v = 1; v < m->config.vocab_size; v++) if (z[v] > z[best]) best = v;
                generated[b * max_len + step] = best;
                /* stop at EOS, or at the gold length: a longer answer cannot match */
                const ExampleRecord *e = &d->examples[query_ids[start + b]];
                if (best == TOK_EOS || step + 1 >= e->length - e->answer_start) done[b] = 1;
            }
        }
        for (int b = 0; b < n; b++)
            decode_score_query(&st, d, &d->examples[query_ids[start + b]], generated + b * max_len,
                               outputs ? outputs + (size_t)(start + b) * max_len : NULL, max_len);
    }
    batch_free(&bt);
    free(generated);
    free(done);
    return st;
}

/* Decoding in the order the model is surest of (an option of 06_eval, not
 * the paper's protocol: the paper decodes every model left to right).
 *
 * A model trained on every factorization (MLM-U, PLM) can fill an answer in
 * any order, not only left to right. Here the answer is a canvas of the gold
 * answer's length (the one thing this decoder is told about the answer, as a
 * masked-diffusion sampler is told its sequence length). Every step scores
 * all the unfilled positions at once, each from the prompt and the filled
 * ones, and fills the single position whose most likely token has the
 * highest probability; answer_len steps fill the canvas. The answer then ends
 * at its first EOS and is scored as left-to-right answers are.
 *
 * Ranks: MLM models see the known tokens at rank 0 and every unfilled
 * position at rank 1 (an unfilled position sees no other unfilled one, as a
 * masked position sees no other masked one in training). PLM models see the
 * prompt at ranks 0..a-1 (a = answer_start), the filled answer positions at
 * ranks a, a+1, ... in the order they were filled, and every unfilled
 * position at the next rank: the situation of a random permutation whose
 * first a + filled entries are exactly those. AR models were trained on one
 * order only; the caller refuses them. */
static inline DecodeStats decode_queries_by_confidence(Model *m, int objective, const TokenData *d,
                                                       const int *query_ids, int n_queries, int batch_size,
                                                       int32_t *outputs) {
    DecodeStats st;
    memset(&st, 0, sizeof st);
    int max_len = (int)d->header.max_len;
    Batch bt;
    batch_init(&bt, batch_size, max_len);
    int32_t *canvas = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)batch_size * max_len);  /* -1: unfilled */
    int32_t *fill_rank = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)batch_size * max_len); /* PLM ranks */
    float *best_prob = (float *)xmalloc(sizeof(float) * batch_size);
    int *best_pos = (int *)xmalloc(sizeof(int) * batch_size), *best_tok = (int *)xmalloc(sizeof(int) * batch_size);
    int ar_ranks = objective_decodes_with_ar_ranks(objective);
    for (int start = 0; start < n_queries; start += batch_size) {
        int n = n_queries - start < batch_size ? n_queries - start : batch_size;
        int T = 1, max_answer = 0;
        for (int b = 0; b < n; b++) {
            const ExampleRecord *e = &d->examples[query_ids[start + b]];
            if (e->length > T) T = e->length;
            if (e->length - e->answer_start > max_answer) max_answer = e->length - e->answer_start;
            for (int t = 0; t < max_len; t++) canvas[b * max_len + t] = -1;
        }
        for (int step = 0; step < max_answer; step++) {
            bt.B = n;
            bt.T = T;
            bt.n_scored = 0;
            for (int b = 0; b < n; b++) {
                const ExampleRecord *e = &d->examples[query_ids[start + b]];
                int a = e->answer_start, filling = step < e->length - a; /* step positions filled so far */
                for (int t = 0; t < T; t++) {
                    int32_t tok = TOK_PAD, rank = RANK_NEVER; /* a filled-in row is all padding */
                    if (filling && t < a) { tok = d->tokens[e->offset + t]; rank = ar_ranks ? t : 0; }
                    else if (filling && t < e->length && canvas[b * max_len + t - a] >= 0) {
                        tok = canvas[b * max_len + t - a];
                        rank = ar_ranks ? a + fill_rank[b * max_len + t - a] : 0;
                    } else if (filling && t < e->length) rank = ar_ranks ? a + step : 1; /* unfilled: a query */
                    bt.tokens[b * T + t] = tok;
                    bt.ranks[b * T + t] = rank;
                }
                bt.lengths[b] = filling ? e->length : 0;
                best_prob[b] = -1.0f;
                if (filling) /* score every unfilled position */
                    for (int t = a; t < e->length; t++)
                        if (canvas[b * max_len + t - a] < 0) batch_score(&bt, b, t); /* target unused: PAD */
            }
            if (bt.n_scored == 0) break;
            model_forward(m, &bt, 0);
            for (int s = 0; s < bt.n_scored; s++) {
                int b = bt.scored[s] / T, t = bt.scored[s] % T;
                const float *z = model_logits(m) + (size_t)s * m->config.vocab_size;
                int top = 0;
                for (int v = 1; v < m->config.vocab_size; v++) if (z[v] > z[top]) top = v;
                double sum = 0.0; /* the top token's probability: 1 / sum_v exp(z_v - z_top) */
                for (int v = 0; v < m->config.vocab_size; v++) sum += exp((double)z[v] - z[top]);
                float prob = (float)(1.0 / sum);
                if (prob > best_prob[b]) { best_prob[b] = prob; best_pos[b] = t; best_tok[b] = top; }
            }
            for (int b = 0; b < n; b++) {
                if (best_prob[b] < 0.0f) continue;
                int a = d->examples[query_ids[start + b]].answer_start;
                canvas[b * max_len + best_pos[b] - a] = best_tok[b];
                fill_rank[b * max_len + best_pos[b] - a] = step;
            }
        }
        for (int b = 0; b < n; b++)
            decode_score_query(&st, d, &d->examples[query_ids[start + b]], canvas + b * max_len,
                               outputs ? outputs + (size_t)(start + b) * max_len : NULL, max_len);
    }
    batch_free(&bt);
    free(canvas);
    free(fill_rank);
    free(best_prob);
    free(best_pos);
    free(best_tok);
    return st;
}

/* The ids of the queries (and problems) in a token file (optionally at most `limit`, spread evenly). */
static inline int collect_queries(const TokenData *d, int *ids, int limit) {
    int n = 0;
    for (uint32_t i = 0; i < d->header.n_examples; i++)
        if (d->examples[i].kind != KIND_STATEMENT) ids[n++] = (int)i;
    if (limit > 0 && n > limit) {
        for (int k = 0; k < limit; k++) ids[k] = ids[(long)k * n / limit];
        n = limit;
    }
    return n;
}

static inline double percent(int a, int b) { return b ? 100.0 * a / b : 0.0; }

/* ------------------------------------------------------------------------ */
/* 5. the training driver shared by 04_train_ar and 05_train_mlmu            */
/* ------------------------------------------------------------------------ */
/* The two trainers differ in one function: the rank sampler that turns a
 * batch of sequences into (ranks, scored positions), i.e. the factorization
 * of the joint distribution the objective trains. Everything else, data
 * order, optimizer, logging, checkpoints, evaluation, is this loop. */

typedef void (*RankSampler)(Batch *bt, Rng *rng, const TrainConfig *tc);
/* A trainer names its sampler per objective (05 has three), so a resumed run
 * gets the sampler of the objective stored in its checkpoint. */
typedef RankSampler (*SamplerForObjective)(int objective);

typedef struct {
    const char *data_dir;    /* holds train.bin and test.bin */
    const char *out_dir;     /* model.ckpt and log.csv go here */
    const char *init_path;   /* start from this 03_model checkpoint */
    const char *resume_path; /* continue this training checkpoint */
    int stop_at;             /* stop after this many steps (0: run to the end) */
    int eval_limit;          /* test queries per evaluation (0: all) */
    int quiet;
    const char *device;      /* cpu, cuda or auto */
    int matmul;              /* the GPU's matrix products: MATMUL_FP32, _TF32 or _BF16 */
    int attention;           /* the GPU's attention kernels: ATTENTION_PLAIN or _FUSED */
    const char *setting_flag; /* last flag given that sets the model or the run */
    ModelConfig model;       /* used when neither init nor resume is given */
    TrainConfig train;
} TrainOptions;

static inline void train_options_defaults(TrainOptions *o, int objective) {
    memset(o, 0, sizeof *o);
    o->data_dir = "data/retrieval";
    o->out_dir = NULL;
    o->device = "auto";
    o->model.n_layer = 4;
    o->model.n_head = 4;
    o->model.n_embd = 128;
    o->train.objective = objective;
    o->train.mlm_rate = 0.15f;
    o->train.batch_size = 64;
    o->train.total_steps = 2000;
    o->train.warmup_steps = 100;
    o->train.lr = 1e-3f;
    o->train.min_lr_frac = 0.1f;
    o->train.weight_decay = 0.1f;
    o->train.grad_clip = 1.0f;
    o->train.beta1 = 0.9f;
    o->train.beta2 = 0.98f;
    o->train.eval_every = 200;
    o->train.seed = 1;
}

static inline void train_options_help(void) {
    printf(
        "  --data DIR        tokenized data: DIR/train.bin, DIR/test.bin (default data/retrieval)\n"
        "  --out DIR         run directory for model.ckpt and log.csv (required)\n"
        "  --init FILE       start from a 03_model checkpoint (else build from the flags below)\n"
        "  --resume FILE     continue a training checkpoint; its stored settings are used\n"
        "  --layers N --heads N --embd N   model size when building (default 4, 4, 128)\n"
        "  --steps N         optimizer steps in all (default 2000)\n"
        "  --batch N         sequences per step (default 64)\n"
        "  --lr X            peak learning rate (default 1e-3); --warmup N steps (default 100)\n"
        "  --min-lr-frac X   cosine decays to X * lr (default 0.1)\n"
        "  --wd X            AdamW weight decay on matrices (default 0.1); --clip X (default 1)\n"
        "  --eval-every N    evaluate test queries and checkpoint every N steps (default 200)\n"
        "  --eval-limit N    test queries per evaluation, 0 = all (default 0)\n"
        "  --seed N          seed for initialization, data order and masks (default 1)\n"
        "  --valid-fraction F  hold out the training queries of this fraction of the\n"
        "                    facts as a validation set (not trained on); each evaluation\n"
        "                    scores them and best.ckpt keeps the model with the best mean\n"
        "                    validation exact match (default 0: no validation, no best.ckpt)\n"
        "  --ema D           keep an average of the weights, ema = D * ema + (1 - D) * w\n"
        "                    after every step (e.g. 0.999: about the last 1000 steps);\n"
        "                    evaluations, best.ckpt and 06_eval use it (default 0: off)\n"
        "  --stop-at N       stop after step N (resume later with --resume)\n"
        "  --quiet           no progress lines\n"
        "  --device D        cpu, cuda or auto (default auto: the GPU if this is the CUDA\n"
        "                    build, build/cuda/, and the machine has one)\n"
        "  --matmul P        the GPU's matrix products: fp32 (default), tf32 or bf16 (the\n"
        "                    tensor cores round the operands to 10 or 7 mantissa bits;\n"
        "                    faster, about 1e-3 or 1e-2 relative error); --tf32 = --matmul tf32\n"
        "  --attention A     the GPU's attention kernels: plain (default) or fused (flash-\n"
        "                    attention style: the probabilities recomputed, not stored)\n"
        "Threads: OMP_NUM_THREADS (results are bit-identical for the same thread count).\n");
}

/* Parse one shared training flag at argv[*i]; returns 0 if it is not one. */
static inline int train_options_parse(TrainOptions *o, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    /* flags that set the model or the run: a resumed run takes them from its checkpoint */
    static const char *const setting_flags[] = {"--layers", "--heads", "--embd", "--steps", "--batch",
        "--lr", "--warmup", "--min-lr-frac", "--wd", "--clip", "--eval-every", "--seed",
        "--valid-fraction", "--ema"};
    for (size_t k = 0; k < sizeof setting_flags / sizeof setting_flags[0]; k++)
        if (!strcmp(a, setting_flags[k])) o->setting_flag = setting_flags[k];
    if (!strcmp(a, "--data")) o->data_dir = flag_value(argc, argv, i);
    else if (!strcmp(a, "--out")) o->out_dir = flag_value(argc, argv, i);
    else if (!strcmp(a, "--init")) o->init_path = flag_value(argc, argv, i);
    else if (!strcmp(a, "--resume")) o->resume_path = flag_value(argc, argv, i);
    else if (!strcmp(a, "--layers")) o->model.n_layer = (int)parse_long(a, flag_value(argc, argv, i), 1, 64);
    else if (!strcmp(a, "--heads")) o->model.n_head = (int)parse_long(a, flag_value(argc, argv, i), 1, 256);
    else if (!strcmp(a, "--embd")) o->model.n_embd = (int)parse_long(a, flag_value(argc, argv, i), 2, 16384);
    else if (!strcmp(a, "--steps")) o->train.total_steps = (int)parse_long(a, flag_value(argc, argv, i), 1, 100000000);
    else if (!strcmp(a, "--batch")) o->train.batch_size = (int)parse_long(a, flag_value(argc, argv, i), 1, 1000000);
    else if (!strcmp(a, "--lr")) o->train.lr = (float)parse_double(a, flag_value(argc, argv, i), 0, 10);
    else if (!strcmp(a, "--warmup")) o->train.warmup_steps = (int)parse_long(a, flag_value(argc, argv, i), 0, 100000000);
    else if (!strcmp(a, "--min-lr-frac")) o->train.min_lr_frac = (float)parse_double(a, flag_value(argc, argv, i), 0, 1);
    else if (!strcmp(a, "--wd")) o->train.weight_decay = (float)parse_double(a, flag_value(argc, argv, i), 0, 10);
    else if (!strcmp(a, "--clip")) o->train.grad_clip = (float)parse_double(a, flag_value(argc, argv, i), 0, 1e9);
    else if (!strcmp(a, "--eval-every")) o->train.eval_every = (int)parse_long(a, flag_value(argc, argv, i), 0, 100000000);
    else if (!strcmp(a, "--eval-limit")) o->eval_limit = (int)parse_long(a, flag_value(argc, argv, i), 0, 100000000);
    else if (!strcmp(a, "--seed")) o->train.seed = (uint64_t)parse_long(a, flag_value(argc, argv, i), 0, LONG_MAX);
    else if (!strcmp(a, "--valid-fraction")) o->train.valid_fraction = (float)parse_double(a, flag_value(argc, argv, i), 0, 0.9);
    else if (!strcmp(a, "--ema")) o->train.ema_decay = (float)parse_double(a, flag_value(argc, argv, i), 0, 0.99999);
    else if (!strcmp(a, "--stop-at")) o->stop_at = (int)parse_long(a, flag_value(argc, argv, i), 1, 100000000);
    else if (!strcmp(a, "--quiet")) o->quiet = 1;
    else if (!strcmp(a, "--device")) o->device = flag_value(argc, argv, i);
    else if (!strcmp(a, "--tf32")) o->matmul = MATMUL_TF32;
    else if (!strcmp(a, "--matmul")) o->matmul = parse_matmul(flag_value(argc, argv, i));
    else if (!strcmp(a, "--attention")) o->attention = parse_attention(flag_value(argc, argv, i));
    else return 0;
    return 1;
}

/* The order of the training examples in an epoch: a pure function of
 * (seed, epoch), so a resumed run sees the same order. */
static inline void epoch_order(int *order, int n_train, uint64_t seed, int32_t epoch) {
    Rng r;
    rng_seed(&r, seed * 1000003u + (uint64_t)epoch);
    for (int i = 0; i < n_train; i++) order[i] = i;
    rng_shuffle(&r, order, n_train);
}

/* Which examples make up the next batch: the next ones in the epoch's order
 * of the n_train trainable examples train_ids[0..n_train). */
static inline void next_batch_ids(int *ids, int B, const int *train_ids, int n_train, uint64_t seed,
                                  int32_t *epoch, int32_t *epoch_pos, int *order) {
    for (int b = 0; b < B; b++) {
        if (*epoch_pos == 0 || *epoch_pos >= n_train) {
            if (*epoch_pos >= n_train) { (*epoch)++; *epoch_pos = 0; }
            epoch_order(order, n_train, seed, *epoch);
        }
        ids[b] = train_ids[order[(*epoch_pos)++]];
    }
}

/* Validation (--valid-fraction): the training queries of a random fraction of
 * the facts are held out, both directions of a fact together, the way the
 * test queries are. Which facts: a pure function of (pair, seed). Their
 * reversed copies (01_data --reverse: statements that keep the query's
 * direction) are not trained on either, or the model would have seen the
 * validation answers. */
static inline int pair_is_held_out(int pair, uint64_t seed, float fraction) {
    Rng r;
    rng_seed(&r, seed * 1000003u + (uint64_t)pair + 0x7a11dull);
    return rng_uniform(&r) < fraction;
}

/* log.csv keeps rows up to `step`: on resume, rows a killed run wrote after
 * its last checkpoint are dropped so the log matches the model. */
static FILE *open_log(const char *path, int resume_step) {
    const char *header = "step,loss,lr,grad_norm,tokens_per_s,elapsed_s,test_fwd_em,test_bwd_em,"
                         "test_fwd_tok,test_bwd_tok,train_fwd_em,train_bwd_em,valid_fwd_em,valid_bwd_em\n";
    char line[4096];
    char *kept = NULL;
    size_t kept_len = 0;
    FILE *old = resume_step > 0 ? fopen(path, "r") : NULL;
    if (old) {
        kept = (char *)xmalloc(1);
        kept[0] = 0;
        while (fgets(line, sizeof line, old)) {
            if (line[0] < '0' || line[0] > '9') continue; /* header */
            if (atol(line) > resume_step) continue;
            size_t n = strlen(line);
            kept = (char *)realloc(kept, kept_len + n + 1);
            if (!kept) die("out of memory reading '%s'", path);
            memcpy(kept + kept_len, line, n + 1);
            kept_len += n;
        }
        fclose(old);
    }
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write '%s': %s", path, strerror(errno));
    fputs(header, f);
    if (kept) { fputs(kept, f); free(kept); }
    fflush(f);
    return f;
}

static inline void run_training(TrainOptions *o, SamplerForObjective sampler_for) {
    if (!o->out_dir) die("--out DIR is required (where model.ckpt and log.csv go)");
    char train_path[1024], test_path[1024], ckpt_path[1024], best_path[1024], log_path[1024];
    snprintf(train_path, sizeof train_path, "%s/train.bin", o->data_dir);
    snprintf(test_path, sizeof test_path, "%s/test.bin", o->data_dir);
    snprintf(ckpt_path, sizeof ckpt_path, "%s/model.ckpt", o->out_dir);
    snprintf(best_path, sizeof best_path, "%s/best.ckpt", o->out_dir);
    snprintf(log_path, sizeof log_path, "%s/log.csv", o->out_dir);
    device_select(o->device, o->matmul);
    g_attention = o->attention;
    TokenData train, test;
    token_data_load(&train, train_path);
    token_data_load(&test, test_path);
    if (train.header.vocab_hash != test.header.vocab_hash)
        die("'%s' and '%s' were tokenized with different vocabularies", train_path, test_path);

    /* ---- the model: resumed, from 03_model's init checkpoint, or built here ---- */
    Model model;
    CheckpointHeader h;
    memset(&h, 0, sizeof h);
    int objective = o->train.objective;
    if (o->resume_path) {
        if (o->setting_flag)
            die("%s cannot be combined with --resume: a resumed run keeps the settings stored in "
                "'%s' (only --stop-at, --eval-limit, --data, --out and --quiet apply)",
                o->setting_flag, o->resume_path);
        checkpoint_load(o->resume_path, &model, &h);
        if ((h.train.objective == OBJ_AR) != (objective == OBJ_AR) || h.train.objective == OBJ_NONE)
            die("'%s' was trained with objective %s; resume it with its own trainer", o->resume_path,
                OBJECTIVE_NAMES[h.train.objective]);
        o->train = h.train; /* the run's settings come from the checkpoint */
        objective = h.train.objective;
        check_vocab_matches(&h, &train, o->resume_path, train_path);
    } else {
        if (o->init_path) {
            checkpoint_load(o->init_path, &model, &h);
            if (h.step != 0 || h.has_optimizer)
                die("'%s' is a training checkpoint; use --resume to continue it", o->init_path);
        } else {
            ModelConfig c = o->model;
            c.vocab_size = (int32_t)train.header.vocab_size;
            c.max_seq_len = (int32_t)(train.header.max_len > test.header.max_len ? train.header.max_len
                                                                                  : test.header.max_len);
            model_check_config(&c, "model flags");
            model_alloc(&model, &c);
            model_init_params(&model, o->train.seed);
            h.vocab_hash = train.header.vocab_hash;
            h.model = c;
        }
        check_vocab_matches(&h, &train, o->init_path ? o->init_path : "the new model", train_path);
        h.train = o->train;
        h.step = 0;
        Rng r;
        rng_seed(&r, o->train.seed ^ 0x5eedf00dull);
        h.rng_state = r.state;
        h.epoch = 0;
        h.epoch_pos = 0;
        h.best_valid_em = -1.0f;
        h.best_step = 0;
    }
    RankSampler sample_ranks = sampler_for(objective);
    model_to_device(&model); /* a no-op on the CPU */
    if ((uint32_t)model.config.max_seq_len < train.header.max_len ||
        (uint32_t)model.config.max_seq_len < test.header.max_len)
        die("the model handles sequences up to %d tokens but the data has %u", model.config.max_seq_len,
            train.header.max_len);
    TrainConfig *tc = &o->train;
    int end_step = tc->total_steps;
    if (o->stop_at > 0 && o->stop_at < end_step) end_step = o->stop_at;
    make_dirs(o->out_dir);
    if (!o->resume_path) remove(best_path); /* a new run: a best.ckpt left here is another run's */

    /* the trainable examples, and the held-out validation queries */
    int *train_ids = (int *)xmalloc(sizeof(int) * (train.header.n_examples + 1));
    int *valid_queries = (int *)xmalloc(sizeof(int) * (train.header.n_examples + 1));
    int n_train = 0, n_valid_queries = 0;
    for (int i = 0; i < (int)train.header.n_examples; i++) {
        const ExampleRecord *e = &train.examples[i];
        int held_out = e->direction != DIR_NONE && pair_is_held_out(e->pair, tc->seed, tc->valid_fraction);
        if (held_out && e->kind != KIND_STATEMENT)
            valid_queries[n_valid_queries++] = i;
        else if (!held_out)
            train_ids[n_train++] = i;   /* (a held-out query's reversed copy is neither) */
    }
    if (n_train == 0) die("'%s': no training examples left after holding out validation queries", train_path);
    if (o->eval_limit > 0 && n_valid_queries > o->eval_limit) n_valid_queries = o->eval_limit;
    int *order = (int *)xmalloc(sizeof(int) * n_train);
    int *ids = (int *)xmalloc(sizeof(int) * tc->batch_size);
    int *test_queries = (int *)xmalloc(sizeof(int) * (test.header.n_examples + 1));
    int n_test_queries = collect_queries(&test, test_queries, o->eval_limit);
    /* a sample of the training queries: are they answered from memory only? */
    int *train_queries = (int *)xmalloc(sizeof(int) * (train.header.n_examples + 1));
    int n_train_queries = 0;
    for (int k = 0; k < n_train; k++)
        if (train.examples[train_ids[k]].kind != KIND_STATEMENT) train_queries[n_train_queries++] = train_ids[k];
    if (n_train_queries > 256) { /* 256 of them, spread evenly */
        for (int k = 0; k < 256; k++) train_queries[k] = train_queries[(long)k * n_train_queries / 256];
        n_train_queries = 256;
    }
    Batch bt;
    batch_init(&bt, tc->batch_size, (int)train.header.max_len);
    Rng rng;
    rng.state = h.rng_state;
    /* rebuild the epoch's order when resuming mid-epoch */
    if (h.epoch_pos > 0) epoch_order(order, n_train, tc->seed, h.epoch);
    AdamWConfig opt = {tc->lr, tc->beta1, tc->beta2, 1e-8f, tc->weight_decay, tc->grad_clip};
    FILE *log = open_log(log_path, h.step);
    char products[64] = ""; /* the GPU's matrix products and attention, when not the defaults */
    if (g_device == DEVICE_CUDA && (g_matmul != MATMUL_FP32 || g_attention != ATTENTION_PLAIN))
        snprintf(products, sizeof products, " (%s matrix products, %s attention)", MATMUL_NAMES[g_matmul],
                 ATTENTION_NAMES[g_attention]);
    if (!o->quiet)
        printf("training %s: %zu parameters (%d layers, %d heads, width %d, vocab %d), %d train "
               "sequences, %d validation queries, %d test queries, steps %d..%d, batch %d, on %s%s "
               "(%d CPU threads, BLAS kernels %s)%s\n",
               OBJECTIVE_NAMES[objective], model.n_params, model.config.n_layer,
               model.config.n_head, model.config.n_embd, model.config.vocab_size, n_train,
               n_valid_queries, n_test_queries, h.step, end_step, tc->batch_size,
               DEVICE_NAMES[g_device], products,
               omp_get_max_threads(), blas_kernels(),
               tc->ema_decay > 0 ? "; evaluating the weight average (--ema)" : "");
    const char *better = g_device == DEVICE_CPU ? blas_better_coretype() : NULL;
    if (better && !getenv("OPENBLAS_CORETYPE"))
        fprintf(stderr, "warning: OpenBLAS does not recognise this CPU and runs its generic '%s' "
                        "kernels; OPENBLAS_CORETYPE=%s runs its faster ones (3x faster training on "
                        "the development machine; run_all.sh and make bench set it)\n",
                blas_kernels(), better);

    double t_start = now_seconds(), t_report = t_start;
    int first_step = h.step;
    long tokens_since_report = 0;
    double loss_sum = 0.0;
    int loss_count = 0;
    for (int step = h.step; step < end_step; step++) {
        /* one optimizer step: batch -> ranks -> loss -> gradients -> AdamW */
        next_batch_ids(ids, tc->batch_size, train_ids, n_train, tc->seed, &h.epoch, &h.epoch_pos, order);
        batch_fill(&bt, &train, ids, tc->batch_size);
        sample_ranks(&bt, &rng, tc);
        model_zero_grad(&model);
        float loss = model_forward(&model, &bt, 1);
        if (!isfinite(loss))
            die("non-finite loss (%g) at step %d; the last good checkpoint '%s' is left in place. "
                "Try a lower --lr or a stronger --clip.", loss, step + 1, ckpt_path);
        model_backward(&model, &bt);
        float grad_norm = clip_grad_norm(&model, tc->grad_clip);
        opt.lr = lr_schedule(tc->lr, step, tc->warmup_steps, tc->total_steps, tc->min_lr_frac);
        adamw_update(&model, &opt, step + 1);
        if (tc->ema_decay > 0) ema_update(&model, tc->ema_decay, step + 1);
        for (int b = 0; b < bt.B; b++) tokens_since_report += bt.lengths[b];
        loss_sum += loss;
        loss_count++;

        int done = step + 1;
        int report = done % 50 == 0 || done == end_step;
        int evaluate = (tc->eval_every > 0 && done % tc->eval_every == 0) || done == end_step;
        if (!report && !evaluate) continue;
        double now = now_seconds();
        double tok_per_s = tokens_since_report / (now - t_report + 1e-9);
        char eval_cols[256] = ",,,,,,,";
        double em[6] = {0, 0, 0, 0, 0, 0}; /* test fwd, bwd; train fwd, bwd; valid fwd, bwd */
        if (evaluate) {
            model_swap_ema(&model); /* with --ema, evaluate the averaged weights */
            DecodeStats st = decode_queries(&model, objective, &test, test_queries, n_test_queries,
                                            256, NULL);
            DecodeStats tr = decode_queries(&model, objective, &train, train_queries,
                                            n_train_queries, 256, NULL);
            em[0] = percent(st.exact[DIR_FORWARD], st.n[DIR_FORWARD]);
            em[1] = percent(st.exact[DIR_BACKWARD], st.n[DIR_BACKWARD]);
            em[2] = percent(tr.exact[DIR_FORWARD], tr.n[DIR_FORWARD]);
            em[3] = percent(tr.exact[DIR_BACKWARD], tr.n[DIR_BACKWARD]);
            int new_best = 0;
            if (n_valid_queries > 0) {
                DecodeStats va = decode_queries(&model, objective, &train, valid_queries,
                                                n_valid_queries, 256, NULL);
                em[4] = percent(va.exact[DIR_FORWARD], va.n[DIR_FORWARD]);
                em[5] = percent(va.exact[DIR_BACKWARD], va.n[DIR_BACKWARD]);
                /* mean over the directions the validation set has */
                int n_dirs = (va.n[DIR_FORWARD] > 0) + (va.n[DIR_BACKWARD] > 0);
                float valid_em = (float)((em[4] + em[5]) / (n_dirs ? n_dirs : 1));
                if (valid_em > h.best_valid_em) {
                    h.best_valid_em = valid_em;
                    h.best_step = done;
                    new_best = 1;
                }
            }
            model_swap_ema(&model); /* back to the trained weights */
            snprintf(eval_cols, sizeof eval_cols, "%.2f,%.2f,%.2f,%.2f,%.2f,%.2f,", em[0], em[1],
                     st.tokens[DIR_FORWARD] ? 100.0 * st.tokens_right[DIR_FORWARD] / st.tokens[DIR_FORWARD] : 0.0,
                     st.tokens[DIR_BACKWARD] ? 100.0 * st.tokens_right[DIR_BACKWARD] / st.tokens[DIR_BACKWARD] : 0.0,
                     em[2], em[3]);
            if (n_valid_queries > 0)
                snprintf(eval_cols + strlen(eval_cols), sizeof eval_cols - strlen(eval_cols), "%.2f,%.2f",
                         em[4], em[5]);
            else
                snprintf(eval_cols + strlen(eval_cols), sizeof eval_cols - strlen(eval_cols), ",");
            /* checkpoint: the step, the optimizer, the RNG and the data position */
            h.step = done;
            h.rng_state = rng.state;
            h.train = *tc;
            if (new_best) checkpoint_save(best_path, &model, &h);
            checkpoint_save(ckpt_path, &model, &h);
        }
        fprintf(log, "%d,%.5f,%.3e,%.4f,%.0f,%.1f,%s\n", done, loss_sum / loss_count, opt.lr,
                grad_norm, tok_per_s, now - t_start, eval_cols);
        fflush(log);
        if (!o->quiet) {
            char eta[32];
            double seconds_per_step = (now - t_start) / (done - first_step);
            format_duration(seconds_per_step * (end_step - done), eta, sizeof eta);
            printf("step %6d/%d  loss %.4f  lr %.2e  %7.0f tok/s  ETA %s", done, end_step,
                   loss_sum / loss_count, opt.lr, tok_per_s, eta);
            if (evaluate)
                printf("  exact match %%: test fwd %.1f bwd %.1f | train fwd %.1f bwd %.1f", em[0],
                       em[1], em[2], em[3]);
            if (evaluate && n_valid_queries > 0)
                printf(" | valid fwd %.1f bwd %.1f (best @%d)", em[4], em[5], h.best_step);
            printf("\n");
            fflush(stdout);
        }
        t_report = now_seconds();
        tokens_since_report = 0;
        loss_sum = 0.0;
        loss_count = 0;
    }
    fclose(log);
    batch_free(&bt);
    free(order); free(ids); free(test_queries); free(train_queries); free(train_ids); free(valid_queries);
    model_free(&model);
    token_data_free(&train);
    token_data_free(&test);
}

/* ------------------------------------------------------------------------ */
/* 6. main: build a model from flags and write its initial checkpoint        */
/* ------------------------------------------------------------------------ */
#ifdef MODEL_MAIN
static inline void usage(void) {
    printf("usage: 03_model --data DIR --out FILE [options]\n"
           "Builds the two-stream encoder-decoder and writes its initial checkpoint.\n"
           "  --data DIR      tokenized data (reads DIR/train.bin's vocabulary and lengths)\n"
           "  --out FILE      checkpoint to write (e.g. runs/ar/init.ckpt)\n"
           "  --layers N      blocks per stream (default 4)\n"
           "  --heads N       attention heads (default 4)\n"
           "  --embd N        width C, a multiple of heads with an even head size (default 128)\n"
           "  --max-len N     longest sequence (default: the data's longest)\n"
           "  --seed N        initialization seed (default 1)\n"
           "  --blas-coretype print the OPENBLAS_CORETYPE this CPU should run with, where\n"
           "                  OpenBLAS falls back to its slow generic kernels (nothing where\n"
           "                  it does not), and exit\n");
}

int main(int argc, char **argv) {
    const char *data_dir = NULL, *out = NULL;
    ModelConfig c = {4, 4, 128, 0, 0};
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(); return 0; }
        else if (!strcmp(a, "--blas-coretype")) {
            const char *better = blas_better_coretype();
            if (better) printf("%s\n", better);
            return 0;
        } else if (!strcmp(a, "--data")) data_dir = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--out")) out = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--layers")) c.n_layer = (int)parse_long(a, flag_value(argc, argv, &i), 1, 64);
        else if (!strcmp(a, "--heads")) c.n_head = (int)parse_long(a, flag_value(argc, argv, &i), 1, 256);
        else if (!strcmp(a, "--embd")) c.n_embd = (int)parse_long(a, flag_value(argc, argv, &i), 2, 16384);
        else if (!strcmp(a, "--max-len")) c.max_seq_len = (int)parse_long(a, flag_value(argc, argv, &i), 2, 65536);
        else if (!strcmp(a, "--seed")) seed = (uint64_t)parse_long(a, flag_value(argc, argv, &i), 0, LONG_MAX);
        else die("unknown flag '%s' (see --help)", a);
    }
    if (!data_dir || !out) die("--data and --out are required (see --help)");
    char path[1024];
    snprintf(path, sizeof path, "%s/train.bin", data_dir);
    TokenData d;
    token_data_load(&d, path);
    c.vocab_size = (int32_t)d.header.vocab_size;
    if (c.max_seq_len == 0) c.max_seq_len = (int32_t)d.header.max_len;
    model_check_config(&c, "flags");
    Model m;
    model_alloc(&m, &c);
    model_init_params(&m, seed);
    CheckpointHeader h;
    memset(&h, 0, sizeof h);
    h.vocab_hash = d.header.vocab_hash;
    checkpoint_save(out, &m, &h);
    printf("wrote %s: %zu parameters (%d layers per stream, %d heads, width %d, vocab %d, max "
           "length %d)\n", out, m.n_params, c.n_layer, c.n_head, c.n_embd, c.vocab_size,
           c.max_seq_len);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++)
        printf("  %-12s %10zu\n", PARAM_NAMES[i], m.param_sizes[i]);
    model_free(&m);
    token_data_free(&d);
    return 0;
}
#endif
#endif /* MODEL_CU */
