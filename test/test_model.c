/*
 * test_model.c -- the model's correctness checks (docs/tests.md, "test_model").
 *
 *   1. gradient check: for every parameter tensor and every objective's ranks,
 *      the analytic directional derivative g.d against the central difference
 *      (L(p + eps d) - L(p - eps d)) / 2 eps, along the gradient itself and
 *      along a random direction; one deliberately broken gradient must FAIL.
 *   2. leakage check: for every objective (training and inference ranks),
 *      changing a token that a scored position may not see leaves its logits
 *      bit-identical; changing one it may see changes them.
 *   3. checkpoint round trip.
 *   4. the weight average (--ema).
 *   5. --group-by-length: the epoch's order is still every example once, and
 *      each batch holds lengths no wider than the window's sorted slice.
 *
 * It includes the real trainers (with their mains switched off), so the rank
 * samplers tested are the ones training uses.
 * Prints "PASS: ..." / "FAIL: ..." per check; exit status 1 on any failure.
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

/* A tiny model with weights large enough that every nonlinearity matters. */
static void tiny_model(Model *m, int L) {
    ModelConfig c = {L, 2, 16, 13, 12};
    model_alloc(m, &c);
    Rng r;
    rng_seed(&r, 42);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] = 0.3f * rng_normal(&r);
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) /* LayerNorm weights near 1 */
        if (t == P_ENC_LN1_W || t == P_ENC_LN2_W || t == P_DEC_LN1_W || t == P_DEC_LN2_W || t == P_LNF_W)
            for (size_t i = 0; i < m->param_sizes[t]; i++) m->tensors.param_ptrs[t][i] = 1.0f + 0.2f * rng_normal(&r);
}

/* A random batch of B sequences of random lengths, BOS first. */
static void random_batch(Batch *bt, int B, int T, int V, Rng *r) {
    batch_init(bt, B, T);
    bt->B = B;
    bt->T = T;
    bt->n_scored = 0;
    for (int b = 0; b < B; b++) {
        int len = T - (int)rng_below(r, 3); /* some padding */
        bt->lengths[b] = len;
        bt->first_scored[b] = 1;
        for (int t = 0; t < T; t++) {
            bt->tokens[b * T + t] = t == 0 ? TOK_BOS : t < len ? N_SPECIAL_TOKENS + (int)rng_below(r, V - N_SPECIAL_TOKENS) : TOK_PAD;
            bt->ranks[b * T + t] = RANK_NEVER;
        }
    }
}

/* Inference ranks of 06: prefix visible, one query position. */
static void ranks_inference(Batch *bt, int ar_ranks) {
    bt->n_scored = 0;
    for (int b = 0; b < bt->B; b++) {
        int q = bt->lengths[b] - 1; /* predict the last token from the ones before */
        for (int t = 0; t < bt->T; t++)
            bt->ranks[b * bt->T + t] = t < q ? (ar_ranks ? t : 0) : t == q ? (ar_ranks ? t : 1) : RANK_NEVER;
        batch_score(bt, b, q);
    }
}

/* problem: the first `problem` positions are context only (KIND_PROBLEM) */
typedef struct { const char *name; int objective; float rate; int inference, elbo, problem; } Case;
static const Case CASES[] = {
    {"AR", OBJ_AR, 0, 0, 0, 0},
    {"MLM-U", OBJ_MLMU, 0, 0, 0, 0},
    {"MLM-r(0.4)", OBJ_MLM, 0.4f, 0, 0, 0},
    {"MLM-U (ELBO weights)", OBJ_MLMU, 0, 0, 1, 0},
    {"PLM", OBJ_PLM, 0, 0, 0, 0},
    {"AR (problem)", OBJ_AR, 0, 0, 0, 3},
    {"MLM-U (problem)", OBJ_MLMU, 0, 0, 0, 3},
    {"PLM (problem)", OBJ_PLM, 0, 0, 0, 3},
    {"AR-inference", OBJ_AR, 0, 1, 0, 0},
    {"MLM-inference", OBJ_MLMU, 0, 1, 0, 0},
};
#define N_TRAINING_CASES 8
#define N_CASES (int)(sizeof CASES / sizeof CASES[0])

static void apply_case(const Case *c, Batch *bt, Rng *r) {
    TrainConfig tc;
    memset(&tc, 0, sizeof tc);
    tc.objective = c->objective;
    tc.mlm_rate = c->rate;
    tc.elbo_weights = c->elbo;
    bt->n_scored = 0;
    if (c->problem)
        for (int b = 0; b < bt->B; b++) bt->first_scored[b] = c->problem;
    if (c->inference) ranks_inference(bt, c->objective == OBJ_AR);
    else if (c->objective == OBJ_AR) sample_ranks_ar(bt, r, &tc);
    else if (c->objective == OBJ_PLM) sample_ranks_plm(bt, r, &tc);
    else sample_ranks_mlm(bt, r, &tc);
    /* a problem's context is never scored */
    for (int s = 0; s < bt->n_scored; s++)
        if (bt->scored[s] % bt->T < bt->first_scored[bt->scored[s] / bt->T]) {
            printf("FAIL: %s scores position %d, inside the context-only prompt\n", c->name,
                   bt->scored[s] % bt->T);
            n_failed++;
            break;
        }
}

/* ---- 1. gradient check ---- */
static double loss_at(Model *m, const Batch *bt) { return model_forward(m, bt, 0); }

/* Directional derivative of tensor t along d: analytic vs central difference. */
static int check_direction(Model *m, const Batch *bt, int t, const float *g, const float *d,
                           double *rel_err) {
    size_t n = m->param_sizes[t];
    float *p = m->tensors.param_ptrs[t];
    double analytic = 0.0;
    for (size_t i = 0; i < n; i++) analytic += (double)g[i] * d[i];
    const float eps = 2e-3f;
    for (size_t i = 0; i < n; i++) p[i] += eps * d[i];
    double lp = loss_at(m, bt);
    for (size_t i = 0; i < n; i++) p[i] -= 2 * eps * d[i];
    double lm = loss_at(m, bt);
    for (size_t i = 0; i < n; i++) p[i] += eps * d[i];
    double numeric = (lp - lm) / (2 * eps);
    double err = fabs(analytic - numeric);
    *rel_err = err / (fabs(analytic) + fabs(numeric) + 1e-12);
    /* float32 forward: the difference quotient carries ~1e-4 absolute noise */
    return err <= 2e-2 * fabs(numeric) + 3e-4;
}

/* One element: d(loss)/d(p[i]) against the central difference. */
static int check_element(Model *m, const Batch *bt, int t, const float *g, size_t i, double *rel_err) {
    float *p = m->tensors.param_ptrs[t];
    const float eps = 1e-3f;
    float saved = p[i];
    p[i] = saved + eps;
    double lp = loss_at(m, bt);
    p[i] = saved - eps;
    double lm = loss_at(m, bt);
    p[i] = saved;
    double numeric = (lp - lm) / (2 * eps), err = fabs(g[i] - numeric);
    *rel_err = err / (fabs(g[i]) + fabs(numeric) + 1e-12);
    return err <= 2e-2 * fabs(numeric) + 5e-4;
}

/* A tiny 2-layer model and a random B x T batch with the case's ranks. */
static void setup_case(const Case *c, Model *m, Batch *bt, Rng *r, uint64_t seed, int B, int T) {
    tiny_model(m, 2);
    rng_seed(r, seed);
    random_batch(bt, B, T, m->config.vocab_size, r);
    apply_case(c, bt, r);
}

static void gradient_check(void) {
    for (int ci = 0; ci < N_TRAINING_CASES; ci++) {
        const Case *c = &CASES[ci];
        Model m;
        Rng r;
        Batch bt;
        setup_case(c, &m, &bt, &r, 7 + ci, 3, 10);
        model_zero_grad(&m);
        model_forward(&m, &bt, 1);
        model_backward(&m, &bt);
        float *grads = (float *)xmalloc(sizeof(float) * m.n_params);
        memcpy(grads, m.grads, sizeof(float) * m.n_params);
        int all_ok = 1;
        double worst = 0.0;
        const char *worst_name = "";
        for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
            size_t n = m.param_sizes[t];
            float *g = grads + (m.tensors.param_ptrs[t] - m.params);
            float *d = (float *)xmalloc(sizeof(float) * n);
            double gnorm = 0.0, rnorm = 0.0;
            for (size_t i = 0; i < n; i++) gnorm += (double)g[i] * g[i];
            gnorm = sqrt(gnorm);
            double e1 = 0.0, e2 = 0.0;
            int ok = 1;
            if (gnorm > 0) { /* along the gradient: the derivative is |g| */
                for (size_t i = 0; i < n; i++) d[i] = (float)(g[i] / gnorm);
                ok &= check_direction(&m, &bt, t, g, d, &e1);
            }
            for (size_t i = 0; i < n; i++) { d[i] = rng_normal(&r); rnorm += (double)d[i] * d[i]; }
            for (size_t i = 0; i < n; i++) d[i] = (float)(d[i] / sqrt(rnorm));
            ok &= check_direction(&m, &bt, t, g, d, &e2);
            /* single elements: the largest gradient entry and two random ones */
            size_t largest = 0;
            for (size_t i = 0; i < n; i++) if (fabsf(g[i]) > fabsf(g[largest])) largest = i;
            size_t picks[3] = {largest, rng_below(&r, (uint32_t)n), rng_below(&r, (uint32_t)n)};
            for (int k = 0; k < 3; k++) {
                double e3;
                ok &= check_element(&m, &bt, t, g, picks[k], &e3);
                if (e3 > e2) e2 = e3;
            }
            if (!ok) {
                all_ok = 0;
                printf("    %s: tensor %s: relative error %.2e (gradient direction), %.2e (random)\n",
                       c->name, PARAM_NAMES[t], e1, e2);
            }
            if (e1 > worst) { worst = e1; worst_name = PARAM_NAMES[t]; }
            free(d);
        }
        report(all_ok, "gradient check %s: all %d tensors (worst relative error %.1e in %s)", c->name,
               NUM_PARAM_TENSORS, worst, worst_name);

        /* the check must be able to fail: make one element 20% wrong */
        if (ci == 0) {
            int t = P_ENC_QKV_W;
            float *g = grads + (m.tensors.param_ptrs[t] - m.params);
            size_t largest = 0;
            for (size_t i = 0; i < m.param_sizes[t]; i++) if (fabsf(g[i]) > fabsf(g[largest])) largest = i;
            g[largest] *= 1.2f;
            double e = 0.0;
            int caught = !check_element(&m, &bt, t, g, largest, &e);
            report(caught,
                   "gradient check detects a gradient element that is 20%% wrong (relative error %.2e)", e);
        }
        free(grads);
        batch_free(&bt);
        model_free(&m);
    }
}

/* ---- 2. leakage check ---- */
static void leakage_check(void) {
    for (int ci = 0; ci < N_CASES; ci++) {
        const Case *c = &CASES[ci];
        Model m;
        Rng r;
        Batch bt;
        setup_case(c, &m, &bt, &r, 100 + ci, 4, 9);
        int V = m.config.vocab_size, S = bt.n_scored;
        model_forward(&m, &bt, 0);
        float *base = (float *)xmalloc(sizeof(float) * (size_t)S * V);
        memcpy(base, m.tensors.acts.logits, sizeof(float) * (size_t)S * V);
        int hidden_tested = 0, hidden_ok = 0, visible_tested = 0, visible_ok = 0;
        for (int s = 0; s < S; s++) {
            int flat = bt.scored[s], b = flat / bt.T;
            for (int j = 0; j < bt.lengths[b]; j++) {
                int32_t rank_j = bt.ranks[b * bt.T + j], rank_i = bt.ranks[flat];
                int32_t saved = bt.tokens[b * bt.T + j];
                bt.tokens[b * bt.T + j] = N_SPECIAL_TOKENS + (saved - N_SPECIAL_TOKENS + 1 + (int)rng_below(&r, V - N_SPECIAL_TOKENS - 1)) % (V - N_SPECIAL_TOKENS);
                if (saved < N_SPECIAL_TOKENS) bt.tokens[b * bt.T + j] = N_SPECIAL_TOKENS + 1;
                model_forward(&m, &bt, 0);
                int same = memcmp(base + (size_t)s * V, m.tensors.acts.logits + (size_t)s * V, sizeof(float) * V) == 0;
                if (rank_j < rank_i) { visible_tested++; visible_ok += !same; }
                else { hidden_tested++; hidden_ok += same; }
                bt.tokens[b * bt.T + j] = saved;
            }
        }
        report(hidden_tested > 0 && hidden_ok == hidden_tested,
               "leakage %s: %d/%d changes of tokens a scored position may not see leave its logits bit-identical",
               c->name, hidden_ok, hidden_tested);
        report(visible_tested > 0 && visible_ok == visible_tested,
               "leakage %s: %d/%d changes of tokens it may see change its logits", c->name,
               visible_ok, visible_tested);
        free(base);
        batch_free(&bt);
        model_free(&m);
    }
}

/* ---- 3. checkpoint round trip ---- */
static void checkpoint_check(void) {
    Model m, m2;
    tiny_model(&m, 3);
    CheckpointHeader h, h2;
    memset(&h, 0, sizeof h);
    h.vocab_hash = 1234;
    h.train.objective = OBJ_MLMU;
    h.step = 17;
    m.adam_m = (float *)xcalloc(m.n_params, sizeof(float));
    m.adam_v = (float *)xcalloc(m.n_params, sizeof(float));
    m.adam_v[5] = 3.0f;
    char path[] = "build/test_model_ckpt.bin";
    checkpoint_save(path, &m, &h);
    checkpoint_load(path, &m2, &h2);
    int ok = m2.n_params == m.n_params && !memcmp(m.params, m2.params, sizeof(float) * m.n_params) &&
             m2.adam_v && m2.adam_v[5] == 3.0f && h2.step == 17 && h2.train.objective == OBJ_MLMU &&
             h2.vocab_hash == 1234 && h2.model.n_layer == 3;
    report(ok, "checkpoint round trip (configuration, parameters, optimizer state, step)");
    remove(path);
    model_free(&m);
    model_free(&m2);
}

/* ---- 4. the weight average (--ema) ---- */
static void ema_check(void) {
    Model m, m2;
    tiny_model(&m, 1);
    /* params follow w_k = k at step k; the average must follow the recursion
     * a_1 = w_1, a_k = d_k a_(k-1) + (1 - d_k) w_k with d_k = min(D, (1+k)/(10+k)) */
    const float D = 0.5f;
    double expect = 0.0;
    for (int k = 1; k <= 12; k++) {
        for (size_t i = 0; i < m.n_params; i++) m.params[i] = (float)k;
        ema_update(&m, D, k);
        double d = k == 1 ? 0.0 : fmin(D, (1.0 + k) / (10.0 + k));
        expect = d * expect + (1.0 - d) * k;
    }
    int ok = 1;
    for (size_t i = 0; i < m.n_params; i++) ok &= fabs(m.ema[i] - expect) < 1e-5 * expect;
    report(ok, "ema: the average follows its recursion (12 steps, ramped decay; %.4f)", expect);
    float first_param = m.params[0];
    model_swap_ema(&m);
    ok = fabsf(m.params[0] - (float)expect) < 1e-5f && m.tensors.param_ptrs[0] == m.params && m.ema[0] == first_param;
    model_swap_ema(&m);
    ok &= m.params[0] == first_param && m.tensors.param_ptrs[0] == m.params;
    report(ok, "ema: model_swap_ema swaps the weights the layers read, and swaps back");
    CheckpointHeader h, h2;
    memset(&h, 0, sizeof h);
    h.train.objective = OBJ_MLMU;
    char path[] = "build/test_model_ema.bin";
    checkpoint_save(path, &m, &h);
    checkpoint_load(path, &m2, &h2);
    ok = h2.has_ema && m2.ema && !m2.adam_m && !memcmp(m.ema, m2.ema, sizeof(float) * m.n_params) &&
         !memcmp(m.params, m2.params, sizeof(float) * m.n_params);
    report(ok, "ema: checkpoint round trip keeps the weights and their average apart");
    remove(path);
    model_free(&m);
    model_free(&m2);
}

/* An epoch of 1000 examples of lengths 1..100 in batches of 8 (windows of
 * 128): the grouped order is a permutation, each whole batch of a window is a
 * run of that window's lengths in sorted order (so it pads little), and the
 * ungrouped order is the plain shuffle. */
static void group_by_length_check(void) {
    enum { N = 1000, B = 8, W = 16 * B };
    int lengths[N], order[N], plain[N], seen[N], sorted[W];
    Rng r;
    rng_seed(&r, 7);
    for (int i = 0; i < N; i++) lengths[i] = 1 + (int)rng_below(&r, 100);
    epoch_order(order, N, 5, 3, lengths, B);
    epoch_order(plain, N, 5, 3, NULL, B);
    memset(seen, 0, sizeof seen);
    int perm = 1;
    for (int i = 0; i < N; i++) perm &= order[i] >= 0 && order[i] < N && !seen[order[i]]++;
    report(perm, "--group-by-length: an epoch's order holds every example once");
    long pad_grouped = 0, pad_plain = 0;
    int runs_ok = 1;
    for (int w0 = 0; w0 + W <= N; w0 += W) {
        for (int i = 0; i < W; i++) sorted[i] = lengths[order[w0 + i]];
        for (int i = 1; i < W; i++) /* insertion sort: the window's lengths in order */
            for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) { int t = sorted[j]; sorted[j] = sorted[j - 1]; sorted[j - 1] = t; }
        for (int b = 0; b < W / B; b++) {
            const int *batch = order + w0 + b * B;
            int lo = 1 << 30, hi = 0, hi_plain = 0, found = 0;
            for (int k = 0; k < B; k++) {
                int l = lengths[batch[k]];
                lo = l < lo ? l : lo; hi = l > hi ? l : hi;
                if (lengths[plain[w0 + b * B + k]] > hi_plain) hi_plain = lengths[plain[w0 + b * B + k]];
                pad_plain -= lengths[plain[w0 + b * B + k]];
                pad_grouped -= l;
            }
            for (int s = 0; s + B <= W && !found; s += B) found = sorted[s] == lo && sorted[s + B - 1] == hi;
            runs_ok &= found;
            pad_grouped += (long)B * hi;
            pad_plain += (long)B * hi_plain;
        }
    }
    report(runs_ok, "--group-by-length: each batch holds one slice of its window's sorted lengths");
    report(pad_grouped * 4 < pad_plain, "--group-by-length: padding %ld tokens against %ld ungrouped", pad_grouped, pad_plain);
}

int main(void) {
    gradient_check();
    leakage_check();
    checkpoint_check();
    ema_check();
    group_by_length_check();
    return n_failed ? 1 : 0;
}
