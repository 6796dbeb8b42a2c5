/*
 * 02_tokenize.c -- turn the text examples of 01_data into token ids.
 *
 * The tokenizer is word-level: a word is whatever sits between two spaces in
 * the prompt and answer fields of examples.txt ("k3", ":", "[value_of]").
 *
 *   1. Read examples.txt strictly (format in common.h); any problem stops the
 *      program with "FILE:LINE: problem".
 *   2. Build the vocabulary from the TRAIN lines only: the special tokens
 *      first, then every word in the order it first appears. A word that only
 *      a test line uses is not in the vocabulary and becomes <unk>: the model
 *      could never have learned anything about it.
 *   3. Write DIR/vocab.txt (line i = token i) and DIR/train.bin, DIR/test.bin
 *      in the binary format of common.h. Each sequence is
 *          <bos> prompt words... answer words... <eos>
 *      and word position w of "prompt answer" is token position w + 1.
 *
 * The binary files carry the FNV-1a hash of vocab.txt, so a program can tell
 * when a .bin and a vocabulary do not belong together.
 *
 * --decode reads a .bin back and prints its examples in the text format, in
 * file order; for 01_data's files this reproduces the train (or test) lines of
 * examples.txt exactly. The tests use that round trip.
 *
 * Usage:  build/02_tokenize --in data/retrieval/examples.txt [--out-dir data/retrieval]
 *         build/02_tokenize --decode data/retrieval/train.bin [--vocab data/retrieval/vocab.txt]
 */
#include "common.h"

#include <stdarg.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Paths are kept shorter than common.h's 1024-byte ".tmp" buffer. */
#define PATH_LEN 1000

/* ------------------------------------------------------------------------ */
/* small helpers                                                             */
/* ------------------------------------------------------------------------ */

/* The whole file as one NUL-terminated string (its size in *size). */
static char *read_whole_file(const char *path, size_t *size) {
    FILE *f = xfopen_read(path);
    size_t capacity = 1 << 16, n = 0;
    char *buf = (char *)xmalloc(capacity);
    for (;;) {
        if (n + 1 >= capacity) {
            capacity *= 2;
            buf = (char *)realloc(buf, capacity);
            if (!buf) die("out of memory reading '%s'", path);
        }
        size_t got = fread(buf + n, 1, capacity - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) die("read error in '%s': %s", path, strerror(errno));
    fclose(f);
    buf[n] = 0;
    if (memchr(buf, 0, n)) die("'%s' contains a NUL byte: it is not a text file", path);
    *size = n;
    return buf;
}

/* Index of `word` in names[0..n), or -1. */
static int lookup_name(const char *word, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(word, names[i]) == 0) return i;
    return -1;
}

/* "dir/file" -> "dir"; "file" -> "." */
static void directory_of(const char *path, char *dir, size_t n) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, n, ".");
    else if (slash == path) snprintf(dir, n, "/");
    else snprintf(dir, n, "%.*s", (int)(slash - path), path);
}

static void join_path(char *out, const char *dir, const char *name) {
    if (snprintf(out, PATH_LEN, "%s/%s", dir, name) >= PATH_LEN) die("path too long: '%s/%s'", dir, name);
}

/* ------------------------------------------------------------------------ */
/* the vocabulary: id -> word array plus a word -> id hash table             */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char **words;  /* words[id] */
    int n, capacity;
    int *slots;          /* open-addressing hash table of ids; -1 = empty */
    int n_slots;         /* a power of two, kept above 2 * n */
} Vocab;

static uint32_t word_hash(const char *w) { return fnv1a(w, strlen(w), FNV_OFFSET); }

/* The id of `word`, or -1 if it is not in the vocabulary. */
static int vocab_find(const Vocab *v, const char *word) {
    uint32_t slot = word_hash(word) & (uint32_t)(v->n_slots - 1);
    while (v->slots[slot] >= 0) {
        if (strcmp(v->words[v->slots[slot]], word) == 0) return v->slots[slot];
        slot = (slot + 1) & (uint32_t)(v->n_slots - 1);
    }
    return -1;
}

static void vocab_rebuild_slots(Vocab *v, int n_slots) {
    free(v->slots);
    v->n_slots = n_slots;
    v->slots = (int *)xmalloc(sizeof(int) * (size_t)n_slots);
    for (int i = 0; i < n_slots; i++) v->slots[i] = -1;
    for (int id = 0; id < v->n; id++) {
        uint32_t slot = word_hash(v->words[id]) & (uint32_t)(n_slots - 1);
        while (v->slots[slot] >= 0) slot = (slot + 1) & (uint32_t)(n_slots - 1);
        v->slots[slot] = id;
    }
}

/* The id of `word`, adding it as a new token if it is not there yet. The
 * vocabulary keeps the pointer: the word must outlive it. */
static int vocab_add(Vocab *v, const char *word) {
    int id = vocab_find(v, word);
    if (id >= 0) return id;
    if (v->n == v->capacity) {
        v->capacity = v->capacity ? 2 * v->capacity : 1024;
        v->words = (const char **)realloc(v->words, sizeof(char *) * (size_t)v->capacity);
        if (!v->words) die("out of memory growing the vocabulary");
    }
    v->words[v->n++] = word;
    if (2 * v->n >= v->n_slots) vocab_rebuild_slots(v, v->n_slots ? 2 * v->n_slots : 1024);
    else {
        uint32_t slot = word_hash(word) & (uint32_t)(v->n_slots - 1);
        while (v->slots[slot] >= 0) slot = (slot + 1) & (uint32_t)(v->n_slots - 1);
        v->slots[slot] = v->n - 1;
    }
    return v->n - 1;
}

static void vocab_init(Vocab *v) {
    memset(v, 0, sizeof *v);
    vocab_rebuild_slots(v, 1024);
    for (int i = 0; i < N_SPECIAL_TOKENS; i++) vocab_add(v, SPECIAL_TOKEN_NAMES[i]);
}

static void vocab_free(Vocab *v) {
    free(v->words);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

/* ------------------------------------------------------------------------ */
/* reading examples.txt                                                      */
/* ------------------------------------------------------------------------ */

/* One parsed line. Its words live in the Corpus's word array. */
typedef struct {
    int split, kind, direction, pair;
    long first_word;      /* index of its first prompt word in Corpus.words */
    int n_prompt, n_answer;
    int n_alt;            /* words of the alt answer, right after the answer's */
    int n_spans;
    int span_start[MAX_SPANS], span_end[MAX_SPANS];  /* word positions */
    char span_label[MAX_SPANS][MAX_SPAN_LABEL];
} TextExample;

typedef struct {
    char *text;           /* the whole file; words point into it */
    TextExample *examples;
    int n_examples, examples_capacity;
    char **words;         /* the prompt and answer words of all examples */
    long n_words, words_capacity;
    int n_truncated_labels;
} Corpus;

/* Where we are in the input, for error messages. */
static const char *input_path;
static int input_line;

/* die("FILE:LINE: message") */
static void line_error(const char *fmt, ...) {
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    die("%s:%d: %s", input_path, input_line, message);
}

static void add_word(Corpus *c, char *word) {
    if (c->n_words == c->words_capacity) {
        c->words_capacity = c->words_capacity ? 2 * c->words_capacity : 1 << 16;
        c->words = (char **)realloc(c->words, sizeof(char *) * (size_t)c->words_capacity);
        if (!c->words) die("out of memory reading '%s'", input_path);
    }
    c->words[c->n_words++] = word;
}

/* Split a field on single spaces, in place, appending the words to the
 * corpus. Returns the number of words ("" has none). */
static int split_words(Corpus *c, char *field, const char *field_name) {
    if (!*field) return 0;
    int n = 0;
    char *word = field;
    for (;;) {
        char *space = strchr(word, ' ');
        if (space) *space = 0;
        if (!*word) line_error("%s has an empty word (a leading, trailing or double space)", field_name);
        if (lookup_name(word, SPECIAL_TOKEN_NAMES, N_SPECIAL_TOKENS) >= 0)
            line_error("%s uses the word '%s', which is reserved for a special token", field_name, word);
        add_word(c, word);
        n++;
        if (!space) return n;
        word = space + 1;
    }
}

/* The non-negative decimal integer written in s[0..end), or -1 if those
 * characters are not one. */
static long parse_index(const char *s, const char *end) {
    if (s >= end) return -1;
    long v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = 10 * v + (*p - '0');
        if (v > INT32_MAX) return -1;
    }
    return v;
}

/* "key:0-2,value:3-5" -> the example's spans, checked against n_words */
static void parse_spans(Corpus *c, TextExample *ex, char *field, int n_words) {
    ex->n_spans = 0;
    if (!*field) return;  /* no spans */
    char *item = field;
    for (;;) {
        char *comma = strchr(item, ',');
        if (comma) *comma = 0;
        /* label:start-end (a label may itself contain ':', so take the last) */
        char *colon = strrchr(item, ':');
        char *dash = colon ? strchr(colon, '-') : NULL;
        if (!colon || !dash || colon == item)
            line_error("span '%s' is not label:start-end", item);
        long start = parse_index(colon + 1, dash);
        long end = parse_index(dash + 1, dash + strlen(dash));
        if (start < 0 || end < 0) line_error("span '%s' has a bad start or end", item);
        if (!(start < end && end <= n_words))
            line_error("span '%s' is not inside the %d words of the example", item, n_words);
        if (ex->n_spans == MAX_SPANS) line_error("more than %d spans", MAX_SPANS);
        int s = ex->n_spans++;
        ex->span_start[s] = (int)start;
        ex->span_end[s] = (int)end;
        /* labels longer than the record's field are cut (and counted) */
        int label_len = (int)(colon - item);
        if (label_len > MAX_SPAN_LABEL - 1) {
            label_len = MAX_SPAN_LABEL - 1;
            c->n_truncated_labels++;
        }
        memcpy(ex->span_label[s], item, (size_t)label_len);
        ex->span_label[s][label_len] = 0;
        if (!comma) return;
        item = comma + 1;
    }
}

/* Parse one non-comment line (NUL-terminated, no newline) into an example. */
static void parse_line(Corpus *c, char *line) {
    char *field[TEXT_FIELDS_MAX];
    int n_fields = 0;
    char *p = line;
    for (;;) {
        char *tab = strchr(p, '\t');
        if (n_fields < TEXT_FIELDS_MAX) field[n_fields] = p;
        n_fields++;
        if (!tab) break;
        *tab = 0;
        p = tab + 1;
    }
    if (n_fields != TEXT_FIELDS && n_fields != TEXT_FIELDS_MAX)
        line_error("expected %d or %d tab-separated fields, found %d", TEXT_FIELDS, TEXT_FIELDS_MAX, n_fields);

    if (c->n_examples == c->examples_capacity) {
        c->examples_capacity = c->examples_capacity ? 2 * c->examples_capacity : 4096;
        c->examples = (TextExample *)realloc(c->examples, sizeof(TextExample) * (size_t)c->examples_capacity);
        if (!c->examples) die("out of memory reading '%s'", input_path);
    }
    TextExample *ex = &c->examples[c->n_examples++];
    memset(ex, 0, sizeof *ex);

    ex->split = lookup_name(field[0], SPLIT_NAMES, 2);
    if (ex->split < 0) line_error("split must be train or test, got '%s'", field[0]);
    ex->kind = lookup_name(field[1], KIND_NAMES, N_KINDS);
    if (ex->kind < 0) line_error("kind must be statement, query or problem, got '%s'", field[1]);
    ex->direction = lookup_name(field[2], DIR_NAMES, 3);
    if (ex->direction < 0) line_error("direction must be none, forward or backward, got '%s'", field[2]);
    long pair = parse_index(field[3], field[3] + strlen(field[3]));
    if (pair < 0) line_error("pair must be a non-negative integer, got '%s'", field[3]);
    ex->pair = (int)pair;

    ex->first_word = c->n_words;
    ex->n_prompt = split_words(c, field[4], "prompt");
    ex->n_answer = split_words(c, field[5], "answer");
    if (ex->n_prompt == 0) line_error("the prompt is empty");
    if (ex->kind == KIND_STATEMENT && (ex->direction != DIR_NONE || ex->n_answer != 0))
        line_error("a statement must have direction none and an empty answer");
    if (ex->kind != KIND_STATEMENT && (ex->direction == DIR_NONE || ex->n_answer == 0))
        line_error("a %s must have direction forward or backward and a non-empty answer", KIND_NAMES[ex->kind]);
    ex->n_alt = n_fields == TEXT_FIELDS_MAX ? split_words(c, field[7], "alt") : 0;
    if (ex->n_alt && ex->kind == KIND_STATEMENT) line_error("a statement cannot have an alt answer");
    parse_spans(c, ex, field[6], ex->n_prompt + ex->n_answer);
}

static void read_examples(Corpus *c, const char *path) {
    memset(c, 0, sizeof *c);
    size_t size;
    c->text = read_whole_file(path, &size);
    input_path = path;
    input_line = 0;
    char *p = c->text, *end = c->text + size;
    while (p < end) {
        input_line++;
        char *newline = strchr(p, '\n');
        char *next = newline ? newline + 1 : end;
        if (newline) *newline = 0;
        if (p[0] == '#') { p = next; continue; }  /* comment */
        if (p[0] == 0) line_error("empty line");
        if (strchr(p, '\r')) line_error("carriage return in the line (Windows line endings?)");
        parse_line(c, p);
        p = next;
    }
}

static void corpus_free(Corpus *c) {
    free(c->text);
    free(c->examples);
    free(c->words);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------------ */
/* writing the token files                                                   */
/* ------------------------------------------------------------------------ */

/* Encode the examples of one split and write them to `path`. Returns the
 * number of words that were not in the vocabulary (now <unk>). */
static long write_split(const Corpus *c, const Vocab *v, uint32_t vocab_hash, int split, const char *path) {
    /* count first, so the arrays can be allocated once */
    long long n_tokens = 0;
    int n_examples = 0;
    for (int i = 0; i < c->n_examples; i++)
        if (c->examples[i].split == split) {
            n_examples++;
            n_tokens += 2 + c->examples[i].n_prompt + c->examples[i].n_answer + c->examples[i].n_alt;
        }
    if (n_tokens > 1000000000LL) die("%s split has %lld tokens, more than a token file holds (1e9)", SPLIT_NAMES[split], n_tokens);

    ExampleRecord *records = (ExampleRecord *)xcalloc((size_t)n_examples, sizeof(ExampleRecord));
    int32_t *tokens = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)n_tokens);
    long n_unknown = 0;
    int32_t used = 0, max_len = 0, r = 0;
    for (int i = 0; i < c->n_examples; i++) {
        const TextExample *ex = &c->examples[i];
        if (ex->split != split) continue;
        ExampleRecord *rec = &records[r++];
        int n_words = ex->n_prompt + ex->n_answer;
        rec->offset = used;
        rec->length = n_words + 2;
        /* a statement has no answer: answer_start = length marks that */
        rec->answer_start = ex->n_answer ? 1 + ex->n_prompt : rec->length;
        rec->kind = ex->kind;
        rec->direction = ex->direction;
        rec->pair = ex->pair;
        rec->n_spans = ex->n_spans;
        for (int s = 0; s < ex->n_spans; s++) {
            rec->span_start[s] = ex->span_start[s] + 1;  /* +1: the <bos> in front */
            rec->span_end[s] = ex->span_end[s] + 1;
            memcpy(rec->span_label[s], ex->span_label[s], MAX_SPAN_LABEL);
        }
        tokens[used++] = TOK_BOS;
        for (int w = 0; w < n_words; w++) {
            int id = vocab_find(v, c->words[ex->first_word + w]);
            if (id < 0) { id = TOK_UNK; n_unknown++; }
            tokens[used++] = id;
        }
        tokens[used++] = TOK_EOS;
        if (rec->length > max_len) max_len = rec->length;
        /* the alt answer, outside the sequence */
        rec->alt_offset = used;
        rec->alt_length = ex->n_alt;
        for (int w = 0; w < ex->n_alt; w++) {
            int id = vocab_find(v, c->words[ex->first_word + n_words + w]);
            if (id < 0) { id = TOK_UNK; n_unknown++; }
            tokens[used++] = id;
        }
    }

    TokenFileHeader h;
    memset(&h, 0, sizeof h);  /* zeroes the reserved words too */
    h.magic = TOKEN_FILE_MAGIC;
    h.version = TOKEN_FILE_VERSION;
    h.vocab_size = (uint32_t)v->n;
    h.vocab_hash = vocab_hash;
    h.n_examples = (uint32_t)n_examples;
    h.n_tokens = (uint32_t)n_tokens;
    h.max_len = (uint32_t)max_len;

    FILE *f = output_open(path);
    xfwrite(&h, sizeof h, f, path);
    xfwrite(records, sizeof(ExampleRecord) * (size_t)n_examples, f, path);
    xfwrite(tokens, sizeof(int32_t) * (size_t)n_tokens, f, path);
    output_commit(f, path);

    printf("%-5s  %7d examples  %9lld tokens  max length %d  -> %s\n", SPLIT_NAMES[split], n_examples,
           n_tokens, max_len, path);
    free(records);
    free(tokens);
    return n_unknown;
}

static void tokenize(const char *in_path, const char *out_dir) {
    Corpus c;
    read_examples(&c, in_path);

    /* the vocabulary: special tokens, then train words by first appearance */
    Vocab v;
    vocab_init(&v);
    int n_train = 0;
    for (int i = 0; i < c.n_examples; i++) {
        const TextExample *ex = &c.examples[i];
        if (ex->split != SPLIT_TRAIN) continue;
        n_train++;
        for (int w = 0; w < ex->n_prompt + ex->n_answer + ex->n_alt; w++) vocab_add(&v, c.words[ex->first_word + w]);
    }
    if (n_train == 0) die("'%s' has no train lines: there is nothing to build a vocabulary from", in_path);

    /* vocab.txt as one buffer, so the hash is over exactly the bytes written */
    size_t vocab_bytes = 0;
    for (int id = 0; id < v.n; id++) vocab_bytes += strlen(v.words[id]) + 1;
    char *vocab_text = (char *)xmalloc(vocab_bytes);
    size_t at = 0;
    for (int id = 0; id < v.n; id++) {
        size_t len = strlen(v.words[id]);
        memcpy(vocab_text + at, v.words[id], len);
        vocab_text[at + len] = '\n';
        at += len + 1;
    }
    uint32_t vocab_hash = fnv1a(vocab_text, vocab_bytes, FNV_OFFSET);

    /* everything is checked: only now touch the output directory */
    make_dirs(out_dir);
    char path[PATH_LEN];
    join_path(path, out_dir, "vocab.txt");
    FILE *f = output_open(path);
    xfwrite(vocab_text, vocab_bytes, f, path);
    output_commit(f, path);
    printf("vocab  %7d tokens (%d special + %d train words)  hash 0x%08x  -> %s\n", v.n, N_SPECIAL_TOKENS,
           v.n - N_SPECIAL_TOKENS, vocab_hash, path);

    join_path(path, out_dir, "train.bin");
    write_split(&c, &v, vocab_hash, SPLIT_TRAIN, path);
    join_path(path, out_dir, "test.bin");
    long n_unknown = write_split(&c, &v, vocab_hash, SPLIT_TEST, path);
    printf("test words not in the train vocabulary (now <unk>): %ld\n", n_unknown);
    if (c.n_truncated_labels)
        printf("warning: %d span labels cut to %d characters\n", c.n_truncated_labels, MAX_SPAN_LABEL - 1);

    free(vocab_text);
    vocab_free(&v);
    corpus_free(&c);
}

/* ------------------------------------------------------------------------ */
/* --decode: a token file back to text                                       */
/* ------------------------------------------------------------------------ */

static void decode(const char *bin_path, const char *vocab_path) {
    TokenData d;
    token_data_load(&d, bin_path);

    /* the vocabulary file: one token a line, each line ending in '\n' */
    size_t size;
    char *text = read_whole_file(vocab_path, &size);
    uint32_t hash = fnv1a(text, size, FNV_OFFSET);
    if (size == 0 || text[size - 1] != '\n') die("'%s' does not end with a newline: not a vocabulary file", vocab_path);
    int n_vocab = 0;
    for (size_t i = 0; i < size; i++) n_vocab += (text[i] == '\n');
    const char **words = (const char **)xmalloc(sizeof(char *) * (size_t)n_vocab);
    char *p = text;
    for (int id = 0; id < n_vocab; id++) {
        char *newline = strchr(p, '\n');
        *newline = 0;
        words[id] = p;
        p = newline + 1;
    }

    if (d.header.vocab_hash != hash || d.header.vocab_size != (uint32_t)n_vocab)
        die("'%s' was not made with the vocabulary '%s' (its vocabulary: %u tokens, hash 0x%08x; "
            "the file: %d tokens, hash 0x%08x)",
            bin_path, vocab_path, d.header.vocab_size, d.header.vocab_hash, n_vocab, hash);

    /* the split column comes from the file name */
    const char *base = strrchr(bin_path, '/');
    base = base ? base + 1 : bin_path;
    const char *split = strncmp(base, "train", 5) == 0 ? "train" : strncmp(base, "test", 4) == 0 ? "test" : "?";

    for (uint32_t i = 0; i < d.header.n_examples; i++) {
        const ExampleRecord *e = &d.examples[i];
        const int32_t *t = d.tokens + e->offset;
        int last = e->length - 1;  /* the <eos> */
        /* token_data_load checked the ranges; check what only this format says */
        if (t[0] != TOK_BOS || t[last] != TOK_EOS)
            die("'%s': example %u does not start with <bos> and end with <eos>", bin_path, i);
        for (int j = 1; j < last; j++)
            if (t[j] < N_SPECIAL_TOKENS && t[j] != TOK_UNK)
                die("'%s': example %u has the special token %s inside it", bin_path, i, words[t[j]]);
        int is_statement = (e->kind == KIND_STATEMENT);
        if (is_statement ? e->answer_start != e->length : (e->answer_start < 2 || e->answer_start >= last))
            die("'%s': example %u (a %s) has its answer at %d of %d tokens", bin_path, i, KIND_NAMES[e->kind],
                e->answer_start, e->length);
        int prompt_end = is_statement ? last : e->answer_start;

        printf("%s\t%s\t%s\t%d\t", split, KIND_NAMES[e->kind], DIR_NAMES[e->direction], e->pair);
        for (int j = 1; j < prompt_end; j++) printf("%s%s", j > 1 ? " " : "", words[t[j]]);
        printf("\t");
        for (int j = prompt_end; j < last; j++) printf("%s%s", j > prompt_end ? " " : "", words[t[j]]);
        printf("\t");
        for (int s = 0; s < e->n_spans; s++) {
            if (e->span_start[s] < 1 || e->span_start[s] >= e->span_end[s] || e->span_end[s] > last ||
                !memchr(e->span_label[s], 0, MAX_SPAN_LABEL))
                die("'%s': example %u has a bad span %d", bin_path, i, s);
            /* token positions back to word positions: -1 for the <bos> */
            printf("%s%s:%d-%d", s ? "," : "", e->span_label[s], e->span_start[s] - 1, e->span_end[s] - 1);
        }
        printf("\t");
        for (int j = 0; j < e->alt_length; j++) printf("%s%s", j ? " " : "", words[d.tokens[e->alt_offset + j]]);
        printf("\n");
    }
    if (fflush(stdout) != 0 || ferror(stdout)) die("error writing to stdout: %s", strerror(errno));
    fprintf(stderr, "decoded %u examples (%u tokens, vocabulary of %u, max length %u) from %s\n",
            d.header.n_examples, d.header.n_tokens, d.header.vocab_size, d.header.max_len, bin_path);

    token_data_free(&d);
    free(words);
    free(text);
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

static void print_usage(void) {
    printf(
        "usage: 02_tokenize --in FILE [--out-dir DIR]\n"
        "       02_tokenize --decode FILE.bin [--vocab VOCAB]\n"
        "\n"
        "Word-level tokenizer for the text examples of 01_data (format in common.h).\n"
        "\n"
        "  --in FILE          examples.txt to tokenize; writes DIR/vocab.txt (vocabulary\n"
        "                     of the train lines), DIR/train.bin and DIR/test.bin\n"
        "  --out-dir DIR      where to write them (default: the directory of FILE)\n"
        "  --decode FILE.bin  print the examples of a token file in the text format\n"
        "  --vocab VOCAB      vocabulary for --decode (default: vocab.txt next to FILE.bin)\n"
        "  --help             print this and exit\n");
}

int main(int argc, char **argv) {
    const char *in_path = NULL, *out_dir = NULL, *decode_path = NULL, *vocab_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { print_usage(); return 0; }
        else if (strcmp(a, "--in") == 0) in_path = flag_value(argc, argv, &i);
        else if (strcmp(a, "--out-dir") == 0) out_dir = flag_value(argc, argv, &i);
        else if (strcmp(a, "--decode") == 0) decode_path = flag_value(argc, argv, &i);
        else if (strcmp(a, "--vocab") == 0) vocab_path = flag_value(argc, argv, &i);
        else die("unknown flag '%s' (see --help)", a);
    }

    if (decode_path) {
        if (in_path || out_dir) die("--decode cannot be combined with --in or --out-dir");
        char default_vocab[PATH_LEN], dir[PATH_LEN];
        if (!vocab_path) {
            directory_of(decode_path, dir, sizeof dir);
            join_path(default_vocab, dir, "vocab.txt");
            vocab_path = default_vocab;
        }
        decode(decode_path, vocab_path);
        return 0;
    }

    if (!in_path) die("--in FILE is required (see --help)");
    if (vocab_path) die("--vocab is only for --decode");
    char dir[PATH_LEN];
    if (!out_dir) {
        directory_of(in_path, dir, sizeof dir);
        out_dir = dir;
    }
    tokenize(in_path, out_dir);
    return 0;
}
