/*
 * 01_data_wiki.h -- the wikireversal task of 01_data.c (paper section 3.2,
 * Appendix E, Algorithm 1).
 *
 * This is not a header of declarations but a part of 01_data.c kept in a
 * file of its own: 01_data.c includes it in its "wikireversal task" section,
 * and the code below uses what 01_data.c defines above that point (Options,
 * ExampleList, add_example, xstrdup). It gives 01_data.c
 * generate_wikireversal().
 *
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
 * The input is JSON, parsed by Jansson (Debian's libjansson-dev), a strict
 * RFC 8259 parser that rejects invalid UTF-8. Any problem in the input stops
 * the program with FILE:LINE and the problem (FILE:LINE:COLUMN for a JSON
 * syntax error), before anything is written.
 */
#include <jansson.h>

#define WIKI_MAX_FILE_BYTES (1L << 31)  /* 2 GiB: the whole input file is read into memory */
#define WIKI_MAX_LINE_BYTES (1 << 20)   /* a line of X.source or X.target */
#define WIKI_MAX_STRING_BYTES (1 << 20) /* a JSON string: a record's text, an entity, a graph row's element */

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

/* The whole file as a NUL-terminated string of *size bytes. (A NUL byte or
 * invalid UTF-8 inside is found later: by Jansson in the JSON, by
 * check_passage() in the passages.) */
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
    *size = (size_t)n;
    return text;
}

/* The lines of a file, cut in place. */
typedef struct {
    char **text;     /* line i, its '\n' made a NUL */
    size_t *length;  /* its bytes, without the '\n' (a NUL byte inside would end text[i] early) */
    int n;
} Lines;

/* Cut text[0..size) into lines ('\n' becomes NUL). A last line without
 * '\n' counts; a '\n' at the very end does not start another line. */
static void split_lines(const char *path, char *text, size_t size, Lines *lines) {
    int capacity = 1024;
    lines->text = (char **)xmalloc(sizeof(char *) * (size_t)capacity);
    lines->length = (size_t *)xmalloc(sizeof(size_t) * (size_t)capacity);
    lines->n = 0;
    size_t start = 0;
    while (start < size) {
        char *newline = memchr(text + start, '\n', size - start);
        size_t end = newline ? (size_t)(newline - text) : size;
        if (end - start > WIKI_MAX_LINE_BYTES)
            die_at_line(path, lines->n + 1, "line is %zu bytes long, more than the limit of %d", end - start,
                   WIKI_MAX_LINE_BYTES);
        if (lines->n == capacity) {
            capacity *= 2;
            lines->text = (char **)realloc(lines->text, sizeof(char *) * (size_t)capacity);
            lines->length = (size_t *)realloc(lines->length, sizeof(size_t) * (size_t)capacity);
            if (!lines->text || !lines->length) die("out of memory reading the lines of '%s'", path);
        }
        text[end] = 0;  /* at size this is the NUL read_text_file put there */
        lines->text[lines->n] = text + start;
        lines->length[lines->n] = end - start;
        lines->n++;
        start = end + 1;
    }
}

static void free_lines(Lines *lines) {
    free(lines->text);
    free(lines->length);
    memset(lines, 0, sizeof *lines);
}

/* ---- JSON, parsed by Jansson ---- */

/* The flags of every json_loadb() call:
 *   JSON_REJECT_DUPLICATES   a member name twice in one object is an error
 *                            (which of two "text" members is the passage?)
 *   JSON_DECODE_ANY          any value may be the whole text, so that a
 *                            .source line holding, say, a number is reported
 *                            as "found a number" like any wrong type
 *   JSON_DECODE_INT_AS_REAL  every number is a double: an integer too long
 *                            for 64 bits is valid JSON, not an error
 * Without JSON_ALLOW_NUL, a \u0000 in a string is an error: the strings
 * become NUL-terminated C strings. */
#define WIKI_JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL)

/* "a string", "an array", ... for messages saying what was found */
static const char *json_type_name(json_type type) {
    switch (type) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    default: return "null";
    }
}

/* Die with Jansson's report of a JSON error: "PATH:LINE:COLUMN: problem".
 * first_line is the line of the file where the parsed text starts (each
 * line of X.source is parsed on its own); Jansson counts lines from 1 and
 * columns in characters from 1. Two of its messages get a plainer word. */
static void die_json(const char *path, int first_line, const json_error_t *error) {
    const char *before = "", *after = "";
    if (json_error_code(error) == json_error_invalid_utf8) before = "invalid UTF-8: ";
    if (json_error_code(error) == json_error_premature_end_of_input) after = " (truncated?)";
    if (error->line < 1) die("%s: %s%s%s", path, before, error->text, after);
    die("%s:%d:%d: %s%s%s", path, first_line + error->line - 1, error->column, before, error->text, after);
}

/* A passage (a line of X.target: plain text, not JSON) must be valid UTF-8
 * without NUL bytes. Jansson checks the UTF-8 too: json_stringn() makes no
 * string of bytes that are not UTF-8 (a byte that cannot start a character,
 * a character cut short, an overlong form, a UTF-16 surrogate, a code point
 * beyond U+10FFFF). */
static void check_passage(const char *path, int line, const char *text, size_t n) {
    if (memchr(text, 0, n)) die_at_line(path, line, "NUL byte in the passage");
    json_t *string = json_stringn(text, n);
    if (!string) die_at_line(path, line, "invalid UTF-8 in the passage: some bytes in it encode no character");
    json_decref(string);
}

static int is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The line where the record of index `record` starts in a native GenWiki
 * file (an array of records). Jansson's values do not remember their line,
 * so this is found only when there is a problem to report, in a file that
 * Jansson has parsed and whose records before this one are objects: it
 * steps over them one by one, each read by Jansson (JSON_DISABLE_EOF_CHECK:
 * stop at the end of one object; error.position then says how many bytes
 * that took). */
static int wiki_record_line(const char *text, size_t size, int record) {
    size_t pos = 0;
    while (pos < size && is_json_space(text[pos])) pos++;
    pos++;  /* the '[' of the array */
    for (int r = 0; r < record; r++) {
        while (pos < size && is_json_space(text[pos])) pos++;
        json_error_t error;
        json_decref(json_loadb(text + pos, size - pos, JSON_DISABLE_EOF_CHECK, &error));
        pos += (size_t)error.position;
        while (pos < size && is_json_space(text[pos])) pos++;
        pos++;  /* the ',' after the record */
    }
    while (pos < size && is_json_space(text[pos])) pos++;
    int line = 1;
    for (size_t i = 0; i < pos && i < size; i++) line += text[i] == '\n';
    return line;
}

/* Where a JSON value came from, for the messages about what it holds: a
 * line of X.source, or a record of a native GenWiki file. */
typedef struct {
    const char *path;
    int line;          /* X.source: the line; a native file: 0 */
    const char *text;  /* a native file: its text and size, */
    size_t size;
    int record;        /* and the index of the record */
} WikiPlace;

/* Die with "PATH:LINE: message", LINE the line of the .source file or the
 * line where the record starts. */
static void wiki_die(const WikiPlace *at, const char *fmt, ...) {
    char message[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (at->line > 0) die_at_line(at->path, at->line, "%s", message);
    die_at_line(at->path, wiki_record_line(at->text, at->size, at->record), "GenWiki record %d (starting on this line): %s",
           at->record + 1, message);
}

/* A string of GenWiki (a record's text, an entity, an element of a graph
 * row) must not be longer than WIKI_MAX_STRING_BYTES. */
static void wiki_check_length(const WikiPlace *at, const json_t *string, const char *what) {
    size_t n = json_string_length(string);
    if (n > WIKI_MAX_STRING_BYTES)
        wiki_die(at, "%s is a string of %zu bytes, more than the limit of %d", what, n, WIKI_MAX_STRING_BYTES);
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
static void wiki_add_row(WikiCorpus *c, const json_t *row, const WikiPlace *at) {
    if (!json_is_array(row))
        wiki_die(at, "a graph row must be an array [head, relation, tail], found %s", json_type_name(json_typeof(row)));
    size_t n = json_array_size(row);
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(row, i);
        if (!json_is_string(item))
            wiki_die(at, "a graph row must hold strings, found %s", json_type_name(json_typeof(item)));
        wiki_check_length(at, item, "a graph row's element");
    }
    if (n == 4 || n == 5) { c->n_long_rows++; return; }
    if (n != 3)
        wiki_die(at, "a graph row must have 3 elements [head, relation, tail] (4 or 5 are skipped), found %zu", n);
    if (c->n_triples == c->triples_capacity) {
        c->triples_capacity = c->triples_capacity ? 2 * c->triples_capacity : 4096;
        c->triples = (WikiTriple *)realloc(c->triples, sizeof(WikiTriple) * (size_t)c->triples_capacity);
        if (!c->triples) die("out of memory growing the GenWiki triples to %d", c->triples_capacity);
    }
    WikiTriple *t = &c->triples[c->n_triples];
    t->head = normalize_spaces(json_string_value(json_array_get(row, 0)));
    t->relation = relation_name(json_string_value(json_array_get(row, 1)));
    t->tail = normalize_spaces(json_string_value(json_array_get(row, 2)));
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
 * it, the passage of the same line. Each line of X.source is parsed on its
 * own, so a problem is reported on the file's line. */
static void wiki_load_source_target(WikiCorpus *c, const char *source_path) {
    char target_path[1024];
    size_t stem = strlen(source_path) - strlen(".source");
    if (stem + strlen(".target") >= sizeof target_path) die("path too long: '%s'", source_path);
    memcpy(target_path, source_path, stem);
    strcpy(target_path + stem, ".target");

    size_t source_size, target_size;
    char *source_text = read_text_file(source_path, &source_size);
    char *target_text = read_text_file(target_path, &target_size);
    Lines source, target;
    split_lines(source_path, source_text, source_size, &source);
    split_lines(target_path, target_text, target_size, &target);
    if (source.n != target.n) {
        /* name the longer file at its first line without a partner */
        int longer_is_source = source.n > target.n;
        die_at_line(longer_is_source ? source_path : target_path, (longer_is_source ? target.n : source.n) + 1,
               "no partner for this line: '%s' has %d lines but '%s' has %d (the two files must be line-aligned)",
               source_path, source.n, target_path, target.n);
    }
    for (int i = 0; i < source.n; i++) {
        WikiPlace at = {source_path, i + 1, NULL, 0, 0};
        json_error_t error;
        json_t *rows = json_loadb(source.text[i], source.length[i], WIKI_JSON_FLAGS, &error);
        if (!rows) die_json(source_path, i + 1, &error);
        if (!json_is_array(rows))
            wiki_die(&at, "expected a JSON array of [head, relation, tail] rows, found %s",
                     json_type_name(json_typeof(rows)));
        check_passage(target_path, i + 1, target.text[i], target.length[i]);
        if (has_reserved_word(target.text[i])) c->n_bad_passages++;
        else {
            wiki_add_record(c, target.text[i]);
            size_t r;
            json_t *row;
            json_array_foreach(rows, r, row) wiki_add_row(c, row, &at);
        }
        json_decref(rows);
    }
    free_lines(&source);
    free_lines(&target);
    free(source_text);
    free(target_text);
}

/* The member key of a GenWiki record, which must be there with this type. */
static const json_t *wiki_member(const json_t *record, const char *key, json_type type, const WikiPlace *at) {
    const json_t *v = json_object_get(record, key);
    if (!v) wiki_die(at, "no \"%s\" member", key);
    if (json_typeof(v) != type)
        wiki_die(at, "\"%s\" must be %s, found %s", key, json_type_name(type), json_type_name(json_typeof(v)));
    return v;
}

/* Form (b): a native GenWiki .json file, an array of records
 *   {"text": "<ENT_0> is a village in <ENT_1> .", "entities": ["Albeck", "Carinthia"],
 *    "graph": [["Albeck", "isPartOf", "Carinthia"]], "id_long": {...}, "id_short": "..."}
 * The passage is the text with each <ENT_k> replaced by entities[k]. Jansson
 * parses the whole file at once; a problem in a record is reported on the
 * line where the record starts. */
static void wiki_load_native(WikiCorpus *c, const char *path) {
    size_t size;
    char *text = read_text_file(path, &size);
    json_error_t error;
    json_t *root = json_loadb(text, size, WIKI_JSON_FLAGS, &error);
    if (!root) die_json(path, 1, &error);
    if (!json_is_array(root)) {
        int line = 1;  /* where the value starts */
        for (size_t i = 0; i < size && is_json_space(text[i]); i++) line += text[i] == '\n';
        die_at_line(path, line, "expected a JSON array of GenWiki records, found %s", json_type_name(json_typeof(root)));
    }
    size_t r;
    json_t *record;
    json_array_foreach(root, r, record) {
        WikiPlace at = {path, 0, text, size, (int)r};
        if (!json_is_object(record))
            wiki_die(&at, "a record must be an object, found %s", json_type_name(json_typeof(record)));
        const json_t *template_text = wiki_member(record, "text", JSON_STRING, &at);
        const json_t *entities = wiki_member(record, "entities", JSON_ARRAY, &at);
        const json_t *graph = wiki_member(record, "graph", JSON_ARRAY, &at);
        wiki_check_length(&at, template_text, "\"text\"");
        size_t n_entities = json_array_size(entities);
        for (size_t e = 0; e < n_entities; e++) {
            const json_t *entity = json_array_get(entities, e);
            if (!json_is_string(entity))
                wiki_die(&at, "\"entities\" must hold strings, found %s", json_type_name(json_typeof(entity)));
            wiki_check_length(&at, entity, "an entity");
        }

        /* substitute <ENT_k>; other text, "<" included, is copied as it is */
        StrBuf passage = {0};
        const char *s = json_string_value(template_text);
        while (*s) {
            const char *digits = s + strlen("<ENT_");
            if (strncmp(s, "<ENT_", strlen("<ENT_")) == 0 && *digits >= '0' && *digits <= '9') {
                char *after;
                long k = strtol(digits, &after, 10);
                if (*after == '>') {
                    if ((size_t)k >= n_entities)
                        wiki_die(&at, "the text uses <ENT_%ld> but the record has %zu entities", k, n_entities);
                    strbuf_add(&passage, json_string_value(json_array_get(entities, (size_t)k)));
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
            size_t g;
            json_t *row;
            json_array_foreach(graph, g, row) wiki_add_row(c, row, &at);
        }
        free(passage_text);
    }
    json_decref(root);
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
static char *fill_wiki_template(const char *template_text, const char *entity, int *entity_position) {
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
                char *question = fill_wiki_template(d == DIR_FORWARD ? r->forward : r->backward, given, &given_at);
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

