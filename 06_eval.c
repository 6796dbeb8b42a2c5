/*
 * 06_eval.c -- answer every query of a split by greedy left-to-right decoding
 * and score it, split by direction (forward: value of a key; backward: key of
 * a value).
 *
 * Decoding is the same for every objective (docs/design.md, "Decoding"): the prompt
 * is context, and each answer token is predicted from the prompt and the
 * tokens generated so far. Only the ranks differ: a model trained AR (or PLM)
 * sees rank[i] = i, a model trained with MLM/MLM-U sees the known tokens at
 * rank 0 and the position to fill at rank 1, the situation it was trained on.
 * The checkpoint says which objective trained it; nothing else is needed.
 *
 * --order confidence (not the paper's protocol) lets a model trained on every
 * order fill the answer in the order it is surest of instead
 * (decode_queries_by_confidence, below).
 *
 * Metrics: exact match (the whole answer, EOS included) and per-token accuracy
 * (answer positions where the greedy output has the gold token). For a star
 * graph problem the answer is the whole path, so exact match is the full-path
 * accuracy. Where the data gives an alt answer (the relationship task: the
 * entity a model that swaps subject and object would give), the incorrect
 * inference rate: the share of queries whose output is exactly the alt answer.
 *
 * Outputs (PREFIX defaults to the checkpoint's directory + "/eval"):
 *   PREFIX.csv          model,objective,split,direction,queries,exact_match,token_accuracy,
 *                       step,incorrect_inference (empty without alt answers)
 *   PREFIX.md           the same as a markdown table row per direction
 *   PREFIX.answers.txt  every query: prompt, gold answer, model answer, right/wrong
 *
 * With --pca FILE it also writes the entity representations of the paper's
 * Figure 4b/c: every training statement through the encoder, each entity
 * span's mean state, projected on the two principal components (below).
 *
 *   usage: 06_eval --model runs/ar/model.ckpt --data data/retrieval [options]   (--help)
 */
#include "03_model.cu"

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


/* ---- Figure 4b/c: a PCA of the entity representations ----
 * Every training statement (e.g. "A => B => C") goes through the encoder with
 * the model's own inference ranks (AR: rank = position; MLM: all visible).
 * An entity's representation is the mean, over its tokens, of the deepest
 * content-stream state (the input of the last encoder block, the states the
 * last keys and values are computed from). Each is labelled with its span
 * label (its role: A, B, C, or key, value) and with whether the fact's
 * questions were trained on ("train") or held out ("test"). The vectors are
 * centered and projected on the two eigenvectors of their covariance with the
 * largest eigenvalues (power iteration with deflation). */
static void power_iteration(const double *cov, int C, double *vec, double *value) {
    for (int i = 0; i < C; i++) vec[i] = 1.0 / sqrt((double)C) + 1e-3 * (i % 7); /* not orthogonal to much */
    double *next = (double *)xmalloc(sizeof(double) * C);
    for (int iter = 0; iter < 500; iter++) {
        double norm = 0.0;
        for (int i = 0; i < C; i++) {
            next[i] = 0.0;
            for (int j = 0; j < C; j++) next[i] += cov[(size_t)i * C + j] * vec[j];
            norm += next[i] * next[i];
        }
        norm = sqrt(norm);
        if (norm == 0.0) break;
        for (int i = 0; i < C; i++) vec[i] = next[i] / norm;
    }
    *value = 0.0; /* the Rayleigh quotient v^T cov v */
    for (int i = 0; i < C; i++)
        for (int j = 0; j < C; j++) *value += vec[i] * cov[(size_t)i * C + j] * vec[j];
    free(next);
}

static void write_entity_pca(Model *m, int objective, const char *data_dir, const char *out_path) {
    char train_path[1024], test_path[1024];
    snprintf(train_path, sizeof train_path, "%s/train.bin", data_dir);
    snprintf(test_path, sizeof test_path, "%s/test.bin", data_dir);
    TokenData train, test;
    token_data_load(&train, train_path);
    token_data_load(&test, test_path);
    int C = m->config.n_embd, L = m->config.n_layer;
    /* which facts have their questions in test */
    int max_pair = 0;
    for (uint32_t i = 0; i < train.header.n_examples; i++)
        if (train.examples[i].pair > max_pair) max_pair = train.examples[i].pair;
    for (uint32_t i = 0; i < test.header.n_examples; i++)
        if (test.examples[i].pair > max_pair) max_pair = test.examples[i].pair;
    char *held_out = (char *)xcalloc((size_t)max_pair + 1, 1);
    for (uint32_t i = 0; i < test.header.n_examples; i++) held_out[test.examples[i].pair] = 1;

    /* the statements, batch by batch through the encoder */
    int n_statements = 0, n_vectors = 0;
    for (uint32_t i = 0; i < train.header.n_examples; i++)
        if (train.examples[i].kind == KIND_STATEMENT) { n_statements++; n_vectors += train.examples[i].n_spans; }
    if (n_vectors < 3) die("--pca: '%s' has no entity spans in its statements", train_path);
    float *vectors = (float *)xcalloc((size_t)n_vectors * C, sizeof(float));
    int *vector_example = (int *)xmalloc(sizeof(int) * n_vectors), *vector_span = (int *)xmalloc(sizeof(int) * n_vectors);
    int batch_size = 64, ids[64], n_done = 0;
    Batch bt;
    batch_init(&bt, batch_size, (int)train.header.max_len);
    float *states = NULL;
    size_t states_size = 0;
    for (uint32_t i = 0; i < train.header.n_examples;) {
        int n = 0;
        for (; i < train.header.n_examples && n < batch_size; i++)
            if (train.examples[i].kind == KIND_STATEMENT) ids[n++] = (int)i;
        if (n == 0) break;
        batch_fill(&bt, &train, ids, n);
        for (int b = 0; b < n; b++)
            for (int t = 0; t < bt.lengths[b]; t++)
                bt.ranks[b * bt.T + t] = objective_decodes_with_ar_ranks(objective) ? t : 0;
        model_forward(m, &bt, 0); /* nothing scored: the encoder only */
        size_t BTC = (size_t)bt.B * bt.T * C;
        if (BTC > states_size) { free(states); states = (float *)xmalloc(sizeof(float) * BTC); states_size = BTC; }
        model_copy_encoder_input(m, L - 1, BTC, states);
        for (int b = 0; b < n; b++) {
            const ExampleRecord *e = &train.examples[ids[b]];
            for (int sp = 0; sp < e->n_spans; sp++, n_done++) {
                float *v = vectors + (size_t)n_done * C;
                for (int t = e->span_start[sp]; t < e->span_end[sp]; t++)
                    for (int k = 0; k < C; k++) v[k] += states[((size_t)b * bt.T + t) * C + k];
                for (int k = 0; k < C; k++) v[k] /= (float)(e->span_end[sp] - e->span_start[sp]);
                vector_example[n_done] = ids[b];
                vector_span[n_done] = sp;
            }
        }
    }

    /* center, covariance, two principal components */
    double *mean = (double *)xcalloc((size_t)C, sizeof(double));
    for (int v = 0; v < n_vectors; v++)
        for (int k = 0; k < C; k++) mean[k] += vectors[(size_t)v * C + k] / n_vectors;
    double *cov = (double *)xcalloc((size_t)C * C, sizeof(double));
    for (int v = 0; v < n_vectors; v++) {
        const float *x = vectors + (size_t)v * C;
        for (int a = 0; a < C; a++)
            for (int b = 0; b < C; b++) cov[(size_t)a * C + b] += (x[a] - mean[a]) * (x[b] - mean[b]) / n_vectors;
    }
    double trace = 0.0;
    for (int a = 0; a < C; a++) trace += cov[(size_t)a * C + a];
    double *pc = (double *)xmalloc(sizeof(double) * 2 * C), value[2];
    for (int k = 0; k < 2; k++) {
        power_iteration(cov, C, pc + (size_t)k * C, &value[k]);
        for (int a = 0; a < C; a++) /* deflate: remove this component */
            for (int b = 0; b < C; b++) cov[(size_t)a * C + b] -= value[k] * pc[k * C + a] * pc[k * C + b];
    }

    FILE *f = output_open(out_path);
    fprintf(f, "# entity representations, PCA: explained variance pc1 %.1f%% pc2 %.1f%% (together %.1f%%)\n",
            100 * value[0] / trace, 100 * value[1] / trace, 100 * (value[0] + value[1]) / trace);
    fprintf(f, "pair,questions,entity,pc1,pc2\n");
    for (int v = 0; v < n_vectors; v++) {
        const ExampleRecord *e = &train.examples[vector_example[v]];
        double p1 = 0.0, p2 = 0.0;
        for (int k = 0; k < C; k++) {
            double x = vectors[(size_t)v * C + k] - mean[k];
            p1 += x * pc[k];
            p2 += x * pc[C + k];
        }
        fprintf(f, "%d,%s,%s,%.5f,%.5f\n", e->pair, held_out[e->pair] ? "test" : "train",
                e->span_label[vector_span[v]], p1, p2);
    }
    output_commit(f, out_path);
    printf("entity PCA: %d entities of %d statements, explained variance %.1f%% + %.1f%% -> %s\n", n_vectors,
           n_statements, 100 * value[0] / trace, 100 * value[1] / trace, out_path);
    free(held_out); free(vectors); free(vector_example); free(vector_span); free(states);
    free(mean); free(cov); free(pc);
    batch_free(&bt);
    token_data_free(&train);
    token_data_free(&test);
}

static void usage(void) {
    printf("usage: 06_eval --model FILE --data DIR [options]\n"
           "Greedy answers (left to right unless --order says otherwise) to every query of a\n"
           "split; exact match and per-token accuracy by direction.\n"
           "  --model FILE    checkpoint from 04_train_ar or 05_train_mlmu\n"
           "  --data DIR      tokenized data: DIR/SPLIT.bin and DIR/vocab.txt\n"
           "  --split NAME    test or train (default test)\n"
           "  --out PREFIX    output prefix (default: the checkpoint's directory + /eval, then\n"
           "                  -train, -confidence, -raw for a non-default --split, --order,\n"
           "                  --raw-weights)\n"
           "  --batch N       queries decoded at once (default 256)\n"
           "  --order O       left-to-right (default; the paper's protocol for every model) or\n"
           "                  confidence: fill the answer (of the gold answer's length) one\n"
           "                  position at a time, the position the model is surest of first;\n"
           "                  for models trained on every order (MLM, MLM-U, PLM), not AR\n"
           "  --label NAME    model name in the outputs (default: the objective)\n"
           "  --pca FILE      also write the entity representations' PCA (Figure 4b/c) as CSV\n"
           "  --raw-weights   a model trained with --ema: evaluate its trained weights, not\n"
           "                  their average (the default)\n"
           "  --device D      cpu, cuda or auto (default auto: the GPU if this is the CUDA build,\n"
           "                  build/cuda/06_eval, and the machine has one)\n"
           "  --matmul P      the GPU's matrix products: fp32 (default), tf32 or bf16\n"
           "  --attention A   the GPU's attention kernels: plain (default) or fused\n"
           "                  (the trainers' --help says more; the CPU ignores both)\n");
}

int main(int argc, char **argv) {
    const char *model_path = NULL, *data_dir = NULL, *split = "test", *out_prefix = NULL, *label = NULL;
    const char *device = "auto", *pca_path = NULL, *order = "left-to-right";
    int matmul = MATMUL_FP32;
    int batch = 256, raw_weights = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(); return 0; }
        else if (!strcmp(a, "--model")) model_path = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--data")) data_dir = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--split")) split = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--out")) out_prefix = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--label")) label = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--device")) device = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--pca")) pca_path = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--order")) order = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--raw-weights")) raw_weights = 1;
        else if (!strcmp(a, "--batch")) batch = (int)parse_long(a, flag_value(argc, argv, &i), 1, 1000000);
        else if (!strcmp(a, "--matmul")) matmul = parse_matmul(flag_value(argc, argv, &i));
        else if (!strcmp(a, "--attention")) g_attention = parse_attention(flag_value(argc, argv, &i));
        else die("unknown flag '%s' (see --help)", a);
    }
    if (!model_path || !data_dir) die("--model and --data are required (see --help)");
    static const char *const SPLITS[] = {"test", "train"}, *const ORDERS[] = {"left-to-right", "confidence"};
    parse_choice("--split", split, SPLITS, 2);
    int by_confidence = parse_choice("--order", order, ORDERS, 2);

    char data_path[1024], vocab_path[1024], prefix[1024];
    snprintf(data_path, sizeof data_path, "%s/%s.bin", data_dir, split);
    snprintf(vocab_path, sizeof vocab_path, "%s/vocab.txt", data_dir);
    if (out_prefix) snprintf(prefix, sizeof prefix, "%s", out_prefix);
    else {
        const char *slash = strrchr(model_path, '/');
        int dir_len = slash ? (int)(slash - model_path) : 1;
        /* a non-default split, order or weights gets its own files, so that
         * trying one never overwrites the run's own eval.csv (run_all reads it) */
        snprintf(prefix, sizeof prefix, "%.*s/eval%s%s%s%s", dir_len, slash ? model_path : ".",
                 strcmp(split, "test") ? "-" : "", strcmp(split, "test") ? split : "",
                 by_confidence ? "-confidence" : "", raw_weights ? "-raw" : "");
    }

    device_select(device, matmul);
    Model model;
    CheckpointHeader h;
    checkpoint_load(model_path, &model, &h);
    if (!raw_weights) model_swap_ema(&model); /* trained with --ema: evaluate the average */
    model_to_device(&model); /* a no-op on the CPU */
    TokenData data;
    token_data_load(&data, data_path);
    check_vocab_matches(&h, &data, model_path, data_path);
    VocabFile vocab;  /* word-level or BPE (common.h); printed as readable words either way */
    vocab_file_load(&vocab, vocab_path);
    vocab_file_check_data(&vocab, &data.header, vocab_path, data_path);
    if ((uint32_t)model.config.max_seq_len < data.header.max_len)
        die("'%s' handles sequences up to %d tokens but '%s' has %u", model_path,
            model.config.max_seq_len, data_path, data.header.max_len);
    int objective = h.train.objective;
    if (!label) label = OBJECTIVE_NAMES[objective];
    if (by_confidence && (objective == OBJ_AR || objective == OBJ_NONE))
        die("--order confidence: '%s' was trained %s, on the left-to-right order only; it decodes left to right",
            model_path, objective == OBJ_AR ? "AR" : "by nothing (an initial checkpoint)");

    int *queries = (int *)xmalloc(sizeof(int) * (data.header.n_examples + 1));
    int n_queries = collect_queries(&data, queries, 0);
    if (n_queries == 0) die("'%s' has no queries to evaluate", data_path);
    int max_len = (int)data.header.max_len;
    int32_t *answers = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)n_queries * max_len);
    double t0 = now_seconds();
    DecodeStats st = by_confidence
        ? decode_queries_by_confidence(&model, objective, &data, queries, n_queries, batch, answers)
        : decode_queries(&model, objective, &data, queries, n_queries, batch, answers);
    double seconds = now_seconds() - t0;

    /* ---- outputs: CSV, markdown, every answer ---- */
    char csv_path[1100], md_path[1100], answers_path[1100];
    snprintf(csv_path, sizeof csv_path, "%s.csv", prefix);
    snprintf(md_path, sizeof md_path, "%s.md", prefix);
    snprintf(answers_path, sizeof answers_path, "%s.answers.txt", prefix);
    FILE *csv = output_open(csv_path);
    fprintf(csv, "model,objective,split,direction,queries,exact_match,token_accuracy,step,incorrect_inference\n");
    FILE *md = output_open(md_path);
    fprintf(md, "| model | split | direction | queries | exact match %% | token accuracy %% | incorrect inference %% |\n"
                "|---|---|---|---|---|---|---|\n");
    printf("%s (%s, step %d%s) on %s: %d queries in %.1fs on %s%s\n", model_path, OBJECTIVE_NAMES[objective],
           h.step, !h.has_ema ? "" : raw_weights ? ", trained weights" : ", weight average", data_path,
           n_queries, seconds, DEVICE_NAMES[g_device], by_confidence ? ", decoded surest position first" : "");
    for (int dir = DIR_FORWARD; dir <= DIR_BACKWARD; dir++) {
        if (st.n[dir] == 0) continue;
        double em = percent(st.exact[dir], st.n[dir]);
        double tok = st.tokens[dir] ? 100.0 * st.tokens_right[dir] / st.tokens[dir] : 0.0;
        char incorrect[32] = "";  /* empty where the data has no alt answers */
        if (st.alt_n[dir]) snprintf(incorrect, sizeof incorrect, "%.2f", percent(st.alt_exact[dir], st.alt_n[dir]));
        fprintf(csv, "%s,%s,%s,%s,%d,%.2f,%.2f,%d,%s\n", label, OBJECTIVE_NAMES[objective], split,
                DIR_NAMES[dir], st.n[dir], em, tok, h.step, incorrect);
        fprintf(md, "| %s | %s | %s | %d | %.1f | %.1f | %s |\n", label, split, DIR_NAMES[dir], st.n[dir],
                em, tok, st.alt_n[dir] ? incorrect : "-");
        printf("  %-8s  %5d queries  exact match %6.2f%%  token accuracy %6.2f%%", DIR_NAMES[dir],
               st.n[dir], em, tok);
        if (st.alt_n[dir]) printf("  incorrect inference %6.2f%%", percent(st.alt_exact[dir], st.alt_n[dir]));
        printf("\n");
    }
    FILE *ans = output_open(answers_path);
    fprintf(ans, "# direction\tprompt\tgold\tmodel\tresult\n");
    for (int k = 0; k < n_queries; k++) {
        const ExampleRecord *e = &data.examples[queries[k]];
        const int32_t *seq = data.tokens + e->offset, *out = answers + (size_t)k * max_len;
        int n_out = 0;
        while (n_out < max_len && out[n_out] >= 0) n_out++;
        /* each field as words: BPE tokens joined back into words, special
         * tokens such as <eos> as words of their own, control bytes escaped */
        fprintf(ans, "%s\t", DIR_NAMES[e->direction]);
        vocab_file_write_words(ans, &vocab, seq + 1, e->answer_start - 1, 1);
        fprintf(ans, "\t");
        vocab_file_write_words(ans, &vocab, seq + e->answer_start, e->length - e->answer_start, 1);
        fprintf(ans, "\t");
        vocab_file_write_words(ans, &vocab, out, n_out, 1);
        int right = n_out == e->length - e->answer_start;
        for (int t = 0; right && t < n_out; t++) right = out[t] == seq[e->answer_start + t];
        fprintf(ans, "\t%s\n", right ? "right" : "wrong");
    }
    output_commit(csv, csv_path);
    output_commit(md, md_path);
    output_commit(ans, answers_path);
    if (pca_path) write_entity_pca(&model, objective, data_dir, pca_path);
    free(answers);
    free(queries);
    token_data_free(&data);
    vocab_file_free(&vocab);
    model_free(&model);
    return 0;
}
