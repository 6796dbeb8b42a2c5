/*
 * common.h -- what two or more stages of the pipeline share.
 *
 *   1. error handling: die() with the file and the problem, and clean-up of
 *      half-written outputs (every output is written to PATH.tmp and renamed
 *      to PATH only once it is complete, so a failed run leaves nothing behind)
 *   2. checked I/O wrappers (fopen/fread/fwrite/malloc)
 *   3. the random number generator (deterministic for a seed, state saved in
 *      checkpoints so a resumed run continues the same stream)
 *   4. the special tokens and the two text/binary data formats
 *   5. small helpers: flag parsing (numbers, one of a list of names), timing,
 *      durations, reading a whole file, errors at a line of a file
 *
 * Everything here is plain C that is also valid C++, so the .cu files that
 * include it compile with both gcc and nvcc.
 */
#ifndef COMMON_H
#define COMMON_H

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* 1. errors and pending outputs                                             */
/* ------------------------------------------------------------------------ */

/* Outputs being written. Each is written to "<path>.tmp"; output_commit()
 * renames it into place. die() deletes every pending .tmp file, so an error
 * never leaves a partial output behind. */
#define MAX_PENDING_OUTPUTS 16
static char pending_tmp_paths[MAX_PENDING_OUTPUTS][1024];
static int n_pending_outputs = 0;

static inline void remove_pending_outputs(void) {
    for (int i = 0; i < n_pending_outputs; i++) {
        if (pending_tmp_paths[i][0]) remove(pending_tmp_paths[i]);
        pending_tmp_paths[i][0] = 0;
    }
    n_pending_outputs = 0;
}

/* Print "error: <message>" to stderr, remove pending outputs, exit 1. */
static inline void die(const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "error: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    remove_pending_outputs();
    exit(1);
}

static inline void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory allocating %zu bytes", n);
    return p;
}

static inline void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) die("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

static inline FILE *xfopen_read(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open '%s' for reading: %s", path, strerror(errno));
    return f;
}

/* Read exactly n bytes or die naming the file ("truncated" when it ends early). */
static inline void xfread(void *dst, size_t n, FILE *f, const char *path) {
    size_t got = fread(dst, 1, n, f);
    if (got != n) {
        if (ferror(f)) die("read error in '%s': %s", path, strerror(errno));
        die("'%s' is truncated: expected %zu more bytes, found %zu", path, n, got);
    }
}

/* Start writing an output: opens "<path>.tmp" and remembers it for clean-up. */
static inline FILE *output_open(const char *path) {
    if (n_pending_outputs >= MAX_PENDING_OUTPUTS) die("too many outputs open at once");
    char *tmp = pending_tmp_paths[n_pending_outputs];
    if (snprintf(tmp, 1024, "%s.tmp", path) >= 1024) die("output path too long: '%s'", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) die("cannot open '%s' for writing: %s", tmp, strerror(errno));
    n_pending_outputs++;
    return f;
}

static inline void xfwrite(const void *src, size_t n, FILE *f, const char *path) {
    if (fwrite(src, 1, n, f) != n) die("write error on '%s': %s", path, strerror(errno));
}

/* Finish an output: close it and rename "<path>.tmp" to "<path>" (atomic on
 * POSIX, so a reader sees either the old complete file or the new one). */
static inline void output_commit(FILE *f, const char *path) {
    char tmp[1024 + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (fclose(f) != 0) die("error closing '%s': %s", tmp, strerror(errno));
    if (rename(tmp, path) != 0) die("cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    for (int i = 0; i < n_pending_outputs; i++)
        if (strcmp(pending_tmp_paths[i], tmp) == 0) {
            pending_tmp_paths[i][0] = 0;  /* no longer pending */
            /* keep the list compact: move the last entry into this slot */
            n_pending_outputs--;
            memmove(pending_tmp_paths[i], pending_tmp_paths[n_pending_outputs], 1024);
            pending_tmp_paths[n_pending_outputs][0] = 0;
            break;
        }
}

/* mkdir -p: create every missing directory along the path */
static inline void make_dirs(const char *path) {
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) die("path too long: '%s'", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char saved = *p;
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                die("cannot create directory '%s': %s", buf, strerror(errno));
            *p = saved;
            if (saved == 0) break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) die("'%s' is not a directory", path);
}

/* ------------------------------------------------------------------------ */
/* 2. random numbers: SplitMix64 (one 64-bit word of state)                  */
/* ------------------------------------------------------------------------ */
/* Small, fast and good enough for sampling data, masks and initial weights.
 * The whole state is one integer, which makes checkpointing it trivial. */
typedef struct { uint64_t state; } Rng;

static inline void rng_seed(Rng *r, uint64_t seed) { r->state = seed * 0x9E3779B97F4A7C15ull + 1; }

static inline uint64_t rng_u64(Rng *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform float in [0, 1) with 24 random bits */
static inline float rng_uniform(Rng *r) { return (float)(rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

/* uniform integer in [0, n) (n > 0); the modulo bias is below 2^-32 for our n */
static inline uint32_t rng_below(Rng *r, uint32_t n) { return (uint32_t)(rng_u64(r) % n); }

/* standard normal by Box-Muller */
static inline float rng_normal(Rng *r) {
    float u1 = rng_uniform(r), u2 = rng_uniform(r);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853071795864f * u2);
}

/* Fisher-Yates shuffle of n ints */
static inline void rng_shuffle(Rng *r, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)(i + 1));
        int t = a[i]; a[i] = a[j]; a[j] = t;
    }
}

/* ------------------------------------------------------------------------ */
/* 3. tokens and data formats                                                */
/* ------------------------------------------------------------------------ */

/* Special tokens: the first entries of every vocabulary, in this order. */
enum { TOK_PAD = 0, TOK_BOS = 1, TOK_EOS = 2, TOK_UNK = 3, N_SPECIAL_TOKENS = 4 };
static const char *const SPECIAL_TOKEN_NAMES[N_SPECIAL_TOKENS] = {"<pad>", "<bos>", "<eos>", "<unk>"};

/* What an example is, and which way a query asks.
 *   statement: a fact; all of it is training text, nothing is an answer
 *   query:     a question (prompt) and its answer; in training every token
 *              of it is text to learn, in test only the answer is asked for
 *   problem:   like a query, but the prompt is context only and is never
 *              scored, not even in training (the star graph: the edge list
 *              and the start/goal are given, only the path is learned) */
enum { KIND_STATEMENT = 0, KIND_QUERY = 1, KIND_PROBLEM = 2, N_KINDS = 3 };
enum { DIR_NONE = 0, DIR_FORWARD = 1, DIR_BACKWARD = 2 };
enum { SPLIT_TRAIN = 0, SPLIT_TEST = 1 };
static const char *const SPLIT_NAMES[] = {"train", "test"};
static const char *const KIND_NAMES[] = {"statement", "query", "problem"};
static const char *const DIR_NAMES[] = {"none", "forward", "backward"};

/* Text format (written by 01_data, read by 02_tokenize), one example a line,
 * seven or eight tab-separated fields; lines starting with '#' are comments:
 *
 *   split  kind  direction  pair  prompt  answer  spans  [alt]
 *   train  statement  none  17  k3 k9 : v1 v7    key:0-2,value:3-5
 *   test   query  backward  18  [key_of] v4 v2 :  k8 k0  value:1-3,key:4-6
 *
 * split: train|test; kind: statement|query|problem; direction:
 * none|forward|backward (a statement's is none, but for the reversed copy of
 * a query, 01_data --reverse, which keeps the query's); pair: index of the
 * fact the example is about;
 * prompt: space-separated words the model is given; answer: the words it must
 * produce (empty for a statement, which is all prompt); spans: comma-separated
 * label:start-end entity spans, in word positions of "prompt answer" (end
 * exclusive); alt (optional, may be empty): the wrong but plausible answer,
 * e.g. for the relationship task the entity a model that swaps subject and
 * object would give, so 06_eval can count "incorrect inference". */
#define TEXT_FIELDS 7      /* required fields */
#define TEXT_FIELDS_MAX 8  /* with the optional alt */

/* Binary token file (written by 02_tokenize, read by 04/05/06):
 *
 *   TokenFileHeader                      64 bytes
 *   ExampleRecord[n_examples]            where each sequence is, its metadata
 *   int32 tokens[n_tokens]               all sequences back to back
 *
 * Every sequence is BOS, the prompt tokens, the answer tokens, EOS. So the
 * first answer token sits at position answer_start (a statement has
 * answer_start = length: nothing of it is an answer). Spans are token
 * positions [start, end) within the sequence. An example with an alt answer
 * has its alt tokens (no BOS/EOS) right after its sequence in tokens[], at
 * alt_offset; they are not part of the sequence and never trained on. */
#define TOKEN_FILE_MAGIC 0x314B4F54u /* "TOK1" little-endian */
#define TOKEN_FILE_VERSION 2
#define MAX_SPANS 16
#define MAX_SPAN_LABEL 16

typedef struct {
    uint32_t magic, version;
    uint32_t vocab_size;  /* tokens in the vocabulary the ids index */
    uint32_t vocab_hash;  /* FNV-1a of the vocabulary file: ties data to a vocab */
    uint32_t n_examples;
    uint32_t n_tokens;
    uint32_t max_len;     /* longest sequence, BOS and EOS included */
    uint32_t reserved[9];
} TokenFileHeader;

typedef struct {
    int32_t offset;       /* index of the sequence's first token in tokens[] */
    int32_t length;       /* tokens in the sequence, BOS and EOS included */
    int32_t answer_start; /* position of the first answer token */
    int32_t kind;         /* KIND_* */
    int32_t direction;    /* DIR_* */
    int32_t pair;         /* which fact the example is about */
    int32_t n_spans;
    int32_t span_start[MAX_SPANS], span_end[MAX_SPANS];
    char span_label[MAX_SPANS][MAX_SPAN_LABEL];
    int32_t alt_offset;   /* index of the alt answer's first token in tokens[] */
    int32_t alt_length;   /* its length; 0 = no alt answer */
} ExampleRecord;

/* A loaded token file. */
typedef struct {
    TokenFileHeader header;
    ExampleRecord *examples;
    int32_t *tokens;
} TokenData;

static inline uint32_t fnv1a(const void *data, size_t n, uint32_t h) {
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 16777619u; }
    return h;
}
#define FNV_OFFSET 2166136261u

/* Read and validate a token file: header, every record, every token id. */
static inline void token_data_load(TokenData *d, const char *path) {
    FILE *f = xfopen_read(path);
    xfread(&d->header, sizeof d->header, f, path);
    TokenFileHeader *h = &d->header;
    if (h->magic != TOKEN_FILE_MAGIC)
        die("'%s' is not a token file (magic 0x%08x, expected 0x%08x); make it with 02_tokenize",
            path, h->magic, TOKEN_FILE_MAGIC);
    if (h->version != TOKEN_FILE_VERSION)
        die("'%s' has token-file version %u, this program reads version %u", path, h->version,
            TOKEN_FILE_VERSION);
    if (h->vocab_size <= N_SPECIAL_TOKENS || h->vocab_size > 100000000u)
        die("'%s': implausible vocabulary size %u", path, h->vocab_size);
    if (h->n_examples > 100000000u || h->n_tokens > 1000000000u)
        die("'%s': implausible sizes (%u examples, %u tokens)", path, h->n_examples, h->n_tokens);
    d->examples = (ExampleRecord *)xmalloc(sizeof(ExampleRecord) * h->n_examples);
    d->tokens = (int32_t *)xmalloc(sizeof(int32_t) * h->n_tokens);
    xfread(d->examples, sizeof(ExampleRecord) * h->n_examples, f, path);
    xfread(d->tokens, sizeof(int32_t) * h->n_tokens, f, path);
    char extra;
    if (fread(&extra, 1, 1, f) == 1) die("'%s' has trailing bytes after its last token", path);
    fclose(f);
    for (uint32_t i = 0; i < h->n_tokens; i++)
        if (d->tokens[i] < 0 || (uint32_t)d->tokens[i] >= h->vocab_size)
            die("'%s': token %u has id %d, outside the vocabulary [0, %u)", path, i, d->tokens[i],
                h->vocab_size);
    for (uint32_t i = 0; i < h->n_examples; i++) {
        ExampleRecord *e = &d->examples[i];
        if (e->offset < 0 || e->length < 2 || (int64_t)e->offset + e->length > (int64_t)h->n_tokens ||
            (uint32_t)e->length > h->max_len || e->answer_start < 1 || e->answer_start > e->length ||
            e->n_spans < 0 || e->n_spans > MAX_SPANS || e->kind < 0 || e->kind >= N_KINDS ||
            e->direction < 0 || e->direction > 2 || e->alt_length < 0 ||
            (e->alt_length > 0 && (e->alt_offset < 0 ||
                                   (int64_t)e->alt_offset + e->alt_length > (int64_t)h->n_tokens)))
            die("'%s': example %u has an inconsistent record (offset %d, length %d, answer at %d)",
                path, i, e->offset, e->length, e->answer_start);
    }
}

static inline void token_data_free(TokenData *d) {
    free(d->examples);
    free(d->tokens);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------------------ */
/* 4. small helpers                                                          */
/* ------------------------------------------------------------------------ */

static inline double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Flag values: a nonsense value is an error that names the flag. */
static inline long parse_long(const char *flag, const char *s, long lo, long hi) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) die("%s expects an integer, got '%s'", flag, s);
    if (v < lo || v > hi) die("%s must be in [%ld, %ld], got %ld", flag, lo, hi, v);
    return v;
}

static inline double parse_double(const char *flag, const char *s, double lo, double hi) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v == v)) die("%s expects a number, got '%s'", flag, s);
    if (v < lo || v > hi) die("%s must be in [%g, %g], got %g", flag, lo, hi, v);
    return v;
}

/* The index of `name` among names[0..n), or die naming the flag and every
 * choice: "--device must be cpu, cuda or auto, got 'gpu'". */
static inline int parse_choice(const char *flag, const char *name, const char *const *names, int n) {
    char choices[256] = "";
    for (int k = 0; k < n; k++) {
        if (!strcmp(name, names[k])) return k;
        snprintf(choices + strlen(choices), sizeof choices - strlen(choices), "%s%s",
                 k == 0 ? "" : k == n - 1 ? " or " : ", ", names[k]);
    }
    die("%s must be %s, got '%s'", flag, choices, name);
    return 0;
}

/* The value after flag argv[*i], or die saying it is missing. */
static inline const char *flag_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) die("%s needs a value (see --help)", argv[*i]);
    return argv[++*i];
}

/* "12m05s" style durations for ETAs */
static inline const char *format_duration(double s, char *buf, size_t n) {
    if (s < 0 || s != s || s > 1e8) { snprintf(buf, n, "?"); return buf; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    return buf;
}

/* The whole file as a NUL-terminated string, its length in *size (the file
 * may hold NUL bytes of its own: *size counts them). Read in chunks, so a
 * pipe works too. */
static inline char *read_file(const char *path, size_t *size) {
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
    *size = n;
    return buf;
}

/* Die with "PATH:LINE: message", the form editors and compilers use
 * (vdie_at_line: the same for a caller's own variadic error helper). */
static inline void vdie_at_line(const char *path, int line, const char *fmt, va_list ap) {
    char message[1024];
    vsnprintf(message, sizeof message, fmt, ap);
    die("%s:%d: %s", path, line, message);
}
static inline void die_at_line(const char *path, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vdie_at_line(path, line, fmt, ap);
    va_end(ap); /* not reached: die() exits */
}

/* ------------------------------------------------------------------------ */
/* 5. the vocabulary file (written by 02_tokenize, read by 02 and 06)        */
/* ------------------------------------------------------------------------ */
/* vocab.txt comes in two kinds; a token file names its vocabulary by the
 * FNV-1a hash of the file's bytes (TokenFileHeader.vocab_hash).
 *
 * Word-level (the default, for the symbolic tasks): line i is the word of
 * token i, the four special tokens first:
 *
 *   <pad>
 *   <bos>
 *   <eos>
 *   <unk>
 *   k3
 *   ...
 *
 * Byte-level BPE (02_tokenize --bpe N): a first line "#bpe tokens=N merges=M",
 * then one line per token id, three tab-separated fields ID, BYTES, ORIGIN:
 *
 *   #bpe tokens=300 merges=40
 *   0     <pad>      special          the 4 special tokens
 *   ...
 *   4     \x00       byte             the 256 single bytes: id 4 + byte value
 *   ...
 *   105   e          byte
 *   ...
 *   260   \x20t      merge 36 120     merge number k is token 260 + k, made of
 *   261   \x20the    merge 260 108    the bytes of its two parts, in that order
 *
 * BYTES is the token's bytes with escapes: the printable ASCII characters
 * '!'..'~' stand for themselves, a backslash is "\\", every other byte
 * (space, tab, newline, 0x00, anything >= 0x80) is "\xHH" in lower-case hex.
 * A word of the text is encoded with the space before it, " the", so BPE
 * tokens that start with "\x20" start a word. */
#define BPE_FIRST_MERGE (N_SPECIAL_TOKENS + 256)

typedef struct {
    int is_bpe;           /* 0: word-level, 1: byte-level BPE */
    int n_tokens;
    int n_merges;         /* BPE only */
    char **text;          /* text[id]: the word, or the token's bytes (NUL-terminated) */
    int *length;          /* length[id]: its length in bytes (a BPE token may hold a 0 byte) */
    int *merge_left;      /* BPE: token id = merge of merge_left[id] and merge_right[id]; */
    int *merge_right;     /*      -1 for the special and the byte tokens */
    uint32_t hash;        /* FNV-1a of the file's bytes */
} VocabFile;

/* "\x41" -> 'A'. Returns the byte, or -1 if s is not two hex digits. */
static inline int parse_hex_byte(const char *s) {
    int value = 0;
    for (int i = 0; i < 2; i++) {
        char c = s[i];
        int digit = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (digit < 0) return -1;
        value = 16 * value + digit;
    }
    return value;
}

/* Undo the escapes of a BYTES field (see above) into out (room for strlen(field)
 * bytes). Returns the number of bytes, or -1 if the field is not well formed. */
static inline int unescape_token_bytes(const char *field, char *out) {
    int n = 0;
    for (const char *p = field; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\\' && p[1] == '\\') { out[n++] = '\\'; p++; }
        else if (c == '\\' && p[1] == 'x') {
            int byte = parse_hex_byte(p + 2);
            if (byte < 0) return -1;
            out[n++] = (char)byte;
            p += 3;
        }
        else if (c > ' ' && c < 0x7f && c != '\\') out[n++] = (char)c;
        else return -1;
    }
    return n;
}

/* The escaped form of bytes[0..n) (see above), as written in a BYTES field. */
static inline void write_escaped_token_bytes(FILE *f, const char *bytes, int n) {
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)bytes[i];
        if (c == '\\') fputs("\\\\", f);
        else if (c > ' ' && c < 0x7f) fputc(c, f);
        else fprintf(f, "\\x%02x", c);
    }
}

static inline void vocab_file_set_token(VocabFile *v, int id, const char *bytes, int n) {
    v->text[id] = (char *)xmalloc((size_t)n + 1);
    memcpy(v->text[id], bytes, (size_t)n);
    v->text[id][n] = 0;
    v->length[id] = n;
}

/* Parse the text of a vocabulary file (modified in place; `path` only names
 * it in errors). Every line is checked: for BPE, that the ids count up, the
 * specials and bytes are where they belong, and each merged token's bytes are
 * its two parts' bytes. */
static inline void vocab_file_parse(VocabFile *v, char *text, size_t size, const char *path) {
    memset(v, 0, sizeof *v);
    v->hash = fnv1a(text, size, FNV_OFFSET);
    if (size == 0 || text[size - 1] != '\n' || memchr(text, 0, size))
        die("'%s' is not a vocabulary file (empty, a NUL byte, or no newline at the end)", path);
    int n_lines = 0;
    for (size_t i = 0; i < size; i++) n_lines += (text[i] == '\n');
    char *line = text;
    int line_number = 1;
    int header_merges = 0;
    v->is_bpe = strncmp(text, "#bpe ", 5) == 0;
    if (v->is_bpe) {
        int n_read = 0;
        char *newline = strchr(line, '\n');
        *newline = 0;
        if (sscanf(line, "#bpe tokens=%d merges=%d%n", &v->n_tokens, &header_merges, &n_read) != 2 ||
            line[n_read] != 0 || v->n_tokens != n_lines - 1 || header_merges != v->n_tokens - BPE_FIRST_MERGE)
            die_at_line(path, 1, "expected '#bpe tokens=N merges=N-%d' with N the number of token lines (%d), "
                        "got '%s'", BPE_FIRST_MERGE, n_lines - 1, line);
        v->n_merges = header_merges;
        line = newline + 1;
        line_number++;
    } else {
        v->n_tokens = n_lines;
    }
    if (v->n_tokens < N_SPECIAL_TOKENS + (v->is_bpe ? 256 : 0))
        die("'%s' has only %d tokens: not a vocabulary file", path, v->n_tokens);
    v->text = (char **)xcalloc((size_t)v->n_tokens, sizeof(char *));
    v->length = (int *)xcalloc((size_t)v->n_tokens, sizeof(int));
    v->merge_left = (int *)xmalloc(sizeof(int) * (size_t)v->n_tokens);
    v->merge_right = (int *)xmalloc(sizeof(int) * (size_t)v->n_tokens);
    char *bytes = (char *)xmalloc(size + 1);  /* unescaped bytes of one line */

    for (int id = 0; id < v->n_tokens; id++, line_number++) {
        char *newline = strchr(line, '\n');
        *newline = 0;
        v->merge_left[id] = v->merge_right[id] = -1;
        if (!v->is_bpe) {
            /* word-level: the line is the word */
            if (line[0] == 0 || strchr(line, ' ') || strchr(line, '\t') || strchr(line, '\r'))
                die_at_line(path, line_number,
                            "a word-level vocabulary line must be one word (no space, tab or empty line)");
            if (id < N_SPECIAL_TOKENS && strcmp(line, SPECIAL_TOKEN_NAMES[id]) != 0)
                die_at_line(path, line_number, "expected the special token %s, found '%s'", SPECIAL_TOKEN_NAMES[id],
                            line);
            vocab_file_set_token(v, id, line, (int)strlen(line));
            line = newline + 1;
            continue;
        }
        /* BPE: ID TAB BYTES TAB ORIGIN */
        char *tab1 = strchr(line, '\t');
        char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        if (!tab2 || strchr(tab2 + 1, '\t'))
            die_at_line(path, line_number, "expected three tab-separated fields ID, BYTES, ORIGIN");
        *tab1 = 0;
        *tab2 = 0;
        char *bytes_field = tab1 + 1, *origin = tab2 + 1;
        char id_text[16];
        snprintf(id_text, sizeof id_text, "%d", id);
        if (strcmp(line, id_text) != 0)
            die_at_line(path, line_number, "expected token id %d, found '%s'", id, line);
        int left = -1, right = -1, n_read = 0;
        if (id < N_SPECIAL_TOKENS) {
            if (strcmp(bytes_field, SPECIAL_TOKEN_NAMES[id]) != 0 || strcmp(origin, "special") != 0)
                die_at_line(path, line_number, "expected the special token '%d\\t%s\\tspecial'", id,
                            SPECIAL_TOKEN_NAMES[id]);
            vocab_file_set_token(v, id, bytes_field, (int)strlen(bytes_field));
            line = newline + 1;
            continue;
        }
        int n = unescape_token_bytes(bytes_field, bytes);
        if (n <= 0)
            die_at_line(path, line_number, "bad token bytes '%s' (see the escapes in common.h)", bytes_field);
        if (id < BPE_FIRST_MERGE) {
            if (strcmp(origin, "byte") != 0 || n != 1 || (unsigned char)bytes[0] != id - N_SPECIAL_TOKENS)
                die_at_line(path, line_number, "token %d must be the single byte 0x%02x with origin 'byte'", id,
                            id - N_SPECIAL_TOKENS);
        } else {
            if (sscanf(origin, "merge %d %d%n", &left, &right, &n_read) != 2 || origin[n_read] != 0 ||
                left < N_SPECIAL_TOKENS || right < N_SPECIAL_TOKENS || left >= id || right >= id)
                die_at_line(path, line_number,
                            "origin must be 'merge LEFT RIGHT' with two earlier non-special ids, got '%s'", origin);
            if (n != v->length[left] + v->length[right] ||
                memcmp(bytes, v->text[left], (size_t)v->length[left]) != 0 ||
                memcmp(bytes + v->length[left], v->text[right], (size_t)v->length[right]) != 0)
                die_at_line(path, line_number, "the bytes '%s' are not those of token %d followed by token %d",
                            bytes_field, left, right);
        }
        v->merge_left[id] = left;
        v->merge_right[id] = right;
        vocab_file_set_token(v, id, bytes, n);
        line = newline + 1;
    }
    free(bytes);
}

/* Read and check a vocabulary file. */
static inline void vocab_file_load(VocabFile *v, const char *path) {
    size_t size;
    char *text = read_file(path, &size);
    vocab_file_parse(v, text, size, path);
    free(text);
}

/* Die unless the token file `data_path` was made with this vocabulary. */
static inline void vocab_file_check_data(const VocabFile *v, const TokenFileHeader *h, const char *vocab_path,
                                         const char *data_path) {
    if (h->vocab_hash != v->hash || h->vocab_size != (uint32_t)v->n_tokens)
        die("'%s' was not made with the vocabulary '%s' (its vocabulary: %u tokens, hash 0x%08x; "
            "the file: %d tokens, hash 0x%08x); tokenize again or pass the right vocab.txt",
            data_path, vocab_path, h->vocab_size, h->vocab_hash, v->n_tokens, v->hash);
}

/* Does token `id` begin a new word of the text? Word-level: every token is a
 * word. BPE: a token whose bytes start with a space, and a special token. */
static inline int vocab_token_starts_word(const VocabFile *v, int32_t id) {
    return !v->is_bpe || id < N_SPECIAL_TOKENS || v->text[id][0] == ' ';
}

/* Write tokens[0..n) as the words of a text field: words separated by single
 * spaces and no space in front. Word-level: the words joined by spaces. BPE:
 * the tokens' bytes one after another (the spaces are part of the tokens), a
 * special token as a word of its own, and the space in front of the first
 * word left out. With `escape_controls`, bytes below 0x20 and 0x7f are
 * written as \xHH so that a model's output cannot break a tab-separated line. */
static inline void vocab_file_write_words(FILE *f, const VocabFile *v, const int32_t *tokens, int n,
                                          int escape_controls) {
    for (int i = 0; i < n; i++) {
        int32_t id = tokens[i];
        if (!v->is_bpe || id < N_SPECIAL_TOKENS) {
            fprintf(f, "%s%s", i > 0 ? " " : "", v->text[id]);
            continue;
        }
        int start = (i == 0 && v->text[id][0] == ' ') ? 1 : 0;
        for (int b = start; b < v->length[id]; b++) {
            unsigned char c = (unsigned char)v->text[id][b];
            if (escape_controls && (c < ' ' || c == 0x7f)) fprintf(f, "\\x%02x", c);
            else fputc(c, f);
        }
    }
}

static inline void vocab_file_free(VocabFile *v) {
    for (int id = 0; id < v->n_tokens; id++) free(v->text[id]);
    free(v->text);
    free(v->length);
    free(v->merge_left);
    free(v->merge_right);
    memset(v, 0, sizeof *v);
}

#endif /* COMMON_H */
