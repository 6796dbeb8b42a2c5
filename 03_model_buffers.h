/*
 * 03_model_buffers.h -- the memory of 03_model.cu's batches and models:
 * allocating and freeing them, the activations' sizes and places (one table,
 * used to size the buffers and to carve them), and the checks of a model's
 * configuration and of a batch's tokens, the sums over a batch's scored
 * positions, and where a model's numbers are: its copy on the GPU, and what
 * the host reads of it. Included by 03_model.cu after the types it works on
 * (Batch, Activations, ModelTensors, Model).
 */
#ifndef MODEL_BUFFERS_H
#define MODEL_BUFFERS_H

/* ---- batches ---- */
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

/* seq_first (B+1): the scored positions of sequence b are scored[seq_first[b]
 * .. seq_first[b+1]-1]. Every rank sampler and decoder scores them grouped by
 * sequence, b ascending; the attention's backward relies on it. */
static inline void batch_scored_by_sequence(const Batch *bt, int32_t *seq_first) {
    for (int n = 1; n < bt->n_scored; n++)
        if (bt->scored[n] / bt->T < bt->scored[n - 1] / bt->T)
            die("internal error: the scored positions are not grouped by sequence");
    for (int b = 0, n = 0; b <= bt->B; b++) {
        while (n < bt->n_scored && bt->scored[n] / bt->T < b) n++;
        seq_first[b] = n;
    }
}

/* the loss weights' sum, and the weighted mean of the losses (S) of the scored positions */
static inline double batch_total_weight(const Batch *bt) {
    double total = 0.0;
    for (int s = 0; s < bt->n_scored; s++) total += bt->weights[s];
    return total;
}

static inline float batch_mean_loss(const Batch *bt, const float *losses, double total_weight) {
    double loss = 0.0;
    for (int s = 0; s < bt->n_scored; s++) loss += (double)bt->weights[s] * losses[s];
    return (float)(loss / total_weight);
}

/* ---- models ---- */
static inline void model_check_config(const ModelConfig *c, const char *where) {
    if (c->n_layer < 1 || c->n_layer > 64 || c->n_head < 1 || c->n_embd < 2 ||
        c->n_embd % c->n_head != 0 || (c->n_embd / c->n_head) % 2 != 0 || c->vocab_size < 1 ||
        c->max_seq_len < 2 || c->max_seq_len > 65536)
        die("%s: invalid model configuration (layers %d, heads %d, width %d, vocab %d, max length "
            "%d); the width must be a multiple of the heads with an even head size",
            where, c->n_layer, c->n_head, c->n_embd, c->vocab_size, c->max_seq_len);
}

/* Point tensor i of t at its place in params and grads (sizes: param_sizes). */
static inline void tensors_point_into(ModelTensors *t, const size_t *sizes, float *params, float *grads) {
    size_t off = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        t->param_ptrs[i] = params + off;
        t->grad_ptrs[i] = grads + off;
        off += sizes[i];
    }
}

/* The activations of batches up to B x T, one table used twice: to size the
 * two buffers (memory NULL) and to carve them (every tensor of t pointed
 * into act_memory, its gradients into grad_memory). Returns the floats of
 * the activations; *grad_floats gets those of their gradients. */
static inline size_t activations_layout(ModelTensors *t, const ModelConfig *c, int B, int T, float *act_memory,
                                        float *grad_memory, size_t *grad_floats) {
    size_t L = c->n_layer, C = c->n_embd, H = c->n_head, V = c->vocab_size, BT = (size_t)B * T, Lm = L - 1;
    Activations *a = &t->acts;
    ActivationGrads *g = &t->gacts;
    float **ptrs[] = {&a->enc_x, &a->enc_ln1, &a->enc_ln1_mean, &a->enc_ln1_rstd, &a->enc_qkv, &a->enc_probs,
                      &a->enc_atty, &a->enc_xmid, &a->enc_mlp.ln, &a->enc_mlp.ln_mean, &a->enc_mlp.ln_rstd,
                      &a->enc_mlp.fch, &a->enc_mlp.fch_gelu, &a->dec_z, &a->dec_ln1, &a->dec_ln1_mean,
                      &a->dec_ln1_rstd, &a->dec_q, &a->dec_probs, &a->dec_atty, &a->dec_zmid, &a->dec_mlp.ln,
                      &a->dec_mlp.ln_mean, &a->dec_mlp.ln_rstd, &a->dec_mlp.fch, &a->dec_mlp.fch_gelu, &a->lnf,
                      &a->lnf_mean, &a->lnf_rstd, &a->logits, &a->losses};
    size_t sizes[] = {L * BT * C, L * BT * C, L * BT, L * BT, L * BT * 3 * C,
                      Lm * BT * H * T, Lm * BT * C, Lm * BT * C, Lm * BT * C, Lm * BT, Lm * BT,
                      Lm * BT * 4 * C, Lm * BT * 4 * C, (L + 1) * BT * C, L * BT * C, L * BT,
                      L * BT, L * BT * C, L * BT * H * T, L * BT * C, L * BT * C, L * BT * C,
                      L * BT, L * BT, L * BT * 4 * C, L * BT * 4 * C, BT * C, BT, BT,
                      BT * V, BT};
    float **gptrs[] = {&g->dx, &g->dln, &g->datty, &g->dq, &g->dfch, &g->dfch_gelu, &g->dqkv};
    size_t gsizes[] = {BT * C, BT * C, BT * C, BT * C, BT * 4 * C, BT * 4 * C, L * BT * 3 * C};
    size_t total = 0, gtotal = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (act_memory) *ptrs[i] = act_memory + total;
        total += sizes[i];
    }
    for (size_t i = 0; i < sizeof gsizes / sizeof gsizes[0]; i++) {
        if (grad_memory) *gptrs[i] = grad_memory + gtotal;
        gtotal += gsizes[i];
    }
    *grad_floats = gtotal;
    return total;
}

/* (Re)allocate activation memory for batches of up to B x T. */
static inline void model_ensure_activations(Model *m, int B, int T) {
    if (T > m->config.max_seq_len)
        die("sequence length %d exceeds the model's maximum %d", T, m->config.max_seq_len);
    if (B <= m->act_B && T <= m->act_T) return;
    if (B < m->act_B) B = m->act_B;
    if (T < m->act_T) T = m->act_T;
    free(m->act_memory);
    free(m->grad_act_memory);
    free(m->tensors.seq_first);
    size_t grad_floats, floats = activations_layout(&m->tensors, &m->config, B, T, NULL, NULL, &grad_floats);
    m->act_memory = (float *)xcalloc(floats, sizeof(float));
    m->grad_act_memory = (float *)xcalloc(grad_floats, sizeof(float));
    activations_layout(&m->tensors, &m->config, B, T, m->act_memory, m->grad_act_memory, &grad_floats);
    m->tensors.seq_first = (int32_t *)xmalloc(sizeof(int32_t) * ((size_t)B + 1));
    m->act_B = B;
    m->act_T = T;
}

static inline void model_check_tokens(const Model *m, const Batch *bt) {
    for (size_t i = 0; i < (size_t)bt->B * bt->T; i++)
        if (bt->tokens[i] < 0 || bt->tokens[i] >= m->config.vocab_size)
            die("token id %d outside the model's vocabulary of %d", bt->tokens[i], m->config.vocab_size);
}

static inline void model_free(Model *m) {
    MODEL_ON_GPU(m, model_free_gpu(m)); /* frees the copy on the GPU, then comes back here */
    free(m->params); free(m->grads); free(m->adam_m); free(m->adam_v); free(m->ema); free(m->rope);
    free(m->act_memory); free(m->grad_act_memory); free(m->tensors.seq_first);
    memset(m, 0, sizeof *m);
}

/* ---- a model on the GPU, and what the host reads of it ---- */
/* Give the model its copy on the GPU when the program runs there (after this
 * the model functions below work on that copy); on the CPU, nothing to do. */
static inline void model_to_device(Model *m) {
    RUN_ON_GPU(model_to_device_gpu(m));
    (void)m;
}

/* The logits (S, V) of the last forward without gradients, in host memory. */
static inline const float *model_logits(Model *m) {
    MODEL_ON_GPU(m, model_logits_gpu(m));
    return m->tensors.acts.logits;
}

/* The input of encoder block l of the last forward, n = B*T*C floats, into dst (06_eval's PCA). */
static inline void model_copy_encoder_input(Model *m, int l, size_t n, float *dst) {
    MODEL_ON_GPU(m, model_copy_encoder_input_gpu(m, l, n, dst));
    memcpy(dst, m->tensors.acts.enc_x + (size_t)l * n, sizeof(float) * n);
}

/* A model on the GPU: its parameters, moments and average copied back into
 * the Model's own buffers (so a checkpoint has the same bytes from either
 * device). On the CPU they are there already. */
static inline void model_download(Model *m) {
    MODEL_ON_GPU(m, model_download_gpu(m));
    (void)m;
}

#endif /* MODEL_BUFFERS_H */
