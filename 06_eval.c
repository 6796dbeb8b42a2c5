/*
 * 06_eval.c -- answer every query of a split by greedy left-to-right decoding
 * and score it, split by direction (forward: value of a key; backward: key of
 * a value).
 *
 * Decoding is the same for every objective (DESIGN.md section 2): the prompt
 * is context, and each answer token is predicted from the prompt and the
 * tokens generated so far. Only the ranks differ: a model trained AR (or PLM)
 * sees rank[i] = i, a model trained with MLM/MLM-U sees the known tokens at
 * rank 0 and the position to fill at rank 1, the situation it was trained on.
 * The checkpoint says which objective trained it; nothing else is needed.
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
 *   usage: 06_eval --model runs/ar/model.ckpt --data data/retrieval [options]   (--help)
 */
#include "03_model.cu"

static void usage(void) {
    printf("usage: 06_eval --model FILE --data DIR [options]\n"
           "Greedy left-to-right answers to every query of a split; exact match and per-token\n"
           "accuracy by direction.\n"
           "  --model FILE    checkpoint from 04_train_ar or 05_train_mlmu\n"
           "  --data DIR      tokenized data: DIR/SPLIT.bin and DIR/vocab.txt\n"
           "  --split NAME    test or train (default test)\n"
           "  --out PREFIX    output prefix (default: the checkpoint's directory + /eval[-SPLIT])\n"
           "  --batch N       queries decoded at once (default 256)\n"
           "  --label NAME    model name in the outputs (default: the objective)\n"
           "  --device D      cpu, cuda or auto (default auto: the GPU if this is the CUDA build,\n"
           "                  build/cuda/06_eval, and the machine has one)\n");
}

int main(int argc, char **argv) {
    const char *model_path = NULL, *data_dir = NULL, *split = "test", *out_prefix = NULL, *label = NULL;
    const char *device = "auto";
    int batch = 256;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(); return 0; }
        else if (!strcmp(a, "--model")) model_path = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--data")) data_dir = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--split")) split = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--out")) out_prefix = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--label")) label = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--device")) device = flag_value(argc, argv, &i);
        else if (!strcmp(a, "--batch")) batch = (int)parse_long(a, flag_value(argc, argv, &i), 1, 1000000);
        else die("unknown flag '%s' (see --help)", a);
    }
    if (!model_path || !data_dir) die("--model and --data are required (see --help)");
    if (strcmp(split, "test") && strcmp(split, "train")) die("--split must be test or train, got '%s'", split);

    char data_path[1024], vocab_path[1024], prefix[1024];
    snprintf(data_path, sizeof data_path, "%s/%s.bin", data_dir, split);
    snprintf(vocab_path, sizeof vocab_path, "%s/vocab.txt", data_dir);
    if (out_prefix) snprintf(prefix, sizeof prefix, "%s", out_prefix);
    else {
        const char *slash = strrchr(model_path, '/');
        int dir_len = slash ? (int)(slash - model_path) : 1;
        snprintf(prefix, sizeof prefix, "%.*s/eval%s%s", dir_len, slash ? model_path : ".",
                 strcmp(split, "test") ? "-" : "", strcmp(split, "test") ? split : "");
    }

    device_select(device, 0);
    Model model;
    CheckpointHeader h;
    checkpoint_load(model_path, &model, &h);
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

    int *queries = (int *)xmalloc(sizeof(int) * (data.header.n_examples + 1));
    int n_queries = collect_queries(&data, queries, 0);
    if (n_queries == 0) die("'%s' has no queries to evaluate", data_path);
    int max_len = (int)data.header.max_len;
    int32_t *answers = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)n_queries * max_len);
    double t0 = now_seconds();
    DecodeStats st = decode_queries(&model, objective, &data, queries, n_queries, batch, answers);
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
    printf("%s (%s, step %d) on %s: %d queries in %.1fs on %s\n", model_path, OBJECTIVE_NAMES[objective],
           h.step, data_path, n_queries, seconds, DEVICE_NAMES[g_device]);
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
    free(answers);
    free(queries);
    token_data_free(&data);
    vocab_file_free(&vocab);
    model_free(&model);
    return 0;
}
