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
 *   wikireversal (paper section 3.2, Appendix E) real Wikipedia passages of
 *               GenWiki with their DBpedia triples (head, relation, tail).
 *               Triples whose head comes before the tail in the passage, whose
 *               questions have one answer, and whose relation is frequent
 *               enough become QAs both ways:
 *                 forward   "What is La Albuera part of ?"  ->  "Extremadura"
 *                 backward  "What is part of Extremadura ?" ->  "La Albuera"
 *               Passages and 80% of the QAs are train, the rest test. Reads
 *               GenWiki (--genwiki); never makes data up.
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
    /* wikireversal */
    const char *genwiki_paths[64]; /* GenWiki inputs: X.source (X.target beside it) or .json */
    int n_genwiki_paths;
    long min_relation_count;       /* keep relations with at least this many triples */
    const char *split_mode;        /* "same" or "different" train/test split per direction */
    double qa_train_fraction;      /* fraction of each direction's QAs in train */
} Options;

static void print_usage(void) {
    printf(
        "usage: 01_data [options]\n"
        "\n"
        "Generates a synthetic task as text (DIR/examples.txt, format in common.h).\n"
        "\n"
        "  --task NAME            task to generate (default retrieval); tasks: retrieval,\n"
        "                         wikireversal\n"
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
        "\n"
        "wikireversal task (paper section 3.2, Appendix E; reads GenWiki, never invents data):\n"
        "  --genwiki PATH         GenWiki input, may be repeated: X.source (one JSON array of\n"
        "                         [head, relation, tail] triples a line; the passages line by\n"
        "                         line in X.target beside it) or a native GenWiki .json file\n"
        "                         (default ../shared/data/genwiki-hard/test.source)\n"
        "  --min-relation-count N keep only relations with at least N triples left after the\n"
        "                         forward and uniqueness filters (default 30, for the\n"
        "                         1,000-passage GenWiki-Hard sample; the paper used 500 on\n"
        "                         the 1.3M passages of the full GenWiki)\n"
        "  --split-mode MODE      same: a triple's forward and backward QA are in the same\n"
        "                         split; different: each direction is split on its own\n"
        "                         (paper Table 8, left and right; default same)\n"
        "  --qa-train-fraction F  fraction of the QAs of each direction in train; the rest\n"
        "                         are the test set (default 0.8)\n"
        "\n"
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
    /* wikireversal */
    o->n_genwiki_paths = 0;
    o->min_relation_count = 30;
    o->split_mode = "same";
    o->qa_train_fraction = 0.8;
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
        /* wikireversal */
        else if (strcmp(a, "--genwiki") == 0) {
            if (o->n_genwiki_paths == (int)(sizeof o->genwiki_paths / sizeof o->genwiki_paths[0]))
                die("--genwiki given more than %d times", o->n_genwiki_paths);
            o->genwiki_paths[o->n_genwiki_paths++] = flag_value(argc, argv, &i);
        }
        else if (strcmp(a, "--min-relation-count") == 0) o->min_relation_count = parse_long(a, flag_value(argc, argv, &i), 1, INT_MAX);
        else if (strcmp(a, "--split-mode") == 0) {
            o->split_mode = flag_value(argc, argv, &i);
            if (strcmp(o->split_mode, "same") != 0 && strcmp(o->split_mode, "different") != 0)
                die("--split-mode must be 'same' or 'different', got '%s'", o->split_mode);
        }
        else if (strcmp(a, "--qa-train-fraction") == 0) o->qa_train_fraction = parse_double(a, flag_value(argc, argv, &i), 0.0, 1.0);
        else die("unknown flag '%s' (see --help)", a);
    }
    /* wikireversal: without --genwiki, the GenWiki-Hard sample beside the project */
    if (o->n_genwiki_paths == 0) o->genwiki_paths[o->n_genwiki_paths++] = "../shared/data/genwiki-hard/test.source";
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
/* wikireversal task (paper section 3.2, Appendix E, Algorithm 1)            */
/* ------------------------------------------------------------------------ */
/*
 * Real Wikipedia passages with DBpedia triples (GenWiki, Jin et al. 2020)
 * become a closed-book QA task. For each triple (head, relation, tail) of a
 * passage:
 *
 *   1. forward filter: keep it only if the head appears before the tail in
 *      the passage. Then reading the passage left to right goes from head to
 *      tail, like the forward question; the backward question asks the other
 *      way, against the order the passage was read in.
 *   2. uniqueness filter (Appendix E.1): keep it only if no other kept triple
 *      has the same (head, relation) or the same (relation, tail), so each
 *      question has exactly one right answer.
 *   3. count threshold: keep only relations with at least
 *      --min-relation-count triples left after 1 and 2.
 *
 * Each surviving triple gives two QAs from a template per relation:
 *   forward   "What is La Albuera part of ?"  ->  "Extremadura"   (asks the tail)
 *   backward  "What is part of Extremadura ?" ->  "La Albuera"    (asks the head)
 * Training text = every passage with a surviving triple (kind statement) and
 * --qa-train-fraction of the QAs; the other QAs are the test set.
 *
 * An entity is "found" in a passage when its words appear there as whole
 * consecutive words (passages are whitespace-tokenised, "Karnataka , India .");
 * its first occurrence gives its word position and its span. (The paper's
 * code compares character offsets of a plain substring search; that also
 * matches "Salz" inside "Salzburg", which a word match does not.)
 *
 * The input is JSON, read by the small strict reader below; any problem in
 * it stops the program with FILE:LINE and the problem, before anything is
 * written.
 */

#define WIKI_MAX_FILE_BYTES (1L << 31)  /* 2 GiB: the whole input file is read into memory */
#define WIKI_MAX_LINE_BYTES (1 << 20)   /* a line of X.source or X.target */
#define JSON_MAX_STRING_BYTES (1 << 20) /* one JSON string, after decoding */
#define JSON_MAX_DEPTH 64               /* arrays and objects nested in each other */

/* ---- a growing string ---- */

typedef struct {
    char *data;  /* NUL-terminated once anything was added */
    size_t length, capacity;
} StrBuf;

static void strbuf_append(StrBuf *b, const char *s, size_t n) {
    if (b->length + n + 1 > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 64;
        while (capacity < b->length + n + 1) capacity *= 2;
        b->data = (char *)realloc(b->data, capacity);
        if (!b->data) die("out of memory growing a string to %zu bytes", capacity);
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, s, n);
    b->length += n;
    b->data[b->length] = 0;
}

static void strbuf_add(StrBuf *b, const char *s) { strbuf_append(b, s, strlen(s)); }

/* The string built so far, now owned by the caller; the buffer starts over. */
static char *strbuf_take(StrBuf *b) {
    char *s = b->data ? b->data : xstrdup("");
    memset(b, 0, sizeof *b);
    return s;
}

/* ---- reading the input files ---- */

/* Die with "PATH:LINE: message". */
static void die_at(const char *path, int line, const char *fmt, ...) {
    char message[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    die("%s:%d: %s", path, line, message);
}

/* Check that text[0..n) is valid UTF-8 and has no NUL byte. Valid UTF-8
 * means: every character uses the shortest encoding, and none is a UTF-16
 * surrogate (U+D800..U+DFFF) or beyond U+10FFFF. The first byte of a
 * character says how many bytes follow; for some first bytes the second
 * byte has a narrower range than the usual 0x80..0xBF. */
static void check_utf8(const char *path, const unsigned char *text, size_t n) {
    int line = 1;
    size_t i = 0;
    while (i < n) {
        unsigned c = text[i];
        if (c == '\n') line++;
        if (c == 0) die_at(path, line, "NUL byte in the text");
        if (c < 0x80) { i++; continue; }
        int length;
        unsigned second_lo = 0x80, second_hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) length = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
            length = 3;
            if (c == 0xE0) second_lo = 0xA0;  /* shorter forms are overlong */
            if (c == 0xED) second_hi = 0x9F;  /* 0xED 0xA0.. would be a surrogate */
        } else if (c >= 0xF0 && c <= 0xF4) {
            length = 4;
            if (c == 0xF0) second_lo = 0x90;  /* overlong */
            if (c == 0xF4) second_hi = 0x8F;  /* beyond U+10FFFF */
        } else
            die_at(path, line, "invalid UTF-8: byte 0x%02X cannot start a character", c);
        int ok = i + (size_t)length <= n && text[i + 1] >= second_lo && text[i + 1] <= second_hi;
        for (int k = 2; ok && k < length; k++) ok = text[i + k] >= 0x80 && text[i + k] <= 0xBF;
        if (!ok) die_at(path, line, "invalid UTF-8: byte 0x%02X starts a broken %d-byte character", c, length);
        i += (size_t)length;
    }
}

/* The whole file as a NUL-terminated string, checked to be UTF-8. */
static char *read_text_file(const char *path, size_t *size) {
    FILE *f = xfopen_read(path);
    if (fseek(f, 0, SEEK_END) != 0) die("cannot seek in '%s': %s", path, strerror(errno));
    long n = ftell(f);
    if (n < 0) die("cannot find the size of '%s': %s", path, strerror(errno));
    if (n > WIKI_MAX_FILE_BYTES) die("'%s' is %ld bytes, more than the limit of %ld", path, n, WIKI_MAX_FILE_BYTES);
    rewind(f);
    char *text = (char *)xmalloc((size_t)n + 1);
    xfread(text, (size_t)n, f, path);
    text[n] = 0;
    fclose(f);
    check_utf8(path, (const unsigned char *)text, (size_t)n);
    *size = (size_t)n;
    return text;
}

/* Cut text into lines in place ('\n' becomes NUL); returns the number of
 * lines and sets *lines to their starts. A last line without '\n' counts;
 * a '\n' at the very end does not start another line. */
static int split_lines(const char *path, char *text, size_t size, char ***lines) {
    int n = 0, capacity = 1024;
    *lines = (char **)xmalloc(sizeof(char *) * (size_t)capacity);
    size_t start = 0;
    while (start < size) {
        char *newline = memchr(text + start, '\n', size - start);
        size_t end = newline ? (size_t)(newline - text) : size;
        if (end - start > WIKI_MAX_LINE_BYTES)
            die_at(path, n + 1, "line is %zu bytes long, more than the limit of %d", end - start, WIKI_MAX_LINE_BYTES);
        if (n == capacity) {
            capacity *= 2;
            *lines = (char **)realloc(*lines, sizeof(char *) * (size_t)capacity);
            if (!*lines) die("out of memory reading the lines of '%s'", path);
        }
        text[end] = 0;  /* at size this is the NUL read_text_file put there */
        (*lines)[n++] = text + start;
        start = end + 1;
    }
    return n;
}

/* ---- a small strict JSON reader (RFC 8259) ---- */

enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };
static const char *const JSON_TYPE_NAMES[] = {"null", "false", "true", "a number", "a string", "an array", "an object"};

typedef struct JsonValue {
    int type;                /* JSON_* */
    int line;                /* line of the file where the value starts */
    double number;           /* JSON_NUMBER */
    char *string;            /* JSON_STRING: decoded UTF-8 */
    struct JsonValue *items; /* JSON_ARRAY: the elements; JSON_OBJECT: the member values */
    char **keys;             /* JSON_OBJECT: the member names, keys[i] names items[i] */
    int n_items;
} JsonValue;

typedef struct {
    const char *path;  /* for error messages */
    const char *text;
    size_t length, pos;
    int line;          /* line of text[pos] */
    int depth;         /* arrays and objects open around pos */
} JsonParser;

static void json_error(const JsonParser *p, const char *fmt, ...) {
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    die("%s:%d: %s", p->path, p->line, message);
}

static void json_skip_whitespace(JsonParser *p) {
    while (p->pos < p->length) {
        char c = p->text[p->pos];
        if (c == '\n') p->line++;
        else if (c != ' ' && c != '\t' && c != '\r') return;
        p->pos++;
    }
}

/* The next character, or 0 at the end of the text. */
static char json_peek(const JsonParser *p) { return p->pos < p->length ? p->text[p->pos] : 0; }

static void json_expect(JsonParser *p, char c, const char *what) {
    if (p->pos >= p->length) json_error(p, "the JSON ends early (truncated?): expected %s", what);
    if (p->text[p->pos] != c) json_error(p, "expected %s, found '%c'", what, p->text[p->pos]);
    p->pos++;
}

/* 4 hex digits of a \uXXXX escape */
static unsigned json_hex4(JsonParser *p) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = json_peek(p);
        int digit = (c >= '0' && c <= '9') ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (digit < 0) json_error(p, "\\u must be followed by 4 hex digits");
        v = 16 * v + (unsigned)digit;
        p->pos++;
    }
    return v;
}

/* Append code point cp (valid, not a surrogate) as UTF-8. */
static void append_utf8(StrBuf *b, unsigned cp) {
    char bytes[4];
    int n;
    if (cp < 0x80) { bytes[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { bytes[0] = (char)(0xC0 | (cp >> 6)); bytes[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        bytes[0] = (char)(0xE0 | (cp >> 12)); bytes[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        bytes[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        bytes[0] = (char)(0xF0 | (cp >> 18)); bytes[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        bytes[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); bytes[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    strbuf_append(b, bytes, (size_t)n);
}

/* A string, the opening quote at pos. (The raw bytes were checked to be
 * UTF-8 when the file was read, so only escapes need decoding here.) */
static char *json_parse_string(JsonParser *p) {
    StrBuf b = {0};
    json_expect(p, '"', "'\"'");
    for (;;) {
        if (p->pos >= p->length) json_error(p, "the JSON ends inside a string (truncated?)");
        if (b.length > JSON_MAX_STRING_BYTES)
            json_error(p, "a string longer than the limit of %d bytes", JSON_MAX_STRING_BYTES);
        unsigned char c = (unsigned char)p->text[p->pos++];
        if (c == '"') break;
        if (c < 0x20) json_error(p, "control character 0x%02X inside a string (it must be escaped)", c);
        if (c != '\\') { strbuf_append(&b, (const char *)&c, 1); continue; }
        if (p->pos >= p->length) json_error(p, "the JSON ends inside a string (truncated?)");
        char e = p->text[p->pos++];
        switch (e) {
        case '"': strbuf_add(&b, "\""); break;
        case '\\': strbuf_add(&b, "\\"); break;
        case '/': strbuf_add(&b, "/"); break;
        case 'b': strbuf_add(&b, "\b"); break;
        case 'f': strbuf_add(&b, "\f"); break;
        case 'n': strbuf_add(&b, "\n"); break;
        case 'r': strbuf_add(&b, "\r"); break;
        case 't': strbuf_add(&b, "\t"); break;
        case 'u': {
            /* Characters beyond U+FFFF are written as a UTF-16 surrogate
             * pair: \uD8xx-\uDBxx (high) then \uDCxx-\uDFxx (low). */
            unsigned cp = json_hex4(p);
            if (cp >= 0xDC00 && cp <= 0xDFFF) json_error(p, "\\u%04X is a low surrogate without a high one", cp);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (json_peek(p) != '\\' || p->pos + 1 >= p->length || p->text[p->pos + 1] != 'u')
                    json_error(p, "\\u%04X (a high surrogate) is not followed by a \\u low surrogate", cp);
                p->pos += 2;
                unsigned low = json_hex4(p);
                if (low < 0xDC00 || low > 0xDFFF)
                    json_error(p, "\\u%04X (a high surrogate) is followed by \\u%04X, not a low surrogate", cp, low);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            if (cp == 0) json_error(p, "\\u0000 (a NUL character) is not allowed in a string");
            append_utf8(&b, cp);
            break;
        }
        default:
            json_error(p, "unknown escape '\\%c' in a string", e);
        }
    }
    return strbuf_take(&b);
}

/* One or more digits, or die saying what is missing. */
static void json_digits(JsonParser *p, const char *missing) {
    if (!(json_peek(p) >= '0' && json_peek(p) <= '9')) json_error(p, "%s", missing);
    while (json_peek(p) >= '0' && json_peek(p) <= '9') p->pos++;
}

/* A number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static double json_parse_number(JsonParser *p) {
    size_t start = p->pos;
    if (json_peek(p) == '-') p->pos++;
    if (json_peek(p) == '0') p->pos++;  /* no leading zeros: "0", never "01" */
    else json_digits(p, "a number needs a digit");
    if (json_peek(p) == '.') {
        p->pos++;
        json_digits(p, "a number needs a digit after '.'");
    }
    if (json_peek(p) == 'e' || json_peek(p) == 'E') {
        p->pos++;
        if (json_peek(p) == '+' || json_peek(p) == '-') p->pos++;
        json_digits(p, "a number needs a digit in its exponent");
    }
    /* the grammar is checked; strtod converts a NUL-terminated copy */
    char digits[64];
    size_t n = p->pos - start;
    if (n >= sizeof digits) json_error(p, "a number of more than %zu characters", sizeof digits - 1);
    memcpy(digits, p->text + start, n);
    digits[n] = 0;
    return strtod(digits, NULL);
}

static void json_parse_value(JsonParser *p, JsonValue *v);

/* An array or an object, the '[' or '{' at pos. */
static void json_parse_container(JsonParser *p, JsonValue *v, int is_object) {
    char close = is_object ? '}' : ']';
    if (++p->depth > JSON_MAX_DEPTH) json_error(p, "arrays and objects nested more than %d deep", JSON_MAX_DEPTH);
    p->pos++;  /* the '[' or '{' */
    int capacity = 0;
    json_skip_whitespace(p);
    if (json_peek(p) == close) { p->pos++; p->depth--; return; }
    for (;;) {
        if (v->n_items == capacity) {
            capacity = capacity ? 2 * capacity : 4;
            v->items = (JsonValue *)realloc(v->items, sizeof(JsonValue) * (size_t)capacity);
            if (is_object) v->keys = (char **)realloc(v->keys, sizeof(char *) * (size_t)capacity);
            if (!v->items || (is_object && !v->keys)) json_error(p, "out of memory");
        }
        json_skip_whitespace(p);
        if (is_object) {
            if (json_peek(p) != '"') {
                if (p->pos >= p->length) json_error(p, "the JSON ends inside an object (truncated?)");
                json_error(p, "expected a member name in quotes, found '%c'", json_peek(p));
            }
            char *key = json_parse_string(p);
            for (int i = 0; i < v->n_items; i++)
                if (strcmp(v->keys[i], key) == 0) json_error(p, "the member \"%s\" appears twice in one object", key);
            v->keys[v->n_items] = key;
            json_skip_whitespace(p);
            json_expect(p, ':', "':' after a member name");
        }
        json_parse_value(p, &v->items[v->n_items]);
        v->n_items++;
        json_skip_whitespace(p);
        if (json_peek(p) == ',') { p->pos++; continue; }
        if (json_peek(p) == close) { p->pos++; break; }
        if (p->pos >= p->length)
            json_error(p, "the JSON ends inside %s (truncated?)", is_object ? "an object" : "an array");
        json_error(p, "expected ',' or '%c', found '%c'", close, json_peek(p));
    }
    p->depth--;
}

static void json_parse_value(JsonParser *p, JsonValue *v) {
    memset(v, 0, sizeof *v);
    json_skip_whitespace(p);
    v->line = p->line;
    char c = json_peek(p);
    if (p->pos >= p->length) json_error(p, "the JSON ends where a value should be (truncated?)");
    if (c == '{') { v->type = JSON_OBJECT; json_parse_container(p, v, 1); }
    else if (c == '[') { v->type = JSON_ARRAY; json_parse_container(p, v, 0); }
    else if (c == '"') { v->type = JSON_STRING; v->string = json_parse_string(p); }
    else if (c == '-' || (c >= '0' && c <= '9')) { v->type = JSON_NUMBER; v->number = json_parse_number(p); }
    else {
        static const char *const words[] = {"null", "false", "true"};
        for (int type = JSON_NULL; type <= JSON_TRUE; type++) {
            size_t n = strlen(words[type]);
            if (p->length - p->pos >= n && memcmp(p->text + p->pos, words[type], n) == 0) {
                v->type = type;
                p->pos += n;
                return;
            }
        }
        json_error(p, "unexpected character '%c' where a JSON value should be", c);
    }
}

/* Parse text[0..length) as exactly one JSON value; first_line is the line
 * number of text[0] in its file. */
static void json_parse_document(const char *path, const char *text, size_t length, int first_line, JsonValue *root) {
    JsonParser p = {path, text, length, 0, first_line, 0};
    json_parse_value(&p, root);
    json_skip_whitespace(&p);
    if (p.pos < p.length) json_error(&p, "unexpected text after the end of the JSON value");
}

static void json_free(JsonValue *v) {
    for (int i = 0; i < v->n_items; i++) {
        json_free(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    memset(v, 0, sizeof *v);
}

/* The member called key of an object, or NULL */
static const JsonValue *json_member(const JsonValue *object, const char *key) {
    for (int i = 0; i < object->n_items; i++)
        if (strcmp(object->keys[i], key) == 0) return &object->items[i];
    return NULL;
}

/* ---- GenWiki records ---- */

typedef struct {
    char *passage;  /* words separated by single spaces */
} WikiRecord;

typedef struct {
    char *head, *relation, *tail;
    int record;    /* index of the passage it came with */
} WikiTriple;

typedef struct {
    WikiRecord *records;
    int n_records, records_capacity;
    WikiTriple *triples;
    int n_triples, triples_capacity;
    int n_long_rows;      /* rows of 4 or 5 elements, skipped */
    int n_bad_entities;   /* triples skipped: an empty or reserved-word entity */
    int n_bad_passages;   /* passages skipped: a reserved word in them */
} WikiCorpus;

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* A copy of s with every run of whitespace made one space, none at the ends
 * (the text format splits on single spaces and tabs separate its fields). */
static char *normalize_spaces(const char *s) {
    char *out = (char *)xmalloc(strlen(s) + 1);
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (!is_space(*p)) out[n++] = *p;
        else if (n > 0 && out[n - 1] != ' ') out[n++] = ' ';
    }
    if (n > 0 && out[n - 1] == ' ') n--;
    out[n] = 0;
    return out;
}

/* A copy of a relation name with all whitespace deleted: GenWiki-Hard writes
 * some DBpedia names as words ("is Part Of" is isPartOf). */
static char *relation_name(const char *s) {
    char *out = (char *)xmalloc(strlen(s) + 1);
    size_t n = 0;
    for (const char *p = s; *p; p++)
        if (!is_space(*p)) out[n++] = *p;
    out[n] = 0;
    return out;
}

/* Does text (single spaces) use a word reserved for a special token
 * ("<unk>" ...)? 02_tokenize refuses those. */
static int has_reserved_word(const char *text) {
    for (int s = 0; s < N_SPECIAL_TOKENS; s++) {
        size_t n = strlen(SPECIAL_TOKEN_NAMES[s]);
        for (const char *p = strstr(text, SPECIAL_TOKEN_NAMES[s]); p; p = strstr(p + 1, SPECIAL_TOKEN_NAMES[s]))
            if ((p == text || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return 1;
    }
    return 0;
}

static void wiki_add_record(WikiCorpus *c, const char *passage) {
    if (c->n_records == c->records_capacity) {
        c->records_capacity = c->records_capacity ? 2 * c->records_capacity : 1024;
        c->records = (WikiRecord *)realloc(c->records, sizeof(WikiRecord) * (size_t)c->records_capacity);
        if (!c->records) die("out of memory growing the GenWiki records to %d", c->records_capacity);
    }
    c->records[c->n_records++].passage = normalize_spaces(passage);
}

/* One graph row [head, relation, tail] of the last record added. Rows of 4
 * or 5 elements occur in GenWiki-Hard and are skipped; anything else that is
 * not 3 strings is an error. */
static void wiki_add_row(WikiCorpus *c, const JsonValue *row, const char *path) {
    if (row->type != JSON_ARRAY)
        die_at(path, row->line, "a graph row must be an array [head, relation, tail], found %s", JSON_TYPE_NAMES[row->type]);
    for (int i = 0; i < row->n_items; i++)
        if (row->items[i].type != JSON_STRING)
            die_at(path, row->items[i].line, "a graph row must hold strings, found %s", JSON_TYPE_NAMES[row->items[i].type]);
    if (row->n_items == 4 || row->n_items == 5) { c->n_long_rows++; return; }
    if (row->n_items != 3)
        die_at(path, row->line, "a graph row must have 3 elements [head, relation, tail] (4 or 5 are skipped), found %d",
               row->n_items);
    if (c->n_triples == c->triples_capacity) {
        c->triples_capacity = c->triples_capacity ? 2 * c->triples_capacity : 4096;
        c->triples = (WikiTriple *)realloc(c->triples, sizeof(WikiTriple) * (size_t)c->triples_capacity);
        if (!c->triples) die("out of memory growing the GenWiki triples to %d", c->triples_capacity);
    }
    WikiTriple *t = &c->triples[c->n_triples];
    t->head = normalize_spaces(row->items[0].string);
    t->relation = relation_name(row->items[1].string);
    t->tail = normalize_spaces(row->items[2].string);
    t->record = c->n_records - 1;
    if (!*t->head || !*t->relation || !*t->tail || has_reserved_word(t->head) || has_reserved_word(t->tail)) {
        free(t->head); free(t->relation); free(t->tail);
        c->n_bad_entities++;
        return;
    }
    c->n_triples++;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Form (a): X.source, one JSON array of triples a line, and X.target beside
 * it, the passage of the same line. */
static void wiki_load_source_target(WikiCorpus *c, const char *source_path) {
    char target_path[1024];
    size_t stem = strlen(source_path) - strlen(".source");
    if (stem + strlen(".target") >= sizeof target_path) die("path too long: '%s'", source_path);
    memcpy(target_path, source_path, stem);
    strcpy(target_path + stem, ".target");

    size_t source_size, target_size;
    char *source_text = read_text_file(source_path, &source_size);
    char *target_text = read_text_file(target_path, &target_size);
    char **source_lines, **target_lines;
    int n_source = split_lines(source_path, source_text, source_size, &source_lines);
    int n_target = split_lines(target_path, target_text, target_size, &target_lines);
    if (n_source != n_target) {
        /* name the longer file at its first line without a partner */
        int longer_is_source = n_source > n_target;
        die_at(longer_is_source ? source_path : target_path, (longer_is_source ? n_target : n_source) + 1,
               "no partner for this line: '%s' has %d lines but '%s' has %d (the two files must be line-aligned)",
               source_path, n_source, target_path, n_target);
    }
    for (int i = 0; i < n_source; i++) {
        JsonValue rows;
        json_parse_document(source_path, source_lines[i], strlen(source_lines[i]), i + 1, &rows);
        if (rows.type != JSON_ARRAY)
            die_at(source_path, i + 1, "expected a JSON array of [head, relation, tail] rows, found %s",
                   JSON_TYPE_NAMES[rows.type]);
        if (has_reserved_word(target_lines[i])) { c->n_bad_passages++; json_free(&rows); continue; }
        wiki_add_record(c, target_lines[i]);
        for (int r = 0; r < rows.n_items; r++) wiki_add_row(c, &rows.items[r], source_path);
        json_free(&rows);
    }
    free(source_lines);
    free(target_lines);
    free(source_text);
    free(target_text);
}

/* The member key of a GenWiki record, which must be there with this type. */
static const JsonValue *wiki_member(const JsonValue *record, const char *key, int type, const char *path) {
    const JsonValue *v = json_member(record, key);
    if (!v) die_at(path, record->line, "this GenWiki record has no \"%s\"", key);
    if (v->type != type)
        die_at(path, v->line, "\"%s\" must be %s, found %s", key, JSON_TYPE_NAMES[type], JSON_TYPE_NAMES[v->type]);
    return v;
}

/* Form (b): a native GenWiki .json file, an array of records
 *   {"text": "<ENT_0> is a village in <ENT_1> .", "entities": ["Albeck", "Carinthia"],
 *    "graph": [["Albeck", "isPartOf", "Carinthia"]], "id_long": {...}, "id_short": "..."}
 * The passage is the text with each <ENT_k> replaced by entities[k]. */
static void wiki_load_native(WikiCorpus *c, const char *path) {
    size_t size;
    char *text = read_text_file(path, &size);
    JsonValue root;
    json_parse_document(path, text, size, 1, &root);
    if (root.type != JSON_ARRAY)
        die_at(path, root.line, "expected a JSON array of GenWiki records, found %s", JSON_TYPE_NAMES[root.type]);
    for (int r = 0; r < root.n_items; r++) {
        const JsonValue *record = &root.items[r];
        if (record->type != JSON_OBJECT)
            die_at(path, record->line, "a GenWiki record must be an object, found %s", JSON_TYPE_NAMES[record->type]);
        const JsonValue *template_text = wiki_member(record, "text", JSON_STRING, path);
        const JsonValue *entities = wiki_member(record, "entities", JSON_ARRAY, path);
        const JsonValue *graph = wiki_member(record, "graph", JSON_ARRAY, path);
        for (int e = 0; e < entities->n_items; e++)
            if (entities->items[e].type != JSON_STRING)
                die_at(path, entities->items[e].line, "\"entities\" must hold strings, found %s",
                       JSON_TYPE_NAMES[entities->items[e].type]);

        /* substitute <ENT_k>; other text, "<" included, is copied as it is */
        StrBuf passage = {0};
        const char *s = template_text->string;
        while (*s) {
            const char *digits = s + strlen("<ENT_");
            if (strncmp(s, "<ENT_", strlen("<ENT_")) == 0 && *digits >= '0' && *digits <= '9') {
                char *after;
                long k = strtol(digits, &after, 10);
                if (*after == '>') {
                    if (k >= entities->n_items)
                        die_at(path, template_text->line, "the text uses <ENT_%ld> but the record has %d entities",
                               k, entities->n_items);
                    strbuf_add(&passage, entities->items[k].string);
                    s = after + 1;
                    continue;
                }
            }
            strbuf_append(&passage, s, 1);
            s++;
        }
        char *passage_text = strbuf_take(&passage);
        if (has_reserved_word(passage_text)) c->n_bad_passages++;
        else {
            wiki_add_record(c, passage_text);
            for (int g = 0; g < graph->n_items; g++) wiki_add_row(c, &graph->items[g], path);
        }
        free(passage_text);
    }
    json_free(&root);
    free(text);
}

/* ---- finding entities in text ---- */

/* Word position of the first whole-word occurrence of `words` in `text`
 * (both with single spaces between words), or -1 if there is none. */
static int find_words(const char *text, const char *words) {
    size_t n = strlen(words);
    for (const char *p = strstr(text, words); p; p = strstr(p + 1, words)) {
        int starts_a_word = (p == text || p[-1] == ' ');
        int ends_a_word = (p[n] == 0 || p[n] == ' ');
        if (starts_a_word && ends_a_word) {
            int position = 0;
            for (const char *q = text; q < p; q++) position += (*q == ' ');
            return position;
        }
    }
    return -1;
}

static int count_words(const char *text) {
    if (!*text) return 0;
    int n = 1;
    for (const char *p = text; *p; p++) n += (*p == ' ');
    return n;
}

/* ---- counting strings: an open-addressing hash table ---- */

typedef struct {
    char **keys;     /* NULL = empty slot */
    int *values;
    long capacity;   /* a power of two, kept at least twice n */
    long n;
} CountTable;

/* The value stored for key (a new key starts at 0), to read or change. */
static int *table_value(CountTable *t, const char *key) {
    if (2 * (t->n + 1) > t->capacity) {
        /* grow: move every key into a table twice the size */
        CountTable bigger = {0};
        bigger.capacity = t->capacity ? 2 * t->capacity : 256;
        bigger.keys = (char **)xcalloc((size_t)bigger.capacity, sizeof(char *));
        bigger.values = (int *)xcalloc((size_t)bigger.capacity, sizeof(int));
        for (long i = 0; i < t->capacity; i++) {
            if (!t->keys[i]) continue;
            long slot = (long)(fnv1a(t->keys[i], strlen(t->keys[i]), FNV_OFFSET) & (uint32_t)(bigger.capacity - 1));
            while (bigger.keys[slot]) slot = (slot + 1) & (bigger.capacity - 1);
            bigger.keys[slot] = t->keys[i];
            bigger.values[slot] = t->values[i];
        }
        bigger.n = t->n;
        free(t->keys);
        free(t->values);
        *t = bigger;
    }
    long slot = (long)(fnv1a(key, strlen(key), FNV_OFFSET) & (uint32_t)(t->capacity - 1));
    while (t->keys[slot]) {
        if (strcmp(t->keys[slot], key) == 0) return &t->values[slot];
        slot = (slot + 1) & (t->capacity - 1);
    }
    t->keys[slot] = xstrdup(key);
    t->values[slot] = 0;
    t->n++;
    return &t->values[slot];
}

static void table_free(CountTable *t) {
    for (long i = 0; i < t->capacity; i++) free(t->keys[i]);
    free(t->keys);
    free(t->values);
    memset(t, 0, sizeof *t);
}

/* "a<TAB>b": a key for a pair of strings (no tab is left in either) */
static int *pair_value(CountTable *t, const char *a, const char *b) {
    StrBuf key = {0};
    strbuf_add(&key, a);
    strbuf_add(&key, "\t");
    strbuf_add(&key, b);
    int *value = table_value(t, key.data);
    free(key.data);
    return value;
}

/* ---- question templates ---- */

/* "{}" is where the entity goes: the head in a forward question (which asks
 * for the tail), the tail in a backward question (which asks for the head).
 * Every word, "?" too, is separated by spaces like the passages. */
typedef struct {
    const char *relation, *forward, *backward;
} QuestionTemplate;

static const QuestionTemplate QUESTION_TEMPLATES[] = {
    /* the 31 relations of the paper's Table 10 */
    {"birthPlace", "Where was {} born ?", "Who was born in {} ?"},
    {"birthName", "What is the birth name of {} ?", "Who was born with the name {} ?"},
    {"alias", "What is another name of {} ?", "Who or what is also called {} ?"},
    {"location", "Where is {} located ?", "What is located in {} ?"},
    {"deathPlace", "Where did {} die ?", "Who died in {} ?"},
    {"title", "What title does {} hold ?", "Who holds the title {} ?"},
    {"city", "In which city is {} ?", "What is in the city of {} ?"},
    {"populationTotal", "What is the total population of {} ?", "Which place has a total population of {} ?"},
    {"owner", "Who owns {} ?", "What is owned by {} ?"},
    {"name", "What is the name of {} ?", "What has the name {} ?"},
    {"spouse", "Who is the spouse of {} ?", "Who is married to {} ?"},
    {"isPartOf", "What is {} part of ?", "What is part of {} ?"},
    {"type", "What type is {} ?", "What is of the type {} ?"},
    {"office", "What office does {} hold ?", "Who holds the office of {} ?"},
    {"associatedBand", "Which band is {} associated with ?", "Who is associated with the band {} ?"},
    {"associatedMusicalArtist", "Which musical artist is {} associated with ?",
     "Who is associated with the musical artist {} ?"},
    {"synonym", "What is a synonym of {} ?", "What has the synonym {} ?"},
    {"knownFor", "What is {} known for ?", "Who is known for {} ?"},
    {"artist", "Who is the artist of {} ?", "What is a work of the artist {} ?"},
    {"PopulatedPlace/areaTotal", "What is the total area of {} ?", "Which place has a total area of {} ?"},
    {"birthDate", "When was {} born ?", "Who was born on {} ?"},
    {"ground", "What is the home ground of {} ?", "Whose home ground is {} ?"},
    {"occupation", "What is the occupation of {} ?", "Who has the occupation {} ?"},
    {"place", "Where did {} take place ?", "What took place in {} ?"},
    {"address", "What is the address of {} ?", "What is at the address {} ?"},
    {"family", "To which family does {} belong ?", "What belongs to the family {} ?"},
    {"hometown", "What is the hometown of {} ?", "Whose hometown is {} ?"},
    {"region", "In which region is {} ?", "What is in the region {} ?"},
    {"developer", "Who developed {} ?", "What was developed by {} ?"},
    {"label", "Which record label is {} on ?", "Who is on the record label {} ?"},
    {"writer", "Who wrote {} ?", "What was written by {} ?"},
    /* GenWiki-Hard writes PopulatedPlace/areaTotal as "area Total" */
    {"areaTotal", "What is the total area of {} ?", "Which place has a total area of {} ?"},
    /* not in Table 10, but frequent in the GenWiki-Hard sample */
    {"country", "In which country is {} ?", "What is in the country {} ?"},
    {"birthYear", "In which year was {} born ?", "Who was born in the year {} ?"},
    {"deathYear", "In which year did {} die ?", "Who died in the year {} ?"},
};
#define N_QUESTION_TEMPLATES ((int)(sizeof QUESTION_TEMPLATES / sizeof QUESTION_TEMPLATES[0]))

/* A relation that survived the filters, with its templates and counts. */
typedef struct {
    const char *name;
    char *forward, *backward;  /* templates */
    int has_own_template;      /* 0: the generic one made from the name */
    int triples, train[3], test[3];  /* QA counts by DIR_FORWARD / DIR_BACKWARD */
} WikiRelation;

/* Templates for a relation: its own from the table, or, for any other
 * relation, a generic pair made from its name ("activeYearsEndYear" ->
 * "What is the active years end year of {} ?"). */
static void choose_templates(WikiRelation *r) {
    for (int i = 0; i < N_QUESTION_TEMPLATES; i++)
        if (strcmp(QUESTION_TEMPLATES[i].relation, r->name) == 0) {
            r->forward = xstrdup(QUESTION_TEMPLATES[i].forward);
            r->backward = xstrdup(QUESTION_TEMPLATES[i].backward);
            r->has_own_template = 1;
            return;
        }
    /* the name as lower-case words: a space before each capital letter
     * that follows a lower-case letter; "/" and "_" become spaces */
    StrBuf words = {0};
    for (const char *p = r->name; *p; p++) {
        char ch = *p;
        if (ch >= 'A' && ch <= 'Z' && p > r->name && p[-1] >= 'a' && p[-1] <= 'z') strbuf_add(&words, " ");
        if (ch == '/' || ch == '_') ch = ' ';
        if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        if (ch == ' ' && (words.length == 0 || words.data[words.length - 1] == ' ')) continue;
        strbuf_append(&words, &ch, 1);
    }
    char *name_words = strbuf_take(&words);
    StrBuf t = {0};
    strbuf_add(&t, "What is the ");
    strbuf_add(&t, name_words);
    strbuf_add(&t, " of {} ?");
    r->forward = strbuf_take(&t);
    strbuf_add(&t, "What has {} as its ");
    strbuf_add(&t, name_words);
    strbuf_add(&t, " ?");
    r->backward = strbuf_take(&t);
    r->has_own_template = 0;
    free(name_words);
}

/* The question: the template with entity in place of its "{}" word. Sets
 * *entity_position to the word position where the entity starts. */
static char *fill_template(const char *template_text, const char *entity, int *entity_position) {
    StrBuf q = {0};
    int filled = 0;
    *entity_position = 0;
    for (const char *p = template_text; *p; p++) {
        if (!filled && p[0] == '{' && p[1] == '}') {
            strbuf_add(&q, entity);
            filled = 1;
            p++;  /* past the '}' */
            continue;
        }
        /* each word before the entity is followed by one space */
        if (!filled && *p == ' ') (*entity_position)++;
        strbuf_append(&q, p, 1);
    }
    if (!filled) die("internal error: template '%s' has no {}", template_text);
    return strbuf_take(&q);
}

/* Append "label:start-end" to a spans list unless it is already there or
 * the list is full. Returns 0 when full. */
static int add_span(StrBuf *spans, int *n_spans, const char *label, int start, int end) {
    char item[64];
    snprintf(item, sizeof item, "%s:%d-%d", label, start, end);
    /* already there? compare whole comma-separated items */
    for (const char *p = spans->data; p; p = strchr(p, ',')) {
        if (*p == ',') p++;
        size_t n = strlen(item);
        if (strncmp(p, item, n) == 0 && (p[n] == ',' || p[n] == 0)) return 1;
    }
    if (*n_spans == MAX_SPANS) return 0;
    if (*n_spans > 0) strbuf_add(spans, ",");
    strbuf_add(spans, item);
    (*n_spans)++;
    return 1;
}

/* ---- the generator ---- */

static int compare_relations_by_count(const void *a, const void *b) {
    const WikiRelation *x = *(const WikiRelation *const *)a, *y = *(const WikiRelation *const *)b;
    if (x->triples != y->triples) return y->triples - x->triples;
    return strcmp(x->name, y->name);
}

static void generate_wikireversal(const Options *o, Rng *rng, ExampleList *list) {
    /* read every input */
    WikiCorpus corpus = {0};
    for (int f = 0; f < o->n_genwiki_paths; f++) {
        const char *path = o->genwiki_paths[f];
        if (access(path, R_OK) != 0)
            die("cannot read the GenWiki input '%s' (%s).\n"
                "  WikiReversal is built from GenWiki (Jin et al., COLING 2020); this program does not\n"
                "  invent it. Download GenWiki (DOI 10.17617/3.YGO7EW, https://github.com/zhijing-jin/genwiki)\n"
                "  and pass a native .json file with --genwiki FILE, or pass a line-aligned pair\n"
                "  X.source / X.target such as the GenWiki-Hard test split with --genwiki X.source.",
                path, strerror(errno));
        if (ends_with(path, ".source")) wiki_load_source_target(&corpus, path);
        else if (ends_with(path, ".json")) wiki_load_native(&corpus, path);
        else die("--genwiki '%s': expected X.source (with X.target beside it) or a GenWiki .json file", path);
    }
    int n = corpus.n_triples;
    printf("wikireversal: %d passages, %d triples read", corpus.n_records, n);
    printf(" (skipped: %d rows of 4 or 5 elements, %d triples with an empty or reserved-word entity,"
           " %d passages with a reserved word)\n", corpus.n_long_rows, corpus.n_bad_entities, corpus.n_bad_passages);

    /* 1. forward filter: the head is found before the tail */
    int *head_at = (int *)xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    int *tail_at = (int *)xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    char *keep = (char *)xcalloc((size_t)(n ? n : 1), 1);
    int n_forward = 0;
    for (int t = 0; t < n; t++) {
        const WikiTriple *tr = &corpus.triples[t];
        const char *passage = corpus.records[tr->record].passage;
        head_at[t] = find_words(passage, tr->head);
        tail_at[t] = find_words(passage, tr->tail);
        keep[t] = head_at[t] >= 0 && tail_at[t] >= 0 && head_at[t] < tail_at[t];
        n_forward += keep[t];
    }
    printf("wikireversal: %d triples have the head before the tail in their passage (forward)\n", n_forward);

    /* 2. uniqueness filter: count each (head, relation) and (relation, tail)
     * among the forward triples; keep a triple only if both counts are 1.
     * (A fact stated in two passages counts twice, so it goes too.) */
    CountTable head_relation = {0}, relation_tail = {0};
    for (int t = 0; t < n; t++)
        if (keep[t]) {
            (*pair_value(&head_relation, corpus.triples[t].head, corpus.triples[t].relation))++;
            (*pair_value(&relation_tail, corpus.triples[t].relation, corpus.triples[t].tail))++;
        }
    int n_unique = 0;
    for (int t = 0; t < n; t++)
        if (keep[t]) {
            keep[t] = *pair_value(&head_relation, corpus.triples[t].head, corpus.triples[t].relation) == 1 &&
                      *pair_value(&relation_tail, corpus.triples[t].relation, corpus.triples[t].tail) == 1;
            n_unique += keep[t];
        }
    table_free(&head_relation);
    table_free(&relation_tail);
    printf("wikireversal: %d of them have a unique (head, relation) and a unique (relation, tail)\n", n_unique);

    /* 3. count threshold: keep relations with at least min_relation_count
     * unique forward triples */
    CountTable relation_count = {0};
    for (int t = 0; t < n; t++)
        if (keep[t]) (*table_value(&relation_count, corpus.triples[t].relation))++;
    int n_relations_before = (int)relation_count.n;
    for (int t = 0; t < n; t++)
        if (keep[t]) keep[t] = *table_value(&relation_count, corpus.triples[t].relation) >= o->min_relation_count;

    /* the kept triples in input order; kept[k] is the triple of pair k.
     * The relations in order of first appearance; relation_index maps a
     * name to its position plus one (0 = not seen yet). */
    int n_kept = 0;
    int *kept = (int *)xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    int *relation_of = (int *)xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    WikiRelation *relations = (WikiRelation *)xcalloc((size_t)(n ? n : 1), sizeof(WikiRelation));
    int n_relations = 0;
    CountTable relation_index = {0};
    for (int t = 0; t < n; t++) {
        if (!keep[t]) continue;
        int *index = table_value(&relation_index, corpus.triples[t].relation);
        if (*index == 0) {
            relations[n_relations].name = corpus.triples[t].relation;
            choose_templates(&relations[n_relations]);
            *index = ++n_relations;
        }
        relation_of[n_kept] = *index - 1;
        relations[*index - 1].triples++;
        kept[n_kept++] = t;
    }
    table_free(&relation_index);
    table_free(&relation_count);
    if (n_kept == 0)
        die("no triple survives the filters: %d forward, %d unique, none in a relation with at least "
            "--min-relation-count %ld of them", n_forward, n_unique, o->min_relation_count);

    /* the 80/20 split of the QAs. The first round(F * n_kept) triples of a
     * random order have their forward QA in train. "same": the backward QA
     * of a triple goes where its forward QA went (one draw per triple).
     * "different": the backward QAs get a second, independent order. */
    int n_train = (int)floor(o->qa_train_fraction * n_kept + 0.5);
    int different = strcmp(o->split_mode, "different") == 0;
    char *in_train[3];  /* indexed by DIR_FORWARD / DIR_BACKWARD */
    int *order = (int *)xmalloc(sizeof(int) * (size_t)n_kept);
    for (int d = DIR_FORWARD; d <= DIR_BACKWARD; d++) {
        in_train[d] = (char *)xcalloc((size_t)n_kept, 1);
        if (d == DIR_BACKWARD && !different) {
            memcpy(in_train[d], in_train[DIR_FORWARD], (size_t)n_kept);
            continue;
        }
        for (int k = 0; k < n_kept; k++) order[k] = k;
        rng_shuffle(rng, order, n_kept);
        for (int i = 0; i < n_train; i++) in_train[d][order[i]] = 1;
    }

    /* the examples, passage by passage: its statement, then the QAs of its
     * kept triples (a passage's triples are next to each other in kept[]) */
    int n_passages = 0, n_full_spans = 0;
    for (int k = 0; k < n_kept;) {
        int record = corpus.triples[kept[k]].record;
        int last = k;
        while (last + 1 < n_kept && corpus.triples[kept[last + 1]].record == record) last++;

        /* the passage, with the head and tail spans of each kept triple;
         * its pair is the index of its first kept triple */
        const char *passage = corpus.records[record].passage;
        StrBuf spans = {0};
        int n_spans = 0, full = 0;
        for (int j = k; j <= last; j++) {
            const WikiTriple *tr = &corpus.triples[kept[j]];
            full |= !add_span(&spans, &n_spans, "head", head_at[kept[j]], head_at[kept[j]] + count_words(tr->head));
            full |= !add_span(&spans, &n_spans, "tail", tail_at[kept[j]], tail_at[kept[j]] + count_words(tr->tail));
        }
        n_full_spans += full;
        add_example(list, SPLIT_TRAIN, KIND_STATEMENT, DIR_NONE, k, passage, "", spans.data ? spans.data : "", NULL);
        free(spans.data);
        n_passages++;

        for (int j = k; j <= last; j++) {
            const WikiTriple *tr = &corpus.triples[kept[j]];
            WikiRelation *r = &relations[relation_of[j]];
            for (int d = DIR_FORWARD; d <= DIR_BACKWARD; d++) {
                /* forward: the head in the question, the tail is the answer;
                 * backward: the other way round */
                const char *given = d == DIR_FORWARD ? tr->head : tr->tail;
                const char *answer = d == DIR_FORWARD ? tr->tail : tr->head;
                int given_at;
                char *question = fill_template(d == DIR_FORWARD ? r->forward : r->backward, given, &given_at);
                int answer_at = count_words(question);
                char qa_spans[128];
                snprintf(qa_spans, sizeof qa_spans, "%s:%d-%d,%s:%d-%d", d == DIR_FORWARD ? "head" : "tail",
                         given_at, given_at + count_words(given), d == DIR_FORWARD ? "tail" : "head", answer_at,
                         answer_at + count_words(answer));
                int split = in_train[d][j] ? SPLIT_TRAIN : SPLIT_TEST;
                add_example(list, split, KIND_QUERY, d, j, question, answer, qa_spans, NULL);
                if (split == SPLIT_TRAIN) r->train[d]++;
                else r->test[d]++;
                free(question);
            }
        }
        k = last + 1;
    }

    /* statistics, most frequent relation first */
    WikiRelation **sorted = (WikiRelation **)xmalloc(sizeof(WikiRelation *) * (size_t)n_relations);
    for (int i = 0; i < n_relations; i++) sorted[i] = &relations[i];
    qsort(sorted, (size_t)n_relations, sizeof *sorted, compare_relations_by_count);
    printf("wikireversal: %d of %d relations have at least %ld such triples (--min-relation-count): "
           "%d triples kept, from %d passages\n", n_relations, n_relations_before, o->min_relation_count, n_kept,
           n_passages);
    printf("wikireversal: split mode '%s', %d of %d triples' QAs in train per direction\n", o->split_mode,
           n_train, n_kept);
    printf("  %-28s %7s %9s %9s %9s %9s\n", "relation", "triples", "train fwd", "train bwd", "test fwd", "test bwd");
    int total[5] = {0};
    for (int i = 0; i < n_relations; i++) {
        WikiRelation *r = sorted[i];
        printf("  %-28s %7d %9d %9d %9d %9d%s\n", r->name, r->triples, r->train[DIR_FORWARD],
               r->train[DIR_BACKWARD], r->test[DIR_FORWARD], r->test[DIR_BACKWARD],
               r->has_own_template ? "" : "  (generic template)");
        total[0] += r->triples;
        total[1] += r->train[DIR_FORWARD];
        total[2] += r->train[DIR_BACKWARD];
        total[3] += r->test[DIR_FORWARD];
        total[4] += r->test[DIR_BACKWARD];
    }
    printf("  %-28s %7d %9d %9d %9d %9d\n", "total", total[0], total[1], total[2], total[3], total[4]);
    if (n_full_spans)
        printf("wikireversal: %d passages have more than %d entity spans; the rest are not labelled\n",
               n_full_spans, MAX_SPANS);

    for (int i = 0; i < n_relations; i++) { free(relations[i].forward); free(relations[i].backward); }
    free(sorted);
    free(relations);
    free(relation_of);
    free(kept);
    free(order);
    free(in_train[DIR_FORWARD]);
    free(in_train[DIR_BACKWARD]);
    free(keep);
    free(head_at);
    free(tail_at);
    for (int r = 0; r < corpus.n_records; r++) free(corpus.records[r].passage);
    for (int t = 0; t < corpus.n_triples; t++) {
        free(corpus.triples[t].head);
        free(corpus.triples[t].relation);
        free(corpus.triples[t].tail);
    }
    free(corpus.records);
    free(corpus.triples);
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
    {"wikireversal", generate_wikireversal},
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
    if (strcmp(o->task, "wikireversal") == 0) {
        for (int i = 0; i < o->n_genwiki_paths; i++) fprintf(f, " --genwiki %s", o->genwiki_paths[i]);
        fprintf(f, " --min-relation-count %ld --split-mode %s --qa-train-fraction %g", o->min_relation_count,
                o->split_mode, o->qa_train_fraction);
    }
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
