/*
 * 03_model_gpu.cuh -- the CUDA twins of 03_model.cu: every layer, and the
 * model functions that move data between the host and the GPU, in the order
 * of 03_model.cu's sections, so that each pair can be read side by side.
 * 03_model.cu includes this file once, at its end, when nvcc (or the CUDA
 * emulator's g++) compiles it; a CPU function with a twin starts with
 * RUN_ON_GPU(twin(...)) or MODEL_ON_GPU(model, twin(...)) (03_model_device.h).
 *
 *   helpers: warp sums, blocks, sums over rows in two stages
 *   2. the layers' twins, 2.1 .. 2.9 as in 03_model.cu
 *   3. the model on the GPU: its copy there (GpuModel), a batch uploaded
 *      there, the forward and backward passes of 03_model.cu run on them
 *   4. the optimizer's twins: clipping, AdamW, the weight average
 *
 * Each *_gpu function computes exactly what its CPU twin computes, on device
 * pointers, in fp32 (test/test_parity.cu checks them against each other
 * element by element, on a GPU or on the CUDA emulator of test/cuda_emu).
 * Mostly plain versions: one thread per output element, or one warp (32
 * threads) per row where a row needs a sum; sums over many rows in two
 * stages; and the attention in two versions, plain and fused (--attention).
 * Every reduction runs in a fixed order (no atomics), so the same inputs give
 * bit-identical outputs run after run. Matrix products go to cuBLAS, in the
 * arithmetic --matmul chose.
 */
#ifndef MODEL_GPU_CUH
#define MODEL_GPU_CUH

/* after each kernel launch: a launch that failed (a bad grid, too many
 * registers) returns no error by itself, and its kernel simply never runs */
#define CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
static const cublasComputeType_t MATMUL_COMPUTE[] = {CUBLAS_COMPUTE_32F, CUBLAS_COMPUTE_32F_FAST_TF32,
                                                     CUBLAS_COMPUTE_32F_FAST_16BF};

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */
/* ------------------------------------------------------------------------ */
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


/* ------------------------------------------------------------------------ */
/* 2. the layers                                                             */
/* ------------------------------------------------------------------------ */

/* ---- 2.1 matmul through cuBLAS ----
 * cuBLAS is column-major; a row-major (R, K) matrix is a column-major (K, R)
 * one. So out (N, OC) = inp (N, IC) @ weight^T, read column-major, is
 * out^T (OC, N) = weight^T... with weight (OC, IC) row-major = (IC, OC)
 * column-major, transposed: that is op(A) = T on weight, op(B) = N on inp. */
__global__ static void bias_rows_kernel(float *out, const float *bias, int N, int OC) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)N * OC) out[i] = bias[i % OC];
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

/* ---- 2.2 LayerNorm: one warp per row ---- */
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

/* ---- 2.3 GELU ---- */
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

static void gelu_forward_gpu(float *out, const float *inp, size_t N) {
    gelu_forward_kernel<<<blocks_for(N, 256), 256>>>(out, inp, N);
    CHECK_LAUNCH();
}
static void gelu_backward_gpu(float *dinp, const float *inp, const float *dout, size_t N) {
    gelu_backward_kernel<<<blocks_for(N, 256), 256>>>(dinp, inp, dout, N);
    CHECK_LAUNCH();
}

/* ---- 2.4 residual ---- */
__global__ static void residual_forward_kernel(float *out, const float *a, const float *b, size_t N) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < N) out[i] = a[i] + b[i];
}

static void residual_forward_gpu(float *out, const float *a, const float *b, size_t N) {
    residual_forward_kernel<<<blocks_for(N, 256), 256>>>(out, a, b, N);
    CHECK_LAUNCH();
}

/* ---- 2.5 token embedding ---- */
__global__ static void embedding_forward_kernel(float *out, const int32_t *tokens, const float *wte, int N, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)N * C) out[i] = wte[(size_t)tokens[i / C] * C + i % C];
}

static void embedding_forward_gpu(float *out, const int32_t *tokens, const float *wte, int N, int C) {
    embedding_forward_kernel<<<blocks_for((size_t)N * C, 256), 256>>>(out, tokens, wte, N, C);
    CHECK_LAUNCH();
}

/* The backward needs the batch's positions grouped by token (a counting
 * sort on the host, when the batch is uploaded: gpu_stage_batch, section 3),
 * so that one thread per (token, channel) adds up that token's positions in
 * order: no two threads write one row of dwte, and the sum's order is fixed. */
typedef struct {
    const int32_t *tokens;      /* the device tokens they group, `positions` of them */
    int positions;
    int groups;                 /* the distinct tokens of the batch */
    const int32_t *by_token;    /* (positions) the flat positions, grouped by token, in order within a group */
    const int32_t *group_first; /* (groups+1) group g is by_token[group_first[g] .. group_first[g+1]-1] */
    const int32_t *group_token; /* (groups) the token of group g */
} TokenGroups;
static TokenGroups g_token_groups; /* those of the batch uploaded last */

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

static void embedding_backward_gpu(float *dwte, const int32_t *tokens, const float *dout, int N, int C) {
    const TokenGroups *g = &g_token_groups;
    if (tokens != g->tokens || N != g->positions)
        die("internal error: embedding_backward_gpu's tokens are not those of the batch uploaded last");
    if (g->groups == 0) return;
    embedding_backward_kernel<<<blocks_for((size_t)g->groups * C, 256), 256>>>(dwte, g->by_token, g->group_first,
                                                                                 g->group_token, dout, g->groups, C);
    CHECK_LAUNCH();
}

/* ---- 2.6 one vector in every row, and its backward ---- */
static void rows_broadcast_gpu(float *out, const float *vec, int N, int C) {
    bias_rows_kernel<<<blocks_for((size_t)N * C, 256), 256>>>(out, vec, N, C);
    CHECK_LAUNCH();
}
static void rows_sum_gpu(float *dvec, const float *dout, int N, int C) { column_sums_gpu(dvec, dout, N, C); }

/* ---- 2.7 RoPE: one thread per (row, head, pair) ---- */
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

/* ---- 2.8 attention: one warp per (query row, head) ----
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

/* ---- 2.9 softmax + cross-entropy: one block of 256 threads per scored row ---- */
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

/* ------------------------------------------------------------------------ */
/* 3. the model on the GPU                                                   */
/* ------------------------------------------------------------------------ */
/* A batch in device memory: the arrays the passes read, uploaded from a
 * Batch by gpu_stage_batch, and the host arrays it stages them in. */
typedef struct {
    size_t capacity;                       /* positions (B*T) the arrays hold */
    int32_t *tokens, *ranks;               /* (B, T) */
    int32_t *scored, *targets;             /* (S) */
    float *weights;                        /* (S) */
    int32_t *seq_first;                    /* (B+1) batch_scored_by_sequence */
    int32_t *by_token, *group_first, *group_token; /* the token groups (TokenGroups, 2.5) */
    int32_t *host_seq_first, *host_by_token, *host_group_first, *host_group_token;
    int32_t *host_token_start;             /* (V) the counting sort's scratch */
} GpuBatch;

/* A model's copy on the GPU (model_to_device): the same buffers as the
 * Model's, in device memory, and the same ModelTensors pointing into them,
 * so that the passes of 03_model.cu run on it unchanged. The Model keeps its
 * own buffers in host memory; model_download copies the numbers back. */
typedef struct {
    const Model *host;                     /* the model this is the copy of; NULL: a free slot */
    float *params, *grads, *adam_m, *adam_v, *ema, *rope;
    ModelTensors tensors;
    int act_B, act_T;                      /* the activations hold batches up to act_B x act_T */
    float *act_memory, *grad_act_memory;
    size_t act_floats, grad_act_floats;
    GpuBatch batch;                        /* the batch of the last forward */
    float *host_losses;                    /* (act_B * act_T) the losses copied back */
    float *host_logits;                    /* (S, V) the logits copied back by a forward without gradients */
    size_t host_logits_size;
} GpuModel;

/* The copies, found by the address of the Model they copy: a program moves
 * one model to the GPU, the parity test one at a time. */
#define MAX_GPU_MODELS 4
static GpuModel g_gpu_models[MAX_GPU_MODELS];

static GpuModel *gpu_model_find(const Model *m) {
    for (int k = 0; k < MAX_GPU_MODELS; k++)
        if (g_gpu_models[k].host == m) return &g_gpu_models[k];
    return NULL;
}

static int model_on_gpu(const Model *m) { return m && gpu_model_find(m); }

static GpuModel *gpu_model_of(const Model *m) {
    GpuModel *g = gpu_model_find(m);
    if (!g) die("internal error: the model has no copy on the GPU (model_to_device)");
    return g;
}

/* Upload the parameters, gradients, optimizer state and RoPE table. */
static void model_to_device_gpu(Model *m) {
    if (gpu_model_find(m)) return; /* there already */
    GpuModel *g = gpu_model_find(NULL);
    if (!g) die("internal error: more than %d models on the GPU at once", MAX_GPU_MODELS);
    memset(g, 0, sizeof *g);
    g->host = m;
    const float *host[] = {m->params, m->grads, m->adam_m, m->adam_v, m->ema};
    float **dev[] = {&g->params, &g->grads, &g->adam_m, &g->adam_v, &g->ema};
    for (int k = 0; k < 5; k++) {
        if (!host[k]) continue; /* no optimizer state yet */
        *dev[k] = (float *)device_alloc(sizeof(float) * m->n_params, 1);
        device_upload(*dev[k], host[k], sizeof(float) * m->n_params);
    }
    size_t rope_size = (size_t)m->config.max_seq_len * (m->config.n_embd / m->config.n_head);
    g->rope = (float *)device_alloc(sizeof(float) * rope_size, 1);
    device_upload(g->rope, m->rope, sizeof(float) * rope_size);
    tensors_point_into(&g->tensors, m->param_sizes, g->params, g->grads);
    g->tensors.rope = g->rope;
}

/* model_ensure_activations, in device memory */
static void gpu_ensure_activations(GpuModel *g, const ModelConfig *c, int B, int T) {
    if (T > c->max_seq_len) die("sequence length %d exceeds the model's maximum %d", T, c->max_seq_len);
    if (B <= g->act_B && T <= g->act_T) return;
    if (B < g->act_B) B = g->act_B;
    if (T < g->act_T) T = g->act_T;
    device_free(g->act_memory, 1);
    device_free(g->grad_act_memory, 1);
    g->act_floats = activations_layout(&g->tensors, c, B, T, NULL, NULL, &g->grad_act_floats);
    g->act_memory = (float *)device_alloc(sizeof(float) * g->act_floats, 1);
    g->grad_act_memory = (float *)device_alloc(sizeof(float) * g->grad_act_floats, 1);
    activations_layout(&g->tensors, c, B, T, g->act_memory, g->grad_act_memory, &g->grad_act_floats);
    free(g->host_losses);
    g->host_losses = (float *)xmalloc(sizeof(float) * (size_t)B * T);
    g->act_B = B;
    g->act_T = T;
}

static void gpu_batch_free(GpuBatch *v) {
    int32_t *dev[] = {v->tokens, v->ranks, v->scored, v->targets, v->seq_first, v->by_token, v->group_first,
                      v->group_token};
    for (int k = 0; k < 8; k++) device_free(dev[k], 1);
    device_free(v->weights, 1);
    free(v->host_seq_first); free(v->host_by_token); free(v->host_group_first); free(v->host_group_token);
    free(v->host_token_start);
    memset(v, 0, sizeof *v);
}

/* Upload a batch: its tokens, ranks, scored positions, targets and weights,
 * which scored rows belong to which sequence (for the attention), and the
 * positions grouped by token (for the embedding's backward, 2.5). */
static void gpu_stage_batch(GpuModel *g, const Batch *bt, int V) {
    GpuBatch *v = &g->batch;
    size_t BT = (size_t)bt->B * bt->T;
    if (BT > v->capacity) {
        gpu_batch_free(v);
        int32_t **arrays[] = {&v->tokens, &v->ranks, &v->scored, &v->targets, &v->by_token, &v->group_token};
        for (int k = 0; k < 6; k++) *arrays[k] = (int32_t *)device_alloc(sizeof(int32_t) * BT, 1);
        v->weights = (float *)device_alloc(sizeof(float) * BT, 1);
        v->seq_first = (int32_t *)device_alloc(sizeof(int32_t) * (BT + 1), 1);
        v->group_first = (int32_t *)device_alloc(sizeof(int32_t) * (BT + 1), 1);
        v->host_seq_first = (int32_t *)xmalloc(sizeof(int32_t) * (BT + 1));
        v->host_by_token = (int32_t *)xmalloc(sizeof(int32_t) * BT);
        v->host_group_first = (int32_t *)xmalloc(sizeof(int32_t) * (BT + 1));
        v->host_group_token = (int32_t *)xmalloc(sizeof(int32_t) * BT);
        v->capacity = BT;
    }
    if (!v->host_token_start) v->host_token_start = (int32_t *)xmalloc(sizeof(int32_t) * V);
    int S = bt->n_scored;
    batch_scored_by_sequence(bt, v->host_seq_first);
    device_upload(v->tokens, bt->tokens, sizeof(int32_t) * BT);
    device_upload(v->ranks, bt->ranks, sizeof(int32_t) * BT);
    device_upload(v->scored, bt->scored, sizeof(int32_t) * S);
    device_upload(v->targets, bt->targets, sizeof(int32_t) * S);
    device_upload(v->weights, bt->weights, sizeof(float) * S);
    device_upload(v->seq_first, v->host_seq_first, sizeof(int32_t) * (bt->B + 1));
    g->tensors.seq_first = v->seq_first;

    /* the positions grouped by token: a counting sort */
    int groups = 0;
    int32_t *start = v->host_token_start;
    memset(start, 0, sizeof(int32_t) * V);
    for (size_t i = 0; i < BT; i++) start[bt->tokens[i]]++; /* counts first */
    for (int tok = 0, offset = 0; tok < V; tok++) {
        int count = start[tok];
        start[tok] = offset; /* then where the token's group starts */
        if (count == 0) continue;
        v->host_group_token[groups] = tok;
        v->host_group_first[groups++] = offset;
        offset += count;
    }
    v->host_group_first[groups] = (int32_t)BT;
    for (size_t i = 0; i < BT; i++) v->host_by_token[start[bt->tokens[i]]++] = (int32_t)i;
    device_upload(v->by_token, v->host_by_token, sizeof(int32_t) * BT);
    device_upload(v->group_first, v->host_group_first, sizeof(int32_t) * (groups + 1));
    device_upload(v->group_token, v->host_group_token, sizeof(int32_t) * groups);
    TokenGroups tg = {v->tokens, (int)BT, groups, v->by_token, v->group_first, v->group_token};
    g_token_groups = tg;
}

/* model_forward on the copy: the same passes, on the uploaded batch; the
 * losses come back to the host, and the logits of a forward without gradients */
static float model_forward_gpu(Model *m, const Batch *bt, int want_grad) {
    GpuModel *g = gpu_model_of(m);
    gpu_ensure_activations(g, &m->config, bt->B, bt->T);
    model_check_tokens(m, bt);
    gpu_stage_batch(g, bt, m->config.vocab_size);
    ModelTensors *w = &g->tensors;
    Rows scored = {bt->n_scored, g->batch.scored, w->seq_first};
    encoder_forward(&m->config, w, g->batch.tokens, g->batch.ranks, bt->B, bt->T);
    if (bt->n_scored == 0) return 0.0f;
    decoder_forward(&m->config, w, g->batch.ranks, scored, bt->B, bt->T);
    double total_weight = batch_total_weight(bt);
    output_forward(&m->config, w, g->batch.targets, g->batch.weights, total_weight, bt->n_scored, want_grad);
    device_download(g->host_losses, w->acts.losses, sizeof(float) * bt->n_scored);
    if (!want_grad) {
        size_t n = (size_t)bt->n_scored * m->config.vocab_size;
        if (n > g->host_logits_size) {
            free(g->host_logits);
            g->host_logits = (float *)xmalloc(sizeof(float) * n);
            g->host_logits_size = n;
        }
        device_download(g->host_logits, w->acts.logits, sizeof(float) * n);
    }
    return batch_mean_loss(bt, g->host_losses, total_weight);
}

/* model_backward on the copy, on the batch its forward uploaded */
static void model_backward_gpu(Model *m, const Batch *bt) {
    GpuModel *g = gpu_model_of(m);
    if (bt->n_scored == 0) return;
    ModelTensors *w = &g->tensors;
    Rows scored = {bt->n_scored, g->batch.scored, w->seq_first};
    output_backward(&m->config, w, bt->n_scored);
    decoder_backward(&m->config, w, g->batch.ranks, scored, bt->B, bt->T);
    encoder_backward(&m->config, w, g->batch.tokens, g->batch.ranks, bt->B, bt->T);
}

static const float *model_logits_gpu(Model *m) { return gpu_model_of(m)->host_logits; }

static void model_copy_encoder_input_gpu(Model *m, int l, size_t n, float *dst) {
    device_download(dst, gpu_model_of(m)->tensors.acts.enc_x + (size_t)l * n, sizeof(float) * n);
}

static void model_zero_grad_gpu(Model *m) { buffer_zero(gpu_model_of(m)->grads, m->n_params); }

/* the copy's parameters, moments and average into the Model's buffers */
static void model_download_gpu(Model *m) {
    GpuModel *g = gpu_model_of(m);
    const float *dev[] = {g->params, g->adam_m, g->adam_v, g->ema};
    float **host[] = {&m->params, &m->adam_m, &m->adam_v, &m->ema};
    for (int k = 0; k < 4; k++) {
        if (!dev[k]) continue;
        if (!*host[k]) *host[k] = (float *)xmalloc(sizeof(float) * m->n_params);
        device_download(*host[k], dev[k], sizeof(float) * m->n_params);
    }
    tensors_point_into(&m->tensors, m->param_sizes, m->params, m->grads);
}

/* Free the copy, then the Model itself (model_free, now without a copy) */
static void model_free_gpu(Model *m) {
    GpuModel *g = gpu_model_of(m);
    float *dev[] = {g->params, g->grads, g->adam_m, g->adam_v, g->ema, g->rope, g->act_memory, g->grad_act_memory};
    for (int k = 0; k < 8; k++) device_free(dev[k], 1);
    if (g_token_groups.tokens == g->batch.tokens) memset(&g_token_groups, 0, sizeof g_token_groups);
    gpu_batch_free(&g->batch);
    free(g->host_losses);
    free(g->host_logits);
    memset(g, 0, sizeof *g);
    model_free(m);
}

/* ------------------------------------------------------------------------ */
/* 4. the optimizer                                                          */
/* ------------------------------------------------------------------------ */
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

static float clip_grad_norm_gpu(Model *m, float max_norm) {
    GpuModel *g = gpu_model_of(m);
    float norm = (float)sqrt(sum_squares_gpu(g->grads, m->n_params));
    if (max_norm > 0 && norm > max_norm) scale_gpu(g->grads, max_norm / norm, m->n_params);
    return norm;
}

static void adamw_update_gpu(Model *m, const AdamWConfig *o, int step) {
    GpuModel *g = gpu_model_of(m);
    if (!g->adam_m) {
        g->adam_m = (float *)device_alloc(sizeof(float) * m->n_params, 1);
        g->adam_v = (float *)device_alloc(sizeof(float) * m->n_params, 1);
    }
    float c1 = 1.0f - powf(o->beta1, (float)step), c2 = 1.0f - powf(o->beta2, (float)step);
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        size_t off = (size_t)(g->tensors.param_ptrs[t] - g->params), n = m->param_sizes[t];
        float wd = m->param_decays[t] ? o->weight_decay : 0.0f;
        if (n == 0) continue; /* a tensor a 1-layer model does not have */
        adamw_kernel<<<blocks_for(n, 256), 256>>>(g->params + off, g->grads + off, g->adam_m + off,
                                                   g->adam_v + off, n, o->lr, o->beta1, o->beta2, o->eps, wd,
                                                   c1, c2);
        CHECK_LAUNCH();
    }
}

static void ema_update_gpu(Model *m, float max_decay, int step) {
    GpuModel *g = gpu_model_of(m);
    if (!g->ema) {
        g->ema = (float *)device_alloc(sizeof(float) * m->n_params, 1);
        buffer_zero(g->ema, m->n_params); /* so 0 * ema below reads no garbage */
    }
    float d = ema_decay_at(max_decay, step);
    ema_kernel<<<blocks_for(m->n_params, 256), 256>>>(g->ema, g->params, m->n_params, d);
    CHECK_LAUNCH();
}

static void model_swap_ema_gpu(Model *m) {
    GpuModel *g = gpu_model_of(m);
    if (!g->ema) return;
    float *t = g->params;
    g->params = g->ema;
    g->ema = t;
    tensors_point_into(&g->tensors, m->param_sizes, g->params, g->grads);
}

#endif /* MODEL_GPU_CUH */
