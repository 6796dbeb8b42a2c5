/*
 * 03_model_device.h -- where the layers of 03_model.cu run: on the CPU, or,
 * in the program nvcc builds, on a CUDA GPU.
 *
 *   1. the choices: --device, and the GPU's --matmul and --attention
 *   2. device_select(), and memory where the layers run (device_alloc, ...)
 *   3. the two hooks 03_model.cu starts a function with when that function
 *      has a GPU twin, and the names of the twins (03_model_gpu.cuh)
 *
 * This is what lets 03_model.cu read as CPU code: a function with a twin
 * begins with one line, RUN_ON_GPU(twin(...)) or MODEL_ON_GPU(m, twin(...)),
 * and the C below it is the CPU's. Built by gcc, the hooks are empty and
 * the memory helpers are calloc, free, memcpy and memset.
 */
#ifndef MODEL_DEVICE_H
#define MODEL_DEVICE_H
#include "common.h"
#ifdef __CUDACC__
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif

/* ------------------------------------------------------------------------ */
/* 1. the choices                                                            */
/* ------------------------------------------------------------------------ */
/* One switch for the whole program: DEVICE_CPU runs the C loops of
 * 03_model.cu, DEVICE_CUDA the kernels of 03_model_gpu.cuh. device_select()
 * sets it once, from --device; a model then gets its copy on the GPU with
 * model_to_device(). */
enum { DEVICE_CPU = 0, DEVICE_CUDA = 1 };
static const char *const DEVICE_NAMES[] = {"cpu", "cuda"};
static int g_device = DEVICE_CPU;

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
 *   fused  flash-attention style (03_model_gpu.cuh): keys in tiles in shared
 *          memory and a running softmax; only each row's log-sum-exp is kept,
 *          and the backward recomputes the probabilities tile by tile */
enum { ATTENTION_PLAIN = 0, ATTENTION_FUSED = 1 };
static const char *const ATTENTION_NAMES[] = {"plain", "fused"};
static int g_attention = ATTENTION_PLAIN;
static inline int parse_attention(const char *name) {
    return parse_choice("--attention", name, ATTENTION_NAMES, 2);
}

/* ------------------------------------------------------------------------ */
/* 2. selecting the device, and its memory                                  */
/* ------------------------------------------------------------------------ */
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
#else
#define HOST_DEVICE
#endif

/* --device cpu|cuda|auto. auto: the GPU when this binary was built with nvcc
 * and the machine has one. matmul: the arithmetic of the GPU's matrix
 * products (MATMUL_*, above); the CPU ignores it. */
static const char *const DEVICE_FLAG_NAMES[] = {"cpu", "cuda", "auto"};
static inline void device_select(const char *name, int matmul) {
    int choice = parse_choice("--device", name, DEVICE_FLAG_NAMES, 3);
    g_device = DEVICE_CPU;
    if (choice == 0) return;
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
    if (choice == 1) die("--device cuda: no CUDA GPU found on this machine");
#else
    (void)matmul;
    if (choice == 1)
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

/* p[0..n) = 0, where the layers run */
static inline void buffer_zero(float *p, size_t n) {
#ifdef __CUDACC__
    if (g_device == DEVICE_CUDA) { CUDA_CHECK(cudaMemset(p, 0, sizeof(float) * n)); return; }
#endif
    memset(p, 0, sizeof(float) * n);
}

#include "03_model_profile.h" /* RUN_ON_GPU times the layers with it */

/* ------------------------------------------------------------------------ */
/* 3. the hooks, and the GPU twins they call                                */
/* ------------------------------------------------------------------------ */
/* RUN_ON_GPU(twin(...)): the first line of a layer of 03_model.cu. When the
 * program runs on the GPU the twin runs instead (timed when profiling) and
 * the layer returns; otherwise the C below the line runs.
 * MODEL_ON_GPU(m, twin(...)): the first line of a model function of
 * 03_model.cu. For a model with a copy on the GPU (model_to_device), the
 * twin runs on that copy instead, and its result is the function's. */
#ifdef __CUDACC__
#define RUN_ON_GPU(call)                              \
    do {                                              \
        if (g_device == DEVICE_CUDA) {                \
            double profile_t0_ = profile_start();     \
            call;                                     \
            profile_stop(#call, profile_t0_);         \
            return;                                   \
        }                                             \
    } while (0)
#define MODEL_ON_GPU(m, call)            \
    do {                                 \
        if (model_on_gpu(m)) return call; \
    } while (0)

/* The twins, defined in 03_model_gpu.cuh (which 03_model.cu includes at its
 * end): each computes what its CPU function computes, with the same
 * arguments. The layers' twins work on device pointers. */
struct Rows;
struct AttentionShape;
struct Model;
struct Batch;
struct AdamWConfig;
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
static void embedding_backward_gpu(float *dwte, const int32_t *tokens, const float *dout, int N, int C);
static void rows_broadcast_gpu(float *out, const float *vec, int N, int C);
static void rows_sum_gpu(float *dvec, const float *dout, int N, int C);
static void rope_rotate_gpu(float *x, const float *cos_sin, struct Rows rows, int T, int stride, int col,
                            int H, int D, int inverse);
static void attention_forward_gpu(float *out, float *probs, const float *q, const float *kv,
                                  const int32_t *ranks, struct Rows rows, struct AttentionShape s, int allow_self);
static void attention_backward_gpu(float *dq, float *dkv, const float *dout, const float *out, const float *probs,
                                   const float *q, const float *kv, const int32_t *ranks, struct Rows rows,
                                   struct AttentionShape s, int allow_self);
static void crossentropy_forward_backward_gpu(float *logits, float *losses, const int32_t *targets,
                                              const float *weights, double total_weight, int S, int V,
                                              int want_grad);
/* the model's: on its copy on the GPU */
static int model_on_gpu(const struct Model *m);
static void model_to_device_gpu(struct Model *m);
static float model_forward_gpu(struct Model *m, const struct Batch *bt, int want_grad);
static void model_backward_gpu(struct Model *m, const struct Batch *bt);
static const float *model_logits_gpu(struct Model *m);
static void model_copy_encoder_input_gpu(struct Model *m, int l, size_t n, float *dst);
static void model_zero_grad_gpu(struct Model *m);
static float clip_grad_norm_gpu(struct Model *m, float max_norm);
static void adamw_update_gpu(struct Model *m, const struct AdamWConfig *o, int step);
static void ema_update_gpu(struct Model *m, float max_decay, int step);
static void model_swap_ema_gpu(struct Model *m);
static void model_download_gpu(struct Model *m);
static void model_free_gpu(struct Model *m);
#else
#define RUN_ON_GPU(call) ((void)0)
#define MODEL_ON_GPU(m, call) ((void)0)
#endif

#endif /* MODEL_DEVICE_H */
