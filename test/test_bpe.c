/*
 * test_bpe.c -- checks of the byte-level BPE in 02_tokenize.c, which it
 * includes (with its main left out) so it can call the functions directly.
 *
 *   build/test_bpe                    the checks below, one PASS:/FAIL: line each
 *   build/test_bpe spans BIN VOCAB    print, for each example of a token file,
 *                                     the text of its prompt tokens, answer
 *                                     tokens, span tokens and alt tokens (used
 *                                     by test/test_bpe.sh to check the spans)
 *
 * The checks: the BYTES escapes of vocab.txt round-trip every byte value;
 * merge_pair merges left to right; training on a small corpus gives exactly
 * the requested vocabulary, deterministically, with the documented tie rule;
 * and encoding then decoding gives back the exact bytes of random byte
 * strings (all 256 values, spaces, tabs, newlines, invalid UTF-8) and of every
 * training line.
 */
#define TOKENIZE_NO_MAIN
/* the command-line parts of the tokenizer (tokenize, decode, ...) are not
 * used here; the tests run them through build/02_tokenize */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../02_tokenize.c"

static int n_failed = 0;

static void check(int ok, const char *name) {
    printf("%s: %s\n", ok ? "PASS" : "FAIL", name);
    if (!ok) n_failed++;
}

/* the bytes of tokens[0..n) one after another, into out; returns the length */
static size_t decode_bytes(const VocabFile *v, const TokenList *tokens, char *out) {
    size_t n = 0;
    for (long i = 0; i < tokens->n; i++) {
        memcpy(out + n, v->text[tokens->ids[i]], (size_t)v->length[tokens->ids[i]]);
        n += (size_t)v->length[tokens->ids[i]];
    }
    return n;
}

/* encode bytes[0..n) as one piece, decode, compare */
static int round_trips(Tokenizer *tok, const char *bytes, int n, long *n_tokens) {
    TokenList tokens = {NULL, 0, 0};
    bpe_encode_bytes(tok, bytes, n, &tokens);
    char *decoded = (char *)xmalloc((size_t)n + 1);
    size_t got = decode_bytes(tok->vocab, &tokens, decoded);
    int ok = got == (size_t)n && memcmp(decoded, bytes, (size_t)n) == 0;
    *n_tokens += tokens.n;
    free(decoded);
    free(tokens.ids);
    return ok;
}

/* Train a BPE of at most vocab_size tokens on the examples in `text`
 * (written to a temporary file and read back like 02_tokenize does). */
static char *train_on_text(const char *text, int vocab_size, size_t *size, Corpus *c) {
    char path[] = "/tmp/test_bpe_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) die("cannot create a temporary file");
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    read_examples(c, path);
    char *vocab_text = train_bpe(c, vocab_size, size);
    remove(path);
    return vocab_text;
}

static void parse_vocab_text(VocabFile *v, const char *text, size_t size) {
    char *copy = (char *)xmalloc(size + 1);
    memcpy(copy, text, size);
    copy[size] = 0;
    vocab_file_parse(v, copy, size, "(trained in memory)");
    free(copy);
}

static const char *CORPUS =
    "train\tstatement\tnone\t0\tAda Lovelace was born in London , England .\t\tname:0-2\n"
    "train\tstatement\tnone\t1\tAlan Turing was born in London , England .\t\tname:0-2\n"
    "train\tstatement\tnone\t2\tGrace Hopper was born in New York City .\t\tname:0-2\n"
    "train\tquery\tforward\t0\tWhere was Ada Lovelace born ?\tLondon , England .\tname:2-4\tNew York City\n"
    "train\tquery\tbackward\t2\tWho was born in New York City ?\tGrace Hopper .\tname:7-9\tAda Lovelace\n"
    "test\tquery\tforward\t1\tWhere was Alan Turing born ?\tLondon , England .\tname:2-4\n"
    "train\tstatement\tnone\t3\tZ\xc3\xbcrich , na\xc3\xafve and \xe2\x82\xac are UTF-8 ; C:\\\\dir has a backslash .\t\tname:0-1\n";

static void test_escapes(void) {
    char all[256], back[1024];
    for (int b = 0; b < 256; b++) all[b] = (char)b;
    char *escaped = NULL;
    size_t escaped_size = 0;
    FILE *f = open_memstream(&escaped, &escaped_size);
    write_escaped_token_bytes(f, all, 256);
    fclose(f);
    int printable = 1;
    for (size_t i = 0; i < escaped_size; i++)
        if (escaped[i] <= ' ' || escaped[i] >= 0x7f) printable = 0;
    check(printable, "escaped token bytes are printable ASCII without spaces");
    int n = unescape_token_bytes(escaped, back);
    check(n == 256 && memcmp(all, back, 256) == 0, "escape then unescape gives back all 256 byte values");
    check(unescape_token_bytes("a\\x4", back) < 0 && unescape_token_bytes("a b", back) < 0 &&
              unescape_token_bytes("\\q", back) < 0,
          "malformed escapes are refused (\\x4, a raw space, \\q)");
    free(escaped);
}

static void test_merge_pair(void) {
    int32_t s1[] = {7, 7, 7};
    int n1 = merge_pair(s1, 3, 7, 7, 99);
    int32_t s2[] = {1, 2, 1, 2, 1};
    int n2 = merge_pair(s2, 5, 1, 2, 99);
    check(n1 == 2 && s1[0] == 99 && s1[1] == 7 && n2 == 3 && s2[0] == 99 && s2[1] == 99 && s2[2] == 1,
          "merge_pair merges left to right (a a a -> aa a; a b a b a -> ab ab a)");
}

static void test_training(void) {
    Corpus c1, c2;
    size_t size1, size2;
    char *text1 = train_on_text(CORPUS, 300, &size1, &c1);
    char *text2 = train_on_text(CORPUS, 300, &size2, &c2);
    check(size1 == size2 && memcmp(text1, text2, size1) == 0, "training twice gives the same vocab.txt");
    VocabFile v;
    parse_vocab_text(&v, text1, size1);
    check(v.is_bpe && v.n_tokens == 300 && v.n_merges == 300 - BPE_FIRST_MERGE,
          "training stops at the requested vocabulary size (300)");

    /* every token's bytes are its merge's parts (vocab_file_parse checks it;
     * here: a merged token is longer than one byte and has no special part) */
    int ok = 1;
    for (int id = BPE_FIRST_MERGE; id < v.n_tokens; id++)
        if (v.length[id] < 2 || v.merge_left[id] < N_SPECIAL_TOKENS || v.merge_right[id] < N_SPECIAL_TOKENS) ok = 0;
    check(ok, "merged tokens are made of two non-special tokens");

    /* no merge crosses a word: a space is only ever a token's first byte */
    ok = 1;
    for (int id = BPE_FIRST_MERGE; id < v.n_tokens; id++)
        if (memchr(v.text[id] + 1, ' ', (size_t)v.length[id] - 1)) ok = 0;
    check(ok, "no token has a space after its first byte (merges stay inside words)");

    Tokenizer tok;
    tokenizer_init(&tok, &v, "(trained in memory)");

    /* every training line, as raw bytes (tabs included), round trips */
    ok = 1;
    long n_tokens = 0, n_bytes = 0;
    for (const char *line = CORPUS; *line;) {
        const char *newline = strchr(line, '\n');
        int n = (int)(newline - line);
        ok &= round_trips(&tok, line, n, &n_tokens);
        n_bytes += n;
        line = newline + 1;
    }
    check(ok && n_tokens < n_bytes, "every training line encodes to fewer tokens than bytes and decodes exactly");

    /* random byte strings: all 256 values, spaces, tabs, newlines, NULs */
    Rng rng;
    rng_seed(&rng, 42);
    char buf[4096];
    ok = 1;
    for (int trial = 0; trial < 2000; trial++) {
        int n = 1 + (int)rng_below(&rng, sizeof buf);
        for (int i = 0; i < n; i++) buf[i] = (char)rng_below(&rng, 256);
        ok &= round_trips(&tok, buf, n, &n_tokens);
    }
    check(ok, "2000 random byte strings (up to 4096 bytes) decode to the same bytes");
    for (int b = 0; b < 256; b++) buf[b] = (char)(255 - b);
    check(round_trips(&tok, buf, 256, &n_tokens), "the 256 byte values in one string decode to the same bytes");

    /* text the merges apply to, mixed with invalid UTF-8 and control bytes */
    const char *mixed = " London\xff\xfe , England\t.\n\x80\x01 born in New York \xc3(";
    check(round_trips(&tok, mixed, (int)strlen(mixed), &n_tokens), "text mixed with invalid UTF-8 round trips");

    /* a word of the training text is encoded as training left it: " London"
     * is one token after 300 tokens of training on this corpus */
    TokenList tokens = {NULL, 0, 0};
    encode_word(&tok, "London", 1, &tokens);
    check(tokens.n == 1 && v.length[tokens.ids[0]] == 7, "the frequent word ' London' is a single token");
    free(tokens.ids);

    tokenizer_free(&tok);
    vocab_file_free(&v);
    free(text1);
    free(text2);
    corpus_free(&c1);
    corpus_free(&c2);
}

/* The tie rule: "ab cd" twice has the pairs (a,b), (' ',c), (c,d) twice each;
 * the first merge is the pair with the smallest left id: ' ' (4 + 32 = 36). */
static void test_tie_rule(void) {
    Corpus c;
    size_t size;
    char *text = train_on_text("train\tstatement\tnone\t0\tab cd\t\t\ntrain\tstatement\tnone\t1\tab cd\t\t\n",
                               BPE_FIRST_MERGE + 1, &size, &c);
    check(strstr(text, "\n260\t\\x20c\tmerge 36 103\n") != NULL,
          "a tie between pairs goes to the smaller left id (first merge ' ' + 'c')");
    free(text);
    corpus_free(&c);
}

/* build/test_bpe spans BIN VOCAB: one line per example:
 * prompt TAB answer TAB span text | span text ... TAB alt */
static void print_spans(const char *bin_path, const char *vocab_path) {
    TokenData d;
    token_data_load(&d, bin_path);
    VocabFile v;
    vocab_file_load(&v, vocab_path);
    vocab_file_check_data(&v, &d.header, vocab_path, bin_path);
    for (uint32_t i = 0; i < d.header.n_examples; i++) {
        const ExampleRecord *e = &d.examples[i];
        const int32_t *t = d.tokens + e->offset;
        int last = e->length - 1;
        int prompt_end = e->answer_start < last ? e->answer_start : last;
        vocab_file_write_words(stdout, &v, t + 1, prompt_end - 1, 0);
        printf("\t");
        vocab_file_write_words(stdout, &v, t + prompt_end, last - prompt_end, 0);
        printf("\t");
        for (int s = 0; s < e->n_spans; s++) {
            if (s) printf(" | ");
            vocab_file_write_words(stdout, &v, t + e->span_start[s], e->span_end[s] - e->span_start[s], 0);
        }
        printf("\t");
        vocab_file_write_words(stdout, &v, d.tokens + e->alt_offset, e->alt_length, 0);
        printf("\n");
    }
    vocab_file_free(&v);
    token_data_free(&d);
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "spans") == 0) {
        print_spans(argv[2], argv[3]);
        return 0;
    }
    if (argc != 1) die("usage: test_bpe [spans BIN VOCAB]");
    test_escapes();
    test_merge_pair();
    test_training();
    test_tie_rule();
    return n_failed ? 1 : 0;
}
