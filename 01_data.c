/*
 * 01_data.c -- generate a synthetic task of "The Factorization Curse" as text.
 *
 * The output is one file, DIR/examples.txt, in the text format described in
 * common.h: one example a line, seven tab-separated fields
 *
 *   split  kind  direction  pair  prompt  answer  spans
 *
 * 02_tokenize turns that file into the binary token files the models train on.
 *
 * Tasks (chosen with --task; each has one generator function below):
 *
 *   retrieval   (paper section 3.1) N key-value pairs. A key is a sequence of
 *               K tokens k0..k{P-1}, a value a sequence of K tokens v0..v{P-1}.
 *               Every pair is stated once in train ("k3 k9 : v1 v7"). A
 *               fraction of the pairs is also queried in train, both ways:
 *                 forward   "[value_of] k3 k9 :"  ->  "v1 v7"
 *                 backward  "[key_of] v1 v7 :"    ->  "k3 k9"
 *               The other pairs are queried only in test. A left-to-right
 *               model that only ever saw "key : value" learns to predict the
 *               value from the key, but not the key from the value: that is
 *               the reversal curse the test queries measure.
 *
 * Later tasks (relationship, BioS, WikiReversal, star graph) are added as more
 * entries in the TASKS table at the bottom and more generator functions.
 *
 * Usage:  build/01_data --task retrieval --pairs 1000 --seed 1 --out data/retrieval
 *         build/01_data --help
 *
 * The output depends only on the options (not on the output directory), so the
 * same options always give a byte-identical file.
 */
#include "common.h"

#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>

/* ------------------------------------------------------------------------ */
/* options                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *task;       /* which generator to run */
    const char *out_dir;    /* examples.txt goes here */
    long seed;
    /* retrieval */
    long n_pairs;           /* N: number of key-value pairs */
    long entity_tokens;     /* K: tokens per key and per value */
    long pool;              /* P: distinct key tokens (and value tokens); 0 = N*K */
    double query_fraction;  /* fraction of pairs whose queries are in train */
} Options;

static void print_usage(void) {
    printf(
        "usage: 01_data [options]\n"
        "\n"
        "Generates a synthetic task as text (DIR/examples.txt, format in common.h).\n"
        "\n"
        "  --task NAME            task to generate (default retrieval); tasks: retrieval\n"
        "  --out DIR              output directory, created if missing (default data/TASK)\n"
        "  --seed S               random seed, >= 0 (default 1)\n"
        "\n"
        "retrieval task:\n"
        "  --pairs N              number of key-value pairs (default 1000)\n"
        "  --entity-tokens K      tokens per key and per value (default 2)\n"
        "  --pool P               distinct key tokens k0..k{P-1}, and as many value tokens\n"
        "                         (default N*K: each token belongs to exactly one entity;\n"
        "                         a smaller P makes entities share tokens, but every key\n"
        "                         and every value stays unique)\n"
        "  --query-fraction F     fraction of pairs whose two queries are in train; the\n"
        "                         other pairs' queries are the test set (default 0.5)\n"
        "  --help                 print this and exit\n");
}

static void parse_options(int argc, char **argv, Options *o) {
    o->task = "retrieval";
    o->out_dir = NULL;  /* default depends on the task */
    o->seed = 1;
    o->n_pairs = 1000;
    o->entity_tokens = 2;
    o->pool = 0;
    o->query_fraction = 0.5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { print_usage(); exit(0); }
        else if (strcmp(a, "--task") == 0) o->task = flag_value(argc, argv, &i);
        else if (strcmp(a, "--out") == 0) o->out_dir = flag_value(argc, argv, &i);
        else if (strcmp(a, "--seed") == 0) o->seed = parse_long(a, flag_value(argc, argv, &i), 0, LONG_MAX);
        else if (strcmp(a, "--pairs") == 0) o->n_pairs = parse_long(a, flag_value(argc, argv, &i), 1, 10000000);
        else if (strcmp(a, "--entity-tokens") == 0) o->entity_tokens = parse_long(a, flag_value(argc, argv, &i), 1, 16);
        else if (strcmp(a, "--pool") == 0) o->pool = parse_long(a, flag_value(argc, argv, &i), 1, 100000000);
        else if (strcmp(a, "--query-fraction") == 0) o->query_fraction = parse_double(a, flag_value(argc, argv, &i), 0.0, 1.0);
        else die("unknown flag '%s' (see --help)", a);
    }
}

/* ------------------------------------------------------------------------ */
/* examples: what every generator produces                                   */
/* ------------------------------------------------------------------------ */

/* One line of examples.txt. The strings are owned by the example. */
typedef struct {
    int split, kind, direction, pair;
    char *prompt;  /* space-separated words */
    char *answer;  /* "" for a statement */
    char *spans;   /* "label:start-end,..." in word positions of "prompt answer" */
    char *alt;     /* the wrong but plausible answer, "" for none */
} Example;

typedef struct {
    Example *items;
    int n, capacity;
} ExampleList;

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = (char *)xmalloc(n);
    memcpy(p, s, n);
    return p;
}

static void add_example(ExampleList *list, int split, int kind, int direction, int pair,
                        const char *prompt, const char *answer, const char *spans, const char *alt) {
    if (list->n == list->capacity) {
        list->capacity = list->capacity ? 2 * list->capacity : 1024;
        list->items = (Example *)realloc(list->items, sizeof(Example) * (size_t)list->capacity);
        if (!list->items) die("out of memory growing the example list to %d", list->capacity);
    }
    Example *e = &list->items[list->n++];
    e->split = split;
    e->kind = kind;
    e->direction = direction;
    e->pair = pair;
    e->prompt = xstrdup(prompt);
    e->answer = xstrdup(answer);
    e->spans = xstrdup(spans);
    e->alt = xstrdup(alt ? alt : "");
}

static void free_examples(ExampleList *list) {
    for (int i = 0; i < list->n; i++) {
        free(list->items[i].prompt);
        free(list->items[i].answer);
        free(list->items[i].spans);
        free(list->items[i].alt);
    }
    free(list->items);
    memset(list, 0, sizeof *list);
}

/* ------------------------------------------------------------------------ */
/* retrieval task                                                            */
/* ------------------------------------------------------------------------ */

/* Text buffer sizes: an entity is at most 16 words of at most 9 characters
 * ("k99999999") plus spaces, under 256 bytes; a line part holds two entities
 * and a few more words. */
#define ENTITY_BUF 256
#define TEXT_BUF 1024

/* "k3 k9": the K tokens of an entity as words with the given prefix letter */
static void entity_text(char prefix, const int *tokens, int k, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < k; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%c%d", i ? " " : "", prefix, tokens[i]);
}

/* How many distinct ordered sequences of k distinct tokens a pool of p tokens
 * has: p * (p-1) * ... * (p-k+1). Stops counting once it passes `enough`,
 * so it cannot overflow. */
static long long count_sequences(long p, long k, long long enough) {
    long long count = 1;
    for (long i = 0; i < k; i++) {
        if (p - i <= 0) return 0;
        count *= (p - i);
        if (count > enough) return count;
    }
    return count;
}

/* A set of entities (as rows of k tokens) for rejecting duplicates: an
 * open-addressing hash table of entity indices, -1 = empty slot. */
typedef struct {
    int *slots;
    long capacity;  /* power of two, at least twice the entities stored */
    const int *tokens;
    int k;
} EntitySet;

static uint32_t entity_hash(const int *tokens, int k) {
    return fnv1a(tokens, sizeof(int) * (size_t)k, FNV_OFFSET);
}

/* Insert entity `index` (its tokens at set->tokens + index*k) unless an equal
 * entity is already there. Returns 1 if inserted, 0 if it was a duplicate. */
static int entity_set_insert(EntitySet *set, int index) {
    const int *mine = set->tokens + (size_t)index * set->k;
    long slot = (long)(entity_hash(mine, set->k) & (uint32_t)(set->capacity - 1));
    while (set->slots[slot] >= 0) {
        const int *other = set->tokens + (size_t)set->slots[slot] * set->k;
        if (memcmp(mine, other, sizeof(int) * (size_t)set->k) == 0) return 0;
        slot = (slot + 1) & (set->capacity - 1);
    }
    set->slots[slot] = index;
    return 1;
}

/* Draw n entities of k tokens each from the pool 0..p-1 into tokens[n*k].
 *
 * If the pool has a token for every entity position (p >= n*k), shuffle the
 * pool and cut it into n chunks of k: no token is shared between entities.
 * Otherwise draw each entity as k distinct random tokens and redraw it if an
 * earlier entity is the same sequence, so entities share tokens but are all
 * different. (The caller has checked that n distinct sequences exist.) */
static void draw_entities(Rng *rng, int *tokens, int n, int k, int p) {
    if ((long long)p >= (long long)n * k) {
        int *pool = (int *)xmalloc(sizeof(int) * (size_t)p);
        for (int i = 0; i < p; i++) pool[i] = i;
        rng_shuffle(rng, pool, p);
        memcpy(tokens, pool, sizeof(int) * (size_t)n * k);
        free(pool);
        return;
    }
    EntitySet set;
    set.capacity = 16;
    while (set.capacity < 2L * n) set.capacity *= 2;
    set.slots = (int *)xmalloc(sizeof(int) * (size_t)set.capacity);
    for (long i = 0; i < set.capacity; i++) set.slots[i] = -1;
    set.tokens = tokens;
    set.k = k;
    for (int e = 0; e < n; e++) {
        int *mine = tokens + (size_t)e * k;
        do {
            /* k distinct tokens: draw, and redraw any token already used */
            for (int i = 0; i < k; i++) {
                int again;
                do {
                    mine[i] = (int)rng_below(rng, (uint32_t)p);
                    again = 0;
                    for (int j = 0; j < i; j++) again |= (mine[j] == mine[i]);
                } while (again);
            }
        } while (!entity_set_insert(&set, e));
    }
    free(set.slots);
}

static void generate_retrieval(const Options *o, Rng *rng, ExampleList *list) {
    int n = (int)o->n_pairs, k = (int)o->entity_tokens;
    long pool = o->pool ? o->pool : (long)n * k;
    if (pool < k)
        die("--pool %ld is smaller than --entity-tokens %d: an entity needs %d distinct tokens",
            pool, k, k);
    if (pool > 100000000)
        die("--pairs %d x --entity-tokens %d needs a pool of %ld tokens, more than 1e8", n, k, pool);
    long long possible = count_sequences(pool, k, n);
    if (possible < n)
        die("--pool %ld allows only %lld distinct keys of %d tokens, but --pairs asks for %d",
            pool, possible, k, n);

    /* draw keys, then values, from their own pools (k* and v* words) */
    int *keys = (int *)xmalloc(sizeof(int) * (size_t)n * k);
    int *values = (int *)xmalloc(sizeof(int) * (size_t)n * k);
    draw_entities(rng, keys, n, k, (int)pool);
    draw_entities(rng, values, n, k, (int)pool);

    /* choose which pairs have their queries in train: the first
     * round(F * N) of a random permutation of the pairs */
    int n_query_train = (int)floor(o->query_fraction * n + 0.5);
    int *order = (int *)xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) order[i] = i;
    rng_shuffle(rng, order, n);
    char *queries_in_train = (char *)xcalloc((size_t)n, 1);
    for (int i = 0; i < n_query_train; i++) queries_in_train[order[i]] = 1;

    /* Word positions. A statement is "KEY : VALUE" (2K+1 words); a query is
     * "[relation] ENTITY :" followed by the answer entity (2K+2 words). */
    char key[ENTITY_BUF], value[ENTITY_BUF], prompt[TEXT_BUF];
    char statement_spans[TEXT_BUF], forward_spans[TEXT_BUF], backward_spans[TEXT_BUF];
    snprintf(statement_spans, TEXT_BUF, "key:0-%d,value:%d-%d", k, k + 1, 2 * k + 1);
    snprintf(forward_spans, TEXT_BUF, "key:1-%d,value:%d-%d", k + 1, k + 2, 2 * k + 2);
    snprintf(backward_spans, TEXT_BUF, "value:1-%d,key:%d-%d", k + 1, k + 2, 2 * k + 2);

    for (int p = 0; p < n; p++) {
        entity_text('k', keys + (size_t)p * k, k, key, ENTITY_BUF);
        entity_text('v', values + (size_t)p * k, k, value, ENTITY_BUF);
        int query_split = queries_in_train[p] ? SPLIT_TRAIN : SPLIT_TEST;

        snprintf(prompt, TEXT_BUF, "%s : %s", key, value);
        add_example(list, SPLIT_TRAIN, KIND_STATEMENT, DIR_NONE, p, prompt, "", statement_spans, NULL);

        snprintf(prompt, TEXT_BUF, "[value_of] %s :", key);
        add_example(list, query_split, KIND_QUERY, DIR_FORWARD, p, prompt, value, forward_spans, NULL);

        snprintf(prompt, TEXT_BUF, "[key_of] %s :", value);
        add_example(list, query_split, KIND_QUERY, DIR_BACKWARD, p, prompt, key, backward_spans, NULL);
    }
    printf("retrieval: %d pairs, %d tokens per entity, pool of %ld key tokens and %ld value tokens (%s)\n",
           n, k, pool, pool, pool >= (long)n * k ? "no token shared between entities" : "entities share tokens");
    printf("retrieval: queries of %d pairs in train, of %d pairs in test\n", n_query_train, n - n_query_train);

    free(keys);
    free(values);
    free(order);
    free(queries_in_train);
}

/* ------------------------------------------------------------------------ */
/* the task table                                                            */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    void (*generate)(const Options *o, Rng *rng, ExampleList *list);
} Task;

static const Task TASKS[] = {
    {"retrieval", generate_retrieval},
};
#define N_TASKS ((int)(sizeof TASKS / sizeof TASKS[0]))

/* ------------------------------------------------------------------------ */
/* output                                                                    */
/* ------------------------------------------------------------------------ */

/* The options line in the file header: every option that changes the data,
 * but not --out, so the file does not depend on where it is written. */
static void write_header(FILE *f, const Options *o) {
    fprintf(f, "# split\tkind\tdirection\tpair\tprompt\tanswer\tspans\talt\n");
    fprintf(f, "# 01_data --task %s --seed %ld", o->task, o->seed);
    if (strcmp(o->task, "retrieval") == 0)
        fprintf(f, " --pairs %ld --entity-tokens %ld --pool %ld --query-fraction %g", o->n_pairs,
                o->entity_tokens, o->pool ? o->pool : o->n_pairs * o->entity_tokens, o->query_fraction);
    fprintf(f, "\n");
}

static void write_example(FILE *f, const Example *e) {
    fprintf(f, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", SPLIT_NAMES[e->split], KIND_NAMES[e->kind],
            DIR_NAMES[e->direction], e->pair, e->prompt, e->answer, e->spans, e->alt);
}

int main(int argc, char **argv) {
    Options o;
    parse_options(argc, argv, &o);

    const Task *task = NULL;
    for (int i = 0; i < N_TASKS; i++)
        if (strcmp(TASKS[i].name, o.task) == 0) task = &TASKS[i];
    if (!task) {
        char names[256] = "";
        for (int i = 0; i < N_TASKS; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", TASKS[i].name);
        die("--task '%s' is not a task (tasks: %s)", o.task, names);
    }

    char default_out[256];
    if (!o.out_dir) {
        snprintf(default_out, sizeof default_out, "data/%s", o.task);
        o.out_dir = default_out;
    }

    /* generate everything in memory first: a bad option dies before any
     * directory or file is created */
    Rng rng;
    rng_seed(&rng, (uint64_t)o.seed);
    ExampleList list = {0};
    task->generate(&o, &rng, &list);

    /* order: train lines in a random order, then test lines as generated */
    int n_train = 0;
    for (int i = 0; i < list.n; i++) n_train += (list.items[i].split == SPLIT_TRAIN);
    int *train_order = (int *)xmalloc(sizeof(int) * (size_t)n_train);
    for (int i = 0, t = 0; i < list.n; i++)
        if (list.items[i].split == SPLIT_TRAIN) train_order[t++] = i;
    rng_shuffle(&rng, train_order, n_train);

    make_dirs(o.out_dir);
    /* 1000 < 1024: leaves room for the ".tmp" that output_open() appends */
    char path[1000];
    if (snprintf(path, sizeof path, "%s/examples.txt", o.out_dir) >= (int)sizeof path)
        die("--out path too long: '%s'", o.out_dir);
    FILE *f = output_open(path);
    write_header(f, &o);
    for (int t = 0; t < n_train; t++) write_example(f, &list.items[train_order[t]]);
    for (int i = 0; i < list.n; i++)
        if (list.items[i].split == SPLIT_TEST) write_example(f, &list.items[i]);
    if (ferror(f)) die("write error on '%s.tmp'", path);
    output_commit(f, path);

    /* statistics: [split][kind][direction] counts */
    int count[2][N_KINDS][3] = {{{0}}};
    for (int i = 0; i < list.n; i++) {
        Example *e = &list.items[i];
        count[e->split][e->kind][e->direction]++;
    }
    printf("statements:     %d train, %d test\n", count[0][KIND_STATEMENT][DIR_NONE],
           count[1][KIND_STATEMENT][DIR_NONE]);
    printf("train queries:  %d forward, %d backward\n", count[0][KIND_QUERY][DIR_FORWARD],
           count[0][KIND_QUERY][DIR_BACKWARD]);
    printf("test queries:   %d forward, %d backward\n", count[1][KIND_QUERY][DIR_FORWARD],
           count[1][KIND_QUERY][DIR_BACKWARD]);
    printf("wrote %d examples (%d train, %d test) to %s\n", list.n, n_train, list.n - n_train, path);

    free(train_order);
    free_examples(&list);
    return 0;
}
