/*
 * 02_tokenize.c -- turn the text examples of 01_data into token ids.
 *
 * Two tokenizers, one output format:
 *
 *   word-level (the default, for the symbolic tasks): a token is a word,
 *       whatever sits between two spaces in the prompt and answer fields of
 *       examples.txt ("k3", ":", "[value_of]").
 *   byte-level BPE (--bpe VOCAB_SIZE, for English text): a token is a run of
 *       bytes learned by byte-pair encoding (Sennrich et al. 2016; the GPT-2
 *       byte-level variant): start from the 256 single bytes and repeatedly
 *       add the most frequent adjacent pair of tokens as a new token.
 *
 *   1. Read examples.txt strictly (format in common.h); any problem stops the
 *      program with "FILE:LINE: problem".
 *   2. Build the vocabulary from the TRAIN lines only (the prompt, answer and
 *      alt words); the test lines must not influence it.
 *        word-level: the special tokens, then every word in the order it first
 *          appears. A word only a test line uses becomes <unk>: the model could
 *          never have learned anything about it.
 *        BPE: the special tokens, the 256 bytes, then one token per merge in
 *          merge order. Every word is encoded on its own with the space in
 *          front of it (" capital"; the first word of the prompt has none), so
 *          no token crosses a word boundary and every byte string can be
 *          encoded: there is no <unk>.
 *   3. Write DIR/vocab.txt (format in common.h) and DIR/train.bin, DIR/test.bin
 *      in the binary format of common.h. Each sequence is
 *          <bos> tokens of the prompt words... of the answer words... <eos>
 *      Because tokens never cross words, an entity span of words [s, e) is
 *      the tokens from the first token of word s to the first of word e, and
 *      the answer starts on a token of its own.
 *
 * The binary files carry the FNV-1a hash of vocab.txt, so a program can tell
 * when a .bin and a vocabulary do not belong together.
 *
 * --decode reads a .bin back and prints its examples in the text format, in
 * file order; for 01_data's files this reproduces the train (or test) lines of
 * examples.txt exactly (with either tokenizer). The tests use that round trip.
 *
 * --bpe-roundtrip encodes any file, byte for byte, with a BPE vocabulary and
 * checks that decoding gives the same bytes back.
 *
 * Usage:  build/02_tokenize --in data/retrieval/examples.txt [--out-dir data/retrieval] [--bpe 2000]
 *         build/02_tokenize --decode data/retrieval/train.bin [--vocab data/retrieval/vocab.txt]
 *         build/02_tokenize --bpe-roundtrip FILE --vocab data/bios/vocab.txt
 */
#include "common.h"

#include <stdarg.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Paths are kept shorter than common.h's 1024-byte ".tmp" buffer. */
#define PATH_LEN 1000
#define MAX_BPE_VOCAB 1000000

/* ------------------------------------------------------------------------ */
/* small helpers                                                             */
/* ------------------------------------------------------------------------ */

/* The whole file as one NUL-terminated string (its size in *size). */
static char *read_whole_file(const char *path, size_t *size) {
    char *buf = read_file(path, size);
    if (memchr(buf, 0, *size)) die("'%s' contains a NUL byte: it is not a text file", path);
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

/* A growable array of token ids. */
typedef struct {
    int32_t *ids;
    long n, capacity;
} TokenList;

static void token_list_push(TokenList *list, int32_t id) {
    if (list->n == list->capacity) {
        list->capacity = list->capacity ? 2 * list->capacity : 1 << 16;
        list->ids = (int32_t *)realloc(list->ids, sizeof(int32_t) * (size_t)list->capacity);
        if (!list->ids) die("out of memory growing a token list");
    }
    list->ids[list->n++] = id;
}

/* ------------------------------------------------------------------------ */
/* a word -> id hash table (the word-level vocabulary; BPE's distinct words) */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char **words;  /* words[id] */
    int n, capacity;
    int *slots;          /* open-addressing hash table of ids; -1 = empty */
    int n_slots;         /* a power of two, kept above 2 * n */
} WordTable;

static uint32_t word_hash(const char *w) { return fnv1a(w, strlen(w), FNV_OFFSET); }

/* The id of `word`, or -1 if it is not in the table. */
static int word_table_find(const WordTable *t, const char *word) {
    uint32_t slot = word_hash(word) & (uint32_t)(t->n_slots - 1);
    while (t->slots[slot] >= 0) {
        if (strcmp(t->words[t->slots[slot]], word) == 0) return t->slots[slot];
        slot = (slot + 1) & (uint32_t)(t->n_slots - 1);
    }
    return -1;
}

static void word_table_rebuild_slots(WordTable *t, int n_slots) {
    free(t->slots);
    t->n_slots = n_slots;
    t->slots = (int *)xmalloc(sizeof(int) * (size_t)n_slots);
    for (int i = 0; i < n_slots; i++) t->slots[i] = -1;
    for (int id = 0; id < t->n; id++) {
        uint32_t slot = word_hash(t->words[id]) & (uint32_t)(n_slots - 1);
        while (t->slots[slot] >= 0) slot = (slot + 1) & (uint32_t)(n_slots - 1);
        t->slots[slot] = id;
    }
}

/* The id of `word`, adding it with the next id if it is not there yet. The
 * table keeps the pointer: the word must outlive it. */
static int word_table_add(WordTable *t, const char *word) {
    int id = word_table_find(t, word);
    if (id >= 0) return id;
    if (t->n == t->capacity) {
        t->capacity = t->capacity ? 2 * t->capacity : 1024;
        t->words = (const char **)realloc(t->words, sizeof(char *) * (size_t)t->capacity);
        if (!t->words) die("out of memory growing a word table");
    }
    t->words[t->n++] = word;
    if (2 * t->n >= t->n_slots) word_table_rebuild_slots(t, 2 * t->n_slots);
    else {
        uint32_t slot = word_hash(word) & (uint32_t)(t->n_slots - 1);
        while (t->slots[slot] >= 0) slot = (slot + 1) & (uint32_t)(t->n_slots - 1);
        t->slots[slot] = t->n - 1;
    }
    return t->n - 1;
}

static void word_table_init(WordTable *t) {
    memset(t, 0, sizeof *t);
    word_table_rebuild_slots(t, 1024);
}

static void word_table_free(WordTable *t) {
    free(t->words);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------ */
/* a (left, right) token pair -> number hash table (for BPE)                 */
/* ------------------------------------------------------------------------ */
/* In training the number is how often the pair occurs; in encoding it is the
 * id of the token the pair merges into. The pairs are kept in a plain array
 * (pair i is left[i], right[i]) so training can scan them all for the most
 * frequent; the slots only make finding one fast. */

typedef struct {
    int32_t *left, *right;
    int64_t *value;
    int n, capacity;
    int *slots;          /* open addressing: index of a pair, -1 = empty */
    int n_slots;         /* a power of two, kept above 2 * n */
} PairTable;

static uint32_t pair_hash(int32_t left, int32_t right) {
    uint64_t key = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
    key *= 0x9E3779B97F4A7C15ull;  /* mix the bits; the top ones are the best mixed */
    return (uint32_t)(key >> 32);
}

/* The index of the pair, or -1 if it is not in the table. */
static int pair_table_find(const PairTable *t, int32_t left, int32_t right) {
    uint32_t slot = pair_hash(left, right) & (uint32_t)(t->n_slots - 1);
    while (t->slots[slot] >= 0) {
        int i = t->slots[slot];
        if (t->left[i] == left && t->right[i] == right) return i;
        slot = (slot + 1) & (uint32_t)(t->n_slots - 1);
    }
    return -1;
}

static void pair_table_rebuild_slots(PairTable *t, int n_slots) {
    free(t->slots);
    t->n_slots = n_slots;
    t->slots = (int *)xmalloc(sizeof(int) * (size_t)n_slots);
    for (int i = 0; i < n_slots; i++) t->slots[i] = -1;
    for (int i = 0; i < t->n; i++) {
        uint32_t slot = pair_hash(t->left[i], t->right[i]) & (uint32_t)(n_slots - 1);
        while (t->slots[slot] >= 0) slot = (slot + 1) & (uint32_t)(n_slots - 1);
        t->slots[slot] = i;
    }
}

/* The index of the pair, adding it with value 0 if it is not there yet. */
static int pair_table_add(PairTable *t, int32_t left, int32_t right) {
    int i = pair_table_find(t, left, right);
    if (i >= 0) return i;
    if (t->n == t->capacity) {
        t->capacity = t->capacity ? 2 * t->capacity : 1024;
        t->left = (int32_t *)realloc(t->left, sizeof(int32_t) * (size_t)t->capacity);
        t->right = (int32_t *)realloc(t->right, sizeof(int32_t) * (size_t)t->capacity);
        t->value = (int64_t *)realloc(t->value, sizeof(int64_t) * (size_t)t->capacity);
        if (!t->left || !t->right || !t->value) die("out of memory growing a pair table");
    }
    i = t->n++;
    t->left[i] = left;
    t->right[i] = right;
    t->value[i] = 0;
    if (2 * t->n >= t->n_slots) pair_table_rebuild_slots(t, 2 * t->n_slots);
    else {
        uint32_t slot = pair_hash(left, right) & (uint32_t)(t->n_slots - 1);
        while (t->slots[slot] >= 0) slot = (slot + 1) & (uint32_t)(t->n_slots - 1);
        t->slots[slot] = i;
    }
    return i;
}

static void pair_table_init(PairTable *t) {
    memset(t, 0, sizeof *t);
    pair_table_rebuild_slots(t, 1024);
}

static void pair_table_free(PairTable *t) {
    free(t->left);
    free(t->right);
    free(t->value);
    free(t->slots);
    memset(t, 0, sizeof *t);
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
    va_list ap;
    va_start(ap, fmt);
    vdie_at_line(input_path, input_line, fmt, ap);
    va_end(ap); /* not reached: die() exits */
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
    if (ex->kind == KIND_STATEMENT && ex->n_answer != 0)  /* (its direction: see common.h) */
        line_error("a statement must have an empty answer");
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
/* byte-level BPE: the pieces, merging, training                             */
/* ------------------------------------------------------------------------ */

/* The byte string BPE encodes for one word: the word with a space in front,
 * unless it is the first word of the prompt. Written to *buf (grown as
 * needed); returns its length. */
static int make_piece(char **buf, size_t *capacity, const char *word, int leading_space) {
    size_t len = strlen(word);
    if (len + 2 > *capacity) {
        *capacity = 2 * (len + 2);
        *buf = (char *)realloc(*buf, *capacity);
        if (!*buf) die("out of memory");
    }
    int n = 0;
    if (leading_space) (*buf)[n++] = ' ';
    memcpy(*buf + n, word, len + 1);
    return n + (int)len;
}

/* Replace every occurrence of the pair (left, right) in symbols[0..n) by
 * new_id, scanning left to right ("a a a" with the pair (a, a) becomes
 * "aa a"). Returns the new length. */
static int merge_pair(int32_t *symbols, int n, int32_t left, int32_t right, int32_t new_id) {
    int out = 0;
    for (int i = 0; i < n; i++) {
        if (i + 1 < n && symbols[i] == left && symbols[i + 1] == right) {
            symbols[out++] = new_id;
            i++;  /* the right half is used up */
        } else {
            symbols[out++] = symbols[i];
        }
    }
    return out;
}

/* A distinct word (piece) of the training text, " capital", and how often it
 * occurs. BPE training works on these: a word that occurs 500 times is
 * counted once, with weight 500, which is what makes training fast. */
typedef struct {
    int32_t *symbols;  /* its tokens so far: single bytes at first, then merged */
    int n_symbols;
    long count;
} TrainWord;

/* counts[pair] += weight for every adjacent pair of the word's tokens */
static void count_pairs(PairTable *counts, const TrainWord *w, long weight) {
    for (int i = 0; i + 1 < w->n_symbols; i++) {
        int p = pair_table_add(counts, w->symbols[i], w->symbols[i + 1]);
        counts->value[p] += weight;
    }
}

static int has_pair(const TrainWord *w, int32_t left, int32_t right) {
    for (int i = 0; i + 1 < w->n_symbols; i++)
        if (w->symbols[i] == left && w->symbols[i + 1] == right) return 1;
    return 0;
}

/* Learn up to vocab_size - BPE_FIRST_MERGE merges from the train lines of the
 * corpus and return the BPE vocabulary file's text (format in common.h). */
static char *train_bpe(const Corpus *c, int vocab_size, size_t *text_size) {
    double t0 = now_seconds();

    /* 1. pre-tokenize: the distinct pieces of the train lines, with counts */
    WordTable pieces;
    word_table_init(&pieces);
    TrainWord *words = NULL;
    int words_capacity = 0;
    long n_occurrences = 0, n_bytes = 0;
    char *piece = NULL;
    size_t piece_capacity = 0;
    for (int e = 0; e < c->n_examples; e++) {
        const TextExample *ex = &c->examples[e];
        if (ex->split != SPLIT_TRAIN) continue;
        /* prompt and answer words, then the alt words (an alternative answer,
         * so each has its space in front like an answer word) */
        for (int w = 0; w < ex->n_prompt + ex->n_answer + ex->n_alt; w++) {
            int len = make_piece(&piece, &piece_capacity, c->words[ex->first_word + w], w > 0);
            int id = word_table_find(&pieces, piece);
            if (id < 0) {
                char *copy = (char *)xmalloc((size_t)len + 1);
                memcpy(copy, piece, (size_t)len + 1);
                id = word_table_add(&pieces, copy);  /* ids are handed out 0, 1, 2, ... */
                if (id == words_capacity) {
                    words_capacity = words_capacity ? 2 * words_capacity : 4096;
                    words = (TrainWord *)realloc(words, sizeof(TrainWord) * (size_t)words_capacity);
                    if (!words) die("out of memory in BPE training");
                }
                TrainWord *tw = &words[id];
                tw->symbols = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)len);
                for (int b = 0; b < len; b++) tw->symbols[b] = N_SPECIAL_TOKENS + (unsigned char)copy[b];
                tw->n_symbols = len;
                tw->count = 0;
            }
            words[id].count++;
            n_occurrences++;
            n_bytes += len;
        }
    }
    int n_words = pieces.n;

    /* 2. how often each pair of adjacent tokens occurs, over all words */
    PairTable counts;
    pair_table_init(&counts);
    for (int i = 0; i < n_words; i++) count_pairs(&counts, &words[i], words[i].count);

    /* 3. merge the most frequent pair, again and again */
    int max_merges = vocab_size - BPE_FIRST_MERGE;
    int32_t *merge_left = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)(max_merges + 1));
    int32_t *merge_right = (int32_t *)xmalloc(sizeof(int32_t) * (size_t)(max_merges + 1));
    int n_merges = 0;
    while (n_merges < max_merges) {
        /* the most frequent pair; a tie goes to the smaller left id, then the
         * smaller right id, so the result never depends on table order */
        int best = -1;
        for (int p = 0; p < counts.n; p++) {
            if (best >= 0) {
                int64_t a = counts.value[p], b = counts.value[best];
                if (a < b) continue;
                if (a == b && (counts.left[p] > counts.left[best] ||
                               (counts.left[p] == counts.left[best] && counts.right[p] > counts.right[best])))
                    continue;
            }
            best = p;
        }
        /* a pair seen once saves nothing: stop (the vocabulary is then smaller) */
        if (best < 0 || counts.value[best] < 2) break;
        int32_t left = counts.left[best], right = counts.right[best];
        int32_t new_id = BPE_FIRST_MERGE + n_merges;
        merge_left[n_merges] = left;
        merge_right[n_merges] = right;
        n_merges++;
        /* in every word that has the pair: take its pairs out of the counts,
         * merge, and put the pairs of the merged word back in */
        for (int i = 0; i < n_words; i++) {
            TrainWord *w = &words[i];
            if (!has_pair(w, left, right)) continue;
            count_pairs(&counts, w, -w->count);
            w->n_symbols = merge_pair(w->symbols, w->n_symbols, left, right, new_id);
            count_pairs(&counts, w, w->count);
        }
    }
    double seconds = now_seconds() - t0;

    /* 4. the vocabulary file: specials, bytes, merges (format in common.h) */
    int n_tokens = BPE_FIRST_MERGE + n_merges;
    char **token_bytes = (char **)xmalloc(sizeof(char *) * (size_t)n_tokens);
    int *token_len = (int *)xmalloc(sizeof(int) * (size_t)n_tokens);
    char *text = NULL;
    FILE *f = open_memstream(&text, text_size);
    if (!f) die("out of memory writing the vocabulary");
    fprintf(f, "#bpe tokens=%d merges=%d\n", n_tokens, n_merges);
    for (int id = 0; id < N_SPECIAL_TOKENS; id++) fprintf(f, "%d\t%s\tspecial\n", id, SPECIAL_TOKEN_NAMES[id]);
    for (int id = N_SPECIAL_TOKENS; id < n_tokens; id++) {
        if (id < BPE_FIRST_MERGE) {  /* a single byte */
            token_len[id] = 1;
            token_bytes[id] = (char *)xmalloc(1);
            token_bytes[id][0] = (char)(id - N_SPECIAL_TOKENS);
        } else {                     /* a merge: the bytes of its two parts */
            int left = merge_left[id - BPE_FIRST_MERGE], right = merge_right[id - BPE_FIRST_MERGE];
            token_len[id] = token_len[left] + token_len[right];
            token_bytes[id] = (char *)xmalloc((size_t)token_len[id]);
            memcpy(token_bytes[id], token_bytes[left], (size_t)token_len[left]);
            memcpy(token_bytes[id] + token_len[left], token_bytes[right], (size_t)token_len[right]);
        }
        fprintf(f, "%d\t", id);
        write_escaped_token_bytes(f, token_bytes[id], token_len[id]);
        if (id < BPE_FIRST_MERGE) fprintf(f, "\tbyte\n");
        else fprintf(f, "\tmerge %d %d\n", merge_left[id - BPE_FIRST_MERGE], merge_right[id - BPE_FIRST_MERGE]);
    }
    if (fclose(f) != 0) die("out of memory writing the vocabulary");

    printf("bpe    %7d distinct words (%ld in the train lines, %ld bytes with their spaces)\n", n_words,
           n_occurrences, n_bytes);
    printf("bpe    %7d merges learned in %.2fs%s\n", n_merges, seconds,
           n_merges < max_merges ? " (stopped early: no pair of tokens occurs twice any more)" : "");

    for (int id = N_SPECIAL_TOKENS; id < n_tokens; id++) free(token_bytes[id]);
    free(token_bytes);
    free(token_len);
    free(merge_left);
    free(merge_right);
    pair_table_free(&counts);
    for (int i = 0; i < n_words; i++) {
        free(words[i].symbols);
        free((char *)pieces.words[i]);
    }
    free(words);
    free(piece);
    word_table_free(&pieces);
    return text;
}

/* ------------------------------------------------------------------------ */
/* encoding words with a vocabulary (either kind)                            */
/* ------------------------------------------------------------------------ */

typedef struct {
    const VocabFile *vocab;
    WordTable words;     /* word-level: word -> id */
    PairTable merges;    /* BPE: (left, right) -> id of the token they merge into */
    int32_t *symbols;    /* BPE: scratch space for one piece */
    int symbols_capacity;
    char *piece;         /* BPE: " word" */
    size_t piece_capacity;
    long n_unknown;      /* words that became <unk> (word-level only) */
} Tokenizer;

static void tokenizer_init(Tokenizer *t, const VocabFile *v, const char *vocab_path) {
    memset(t, 0, sizeof *t);
    t->vocab = v;
    word_table_init(&t->words);
    pair_table_init(&t->merges);
    if (!v->is_bpe) {
        for (int id = 0; id < v->n_tokens; id++)
            if (word_table_add(&t->words, v->text[id]) != id)
                die("'%s': the word '%s' is in it twice", vocab_path, v->text[id]);
        return;
    }
    for (int id = BPE_FIRST_MERGE; id < v->n_tokens; id++) {
        int p = pair_table_add(&t->merges, v->merge_left[id], v->merge_right[id]);
        if (t->merges.value[p] != 0)
            die("'%s': tokens %d and %d are the same merge of %d and %d", vocab_path,
                (int)t->merges.value[p], id, v->merge_left[id], v->merge_right[id]);
        t->merges.value[p] = id;
    }
}

static void tokenizer_free(Tokenizer *t) {
    word_table_free(&t->words);
    pair_table_free(&t->merges);
    free(t->symbols);
    free(t->piece);
}

/* BPE-encode the bytes[0..n) and append the tokens to out: start from single
 * bytes, then apply the merges in the order they were learned. Each round
 * merges the adjacent pair whose merge came first (the smallest new id); a
 * merge can only make pairs with later ids, so this is the same as going
 * through the merge list in order, but looks only at pairs that are there. */
static void bpe_encode_bytes(Tokenizer *t, const char *bytes, int n, TokenList *out) {
    if (n > t->symbols_capacity) {
        t->symbols_capacity = 2 * n;
        t->symbols = (int32_t *)realloc(t->symbols, sizeof(int32_t) * (size_t)t->symbols_capacity);
        if (!t->symbols) die("out of memory encoding");
    }
    int32_t *s = t->symbols;
    for (int i = 0; i < n; i++) s[i] = N_SPECIAL_TOKENS + (unsigned char)bytes[i];
    for (;;) {
        int32_t first_id = -1, left = 0, right = 0;
        for (int i = 0; i + 1 < n; i++) {
            int p = pair_table_find(&t->merges, s[i], s[i + 1]);
            if (p >= 0 && (first_id < 0 || t->merges.value[p] < first_id)) {
                first_id = (int32_t)t->merges.value[p];
                left = s[i];
                right = s[i + 1];
            }
        }
        if (first_id < 0) break;  /* no pair left that has a merge */
        n = merge_pair(s, n, left, right, first_id);
    }
    for (int i = 0; i < n; i++) token_list_push(out, s[i]);
}

/* Append the tokens of one word of an example to out. leading_space: the word
 * is not the first of the prompt (BPE encodes " word"; word-level ignores it). */
static void encode_word(Tokenizer *t, const char *word, int leading_space, TokenList *out) {
    if (!t->vocab->is_bpe) {
        int id = word_table_find(&t->words, word);
        if (id < 0) { id = TOK_UNK; t->n_unknown++; }
        token_list_push(out, id);
        return;
    }
    int n = make_piece(&t->piece, &t->piece_capacity, word, leading_space);
    bpe_encode_bytes(t, t->piece, n, out);
}

/* ------------------------------------------------------------------------ */
/* writing the token files                                                   */
/* ------------------------------------------------------------------------ */

/* Encode the examples of one split and write them to `path`; print what they
 * came to. */
static void write_split(const Corpus *c, Tokenizer *tok, uint32_t vocab_hash, int split, const char *path) {
    int n_examples = 0, max_words = 0;
    for (int i = 0; i < c->n_examples; i++) {
        const TextExample *ex = &c->examples[i];
        if (ex->split != split) continue;
        n_examples++;
        if (ex->n_prompt + ex->n_answer > max_words) max_words = ex->n_prompt + ex->n_answer;
    }
    ExampleRecord *records = (ExampleRecord *)xcalloc((size_t)n_examples, sizeof(ExampleRecord));
    /* word_start[w]: position in the sequence of the first token of word w */
    int *word_start = (int *)xmalloc(sizeof(int) * (size_t)(max_words + 1));
    TokenList tokens = {NULL, 0, 0};
    long n_words = 0, n_word_tokens = 0, n_bytes = 0;
    int32_t max_len = 0, r = 0;
    tok->n_unknown = 0;
    for (int i = 0; i < c->n_examples; i++) {
        const TextExample *ex = &c->examples[i];
        if (ex->split != split) continue;
        ExampleRecord *rec = &records[r++];
        int n_example_words = ex->n_prompt + ex->n_answer;
        rec->offset = (int32_t)tokens.n;
        token_list_push(&tokens, TOK_BOS);
        for (int w = 0; w < n_example_words; w++) {
            const char *word = c->words[ex->first_word + w];
            word_start[w] = (int)(tokens.n - rec->offset);
            encode_word(tok, word, w > 0, &tokens);
            n_bytes += (long)strlen(word) + (w > 0);  /* the word and the space before it */
        }
        word_start[n_example_words] = (int)(tokens.n - rec->offset);
        n_words += n_example_words;
        n_word_tokens += word_start[n_example_words] - 1;
        token_list_push(&tokens, TOK_EOS);
        rec->length = (int32_t)(tokens.n - rec->offset);
        /* a statement has no answer: answer_start = length marks that */
        rec->answer_start = ex->n_answer ? word_start[ex->n_prompt] : rec->length;
        rec->kind = ex->kind;
        rec->direction = ex->direction;
        rec->pair = ex->pair;
        rec->n_spans = ex->n_spans;
        for (int s = 0; s < ex->n_spans; s++) {
            /* words [start, end) are the tokens from the first of word start
             * to the first of word end (or the <eos>) */
            rec->span_start[s] = word_start[ex->span_start[s]];
            rec->span_end[s] = word_start[ex->span_end[s]];
            memcpy(rec->span_label[s], ex->span_label[s], MAX_SPAN_LABEL);
        }
        if (rec->length > max_len) max_len = rec->length;
        /* the alt answer, outside the sequence, encoded like answer words */
        rec->alt_offset = (int32_t)tokens.n;
        for (int w = 0; w < ex->n_alt; w++) encode_word(tok, c->words[ex->first_word + n_example_words + w], 1, &tokens);
        rec->alt_length = (int32_t)(tokens.n - rec->alt_offset);
        if (tokens.n > 1000000000L)
            die("the %s split has more than 1e9 tokens, more than a token file holds", SPLIT_NAMES[split]);
    }

    TokenFileHeader h;
    memset(&h, 0, sizeof h);  /* zeroes the reserved words too */
    h.magic = TOKEN_FILE_MAGIC;
    h.version = TOKEN_FILE_VERSION;
    h.vocab_size = (uint32_t)tok->vocab->n_tokens;
    h.vocab_hash = vocab_hash;
    h.n_examples = (uint32_t)n_examples;
    h.n_tokens = (uint32_t)tokens.n;
    h.max_len = (uint32_t)max_len;

    FILE *f = output_open(path);
    xfwrite(&h, sizeof h, f, path);
    xfwrite(records, sizeof(ExampleRecord) * (size_t)n_examples, f, path);
    xfwrite(tokens.ids, sizeof(int32_t) * (size_t)tokens.n, f, path);
    output_commit(f, path);

    printf("%-5s  %7d examples  %9ld tokens  max length %d  -> %s\n", SPLIT_NAMES[split], n_examples,
           tokens.n, max_len, path);
    if (tok->vocab->is_bpe && n_words > 0)
        printf("%-5s  %.3f tokens per word, %.2f bytes per token (prompt and answer words)\n",
               SPLIT_NAMES[split], (double)n_word_tokens / (double)n_words,
               (double)n_bytes / (double)(n_word_tokens ? n_word_tokens : 1));
    if (!tok->vocab->is_bpe && split == SPLIT_TEST)
        printf("test words not in the train vocabulary (now <unk>): %ld\n", tok->n_unknown);
    free(records);
    free(word_start);
    free(tokens.ids);
}

/* The word-level vocabulary file's text: the special tokens, then the words
 * of the train lines in the order they first appear, one a line. */
static char *word_vocab_text(const Corpus *c, size_t *text_size) {
    WordTable v;
    word_table_init(&v);
    for (int i = 0; i < N_SPECIAL_TOKENS; i++) word_table_add(&v, SPECIAL_TOKEN_NAMES[i]);
    for (int i = 0; i < c->n_examples; i++) {
        const TextExample *ex = &c->examples[i];
        if (ex->split != SPLIT_TRAIN) continue;
        for (int w = 0; w < ex->n_prompt + ex->n_answer + ex->n_alt; w++) word_table_add(&v, c->words[ex->first_word + w]);
    }
    char *text = NULL;
    FILE *f = open_memstream(&text, text_size);
    if (!f) die("out of memory writing the vocabulary");
    for (int id = 0; id < v.n; id++) fprintf(f, "%s\n", v.words[id]);
    if (fclose(f) != 0) die("out of memory writing the vocabulary");
    word_table_free(&v);
    return text;
}

/* bpe_vocab_size 0: word-level; otherwise BPE with that many tokens at most */
static void tokenize(const char *in_path, const char *out_dir, int bpe_vocab_size) {
    Corpus c;
    read_examples(&c, in_path);
    int n_train = 0;
    for (int i = 0; i < c.n_examples; i++) n_train += (c.examples[i].split == SPLIT_TRAIN);
    if (n_train == 0) die("'%s' has no train lines: there is nothing to build a vocabulary from", in_path);

    /* vocab.txt as one buffer, so the hash is over exactly the bytes written */
    char path[PATH_LEN];
    join_path(path, out_dir, "vocab.txt");
    size_t vocab_size_bytes = 0;
    char *vocab_text = bpe_vocab_size ? train_bpe(&c, bpe_vocab_size, &vocab_size_bytes)
                                      : word_vocab_text(&c, &vocab_size_bytes);
    uint32_t vocab_hash = fnv1a(vocab_text, vocab_size_bytes, FNV_OFFSET);

    /* the tokenizer reads the vocabulary the way every later program will, so
     * what the token files say is exactly what vocab.txt says */
    VocabFile vocab;
    char *parse_copy = (char *)xmalloc(vocab_size_bytes + 1);
    memcpy(parse_copy, vocab_text, vocab_size_bytes);
    parse_copy[vocab_size_bytes] = 0;
    vocab_file_parse(&vocab, parse_copy, vocab_size_bytes, path);
    free(parse_copy);
    Tokenizer tok;
    tokenizer_init(&tok, &vocab, path);

    /* everything is checked: only now touch the output directory */
    make_dirs(out_dir);
    FILE *f = output_open(path);
    xfwrite(vocab_text, vocab_size_bytes, f, path);
    output_commit(f, path);
    if (vocab.is_bpe)
        printf("vocab  %7d tokens (%d special + 256 bytes + %d merges)  hash 0x%08x  -> %s\n", vocab.n_tokens,
               N_SPECIAL_TOKENS, vocab.n_merges, vocab_hash, path);
    else
        printf("vocab  %7d tokens (%d special + %d train words)  hash 0x%08x  -> %s\n", vocab.n_tokens,
               N_SPECIAL_TOKENS, vocab.n_tokens - N_SPECIAL_TOKENS, vocab_hash, path);

    double t0 = now_seconds();
    join_path(path, out_dir, "train.bin");
    write_split(&c, &tok, vocab_hash, SPLIT_TRAIN, path);
    join_path(path, out_dir, "test.bin");
    write_split(&c, &tok, vocab_hash, SPLIT_TEST, path);
    if (vocab.is_bpe) printf("encoded both splits in %.2fs\n", now_seconds() - t0);
    if (c.n_truncated_labels)
        printf("warning: %d span labels cut to %d characters\n", c.n_truncated_labels, MAX_SPAN_LABEL - 1);

    tokenizer_free(&tok);
    vocab_file_free(&vocab);
    free(vocab_text);
    corpus_free(&c);
}

/* ------------------------------------------------------------------------ */
/* --decode: a token file back to text                                       */
/* ------------------------------------------------------------------------ */

static void decode(const char *bin_path, const char *vocab_path) {
    TokenData d;
    token_data_load(&d, bin_path);
    VocabFile v;
    vocab_file_load(&v, vocab_path);
    vocab_file_check_data(&v, &d.header, vocab_path, bin_path);

    /* the split column comes from the file name */
    const char *base = strrchr(bin_path, '/');
    base = base ? base + 1 : bin_path;
    const char *split = strncmp(base, "train", 5) == 0 ? "train" : strncmp(base, "test", 4) == 0 ? "test" : "?";

    /* word_of[j]: which word of "prompt answer" the token at position j is part of */
    int *word_of = (int *)xmalloc(sizeof(int) * (d.header.max_len + 1));
    for (uint32_t i = 0; i < d.header.n_examples; i++) {
        const ExampleRecord *e = &d.examples[i];
        const int32_t *t = d.tokens + e->offset;
        int last = e->length - 1;  /* the <eos> */
        /* token_data_load checked the ranges; check what only this format says */
        if (t[0] != TOK_BOS || t[last] != TOK_EOS)
            die("'%s': example %u does not start with <bos> and end with <eos>", bin_path, i);
        for (int j = 1; j < last; j++)
            if (t[j] < N_SPECIAL_TOKENS && t[j] != TOK_UNK)
                die("'%s': example %u has the special token %s inside it", bin_path, i, v.text[t[j]]);
        int is_statement = (e->kind == KIND_STATEMENT);
        if (is_statement ? e->answer_start != e->length : (e->answer_start < 2 || e->answer_start >= last))
            die("'%s': example %u (a %s) has its answer at %d of %d tokens", bin_path, i, KIND_NAMES[e->kind],
                e->answer_start, e->length);
        int prompt_end = is_statement ? last : e->answer_start;
        int word = 0;
        for (int j = 1; j <= last; j++) {
            if (j > 1 && (j == last || vocab_token_starts_word(&v, t[j]))) word++;
            word_of[j] = word;  /* word_of[last]: the number of words */
        }
        if (!is_statement && !vocab_token_starts_word(&v, t[prompt_end]))
            die("'%s': example %u has its answer start inside a word (token %d)", bin_path, i, prompt_end);

        printf("%s\t%s\t%s\t%d\t", split, KIND_NAMES[e->kind], DIR_NAMES[e->direction], e->pair);
        vocab_file_write_words(stdout, &v, t + 1, prompt_end - 1, 0);
        printf("\t");
        vocab_file_write_words(stdout, &v, t + prompt_end, last - prompt_end, 0);
        printf("\t");
        for (int s = 0; s < e->n_spans; s++) {
            int start = e->span_start[s], end = e->span_end[s];
            if (start < 1 || start >= end || end > last || !memchr(e->span_label[s], 0, MAX_SPAN_LABEL))
                die("'%s': example %u has a bad span %d", bin_path, i, s);
            /* token positions back to word positions; a span must hold whole words */
            if ((start > 1 && word_of[start] == word_of[start - 1]) || (end < last && word_of[end] == word_of[end - 1]))
                die("'%s': example %u: span %d (tokens %d-%d) does not start and end at word boundaries",
                    bin_path, i, s, start, end);
            printf("%s%s:%d-%d", s ? "," : "", e->span_label[s], word_of[start], word_of[end - 1] + 1);
        }
        printf("\t");
        vocab_file_write_words(stdout, &v, d.tokens + e->alt_offset, e->alt_length, 0);
        printf("\n");
    }
    if (fflush(stdout) != 0 || ferror(stdout)) die("error writing to stdout: %s", strerror(errno));
    fprintf(stderr, "decoded %u examples (%u tokens, %s vocabulary of %u, max length %u) from %s\n",
            d.header.n_examples, d.header.n_tokens, v.is_bpe ? "BPE" : "word-level", d.header.vocab_size,
            d.header.max_len, bin_path);

    free(word_of);
    vocab_file_free(&v);
    token_data_free(&d);
}

/* ------------------------------------------------------------------------ */
/* --bpe-roundtrip: any bytes -> tokens -> the same bytes                    */
/* ------------------------------------------------------------------------ */

/* Encode the whole file the way words are encoded (a piece starts at the
 * beginning and at every space, so "a  b" is "a", " ", " b"), decode by
 * writing the tokens' bytes one after another, and compare. */
static void bpe_roundtrip(const char *path, const char *vocab_path) {
    VocabFile v;
    vocab_file_load(&v, vocab_path);
    if (!v.is_bpe) die("'%s' is a word-level vocabulary; --bpe-roundtrip needs a BPE one (02_tokenize --bpe)", vocab_path);
    Tokenizer tok;
    tokenizer_init(&tok, &v, vocab_path);
    size_t size;
    char *bytes = read_file(path, &size);
    if (size > 1000000000) die("'%s' is too big for --bpe-roundtrip (more than 1e9 bytes)", path);

    double t0 = now_seconds();
    TokenList tokens = {NULL, 0, 0};
    size_t start = 0;
    while (start < size) {
        size_t end = start + 1;
        while (end < size && bytes[end] != ' ') end++;
        bpe_encode_bytes(&tok, bytes + start, (int)(end - start), &tokens);
        start = end;
    }
    double seconds = now_seconds() - t0;

    char *decoded = (char *)xmalloc(size + 1);
    size_t n = 0;
    for (long i = 0; i < tokens.n; i++) {
        int32_t id = tokens.ids[i];
        if (id < N_SPECIAL_TOKENS || n + (size_t)v.length[id] > size)
            die("round trip of '%s' failed: token %ld (id %d) is special or runs past the input", path, i, id);
        memcpy(decoded + n, v.text[id], (size_t)v.length[id]);
        n += (size_t)v.length[id];
    }
    if (n != size || memcmp(decoded, bytes, size) != 0) {
        size_t at = 0;
        while (at < n && at < size && decoded[at] == bytes[at]) at++;
        die("round trip of '%s' failed: decoded %zu bytes, input %zu; first difference at byte %zu", path, n,
            size, at);
    }
    printf("round trip ok: %zu bytes -> %ld tokens (%.2f bytes per token) -> the same %zu bytes; encoded in %.2fs\n",
           size, tokens.n, tokens.n ? (double)size / (double)tokens.n : 0.0, n, seconds);
    free(decoded);
    free(tokens.ids);
    free(bytes);
    tokenizer_free(&tok);
    vocab_file_free(&v);
}

/* ------------------------------------------------------------------------ */
/* main (left out when test/test_bpe.c includes this file)                   */
/* ------------------------------------------------------------------------ */
#ifndef TOKENIZE_NO_MAIN

static void print_usage(void) {
    printf(
        "usage: 02_tokenize --in FILE [--out-dir DIR] [--bpe VOCAB_SIZE]\n"
        "       02_tokenize --decode FILE.bin [--vocab VOCAB]\n"
        "       02_tokenize --bpe-roundtrip FILE --vocab VOCAB\n"
        "\n"
        "Tokenizer for the text examples of 01_data (format in common.h): word-level by\n"
        "default, byte-level BPE with --bpe.\n"
        "\n"
        "  --in FILE            examples.txt to tokenize; writes DIR/vocab.txt (vocabulary\n"
        "                       of the train lines), DIR/train.bin and DIR/test.bin\n"
        "  --out-dir DIR        where to write them (default: the directory of FILE)\n"
        "  --bpe VOCAB_SIZE     byte-level BPE with at most VOCAB_SIZE tokens (%d specials +\n"
        "                       256 bytes + merges learned from the train lines), at least %d\n"
        "  --decode FILE.bin    print the examples of a token file in the text format\n"
        "  --vocab VOCAB        vocabulary for --decode (default: vocab.txt next to FILE.bin)\n"
        "                       or --bpe-roundtrip\n"
        "  --bpe-roundtrip FILE encode FILE (any bytes) with the BPE vocabulary VOCAB,\n"
        "                       decode it, and check the bytes come back unchanged\n"
        "  --help               print this and exit\n",
        N_SPECIAL_TOKENS, BPE_FIRST_MERGE);
}

int main(int argc, char **argv) {
    const char *in_path = NULL, *out_dir = NULL, *decode_path = NULL, *vocab_path = NULL, *roundtrip_path = NULL;
    int bpe_vocab_size = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { print_usage(); return 0; }
        else if (strcmp(a, "--in") == 0) in_path = flag_value(argc, argv, &i);
        else if (strcmp(a, "--out-dir") == 0) out_dir = flag_value(argc, argv, &i);
        else if (strcmp(a, "--decode") == 0) decode_path = flag_value(argc, argv, &i);
        else if (strcmp(a, "--vocab") == 0) vocab_path = flag_value(argc, argv, &i);
        else if (strcmp(a, "--bpe-roundtrip") == 0) roundtrip_path = flag_value(argc, argv, &i);
        else if (strcmp(a, "--bpe") == 0)
            bpe_vocab_size = (int)parse_long(a, flag_value(argc, argv, &i), BPE_FIRST_MERGE, MAX_BPE_VOCAB);
        else die("unknown flag '%s' (see --help)", a);
    }

    if (roundtrip_path) {
        if (in_path || out_dir || decode_path || bpe_vocab_size)
            die("--bpe-roundtrip takes only --vocab");
        if (!vocab_path) die("--bpe-roundtrip needs --vocab VOCAB (a BPE vocab.txt)");
        bpe_roundtrip(roundtrip_path, vocab_path);
        return 0;
    }

    if (decode_path) {
        if (in_path || out_dir || bpe_vocab_size) die("--decode cannot be combined with --in, --out-dir or --bpe");
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
    if (vocab_path) die("--vocab is only for --decode and --bpe-roundtrip");
    char dir[PATH_LEN];
    if (!out_dir) {
        directory_of(in_path, dir, sizeof dir);
        out_dir = dir;
    }
    tokenize(in_path, out_dir, bpe_vocab_size);
    return 0;
}
#endif /* TOKENIZE_NO_MAIN */
