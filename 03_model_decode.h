/*
 * 03_model_decode.h -- greedy answers to the queries of a token file, and
 * their scores by direction: the paper's protocol for every model. The
 * training loop's evaluations use it (03_model.cu, section 6), and 06_eval.
 * Included by 03_model.cu.
 */
#ifndef MODEL_DECODE_H
#define MODEL_DECODE_H

/* Does an objective decode with AR ranks (rank = position) or with MLM ranks
 * (everything known has rank 0, the position to predict rank 1)? AR and PLM
 * models are left-to-right factorizations; MLM models were trained to fill
 * masked positions from everything visible (docs/design.md, "Decoding"). */
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

/* Greedy left-to-right decoding (docs/design.md, "Decoding"). For each query: the
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


#endif /* MODEL_DECODE_H */
