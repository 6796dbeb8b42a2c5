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
 * XLNet's two streams; docs/design.md says more):
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
 * The query stream runs only where a prediction is made, the S scored
 * positions (the encoder runs on all B*T). Decoder block l reads the
 * keys/values encoder block l computed from its input, as XLNet's query
 * stream does; so the last encoder block has no attention output and no MLP
 * (nothing would read them).
 *
 * File layout (read top to bottom):
 *   1. configuration and parameter tensors
 *   2. layers: *_forward / *_backward pairs with their shapes
 *   3. the model: batches, activations, forward and backward of each stream
 *   4. the optimizer: AdamW, gradient clipping, weight averaging
 *   5. checkpoints
 *   6. the training loop shared by 04 and 05 (they differ only in ranks)
 *   7. main: build a model from flags and write its initial checkpoint
 * Shapes: B sequences, T positions, C channels, H heads of size D = C/H,
 * V vocabulary, L layers, S scored positions in the batch.
 * Backward functions ADD (+=) into gradients, which are zeroed once per step.
 *
 * What this file leaves to others, out of the reading path: where the layers
 * run (03_model_device.h), the CPU's fast paths (03_model_cpu.h), the memory
 * of batches and models (03_model_buffers.h), greedy decoding
 * (03_model_decode.h), and the training loop's setup, evaluation and log
 * (03_model_train.h).
 *
 * The GPU: a function with a CUDA twin (03_model_gpu.cuh, in this file's
 * order) starts with RUN_ON_GPU(twin(...)) or MODEL_ON_GPU(model, twin(...))
 * (03_model_device.h): in the nvcc build, on the GPU, the twin runs instead;
 * built by gcc the line is empty. All else here is the CPU's code, and the
 * passes of section 3 and the training loop run unchanged on either device.
 */
#ifndef MODEL_CU /* included once by each of 04, 05, 06 and the tests */
#define MODEL_CU
#include "common.h"
#include <limits.h>
#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_num_threads(void) { return 1; }
static int omp_get_max_threads(void) { return 1; }
#endif
#include "03_model_device.h" /* where the layers run; the hooks to the GPU twins */
#include "03_model_cpu.h"    /* the CPU's fast paths: CBLAS, exp and tanh that vectorize */

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
 * exist only for the encoder blocks whose output is read (see top). The six
 * tensors of each stream's MLP follow each other (LN2, FC, PROJ; mlp_tensors). */
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
 * position pos[n], and the rows come grouped by sequence, b ascending.
 * (HOST_DEVICE: a helper the GPU's kernels call too.) */
typedef struct Rows {
    int N;                    /* rows */
    const int32_t *pos;       /* (N) flat positions b*T + t, or NULL: row n is position n */
    const int32_t *seq_first; /* (B+1) with pos: the rows of sequence b are
                                 seq_first[b] .. seq_first[b+1]-1 */
} Rows;

static inline HOST_DEVICE int row_position(Rows r, int n) { return r.pos ? r.pos[n] : n; }
/* the rows of sequence b (of T positions): first .. last-1 */
static inline HOST_DEVICE void sequence_rows(Rows rows, int b, int T, int *first, int *last) {
    *first = rows.pos ? rows.seq_first[b] : b * T;
    *last = rows.pos ? rows.seq_first[b + 1] : (b + 1) * T;
}

/* The attention's sizes (B sequences of T positions, H heads of D channels)
 * and where the heads sit in its inputs (see 2.8). */
typedef struct AttentionShape {
    int B, T, H, D;
    int q_stride, q_col, kv_stride, k_col, v_col;
} AttentionShape;

/* ---- 2.1 matmul: out (N, OC) = inp (N, IC) @ weight (OC, IC)^T + bias (OC) ---- */
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

/* The products the model runs: the same through CBLAS where the build has it
 * (03_model_cpu.h: 3-4x faster) */
static inline void matmul_forward(float *out, const float *inp, const float *weight, const float *bias,
                           int N, int IC, int OC) {
    RUN_ON_GPU(matmul_forward_gpu(out, inp, weight, bias, N, IC, OC));
#ifdef USE_CBLAS
    matmul_forward_cblas(out, inp, weight, bias, N, IC, OC);
#else
    matmul_forward_reference(out, inp, weight, bias, N, IC, OC);
#endif
}

static inline void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, int N, int IC, int OC) {
    RUN_ON_GPU(matmul_backward_gpu(dinp, dweight, dbias, dout, inp, weight, N, IC, OC));
#ifdef USE_CBLAS
    matmul_backward_cblas(dinp, dweight, dbias, dout, inp, weight, N, IC, OC);
#else
    matmul_backward_reference(dinp, dweight, dbias, dout, inp, weight, N, IC, OC);
#endif
}

/* ---- 2.2 LayerNorm over channels: out (N, C) = (x - mean) / std * w + b ---- */
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

/* ---- 2.3 GELU, tanh approximation: out = 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))) ---- */
/* (tanh_vec, and exp_vec in 2.9: tanh and exp that the compiler vectorizes, 03_model_cpu.h) */
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

/* ---- 2.4 residual: out (N) = a + b (its backward: the gradient passes to both) ---- */
static inline void residual_forward(float *out, const float *a, const float *b, size_t N) {
    RUN_ON_GPU(residual_forward_gpu(out, a, b, N));
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < N; i++) out[i] = a[i] + b[i];
}

/* ---- 2.5 token embedding: out (N, C) = wte[tokens] ---- */
static inline void embedding_forward(float *out, const int32_t *tokens, const float *wte, int N, int C) {
    RUN_ON_GPU(embedding_forward_gpu(out, tokens, wte, N, C));
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) memcpy(out + (size_t)i * C, wte + (size_t)tokens[i] * C, sizeof(float) * C);
}

/* dwte[tokens[i]] += dout[i]; serial, because the same token can repeat */
static inline void embedding_backward(float *dwte, const int32_t *tokens, const float *dout, int N, int C) {
    RUN_ON_GPU(embedding_backward_gpu(dwte, tokens, dout, N, C));
    for (int i = 0; i < N; i++) {
        float *dst = dwte + (size_t)tokens[i] * C;
        for (int k = 0; k < C; k++) dst[k] += dout[(size_t)i * C + k];
    }
}

/* ---- 2.6 one vector in every row, and its backward: out (N, C) = vec (C) ---- */
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

/* ---- 2.7 RoPE: rotate each pair (x[2k], x[2k+1]) of a head by angle t * 10000^(-2k/D) ---- */
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

/* ---- 2.8 rank-masked attention ----
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
 * owns one (sequence b, head h) and walks b's query rows: race-free.
 * out, ranks and allow_self are read only by the GPU's fused kernels, which
 * recompute the probabilities instead of keeping them. */
static inline void attention_backward(float *dq, float *dkv, const float *dout, const float *out,
                                      const float *probs, const float *q, const float *kv,
                                      const int32_t *ranks, Rows rows, AttentionShape s, int allow_self) {
    RUN_ON_GPU(attention_backward_gpu(dq, dkv, dout, out, probs, q, kv, ranks, rows, s, allow_self));
    (void)out; (void)ranks; (void)allow_self;
    int C = s.H * s.D;
    float scale = 1.0f / sqrtf((float)s.D);
#pragma omp parallel
    {
        float *dp = (float *)xmalloc(sizeof(float) * s.T);
#pragma omp for collapse(2) schedule(static)
        for (int b = 0; b < s.B; b++)
            for (int h = 0; h < s.H; h++) {
                int first, last;
                sequence_rows(rows, b, s.T, &first, &last);
                for (int n = first; n < last; n++) {
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
            }
        free(dp);
    }
}

/* ---- 2.9 softmax + cross-entropy over the S scored rows, fused ----
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
/* 3. the model                                                              */
/* ------------------------------------------------------------------------ */

/* One batch: B sequences padded to T. The objective's rank sampler fills
 * ranks and the list of scored positions (flat index b*T + t) with their
 * targets (the token that belongs there). */
typedef struct Batch {
    int B, T;
    int32_t *tokens;         /* (B, T), TOK_PAD after a sequence's end */
    int32_t *ranks;          /* (B, T) */
    int32_t *lengths;        /* (B) tokens before padding */
    int32_t *first_scored;   /* (B) first position training may score: 1 (everything after
                                BOS), or the answer start of a problem whose prompt is
                                context only (common.h, KIND_PROBLEM) */
    int n_scored;            /* S */
    int32_t *scored;         /* (S) flat positions, grouped by sequence, b ascending */
    int32_t *targets;        /* (S) */
    float *weights;          /* (S) loss weights, 1 unless the objective says otherwise */
    int capacity_B, capacity_T;
} Batch;

/* Mark position t of row b as scored: its loss is -log p(token there). */
static inline void batch_score(Batch *bt, int b, int t) {
    int flat = b * bt->T + t;
    bt->scored[bt->n_scored] = flat;
    bt->targets[bt->n_scored] = bt->tokens[flat];
    bt->weights[bt->n_scored] = 1.0f;
    bt->n_scored++;
}

/* The MLP half of a block, in either stream: its activations, for all the
 * blocks of the stream (N rows a block), and their place for block l. */
typedef struct {
    float *ln;                /* (blocks, N, C) LayerNorm output */
    float *ln_mean, *ln_rstd; /* (blocks, N) */
    float *fch;               /* (blocks, N, 4C) hidden before GELU */
    float *fch_gelu;          /* (blocks, N, 4C) */
} MlpActs;

static inline MlpActs mlp_acts(MlpActs a, int l, size_t N, int C) {
    MlpActs at = {a.ln + l * N * C, a.ln_mean + l * N, a.ln_rstd + l * N, a.fch + l * N * 4 * C,
                  a.fch_gelu + l * N * 4 * C};
    return at;
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
    MlpActs enc_mlp;  /* L-1 blocks of B*T rows */
    /* the query stream runs only at the S scored positions (S <= B*T rows) */
    float *dec_z;     /* (L+1, S, C) query-stream states; z_0 = dec_input in every row */
    float *dec_ln1;   /* (L, S, C) */
    float *dec_ln1_mean, *dec_ln1_rstd; /* (L, S) */
    float *dec_q;     /* (L, S, C) rotated queries */
    float *dec_probs; /* (L, S, H, T) */
    float *dec_atty;  /* (L, S, C) */
    float *dec_zmid;  /* (L, S, C) */
    MlpActs dec_mlp;  /* L blocks of S rows */
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

/* What the passes below read and write: every parameter tensor and its
 * gradient, the RoPE table, the activations and how the scored rows group by
 * sequence. A Model holds them in host memory; the GPU part keeps the same
 * set in device memory for a model moved there, and runs the same passes. */
typedef struct {
    float *param_ptrs[NUM_PARAM_TENSORS]; /* tensor i of the parameters: a pointer into one buffer */
    float *grad_ptrs[NUM_PARAM_TENSORS];  /* its gradient */
    const float *rope;                    /* (max_seq_len, D/2, 2) cos, sin */
    int32_t *seq_first;                   /* (B+1) batch_scored_by_sequence of the last forward */
    Activations acts;
    ActivationGrads gacts;
} ModelTensors;

typedef struct Model {
    ModelConfig config;
    size_t param_sizes[NUM_PARAM_TENSORS];
    int param_decays[NUM_PARAM_TENSORS];
    size_t n_params;
    float *params, *grads;  /* (n_params) all tensors, in the order of the enum */
    float *adam_m, *adam_v; /* AdamW moments, allocated on first update */
    float *ema;             /* running average of params (--ema), allocated on first update */
    float *rope;            /* (max_seq_len, D/2, 2) cos, sin */
    ModelTensors tensors;   /* pointers into the above, and the activations */
    int act_B, act_T;       /* the activations hold batches up to act_B x act_T */
    float *act_memory, *grad_act_memory;
} Model;

/* Their memory (allocating, freeing, the activations' sizes and places in one
 * table), the checks of a configuration and a batch's tokens, the sums over a
 * batch's scored positions, and a model's copy on the GPU (model_to_device) */
#include "03_model_buffers.h"

/* Allocate parameters and gradients (zeroed); no initialization. */
static inline void model_alloc(Model *m, const ModelConfig *c) {
    memset(m, 0, sizeof *m);
    m->config = *c;
    param_sizes(c, m->param_sizes, m->param_decays);
    m->n_params = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) m->n_params += m->param_sizes[i];
    m->params = (float *)xcalloc(m->n_params, sizeof(float));
    m->grads = (float *)xcalloc(m->n_params, sizeof(float));
    tensors_point_into(&m->tensors, m->param_sizes, m->params, m->grads);
    int D = c->n_embd / c->n_head;
    m->rope = (float *)xmalloc(sizeof(float) * (size_t)c->max_seq_len * D);
    for (int t = 0; t < c->max_seq_len; t++)
        for (int k = 0; k < D / 2; k++) {
            double angle = t * pow(10000.0, -2.0 * k / D);
            m->rope[(size_t)t * D + 2 * k] = (float)cos(angle);
            m->rope[(size_t)t * D + 2 * k + 1] = (float)sin(angle);
        }
    m->tensors.rope = m->rope;
}

/* GPT-2 style initialization: N(0, 0.02) matrices, the projections that
 * write into the residual streams scaled by 1/sqrt(2L), LayerNorm w=1 b=0. */
static inline void model_init_params(Model *m, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    float proj_std = 0.02f / sqrtf(2.0f * m->config.n_layer);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        float *p = m->tensors.param_ptrs[i];
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

/* ---- the MLP half of a block, the same in both streams ----
 * out (N, C) = in + proj(gelu(fc(layernorm(in)))). Its six tensors come one
 * after another in the enum, from `first` (P_ENC_LN2_W or P_DEC_LN2_W) on. */
typedef struct { float *ln_w, *ln_b, *fc_w, *fc_b, *proj_w, *proj_b; } MlpTensors;

static inline MlpTensors mlp_tensors(float *const *tensors, int first, int l, int C) {
    size_t k = (size_t)l, c = (size_t)C;
    MlpTensors w = {tensors[first] + k * c, tensors[first + 1] + k * c, tensors[first + 2] + k * 4 * c * c,
                    tensors[first + 3] + k * 4 * c, tensors[first + 4] + k * 4 * c * c, tensors[first + 5] + k * c};
    return w;
}

static inline void mlp_forward(float *out, const float *in, MlpTensors w, MlpActs a, int N, int C) {
    layernorm_forward(a.ln, a.ln_mean, a.ln_rstd, in, w.ln_w, w.ln_b, N, C);
    matmul_forward(a.fch, a.ln, w.fc_w, w.fc_b, N, C, 4 * C);
    gelu_forward(a.fch_gelu, a.fch, (size_t)N * 4 * C);
    matmul_forward(out, a.fch_gelu, w.proj_w, w.proj_b, N, 4 * C, C);
    residual_forward(out, in, out, (size_t)N * C);
}

/* dx (N, C) holds d(loss)/d(out) and gets d(loss)/d(in) added (the residual
 * passes it through unchanged); dw: the gradients of the six tensors. */
static inline void mlp_backward(float *dx, MlpTensors dw, MlpTensors w, const float *in, MlpActs a,
                                ActivationGrads *g, int N, int C) {
    size_t NC = (size_t)N * C;
    buffer_zero(g->dfch_gelu, NC * 4);
    matmul_backward(g->dfch_gelu, dw.proj_w, dw.proj_b, dx, a.fch_gelu, w.proj_w, N, 4 * C, C);
    buffer_zero(g->dfch, NC * 4);
    gelu_backward(g->dfch, a.fch, g->dfch_gelu, NC * 4);
    buffer_zero(g->dln, NC);
    matmul_backward(g->dln, dw.fc_w, dw.fc_b, g->dfch, a.ln, w.fc_w, N, C, 4 * C);
    layernorm_backward(dx, dw.ln_w, dw.ln_b, g->dln, in, w.ln_w, a.ln_mean, a.ln_rstd, N, C);
}

/* ---- the encoder (content stream): all B*T positions ---- */
static inline void encoder_forward(const ModelConfig *c, ModelTensors *w, const int32_t *tokens,
                                   const int32_t *ranks, int B, int T) {
    int C = c->n_embd, H = c->n_head, D = C / H, L = c->n_layer;
    size_t BT = (size_t)B * T, BTC = BT * C;
    Activations *a = &w->acts;
    float **p = w->param_ptrs;
    Rows all_rows = {(int)BT, NULL, NULL};
    AttentionShape self = {B, T, H, D, 3 * C, 0, 3 * C, C, 2 * C}; /* q, k, v side by side in qkv */
    /* x_0 = token embeddings; no absolute positions (RoPE in attention) */
    embedding_forward(a->enc_x, tokens, p[P_WTE], (int)BT, C);
    for (int l = 0; l < L; l++) {
        float *x = a->enc_x + l * BTC, *ln1 = a->enc_ln1 + l * BTC, *qkv = a->enc_qkv + l * BTC * 3;
        layernorm_forward(ln1, a->enc_ln1_mean + l * BT, a->enc_ln1_rstd + l * BT, x,
                          p[P_ENC_LN1_W] + l * C, p[P_ENC_LN1_B] + l * C, (int)BT, C);
        matmul_forward(qkv, ln1, p[P_ENC_QKV_W] + (size_t)l * 3 * C * C, p[P_ENC_QKV_B] + l * 3 * C,
                       (int)BT, C, 3 * C);
        rope_rotate(qkv, w->rope, all_rows, T, 3 * C, 0, H, D, 0); /* queries */
        rope_rotate(qkv, w->rope, all_rows, T, 3 * C, C, H, D, 0); /* keys */
        if (l == L - 1) break; /* the last block's keys/values are all the decoder reads */
        float *atty = a->enc_atty + l * BTC, *xmid = a->enc_xmid + l * BTC;
        float *next = a->enc_x + (l + 1) * BTC; /* next block's input, used as scratch first */
        attention_forward(atty, a->enc_probs + l * BT * H * T, qkv, qkv, ranks, all_rows, self, 1);
        matmul_forward(next, atty, p[P_ENC_ATTN_W] + (size_t)l * C * C, p[P_ENC_ATTN_B] + l * C,
                       (int)BT, C, C);
        residual_forward(xmid, x, next, BTC);
        mlp_forward(next, xmid, mlp_tensors(p, P_ENC_LN2_W, l, C), mlp_acts(a->enc_mlp, l, BT, C), (int)BT, C);
    }
}

/* g->dqkv[l] already holds the decoder's gradient for keys/values of block l */
static inline void encoder_backward(const ModelConfig *c, ModelTensors *w, const int32_t *tokens,
                                    const int32_t *ranks, int B, int T) {
    int C = c->n_embd, H = c->n_head, D = C / H, L = c->n_layer;
    size_t BT = (size_t)B * T, BTC = BT * C;
    Activations *a = &w->acts;
    ActivationGrads *g = &w->gacts;
    float **p = w->param_ptrs, **dp = w->grad_ptrs;
    Rows all_rows = {(int)BT, NULL, NULL};
    AttentionShape self = {B, T, H, D, 3 * C, 0, 3 * C, C, 2 * C};
    buffer_zero(g->dx, BTC); /* nothing reads the last block's output */
    for (int l = L - 1; l >= 0; l--) {
        float *x = a->enc_x + l * BTC, *qkv = a->enc_qkv + l * BTC * 3, *dqkv = g->dqkv + l * BTC * 3;
        if (l < L - 1) {
            mlp_backward(g->dx, mlp_tensors(dp, P_ENC_LN2_W, l, C), mlp_tensors(p, P_ENC_LN2_W, l, C),
                         a->enc_xmid + l * BTC, mlp_acts(a->enc_mlp, l, BT, C), g, (int)BT, C);
            buffer_zero(g->datty, BTC);
            matmul_backward(g->datty, dp[P_ENC_ATTN_W] + (size_t)l * C * C,
                            dp[P_ENC_ATTN_B] + l * C, g->dx, a->enc_atty + l * BTC,
                            p[P_ENC_ATTN_W] + (size_t)l * C * C, (int)BT, C, C);
            attention_backward(dqkv, dqkv, g->datty, a->enc_atty + l * BTC, a->enc_probs + l * BT * H * T,
                               qkv, qkv, ranks, all_rows, self, 1);
        }
        /* queries and keys were rotated after the projection: rotate their gradients back */
        rope_rotate(dqkv, w->rope, all_rows, T, 3 * C, 0, H, D, 1);
        rope_rotate(dqkv, w->rope, all_rows, T, 3 * C, C, H, D, 1);
        buffer_zero(g->dln, BTC);
        matmul_backward(g->dln, dp[P_ENC_QKV_W] + (size_t)l * 3 * C * C, dp[P_ENC_QKV_B] + l * 3 * C,
                        dqkv, a->enc_ln1 + l * BTC, p[P_ENC_QKV_W] + (size_t)l * 3 * C * C,
                        (int)BT, C, 3 * C);
        layernorm_backward(g->dx, dp[P_ENC_LN1_W] + l * C, dp[P_ENC_LN1_B] + l * C, g->dln, x,
                           p[P_ENC_LN1_W] + l * C, a->enc_ln1_mean + l * BT,
                           a->enc_ln1_rstd + l * BT, (int)BT, C);
    }
    /* x_0 = wte[tokens]: scatter into the embedding rows */
    embedding_backward(dp[P_WTE], tokens, g->dx, (int)BT, C);
}

/* ---- the decoder (query stream): the S scored positions, (S, C) rows ---- */
static inline void decoder_forward(const ModelConfig *c, ModelTensors *w, const int32_t *ranks, Rows scored,
                                   int B, int T) {
    int C = c->n_embd, H = c->n_head, D = C / H, L = c->n_layer, S = scored.N;
    size_t BTC = (size_t)B * T * C, SC = (size_t)S * C;
    Activations *a = &w->acts;
    float **p = w->param_ptrs;
    AttentionShape cross = {B, T, H, D, C, 0, 3 * C, C, 2 * C}; /* queries of their own; k, v of the encoder */
    rows_broadcast(a->dec_z, p[P_DEC_INPUT], S, C);
    for (int l = 0; l < L; l++) {
        float *z = a->dec_z + l * SC, *znext = a->dec_z + (l + 1) * SC;
        float *ln1 = a->dec_ln1 + l * SC, *q = a->dec_q + l * SC;
        float *atty = a->dec_atty + l * SC, *zmid = a->dec_zmid + l * SC;
        layernorm_forward(ln1, a->dec_ln1_mean + l * S, a->dec_ln1_rstd + l * S, z,
                          p[P_DEC_LN1_W] + l * C, p[P_DEC_LN1_B] + l * C, S, C);
        matmul_forward(q, ln1, p[P_DEC_Q_W] + (size_t)l * C * C, p[P_DEC_Q_B] + l * C, S, C, C);
        rope_rotate(q, w->rope, scored, T, C, 0, H, D, 0);
        /* queries from the query stream, keys/values from encoder block l */
        attention_forward(atty, a->dec_probs + (size_t)l * S * H * T, q, a->enc_qkv + l * BTC * 3,
                          ranks, scored, cross, 0);
        matmul_forward(znext, atty, p[P_DEC_ATTN_W] + (size_t)l * C * C, p[P_DEC_ATTN_B] + l * C,
                       S, C, C);
        residual_forward(zmid, z, znext, SC);
        mlp_forward(znext, zmid, mlp_tensors(p, P_DEC_LN2_W, l, C), mlp_acts(a->dec_mlp, l, S, C), S, C);
    }
}

/* last block first; g->dx holds d(loss)/d(z_{l+1}) */
static inline void decoder_backward(const ModelConfig *c, ModelTensors *w, const int32_t *ranks, Rows scored,
                                    int B, int T) {
    int C = c->n_embd, H = c->n_head, D = C / H, L = c->n_layer, S = scored.N;
    size_t BTC = (size_t)B * T * C, SC = (size_t)S * C;
    Activations *a = &w->acts;
    ActivationGrads *g = &w->gacts;
    float **p = w->param_ptrs, **dp = w->grad_ptrs;
    AttentionShape cross = {B, T, H, D, C, 0, 3 * C, C, 2 * C};
    buffer_zero(g->dqkv, L * BTC * 3);
    for (int l = L - 1; l >= 0; l--) {
        float *z = a->dec_z + l * SC, *zmid = a->dec_zmid + l * SC;
        /* MLP: z_{l+1} = zmid + mlp(zmid) */
        mlp_backward(g->dx, mlp_tensors(dp, P_DEC_LN2_W, l, C), mlp_tensors(p, P_DEC_LN2_W, l, C), zmid,
                     mlp_acts(a->dec_mlp, l, S, C), g, S, C);
        /* cross-attention: zmid = z + attn_out(attention(q(ln1(z)), k_l, v_l)) */
        buffer_zero(g->datty, SC);
        matmul_backward(g->datty, dp[P_DEC_ATTN_W] + (size_t)l * C * C, dp[P_DEC_ATTN_B] + l * C,
                        g->dx, a->dec_atty + l * SC, p[P_DEC_ATTN_W] + (size_t)l * C * C,
                        S, C, C);
        buffer_zero(g->dq, SC);
        attention_backward(g->dq, g->dqkv + l * BTC * 3, g->datty, a->dec_atty + l * SC,
                           a->dec_probs + (size_t)l * S * H * T, a->dec_q + l * SC,
                           a->enc_qkv + l * BTC * 3, ranks, scored, cross, 0);
        rope_rotate(g->dq, w->rope, scored, T, C, 0, H, D, 1); /* undo the rotation */
        buffer_zero(g->dln, SC);
        matmul_backward(g->dln, dp[P_DEC_Q_W] + (size_t)l * C * C, dp[P_DEC_Q_B] + l * C, g->dq,
                        a->dec_ln1 + l * SC, p[P_DEC_Q_W] + (size_t)l * C * C, S, C, C);
        layernorm_backward(g->dx, dp[P_DEC_LN1_W] + l * C, dp[P_DEC_LN1_B] + l * C, g->dln, z,
                           p[P_DEC_LN1_W] + l * C, a->dec_ln1_mean + l * S,
                           a->dec_ln1_rstd + l * S, S, C);
    }
    /* z_0 is dec_input at every scored position */
    rows_sum(dp[P_DEC_INPUT], g->dx, S, C);
}

/* ---- the output: final LayerNorm, then the tied embedding gives the logits ---- */
static inline void output_forward(const ModelConfig *c, ModelTensors *w, const int32_t *targets,
                                  const float *weights, double total_weight, int S, int want_grad) {
    int C = c->n_embd, V = c->vocab_size, L = c->n_layer;
    Activations *a = &w->acts;
    float **p = w->param_ptrs;
    layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, a->dec_z + L * (size_t)S * C, p[P_LNF_W],
                      p[P_LNF_B], S, C);
    matmul_forward(a->logits, a->lnf, p[P_WTE], NULL, S, C, V);
    crossentropy_forward_backward(a->logits, a->losses, targets, weights, total_weight, S, V, want_grad);
}

/* logits = lnf @ wte^T (the logits buffer holds their gradient now); g->dx gets d(loss)/d(z_L) */
static inline void output_backward(const ModelConfig *c, ModelTensors *w, int S) {
    int C = c->n_embd, V = c->vocab_size, L = c->n_layer;
    size_t SC = (size_t)S * C;
    Activations *a = &w->acts;
    ActivationGrads *g = &w->gacts;
    float **p = w->param_ptrs, **dp = w->grad_ptrs;
    buffer_zero(g->dln, SC);
    matmul_backward(g->dln, dp[P_WTE], NULL, a->logits, a->lnf, p[P_WTE], S, C, V);
    buffer_zero(g->dx, SC);
    layernorm_backward(g->dx, dp[P_LNF_W], dp[P_LNF_B], g->dln, a->dec_z + L * SC, p[P_LNF_W],
                       a->lnf_mean, a->lnf_rstd, S, C);
}

/* ---- the model's forward and backward ---- */
/* Forward pass. Returns the (weighted) mean cross-entropy over the scored
 * positions (0 if none). With want_grad the logits are replaced by their
 * gradient, ready for model_backward; without it model_logits() gives them. */
static inline float model_forward(Model *m, const Batch *bt, int want_grad) {
    MODEL_ON_GPU(m, model_forward_gpu(m, bt, want_grad));
    model_ensure_activations(m, bt->B, bt->T);
    model_check_tokens(m, bt);
    ModelTensors *w = &m->tensors;
    batch_scored_by_sequence(bt, w->seq_first);
    Rows scored = {bt->n_scored, bt->scored, w->seq_first};
    encoder_forward(&m->config, w, bt->tokens, bt->ranks, bt->B, bt->T);
    if (bt->n_scored == 0) return 0.0f;
    decoder_forward(&m->config, w, bt->ranks, scored, bt->B, bt->T);
    double total_weight = batch_total_weight(bt);
    output_forward(&m->config, w, bt->targets, bt->weights, total_weight, bt->n_scored, want_grad);
    return batch_mean_loss(bt, w->acts.losses, total_weight);
}

static inline void model_zero_grad(Model *m) {
    MODEL_ON_GPU(m, model_zero_grad_gpu(m));
    memset(m->grads, 0, sizeof(float) * m->n_params);
}

/* Backward pass: adds d(loss)/d(params) into m->grads. Must follow
 * model_forward(m, bt, 1) on the same batch. */
static inline void model_backward(Model *m, const Batch *bt) {
    MODEL_ON_GPU(m, model_backward_gpu(m, bt));
    if (bt->n_scored == 0) return;
    ModelTensors *w = &m->tensors;
    Rows scored = {bt->n_scored, bt->scored, w->seq_first};
    output_backward(&m->config, w, bt->n_scored);
    decoder_backward(&m->config, w, bt->ranks, scored, bt->B, bt->T);
    encoder_backward(&m->config, w, bt->tokens, bt->ranks, bt->B, bt->T);
}

/* ------------------------------------------------------------------------ */
/* 4. the optimizer: AdamW with global-norm clipping, and weight averaging  */
/* ------------------------------------------------------------------------ */
typedef struct AdamWConfig {
    float lr, beta1, beta2, eps, weight_decay, grad_clip;
} AdamWConfig;

/* Scale gradients so their global L2 norm is at most max_norm; returns the norm before. */
static inline float clip_grad_norm(Model *m, float max_norm) {
    MODEL_ON_GPU(m, clip_grad_norm_gpu(m, max_norm));
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
    MODEL_ON_GPU(m, adamw_update_gpu(m, o, step));
    if (!m->adam_m) {
        m->adam_m = (float *)xcalloc(m->n_params, sizeof(float));
        m->adam_v = (float *)xcalloc(m->n_params, sizeof(float));
    }
    float c1 = 1.0f - powf(o->beta1, (float)step), c2 = 1.0f - powf(o->beta2, (float)step);
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        size_t off = (size_t)(m->tensors.param_ptrs[t] - m->params), n = m->param_sizes[t];
        float wd = m->param_decays[t] ? o->weight_decay : 0.0f;
        if (n == 0) continue; /* a tensor a 1-layer model does not have */
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
static inline float ema_decay_at(float max_decay, int step) {
    /* step counts from 1; the first average (d = 0) is the weights themselves */
    return step <= 1 ? 0.0f : fminf(max_decay, (1.0f + step) / (10.0f + step));
}

static inline void ema_update(Model *m, float max_decay, int step) {
    MODEL_ON_GPU(m, ema_update_gpu(m, max_decay, step));
    if (!m->ema) m->ema = (float *)xcalloc(m->n_params, sizeof(float)); /* 0 * ema below reads zeros */
    float d = ema_decay_at(max_decay, step);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < m->n_params; i++) m->ema[i] = d * m->ema[i] + (1.0f - d) * m->params[i];
}

/* Swap the trained weights and their average, so that what follows (an
 * evaluation, 06_eval) runs on the average; swap again to go back. */
static inline void model_swap_ema(Model *m) {
    MODEL_ON_GPU(m, model_swap_ema_gpu(m));
    if (!m->ema) return;
    float *t = m->params;
    m->params = m->ema;
    m->ema = t;
    tensors_point_into(&m->tensors, m->param_sizes, m->params, m->grads);
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

/* ------------------------------------------------------------------------ */
/* 5. checkpoints                                                            */
/* ------------------------------------------------------------------------ */
/*   CheckpointHeader   256 bytes: what the model is, how it was trained, where training is
 *   float params[n_params]
 *   float adam_m[n_params], adam_v[n_params]     (only if has_optimizer)
 *   float ema[n_params]                          (only if has_ema: the --ema average)
 * A checkpoint carries everything 04/05 need to resume bit-identically and
 * everything 06 needs to evaluate: the configuration, the objective (which
 * decides the inference ranks) and the vocabulary it was trained with
 * (docs/design.md, "Checkpoints"). */
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
    int32_t group_by_length; /* batches of examples of about one length (--group-by-length) */
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

static inline void checkpoint_save(const char *path, Model *m, const CheckpointHeader *h_in) {
    model_download(m); /* a model on the GPU: its numbers back in m first (the same bytes either way) */
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
    const float *tensors[4] = {m->params, m->adam_m, m->adam_v, m->ema};
    for (int k = 0; k < 4; k++)
        if (tensors[k]) xfwrite(tensors[k], sizeof(float) * m->n_params, f, path); /* no optimizer or average: none */
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

/* ------------------------------------------------------------------------ */
/* 6. the training loop shared by 04_train_ar and 05_train_mlmu             */
/* ------------------------------------------------------------------------ */
/* The two trainers differ in one function: the rank sampler that turns a
 * batch of sequences into (ranks, scored positions), i.e. the factorization
 * of the joint distribution the objective trains (docs/design.md, "Ranks").
 * Everything else, data order, optimizer, logging, checkpoints, evaluation,
 * is this loop. */
typedef void (*RankSampler)(Batch *bt, Rng *rng, const TrainConfig *tc);
/* A trainer names its sampler per objective (05 has three), so a resumed run
 * gets the sampler of the objective stored in its checkpoint. */
typedef RankSampler (*SamplerForObjective)(int objective);

/* Greedy decoding, which the evaluations use (and 06_eval), and what the loop
 * calls around the step: its flags, the setup of a run (data, model, the
 * validation split, the log), evaluating, checkpointing and reporting. */
#include "03_model_decode.h"
#include "03_model_train.h"

static inline void run_training(TrainOptions *o, SamplerForObjective sampler_for) {
    if (o->show_ranks) { show_ranks(sampler_for(o->train.objective), &o->train, o->show_ranks == 2); return; }
    Training r;
    training_setup(&r, o, sampler_for); /* data, model (built, --init or --resume), validation split, log */
    TrainConfig *tc = &o->train;
    AdamWConfig opt = {tc->lr, tc->beta1, tc->beta2, 1e-8f, tc->weight_decay, tc->grad_clip};
    for (int step = r.h.step; step < r.end_step; step++) {
        /* one optimizer step: batch -> ranks -> loss -> gradients -> AdamW */
        training_next_batch(&r);                 /* the next examples in this epoch's order */
        r.sample_ranks(&r.batch, &r.rng, tc);    /* the objective: ranks and scored positions */
        model_zero_grad(&r.model);
        float loss = model_forward(&r.model, &r.batch, 1);
        if (!isfinite(loss))
            die("non-finite loss (%g) at step %d; the last good checkpoint '%s' is left in place. "
                "Try a lower --lr or a stronger --clip.", loss, step + 1, r.ckpt_path);
        model_backward(&r.model, &r.batch);
        float grad_norm = clip_grad_norm(&r.model, tc->grad_clip);
        opt.lr = lr_schedule(tc->lr, step, tc->warmup_steps, tc->total_steps, tc->min_lr_frac);
        adamw_update(&r.model, &opt, step + 1);
        if (tc->ema_decay > 0) ema_update(&r.model, tc->ema_decay, step + 1);
        training_count(&r, loss);                /* tokens and loss since the last report */

        int done = step + 1;
        int report = done % 50 == 0 || done == r.end_step;
        int evaluate = (tc->eval_every > 0 && done % tc->eval_every == 0) || done == r.end_step;
        if (!report && !evaluate) continue;
        Report rep = training_report_start(&r);  /* the clock stops: evaluating is not training */
        if (evaluate) {
            rep.eval = training_evaluate(&r, done); /* test, train and validation queries, decoded */
            training_checkpoint(&r, done, rep.eval.new_best); /* model.ckpt; best.ckpt on a new best */
        }
        training_report(&r, &rep, done, evaluate, opt.lr, grad_norm); /* log.csv and the progress line */
    }
    training_free(&r);
}

/* ------------------------------------------------------------------------ */
/* 7. main: build a model from flags and write its initial checkpoint        */
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

/* ======================================================================== */
/* The GPU part: the CUDA twins of the layers and model functions above,     */
/* in the same order. Compiled by nvcc only; a parallel read, not part of    */
/* the CPU code's.                                                           */
/* ======================================================================== */
#ifdef __CUDACC__
#include "03_model_gpu.cuh"
#endif
#endif /* MODEL_CU */
