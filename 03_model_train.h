/*
 * 03_model_train.h -- what the training loop of 03_model.cu (section 6) calls
 * around each optimizer step, in the order a run needs it:
 *   1. the trainers' shared flags (TrainOptions)
 *   2. batches from a token file, in a shuffled order that a resumed run repeats
 *   3. setting up a run: the data, the model (built from the flags, from an
 *      --init checkpoint or --resume'd), the validation split, the log
 *   4. evaluating (greedy decoding of test, train and validation queries),
 *      checkpointing (model.ckpt and best.ckpt), and reporting (log.csv and
 *      the progress line with its ETA)
 * Included by 03_model.cu.
 */
#ifndef MODEL_TRAIN_H
#define MODEL_TRAIN_H

/* ---- 1. the flags 04_train_ar and 05_train_mlmu share ---- */
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
    int show_ranks;          /* --show-ranks: 1 draw the factorization as text, 2 as CSV, and exit */
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
        "  --show-ranks [csv]  draw this objective's ranks for one example sequence (which\n"
        "                    position may use which) with the trainer's own sampler, and exit\n"
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
        "  --group-by-length batch examples of about one length together (each window of\n"
        "                    16 batches of the epoch's order sorted by length): less\n"
        "                    padding where lengths differ, as WikiReversal's passages\n"
        "                    and questions (default: off)\n"
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
        "--valid-fraction", "--ema", "--group-by-length"};
    for (size_t k = 0; k < sizeof setting_flags / sizeof setting_flags[0]; k++)
        if (!strcmp(a, setting_flags[k])) o->setting_flag = setting_flags[k];
    if (!strcmp(a, "--show-ranks")) {
        o->show_ranks = 1;
        if (*i + 1 < argc && !strcmp(argv[*i + 1], "csv")) { o->show_ranks = 2; (*i)++; }
    } else if (!strcmp(a, "--data")) o->data_dir = flag_value(argc, argv, i);
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
    else if (!strcmp(a, "--group-by-length")) o->train.group_by_length = 1;
    else if (!strcmp(a, "--stop-at")) o->stop_at = (int)parse_long(a, flag_value(argc, argv, i), 1, 100000000);
    else if (!strcmp(a, "--quiet")) o->quiet = 1;
    else if (!strcmp(a, "--device")) o->device = flag_value(argc, argv, i);
    else if (!strcmp(a, "--tf32")) o->matmul = MATMUL_TF32;
    else if (!strcmp(a, "--matmul")) o->matmul = parse_matmul(flag_value(argc, argv, i));
    else if (!strcmp(a, "--attention")) o->attention = parse_attention(flag_value(argc, argv, i));
    else return 0;
    return 1;
}


/* ---- 2. batches ---- */
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

/* The order of the training examples in an epoch: a pure function of
 * (seed, epoch), so a resumed run sees the same order. With --group-by-length
 * each window of 16 batches of the shuffled order is sorted by length (a
 * counting sort: stable, so equal lengths keep their shuffled order) and the
 * window's batches are shuffled: a batch then holds examples of about one
 * length and pads little, and an epoch still sees every example once.
 * lengths[i] is the length of training example i (NULL: no grouping). */
static inline void epoch_order(int *order, int n_train, uint64_t seed, int32_t epoch, const int *lengths, int B) {
    Rng r;
    rng_seed(&r, seed * 1000003u + (uint64_t)epoch);
    for (int i = 0; i < n_train; i++) order[i] = i;
    rng_shuffle(&r, order, n_train);
    if (!lengths) return;
    int window = 16 * B, max_len = 0;
    for (int i = 0; i < n_train; i++) if (lengths[i] > max_len) max_len = lengths[i];
    int *count = (int *)xmalloc(sizeof(int) * (max_len + 2));
    int *sorted = (int *)xmalloc(sizeof(int) * window);
    int *batches = (int *)xmalloc(sizeof(int) * 16);
    for (int w0 = 0; w0 < n_train; w0 += window) {
        int n = n_train - w0 < window ? n_train - w0 : window;
        int *w = order + w0;
        memset(count, 0, sizeof(int) * (max_len + 2));
        for (int i = 0; i < n; i++) count[lengths[w[i]] + 1]++;
        for (int l = 1; l <= max_len + 1; l++) count[l] += count[l - 1]; /* count[l]: first slot of length l */
        for (int i = 0; i < n; i++) sorted[count[lengths[w[i]]]++] = w[i];
        int nb = n / B; /* whole batches are shuffled; a short tail stays last */
        for (int k = 0; k < nb; k++) batches[k] = k;
        rng_shuffle(&r, batches, nb);
        for (int k = 0; k < nb; k++) memcpy(w + k * B, sorted + batches[k] * B, sizeof(int) * B);
        memcpy(w + nb * B, sorted + nb * B, sizeof(int) * (n - nb * B));
    }
    free(count); free(sorted); free(batches);
}

/* Which examples make up the next batch: the next ones in the epoch's order
 * of the n_train trainable examples train_ids[0..n_train). */
static inline void next_batch_ids(int *ids, int B, const int *train_ids, int n_train, uint64_t seed,
                                  int32_t *epoch, int32_t *epoch_pos, int *order, const int *lengths) {
    for (int b = 0; b < B; b++) {
        if (*epoch_pos == 0 || *epoch_pos >= n_train) {
            if (*epoch_pos >= n_train) { (*epoch)++; *epoch_pos = 0; }
            epoch_order(order, n_train, seed, *epoch, lengths, B);
        }
        ids[b] = train_ids[order[(*epoch_pos)++]];
    }
}

/* ---- 3. setting up a run ---- */
/* A run's state: what the loop reads and what a checkpoint stores (h). */
typedef struct {
    TrainOptions *o;
    char train_path[1024], ckpt_path[1024], best_path[1024], log_path[1024];
    TokenData train, test;
    Model model;
    CheckpointHeader h;        /* the step, the RNG, the data position, the best validation so far */
    RankSampler sample_ranks;  /* the objective */
    int end_step;              /* the last step of this run (--stop-at may end it early) */
    int *train_ids, n_train;   /* the trainable examples (train.bin less the validation facts) */
    int *valid_queries, n_valid_queries; /* the held-out training queries (--valid-fraction) */
    int *test_queries, n_test_queries;
    int *train_queries, n_train_queries; /* a sample of the trained queries */
    int *order, *ids;          /* the epoch's order of train_ids; the batch's examples */
    int *lengths;              /* --group-by-length: each train_ids example's length (else NULL) */
    Batch batch;
    Rng rng;                   /* the rank samplers' random numbers */
    FILE *log;
    double t_start, t_report;  /* the run's start, and the last report's */
    int first_step;
    long tokens_since_report;
    double loss_sum;
    int loss_count;
} Training;

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
static inline FILE *open_log(const char *path, int resume_step) {
    const char *header = "step,loss,lr,grad_norm,tokens_per_s,elapsed_s,test_fwd_em,test_bwd_em,"
                         "test_fwd_tok,test_bwd_tok,train_fwd_em,train_bwd_em,valid_fwd_em,valid_bwd_em\n";
    size_t size = 0;
    char *old = resume_step > 0 && access(path, F_OK) == 0 ? read_file(path, &size) : NULL;
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write '%s': %s", path, strerror(errno));
    fputs(header, f);
    for (char *line = old; line && line < old + size;) {
        char *end = strchr(line, '\n');
        end = end ? end + 1 : old + size;
        if (line[0] >= '0' && line[0] <= '9' && atol(line) <= resume_step) /* not the header */
            fwrite(line, 1, (size_t)(end - line), f);
        line = end;
    }
    free(old);
    fflush(f);
    return f;
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

/* The model: resumed (its settings with it), from 03_model's --init
 * checkpoint, or built from the flags. Sets the run's header r->h. */
static inline void training_load_model(Training *r, SamplerForObjective sampler_for) {
    TrainOptions *o = r->o;
    CheckpointHeader *h = &r->h;
    memset(h, 0, sizeof *h);
    if (o->resume_path) {
        if (o->setting_flag)
            die("%s cannot be combined with --resume: a resumed run keeps the settings stored in "
                "'%s' (only --stop-at, --eval-limit, --data, --out and --quiet apply)",
                o->setting_flag, o->resume_path);
        checkpoint_load(o->resume_path, &r->model, h);
        if ((h->train.objective == OBJ_AR) != (o->train.objective == OBJ_AR) || h->train.objective == OBJ_NONE)
            die("'%s' was trained with objective %s; resume it with its own trainer", o->resume_path,
                OBJECTIVE_NAMES[h->train.objective]);
        o->train = h->train; /* the run's settings come from the checkpoint */
        check_vocab_matches(h, &r->train, o->resume_path, r->train_path);
    } else {
        if (o->init_path) {
            checkpoint_load(o->init_path, &r->model, h);
            if (h->step != 0 || h->has_optimizer)
                die("'%s' is a training checkpoint; use --resume to continue it", o->init_path);
        } else {
            ModelConfig c = o->model;
            c.vocab_size = (int32_t)r->train.header.vocab_size;
            c.max_seq_len = (int32_t)(r->train.header.max_len > r->test.header.max_len ? r->train.header.max_len
                                                                                      : r->test.header.max_len);
            model_check_config(&c, "model flags");
            model_alloc(&r->model, &c);
            model_init_params(&r->model, o->train.seed);
            h->vocab_hash = r->train.header.vocab_hash;
            h->model = c;
        }
        check_vocab_matches(h, &r->train, o->init_path ? o->init_path : "the new model", r->train_path);
        h->train = o->train;
        h->step = 0;
        Rng seeded;
        rng_seed(&seeded, o->train.seed ^ 0x5eedf00dull);
        h->rng_state = seeded.state;
        h->epoch = 0;
        h->epoch_pos = 0;
        h->best_valid_em = -1.0f;
        h->best_step = 0;
    }
    r->sample_ranks = sampler_for(o->train.objective);
    model_to_device(&r->model); /* a no-op on the CPU */
    if ((uint32_t)r->model.config.max_seq_len < r->train.header.max_len ||
        (uint32_t)r->model.config.max_seq_len < r->test.header.max_len)
        die("the model handles sequences up to %d tokens but the data has %u", r->model.config.max_seq_len,
            r->train.header.max_len);
}

/* The trainable examples, and the held-out validation queries (a held-out
 * query's reversed copy is neither); the test queries evaluated, and a
 * sample of 256 trained queries, spread evenly: are they answered from
 * memory only? */
static inline void training_split_data(Training *r) {
    const TrainConfig *tc = &r->o->train;
    int n_examples = (int)r->train.header.n_examples;
    r->train_ids = (int *)xmalloc(sizeof(int) * (n_examples + 1));
    r->valid_queries = (int *)xmalloc(sizeof(int) * (n_examples + 1));
    r->n_train = r->n_valid_queries = 0;
    for (int i = 0; i < n_examples; i++) {
        const ExampleRecord *e = &r->train.examples[i];
        int held_out = e->direction != DIR_NONE && pair_is_held_out(e->pair, tc->seed, tc->valid_fraction);
        if (held_out && e->kind != KIND_STATEMENT) r->valid_queries[r->n_valid_queries++] = i;
        else if (!held_out) r->train_ids[r->n_train++] = i;
    }
    if (r->n_train == 0)
        die("'%s': no training examples left after holding out validation queries", r->train_path);
    if (r->o->eval_limit > 0 && r->n_valid_queries > r->o->eval_limit) r->n_valid_queries = r->o->eval_limit;
    r->test_queries = (int *)xmalloc(sizeof(int) * (r->test.header.n_examples + 1));
    r->n_test_queries = collect_queries(&r->test, r->test_queries, r->o->eval_limit);
    r->train_queries = (int *)xmalloc(sizeof(int) * (n_examples + 1));
    r->n_train_queries = 0;
    for (int k = 0; k < r->n_train; k++)
        if (r->train.examples[r->train_ids[k]].kind != KIND_STATEMENT)
            r->train_queries[r->n_train_queries++] = r->train_ids[k];
    if (r->n_train_queries > 256) {
        for (int k = 0; k < 256; k++) r->train_queries[k] = r->train_queries[(long)k * r->n_train_queries / 256];
        r->n_train_queries = 256;
    }
}

/* The run's first line: what trains, on what, where */
static inline void training_announce(const Training *r) {
    const TrainConfig *tc = &r->o->train;
    const Model *m = &r->model;
    char products[64] = ""; /* the GPU's matrix products and attention, when not the defaults */
    if (g_device == DEVICE_CUDA && (g_matmul != MATMUL_FP32 || g_attention != ATTENTION_PLAIN))
        snprintf(products, sizeof products, " (%s matrix products, %s attention)", MATMUL_NAMES[g_matmul],
                 ATTENTION_NAMES[g_attention]);
    if (!r->o->quiet)
        printf("training %s: %zu parameters (%d layers, %d heads, width %d, vocab %d), %d train "
               "sequences, %d validation queries, %d test queries, steps %d..%d, batch %d, on %s%s "
               "(%d CPU threads, BLAS kernels %s)%s%s\n",
               OBJECTIVE_NAMES[tc->objective], m->n_params, m->config.n_layer, m->config.n_head,
               m->config.n_embd, m->config.vocab_size, r->n_train, r->n_valid_queries, r->n_test_queries,
               r->h.step, r->end_step, tc->batch_size, DEVICE_NAMES[g_device], products, omp_get_max_threads(),
               blas_kernels(), tc->ema_decay > 0 ? "; evaluating the weight average (--ema)" : "",
               tc->group_by_length ? "; batches grouped by length" : "");
    const char *better = g_device == DEVICE_CPU ? blas_better_coretype() : NULL;
    if (better && !getenv("OPENBLAS_CORETYPE"))
        fprintf(stderr, "warning: OpenBLAS does not recognise this CPU and runs its generic '%s' "
                        "kernels; OPENBLAS_CORETYPE=%s runs its faster ones (3x faster training on "
                        "the development machine; run_all.sh and make bench set it)\n",
                blas_kernels(), better);
}

static inline void training_setup(Training *r, TrainOptions *o, SamplerForObjective sampler_for) {
    memset(r, 0, sizeof *r);
    r->o = o;
    if (!o->out_dir) die("--out DIR is required (where model.ckpt and log.csv go)");
    char test_path[1024];
    snprintf(r->train_path, sizeof r->train_path, "%s/train.bin", o->data_dir);
    snprintf(test_path, sizeof test_path, "%s/test.bin", o->data_dir);
    snprintf(r->ckpt_path, sizeof r->ckpt_path, "%s/model.ckpt", o->out_dir);
    snprintf(r->best_path, sizeof r->best_path, "%s/best.ckpt", o->out_dir);
    snprintf(r->log_path, sizeof r->log_path, "%s/log.csv", o->out_dir);
    device_select(o->device, o->matmul);
    g_attention = o->attention;
    token_data_load(&r->train, r->train_path);
    token_data_load(&r->test, test_path);
    if (r->train.header.vocab_hash != r->test.header.vocab_hash)
        die("'%s' and '%s' were tokenized with different vocabularies", r->train_path, test_path);
    training_load_model(r, sampler_for);
    const TrainConfig *tc = &o->train;
    r->end_step = tc->total_steps;
    if (o->stop_at > 0 && o->stop_at < r->end_step) r->end_step = o->stop_at;
    make_dirs(o->out_dir);
    if (!o->resume_path) remove(r->best_path); /* a new run: a best.ckpt left here is another run's */
    training_split_data(r);
    r->order = (int *)xmalloc(sizeof(int) * r->n_train);
    r->lengths = NULL;
    if (tc->group_by_length) {
        r->lengths = (int *)xmalloc(sizeof(int) * r->n_train);
        for (int i = 0; i < r->n_train; i++) r->lengths[i] = (int)r->train.examples[r->train_ids[i]].length;
    }
    r->ids = (int *)xmalloc(sizeof(int) * tc->batch_size);
    batch_init(&r->batch, tc->batch_size, (int)r->train.header.max_len);
    r->rng.state = r->h.rng_state;
    if (r->h.epoch_pos > 0) /* resumed mid-epoch */
        epoch_order(r->order, r->n_train, tc->seed, r->h.epoch, r->lengths, tc->batch_size);
    r->log = open_log(r->log_path, r->h.step);
    training_announce(r);
    r->t_start = r->t_report = now_seconds();
    r->first_step = r->h.step;
}

/* The next batch of training examples, its ranks left to the objective */
static inline void training_next_batch(Training *r) {
    int B = r->o->train.batch_size;
    next_batch_ids(r->ids, B, r->train_ids, r->n_train, r->o->train.seed, &r->h.epoch, &r->h.epoch_pos, r->order,
                   r->lengths);
    batch_fill(&r->batch, &r->train, r->ids, B);
}

static inline void training_count(Training *r, float loss) {
    for (int b = 0; b < r->batch.B; b++) r->tokens_since_report += r->batch.lengths[b];
    r->loss_sum += loss;
    r->loss_count++;
}

/* ---- 4. evaluating, checkpointing, reporting ---- */
typedef struct {
    double em[6];     /* exact match %: test fwd, bwd; train fwd, bwd; valid fwd, bwd */
    char cols[256];   /* the evaluation columns of log.csv, empty without an evaluation */
    int new_best;     /* the validation exact match is the best so far */
} Evaluation;

typedef struct {
    double now, tok_per_s; /* when the report was taken, and the speed since the last one */
    Evaluation eval;
} Report;

static inline Report training_report_start(const Training *r) {
    Report rep;
    memset(&rep, 0, sizeof rep);
    rep.now = now_seconds();
    rep.tok_per_s = r->tokens_since_report / (rep.now - r->t_report + 1e-9);
    snprintf(rep.eval.cols, sizeof rep.eval.cols, ",,,,,,,");
    return rep;
}

/* Greedy decoding of the test queries, the sample of trained ones and the
 * validation queries; with --ema, of the averaged weights. A better mean
 * validation exact match (over the directions the set has) is a new best. */
static inline Evaluation training_evaluate(Training *r, int done) {
    Evaluation ev;
    memset(&ev, 0, sizeof ev);
    double *em = ev.em;
    int objective = r->o->train.objective;
    model_swap_ema(&r->model); /* with --ema, evaluate the averaged weights */
    DecodeStats st = decode_queries(&r->model, objective, &r->test, r->test_queries, r->n_test_queries, 256, NULL);
    DecodeStats tr = decode_queries(&r->model, objective, &r->train, r->train_queries, r->n_train_queries, 256,
                                    NULL);
    em[0] = percent(st.exact[DIR_FORWARD], st.n[DIR_FORWARD]);
    em[1] = percent(st.exact[DIR_BACKWARD], st.n[DIR_BACKWARD]);
    em[2] = percent(tr.exact[DIR_FORWARD], tr.n[DIR_FORWARD]);
    em[3] = percent(tr.exact[DIR_BACKWARD], tr.n[DIR_BACKWARD]);
    if (r->n_valid_queries > 0) {
        DecodeStats va = decode_queries(&r->model, objective, &r->train, r->valid_queries, r->n_valid_queries,
                                        256, NULL);
        em[4] = percent(va.exact[DIR_FORWARD], va.n[DIR_FORWARD]);
        em[5] = percent(va.exact[DIR_BACKWARD], va.n[DIR_BACKWARD]);
        int n_dirs = (va.n[DIR_FORWARD] > 0) + (va.n[DIR_BACKWARD] > 0);
        float valid_em = (float)((em[4] + em[5]) / (n_dirs ? n_dirs : 1));
        if (valid_em > r->h.best_valid_em) {
            r->h.best_valid_em = valid_em;
            r->h.best_step = done;
            ev.new_best = 1;
        }
    }
    model_swap_ema(&r->model); /* back to the trained weights */
    snprintf(ev.cols, sizeof ev.cols, "%.2f,%.2f,%.2f,%.2f,%.2f,%.2f,", em[0], em[1],
             st.tokens[DIR_FORWARD] ? 100.0 * st.tokens_right[DIR_FORWARD] / st.tokens[DIR_FORWARD] : 0.0,
             st.tokens[DIR_BACKWARD] ? 100.0 * st.tokens_right[DIR_BACKWARD] / st.tokens[DIR_BACKWARD] : 0.0,
             em[2], em[3]);
    if (r->n_valid_queries > 0)
        snprintf(ev.cols + strlen(ev.cols), sizeof ev.cols - strlen(ev.cols), "%.2f,%.2f", em[4], em[5]);
    else
        snprintf(ev.cols + strlen(ev.cols), sizeof ev.cols - strlen(ev.cols), ",");
    return ev;
}

/* model.ckpt after `done` steps: the model, the optimizer, the RNG and the
 * data position, all a resumed run needs; best.ckpt too on a new best */
static inline void training_checkpoint(Training *r, int done, int new_best) {
    r->h.step = done;
    r->h.rng_state = r->rng.state;
    r->h.train = r->o->train;
    if (new_best) checkpoint_save(r->best_path, &r->model, &r->h);
    checkpoint_save(r->ckpt_path, &r->model, &r->h);
}

/* A row of log.csv, and (without --quiet) the progress line with its ETA */
static inline void training_report(Training *r, const Report *rep, int done, int evaluated, float lr,
                                   float grad_norm) {
    const double *em = rep->eval.em;
    fprintf(r->log, "%d,%.5f,%.3e,%.4f,%.0f,%.1f,%s\n", done, r->loss_sum / r->loss_count, lr, grad_norm,
            rep->tok_per_s, rep->now - r->t_start, rep->eval.cols);
    fflush(r->log);
    if (!r->o->quiet) {
        char eta[32];
        double seconds_per_step = (rep->now - r->t_start) / (done - r->first_step);
        format_duration(seconds_per_step * (r->end_step - done), eta, sizeof eta);
        printf("step %6d/%d  loss %.4f  lr %.2e  %7.0f tok/s  ETA %s", done, r->end_step,
               r->loss_sum / r->loss_count, lr, rep->tok_per_s, eta);
        if (evaluated)
            printf("  exact match %%: test fwd %.1f bwd %.1f | train fwd %.1f bwd %.1f", em[0], em[1], em[2],
                   em[3]);
        if (evaluated && r->n_valid_queries > 0)
            printf(" | valid fwd %.1f bwd %.1f (best @%d)", em[4], em[5], r->h.best_step);
        printf("\n");
        fflush(stdout);
    }
    r->t_report = now_seconds();
    r->tokens_since_report = 0;
    r->loss_sum = 0.0;
    r->loss_count = 0;
}

static inline void training_free(Training *r) {
    fclose(r->log);
    batch_free(&r->batch);
    free(r->order); free(r->ids); free(r->lengths); free(r->test_queries); free(r->train_queries); free(r->train_ids);
    free(r->valid_queries);
    model_free(&r->model);
    token_data_free(&r->train);
    token_data_free(&r->test);
}

/* ---- --show-ranks: an objective's factorization, drawn ----
 * The trainer's own rank sampler on one example sequence of 8 positions (BOS
 * and 7 tokens), drawn 3 times (a draw that scores nothing is drawn again). Row i is a position and its rank; a '#'
 * in column j means the prediction at i may use the token at j (rank[j] <
 * rank[i]), '.' that it may not; a row marked '*' is scored (a training
 * target). With --show-ranks csv the same as lines "objective,draw,position,
 * rank,scored,context,visible", one a (position, context) pair; report/ranks.gp
 * plots them (make ranks-figure). */
static void show_ranks(RankSampler sample, const TrainConfig *tc, int csv) {
    char name[32];
    if (tc->objective == OBJ_MLM) snprintf(name, sizeof name, "MLM %.0f%%", 100.0 * tc->mlm_rate);
    else snprintf(name, sizeof name, "%s", tc->objective == OBJ_AR ? "AR" : tc->objective == OBJ_PLM ? "PLM" : "MLM-U");
    enum { T = 8, DRAWS = 3 };
    Batch bt;
    batch_init(&bt, 1, T);
    Rng rng;
    rng_seed(&rng, 1);
    if (csv) printf("objective,draw,position,rank,scored,context,visible\n");
    else printf("%s: which position may use which, %d draws of the ranks of one sequence\n"
                "(row i: '#' at column j if rank[j] < rank[i]; '*' = scored)\n", name, DRAWS);
    for (int d = 0; d < DRAWS; d++) {
        bt.B = 1; bt.T = T; bt.n_scored = 0;
        bt.lengths[0] = T; bt.first_scored[0] = 1;
        for (int t = 0; t < T; t++) { bt.tokens[t] = t == 0 ? TOK_BOS : N_SPECIAL_TOKENS + t; bt.ranks[t] = RANK_NEVER; }
        sample(&bt, &rng, tc);
        if (bt.n_scored == 0) { d--; continue; } /* a draw that masks nothing trains nothing: draw again */
        int scored[T] = {0};
        for (int n = 0; n < bt.n_scored; n++) scored[bt.scored[n] % T] = 1;
        if (!csv) printf("\n  draw %d        0 1 2 3 4 5 6 7\n", d + 1);
        for (int i = 0; i < T; i++) {
            char sees[T + 1];
            for (int j = 0; j < T; j++) sees[j] = bt.ranks[j] < bt.ranks[i] ? '1' : '0';
            sees[T] = 0;
            if (csv) {
                for (int j = 0; j < T; j++)
                    printf("%s,%d,%d,%d,%d,%d,%c\n", name, d + 1, i, bt.ranks[i], scored[i], j, sees[j]);
                continue;
            }
            printf("  pos %d rank %d %c", i, bt.ranks[i], scored[i] ? '*' : ' ');
            for (int j = 0; j < T; j++) printf(" %c", sees[j] == '1' ? '#' : '.');
            printf("\n");
        }
        if (tc->objective == OBJ_AR) break; /* one factorization: one draw says it all */
    }
    batch_free(&bt);
}

#endif /* MODEL_TRAIN_H */
