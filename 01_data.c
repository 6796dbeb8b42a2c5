/*
 * 01_data.c -- generate a synthetic task of "The Factorization Curse" as text.
 *
 * The output is one file, DIR/examples.txt, in the text format described in
 * common.h: one example a line, eight tab-separated fields
 *
 *   split  kind  direction  pair  prompt  answer  spans  alt
 *
 * 02_tokenize turns that file into the binary token files the models train on.
 * The tokenizer splits on single spaces, so every punctuation mark that should
 * be a token of its own is written as a separate word ("October 2 , 1996 .").
 *
 * Tasks (chosen with --task; each has one generator function below):
 *
 *   retrieval     (paper section 3.1) N key-value pairs. A key is a sequence of
 *                 K tokens k0..k{P-1}, a value a sequence of K tokens v0..v{P-1}.
 *                 Every pair is stated once in train ("k3 k9 : v1 v7"). A
 *                 fraction of the pairs is also queried in train, both ways:
 *                   forward   "[value_of] k3 k9 :"  ->  "v1 v7"
 *                   backward  "[key_of] v1 v7 :"    ->  "k3 k9"
 *                 The other pairs are queried only in test. A left-to-right
 *                 model that only ever saw "key : value" learns to predict the
 *                 value from the key, but not the key from the value: that is
 *                 the reversal curse the test queries measure.
 *
 *   two-token     (paper Figure 7) the retrieval task with one-token keys and
 *                 values: the fact is the two tokens "k3 : v7", the smallest
 *                 case of the section 2 example p(x1, x2).
 *
 *   relationship  (paper section 3.1, Table 1 bottom and Table 7) N triples of
 *                 entities, each stated as "A => B => C". Questions are about
 *                 the middle entity: forward "B =>" -> C, backward "B <=" -> A.
 *                 The relation is not symmetric, so a model that just swaps
 *                 subject and object answers A to the forward question and C
 *                 to the backward one; that wrong answer is the `alt` field.
 *
 *   bios          (paper section 3.1, Table 2; the BioS data of Zhu & Li 2023)
 *                 N people with unique full names and unique birth dates, each
 *                 with a six-sentence biography (statement). Questions: forward
 *                 "What is the birth date of NAME ?" -> DATE, backward
 *                 "Who was born on DATE ?" -> NAME.
 *
 *   star          (paper section 4, Figure 5; Bachmann & Nagarajan 2024) path
 *                 finding on a star graph: d arms of l nodes (the start node
 *                 included) leave a start node. The prompt is the shuffled edge
 *                 list and "start , goal"; the answer is the path from start
 *                 to goal. Examples are problems: only the path is learned.
 *
 *   wikireversal (paper section 3.2, Appendix E) real Wikipedia passages of
 *                GenWiki with their DBpedia triples (head, relation, tail).
 *                Triples whose head comes before the tail in the passage, whose
 *                questions have one answer, and whose relation is frequent
 *                enough become QAs both ways:
 *                  forward   "What is La Albuera part of ?"  ->  "Extremadura"
 *                  backward  "What is part of Extremadura ?" ->  "La Albuera"
 *                Passages and 80% of the QAs are train, the rest test. Reads
 *                GenWiki (--genwiki); never makes data up.
 *
 * --reverse token|entity|entity-nodelim adds, for every train statement and
 * train query, a reversed copy (the "AR w/ reverse" baselines of Tables 1, 2
 * and 7): the words in reverse order, or the entities (spans) in reverse order
 * with each entity's words kept in order, with or without delimiter words.
 *
 * Usage:  build/01_data --task retrieval --pairs 1000 --seed 1 --out data/retrieval
 *         build/01_data --task bios --people 10000 --out data/bios
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

enum { REVERSE_NONE = 0, REVERSE_TOKEN, REVERSE_ENTITY, REVERSE_ENTITY_NODELIM };
static const char *const REVERSE_NAMES[] = {"none", "token", "entity", "entity-nodelim"};
#define N_REVERSE_MODES 4

typedef struct {
    const char *task;       /* which generator to run */
    const char *out_dir;    /* examples.txt goes here */
    long seed;
    int reverse;            /* REVERSE_*: reversed copies of train lines */
    double query_fraction;  /* fraction of facts whose questions are in train */
    /* retrieval, two-token, relationship */
    long n_pairs;           /* N: number of key-value pairs */
    long n_triples;         /* N: number of A => B => C triples */
    long entity_tokens;     /* K: tokens per entity */
    long pool;              /* P: distinct tokens entities are drawn from; 0 = default */
    /* bios */
    long n_people;
    const char *fields_dir; /* directory of the attribute lists */
    int shuffle_sentences;  /* 1: each biography has its sentences in a random order */
    int question_mark;      /* relationship: 1: a question ends with the token "?" */
    long bios_per_person;   /* bios: biographies of each person, each worded anew */
    /* star */
    long degree;            /* d: arms leaving the start node */
    long path_length;       /* l: nodes on a path from start to goal, both included */
    long n_nodes;           /* n: node labels are drawn from 0..n-1 */
    long train_graphs, test_graphs;
    /* the task-specific flags given on the command line, to check that the
     * chosen task uses them (a flag another task uses is an error, not
     * silently ignored) */
    const char *given_flags[64];
    int n_given_flags;
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
        "  --task NAME            task to generate (default retrieval); tasks:\n"
        "                         retrieval, two-token, relationship, bios, star,\n"
        "                         wikireversal\n"
        "  --out DIR              output directory, created if missing (default data/TASK)\n"
        "  --seed S               random seed, >= 0 (default 1)\n"
        "  --reverse MODE         add a reversed copy of every train statement and train\n"
        "                         query (the \"AR w/ reverse\" baselines); MODE is\n"
        "                           none            no copies (default)\n"
        "                           token           all words in reverse order\n"
        "                           entity          entities in reverse order, each kept\n"
        "                                           in order between the words [ent] [/ent]\n"
        "                           entity-nodelim  the same without [ent] [/ent]\n"
        "                         (not for star, whose examples are problems)\n"
        "  --help                 print this and exit\n"
        "\n"
        "retrieval task (paper section 3.1): \"k3 k9 : v1 v7\", \"[value_of] k3 k9 :\" -> \"v1 v7\",\n"
        "\"[key_of] v1 v7 :\" -> \"k3 k9\"\n"
        "  --pairs N              number of key-value pairs (default 1000)\n"
        "  --entity-tokens K      tokens per key and per value (default 2)\n"
        "  --pool P               distinct key tokens k0..k{P-1}, and as many value tokens\n"
        "                         (default N*K: each token belongs to exactly one entity;\n"
        "                         a smaller P makes entities share tokens, but every key\n"
        "                         and every value stays unique)\n"
        "  --query-fraction F     fraction of pairs whose two queries are in train; the\n"
        "                         other pairs' queries are the test set (default 0.5)\n"
        "\n"
        "two-token task (paper Figure 7): the retrieval task with one-token keys and values\n"
        "  --pairs N, --pool P, --query-fraction F   as for retrieval\n"
        "\n"
        "relationship task (paper section 3.1, Table 7): \"A => B => C\", \"B =>\" -> C,\n"
        "\"B <=\" -> A; alt = the answer of a model that swaps subject and object\n"
        "  --triples N            number of triples (default 1000)\n"
        "  --entity-tokens K      tokens per entity (default 2)\n"
        "  --pool P               distinct entity tokens e0..e{P-1} shared by A, B and C\n"
        "                         (default 3*N*K: no token shared between entities)\n"
        "  --query-fraction F     fraction of triples whose two questions are in train\n"
        "                         (default 0.5)\n"
        "  --question-mark        end each question with the token \"?\" (\"B => ?\" -> C, as\n"
        "                         the paper writes it), so that the answer does not sit\n"
        "                         where the statement has B (see the comment in 01_data.c)\n"
        "\n"
        "bios task (paper section 3.1, Table 2; BioS of Zhu & Li 2023)\n"
        "  --people N             number of people (default 10000); full names and birth\n"
        "                         dates are unique, so N is at most 67200 (the dates)\n"
        "  --fields DIR           attribute lists: first_name.txt middle_name.txt\n"
        "                         last_name.txt city.txt university.txt field.txt\n"
        "                         company.txt, one entry a line; company lines are\n"
        "                         \"Company; City, ST\" (default lists/bios)\n"
        "  --shuffle-sentences    put each biography's six sentences in a random order\n"
        "                         (default: birth date, birth city, university, major,\n"
        "                         employer, employer's city)\n"
        "  --bios-per-person K    K biographies of each person, each with its wordings\n"
        "                         (and, with --shuffle-sentences, its order) drawn anew:\n"
        "                         an augmentation beyond the paper (Allen-Zhu & Li's\n"
        "                         \"multiplicity\"), default 1\n"
        "  --query-fraction F     fraction of people whose two questions are in train\n"
        "                         (default 0.5)\n"
        "\n"
        "star task (paper section 4, Figure 5): prompt \"u , v | u , v | ... / s , g =\",\n"
        "answer the path \"s , x2 , ... , g\"\n"
        "  --degree D             arms leaving the start node (default 2)\n"
        "  --path-length L        nodes on each start-to-leaf path, start included (default 5)\n"
        "  --nodes N              node labels are distinct numbers in [0, N) (default 50)\n"
        "  --train-graphs G       problems in train (default 20000)\n"
        "  --test-graphs G        problems in test (default 1000); no problem is repeated\n"
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
        "\n");
}

/* Flags that only some tasks use; the TASKS table lists each task's own. */
static const char *const TASK_FLAGS[] = {"--pairs", "--triples", "--entity-tokens", "--pool",
                                         "--query-fraction", "--people", "--fields",
                                         "--shuffle-sentences", "--bios-per-person", "--degree", "--path-length",
                                         "--nodes", "--train-graphs", "--test-graphs", "--genwiki",
                                         "--min-relation-count", "--split-mode", "--qa-train-fraction",
                                         "--question-mark"};

static void parse_options(int argc, char **argv, Options *o) {
    memset(o, 0, sizeof *o);
    o->task = "retrieval";
    o->out_dir = NULL;  /* default depends on the task */
    o->seed = 1;
    o->reverse = REVERSE_NONE;
    o->query_fraction = 0.5;
    o->n_pairs = 1000;
    o->n_triples = 1000;
    o->entity_tokens = 2;
    o->pool = 0;
    o->n_people = 10000;
    o->fields_dir = "lists/bios";
    o->shuffle_sentences = 0;
    o->bios_per_person = 1;
    o->degree = 2;
    o->path_length = 5;
    o->n_nodes = 50;
    o->train_graphs = 20000;
    o->test_graphs = 1000;
    /* wikireversal */
    o->n_genwiki_paths = 0;
    o->min_relation_count = 30;
    o->split_mode = "same";
    o->qa_train_fraction = 0.8;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        for (size_t f = 0; f < sizeof TASK_FLAGS / sizeof TASK_FLAGS[0]; f++)
            if (strcmp(a, TASK_FLAGS[f]) == 0 && o->n_given_flags < 64)
                o->given_flags[o->n_given_flags++] = TASK_FLAGS[f];

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { print_usage(); exit(0); }
        else if (strcmp(a, "--task") == 0) o->task = flag_value(argc, argv, &i);
        else if (strcmp(a, "--out") == 0) o->out_dir = flag_value(argc, argv, &i);
        else if (strcmp(a, "--seed") == 0) o->seed = parse_long(a, flag_value(argc, argv, &i), 0, LONG_MAX);
        else if (strcmp(a, "--reverse") == 0) {
            const char *mode = flag_value(argc, argv, &i);
            o->reverse = -1;
            for (int m = 0; m < N_REVERSE_MODES; m++)
                if (strcmp(mode, REVERSE_NAMES[m]) == 0) o->reverse = m;
            if (o->reverse < 0)
                die("--reverse '%s' is not a mode (modes: none, token, entity, entity-nodelim)", mode);
        }
        else if (strcmp(a, "--query-fraction") == 0) o->query_fraction = parse_double(a, flag_value(argc, argv, &i), 0.0, 1.0);
        else if (strcmp(a, "--pairs") == 0) o->n_pairs = parse_long(a, flag_value(argc, argv, &i), 1, 10000000);
        else if (strcmp(a, "--triples") == 0) o->n_triples = parse_long(a, flag_value(argc, argv, &i), 1, 10000000);
        else if (strcmp(a, "--entity-tokens") == 0) o->entity_tokens = parse_long(a, flag_value(argc, argv, &i), 1, 16);
        else if (strcmp(a, "--pool") == 0) o->pool = parse_long(a, flag_value(argc, argv, &i), 1, 100000000);
        else if (strcmp(a, "--people") == 0) o->n_people = parse_long(a, flag_value(argc, argv, &i), 1, 10000000);
        else if (strcmp(a, "--fields") == 0) o->fields_dir = flag_value(argc, argv, &i);
        else if (strcmp(a, "--shuffle-sentences") == 0) o->shuffle_sentences = 1;
        else if (strcmp(a, "--bios-per-person") == 0) o->bios_per_person = parse_long(a, flag_value(argc, argv, &i), 1, 100);
        else if (strcmp(a, "--question-mark") == 0) o->question_mark = 1;
        else if (strcmp(a, "--degree") == 0) o->degree = parse_long(a, flag_value(argc, argv, &i), 1, 10);
        else if (strcmp(a, "--path-length") == 0) o->path_length = parse_long(a, flag_value(argc, argv, &i), 2, 100);
        else if (strcmp(a, "--nodes") == 0) o->n_nodes = parse_long(a, flag_value(argc, argv, &i), 2, 100000);
        else if (strcmp(a, "--train-graphs") == 0) o->train_graphs = parse_long(a, flag_value(argc, argv, &i), 0, 10000000);
        else if (strcmp(a, "--test-graphs") == 0) o->test_graphs = parse_long(a, flag_value(argc, argv, &i), 0, 10000000);
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
/* building a line word by word, with its entity spans                       */
/* ------------------------------------------------------------------------ */

/* The newer generators build each line with these helpers instead of
 * counting word positions by hand: append words, append an entity (which
 * records its span), and mark where the answer begins. */
#define LINE_BUF 16384
#define SPANS_BUF 1024

typedef struct {
    char text[LINE_BUF];  /* the words so far, separated by single spaces */
    size_t length;        /* characters in text */
    int n_words;
    int answer_word;      /* word position where the answer starts; -1 = no answer */
    size_t answer_char;   /* character offset of that word in text */
    char spans[SPANS_BUF];
    int n_spans;
} Line;

static void line_clear(Line *line) {
    line->text[0] = 0;
    line->length = 0;
    line->n_words = 0;
    line->answer_word = -1;
    line->answer_char = 0;
    line->spans[0] = 0;
    line->n_spans = 0;
}

/* Append one or more words, given as a string of words separated by single
 * spaces (no leading, trailing or double spaces: those would be empty words). */
static void line_words(Line *line, const char *words) {
    size_t n = strlen(words);
    if (n == 0 || words[0] == ' ' || words[n - 1] == ' ' || strstr(words, "  "))
        die("internal error: '%s' is not a list of words separated by single spaces", words);
    if (line->length + 1 + n + 1 > LINE_BUF) die("a line is longer than %d characters", LINE_BUF);
    if (line->length > 0) line->text[line->length++] = ' ';
    memcpy(line->text + line->length, words, n + 1);
    line->length += n;
    line->n_words += 1;
    for (size_t i = 0; i < n; i++) line->n_words += (words[i] == ' ');
}

/* Append words that form an entity, and record "label:start-end" for them. */
static void line_entity(Line *line, const char *label, const char *words) {
    int start = line->n_words;
    line_words(line, words);
    if (line->n_spans == MAX_SPANS) die("internal error: more than %d spans in a line", MAX_SPANS);
    if (strlen(label) >= MAX_SPAN_LABEL) die("internal error: span label '%s' too long", label);
    size_t used = strlen(line->spans);
    snprintf(line->spans + used, SPANS_BUF - used, "%s%s:%d-%d", line->n_spans ? "," : "", label,
             start, line->n_words);
    line->n_spans++;
}

/* The words appended from now on are the answer. */
static void line_start_answer(Line *line) {
    line->answer_word = line->n_words;
    line->answer_char = line->length > 0 ? line->length + 1 : 0;  /* after the space to come */
}

/* Add the line as an example: the words before line_start_answer() are the
 * prompt, the rest the answer (a line without an answer is a statement). */
static void add_line(ExampleList *list, int split, int kind, int direction, int pair,
                     const Line *line, const char *alt) {
    if (line->answer_word < 0 || line->answer_word == line->n_words) {
        if (kind != KIND_STATEMENT) die("internal error: a %s without an answer", KIND_NAMES[kind]);
        add_example(list, split, kind, direction, pair, line->text, "", line->spans, alt);
        return;
    }
    if (line->answer_word == 0) die("internal error: an example without a prompt");
    char *prompt = (char *)xmalloc(line->answer_char);
    memcpy(prompt, line->text, line->answer_char - 1);  /* without the space before the answer */
    prompt[line->answer_char - 1] = 0;
    add_example(list, split, kind, direction, pair, prompt, line->text + line->answer_char,
                line->spans, alt);
    free(prompt);
}

/* ------------------------------------------------------------------------ */
/* a set of strings, for guaranteeing uniqueness                             */
/* ------------------------------------------------------------------------ */

/* Open-addressing hash table of string pointers (the strings are owned by the
 * caller and must outlive the set). Used to reject a duplicate name, date,
 * list entry or graph. */
typedef struct {
    const char **slots;  /* NULL = empty */
    long capacity;       /* power of two, more than twice the strings stored */
    long count;
} StringSet;

static void string_set_init(StringSet *set, long expected) {
    set->capacity = 16;
    while (set->capacity < 2 * expected + 2) set->capacity *= 2;
    set->slots = (const char **)xcalloc((size_t)set->capacity, sizeof(char *));
    set->count = 0;
}

static void string_set_free(StringSet *set) {
    free(set->slots);
    memset(set, 0, sizeof *set);
}

/* The slot holding s, or the empty slot where s would go. */
static long string_set_slot(const StringSet *set, const char *s) {
    long slot = (long)(fnv1a(s, strlen(s), FNV_OFFSET) & (uint32_t)(set->capacity - 1));
    while (set->slots[slot] && strcmp(set->slots[slot], s) != 0) slot = (slot + 1) & (set->capacity - 1);
    return slot;
}

static int string_set_contains(const StringSet *set, const char *s) {
    return set->slots[string_set_slot(set, s)] != NULL;
}

/* Insert s unless it is already there. Returns 1 if inserted, 0 if a duplicate. */
static int string_set_insert(StringSet *set, const char *s) {
    long slot = string_set_slot(set, s);
    if (set->slots[slot]) return 0;
    if (2 * (set->count + 1) > set->capacity) die("internal error: string set over half full");
    set->slots[slot] = s;
    set->count++;
    return 1;
}

/* The first round(F * N) of a random permutation of 0..N-1 get their
 * questions in train: in_train[i] = 1 for those. Returns how many. */
static int choose_train_questions(Rng *rng, int n, double fraction, char *in_train) {
    int n_train = (int)floor(fraction * n + 0.5);
    int *order = (int *)xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) order[i] = i;
    rng_shuffle(rng, order, n);
    memset(in_train, 0, (size_t)n);
    for (int i = 0; i < n_train; i++) in_train[order[i]] = 1;
    free(order);
    return n_train;
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

    /* choose which pairs have their queries in train */
    char *queries_in_train = (char *)xcalloc((size_t)n, 1);
    int n_query_train = choose_train_questions(rng, n, o->query_fraction, queries_in_train);

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
    printf("%s: %d pairs, %d token%s per entity, pool of %ld key tokens and %ld value tokens (%s)\n",
           o->task, n, k, k == 1 ? "" : "s", pool, pool, pool >= (long)n * k ? "no token shared between entities" : "entities share tokens");
    printf("%s: queries of %d pairs in train, of %d pairs in test\n", o->task, n_query_train, n - n_query_train);

    free(keys);
    free(values);
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

/* ------------------------------------------------------------------------ */
/* two-token task                                                            */
/* ------------------------------------------------------------------------ */

/* Figure 7 of the paper: "a two-token variant of the retrieval task". The
 * paper gives no more detail, so we take the retrieval task with one-token
 * keys and values: the fact is "k3 : v7", i.e. the two tokens x1 = k3 and
 * x2 = v7 of the section 2 example, and the queries are "[value_of] k3 :" ->
 * "v7" and "[key_of] v7 :" -> "k3". The separator and the query words are
 * kept so that the data and its evaluation are the retrieval task's. */
static void generate_two_token(const Options *o, Rng *rng, ExampleList *list) {
    Options one_token = *o;
    one_token.entity_tokens = 1;
    generate_retrieval(&one_token, rng, list);
}

/* ------------------------------------------------------------------------ */
/* relationship task                                                         */
/* ------------------------------------------------------------------------ */

/* N triples (A, B, C) of unique entities, each entity K tokens drawn from one
 * pool e0..e{P-1} shared by all three roles (so nothing but the statements
 * tells a model which entity is an A and which a C). Per triple:
 *
 *   statement (train)   "A => B => C"
 *   forward question    "B =>"  ->  C     alt: A
 *   backward question   "B <="  ->  A     alt: C
 *
 * The paper writes the questions "B => ?" and "B <= ?". By default the "?" is
 * the answer the model must produce; with --question-mark it is a token of the
 * prompt ("B => ?" -> C). That one token matters to a masked model: without it
 * the answer of "B =>" sits at the very positions where B's own statement has
 * B, and an MLM-U model trained on the statements answers an unseen question by
 * copying the statement's token at the answer's position: "e899 =>" for
 * "e899 =>" (README, "Results"). With it the copy gives "=> e..", never an
 * entity, as the retrieval task's "[value_of]" prefix does there.
 * The relation is not symmetric: a model that answers by swapping subject and
 * object gives the alt entity, which 06_eval counts as an "incorrect
 * inference" (Table 1 bottom, Table 7). */
static void generate_relationship(const Options *o, Rng *rng, ExampleList *list) {
    int n = (int)o->n_triples, k = (int)o->entity_tokens;
    long long n_entities = 3LL * n;
    long pool = o->pool ? o->pool : (long)(n_entities * k);
    if (pool < k)
        die("--pool %ld is smaller than --entity-tokens %d: an entity needs %d distinct tokens",
            pool, k, k);
    if (pool > 100000000)
        die("--triples %d x 3 entities x --entity-tokens %d needs a pool of %ld tokens, more than 1e8",
            n, k, pool);
    long long possible = count_sequences(pool, k, n_entities);
    if (possible < n_entities)
        die("--pool %ld allows only %lld distinct entities of %d tokens, but --triples %d needs %lld",
            pool, possible, k, n, n_entities);

    /* entity 3t is triple t's A, 3t+1 its B, 3t+2 its C */
    int *entities = (int *)xmalloc(sizeof(int) * (size_t)n_entities * k);
    draw_entities(rng, entities, (int)n_entities, k, (int)pool);

    char *questions_in_train = (char *)xcalloc((size_t)n, 1);
    int n_train = choose_train_questions(rng, n, o->query_fraction, questions_in_train);

    char a[ENTITY_BUF], b[ENTITY_BUF], c[ENTITY_BUF];
    Line line;
    for (int t = 0; t < n; t++) {
        entity_text('e', entities + (size_t)(3 * t + 0) * k, k, a, ENTITY_BUF);
        entity_text('e', entities + (size_t)(3 * t + 1) * k, k, b, ENTITY_BUF);
        entity_text('e', entities + (size_t)(3 * t + 2) * k, k, c, ENTITY_BUF);
        int question_split = questions_in_train[t] ? SPLIT_TRAIN : SPLIT_TEST;

        line_clear(&line);  /* A => B => C */
        line_entity(&line, "A", a);
        line_words(&line, "=>");
        line_entity(&line, "B", b);
        line_words(&line, "=>");
        line_entity(&line, "C", c);
        add_line(list, SPLIT_TRAIN, KIND_STATEMENT, DIR_NONE, t, &line, NULL);

        line_clear(&line);  /* B => ? answer C; a swapping model says A */
        line_entity(&line, "B", b);
        line_words(&line, o->question_mark ? "=> ?" : "=>");
        line_start_answer(&line);
        line_entity(&line, "C", c);
        add_line(list, question_split, KIND_QUERY, DIR_FORWARD, t, &line, a);

        line_clear(&line);  /* B <= ? answer A; a swapping model says C */
        line_entity(&line, "B", b);
        line_words(&line, o->question_mark ? "<= ?" : "<=");
        line_start_answer(&line);
        line_entity(&line, "A", a);
        add_line(list, question_split, KIND_QUERY, DIR_BACKWARD, t, &line, c);
    }
    printf("relationship: %d triples, %d token%s per entity, pool of %ld entity tokens (%s)\n", n, k,
           k == 1 ? "" : "s", pool, pool >= n_entities * k ? "no token shared between entities" : "entities share tokens");
    printf("relationship: questions of %d triples in train, of %d triples in test\n", n_train, n - n_train);
    free(entities);
    free(questions_in_train);
}

/* ------------------------------------------------------------------------ */
/* bios task                                                                 */
/* ------------------------------------------------------------------------ */

/* Attribute lists, one entry a line, read from --fields DIR. Each entry is
 * normalized for the word tokenizer: words separated by single spaces, and a
 * comma at the end of a word split off as a word of its own, so the city
 * "Ann Arbor, MI" is written "Ann Arbor , MI" (three words and a comma). */
#define LIST_ENTRY_MAX 200  /* characters in one entry */

typedef struct {
    char path[1024];
    int n;
    char **entries;  /* normalized entries */
    char **cities;   /* company.txt only: the company's city ("Company; City, ST") */
    int *line_of;    /* the file line of each entry, for error messages */
} List;

/* "University of California, Berkeley" -> "University of California , Berkeley" */
static char *normalize_words(const char *raw) {
    char *out = (char *)xmalloc(2 * strlen(raw) + 1);
    size_t used = 0;
    const char *p = raw;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *end = p;
        while (*end && *end != ' ') end++;
        size_t n = (size_t)(end - p);
        int comma = n > 1 && p[n - 1] == ',';  /* "Arbor," -> "Arbor" "," */
        if (comma) n--;
        if (used) out[used++] = ' ';
        memcpy(out + used, p, n);
        used += n;
        if (comma) { out[used++] = ' '; out[used++] = ','; }
        p = end;
    }
    out[used] = 0;
    return out;
}

/* Read DIR/NAME. Blank lines are skipped; an entry with a tab, an entry that
 * is too long, a company line without "; ", a duplicate entry, or a file with
 * no entries is an error that names the file and line. */
static void read_list(List *list, const char *dir, const char *name, int is_company) {
    memset(list, 0, sizeof *list);
    if (snprintf(list->path, sizeof list->path, "%s/%s", dir, name) >= (int)sizeof list->path)
        die("--fields path too long: '%s'", dir);
    const char *path = list->path;
    FILE *f = xfopen_read(path);
    int capacity = 0;
    char *raw = NULL;
    size_t raw_capacity = 0;
    int line_number = 0;
    while (getline(&raw, &raw_capacity, f) >= 0) {
        line_number++;
        /* trim: trailing newline, carriage return and spaces; leading spaces */
        size_t len = strlen(raw);
        while (len > 0 && (raw[len - 1] == '\n' || raw[len - 1] == '\r' || raw[len - 1] == ' ')) raw[--len] = 0;
        char *text = raw;
        while (*text == ' ') text++;
        if (*text == 0) continue;
        if (strchr(text, '\t')) die("%s:%d: an entry cannot contain a tab", path, line_number);
        if (strlen(text) > LIST_ENTRY_MAX)
            die("%s:%d: entry longer than %d characters", path, line_number, LIST_ENTRY_MAX);

        if (list->n == capacity) {
            capacity = capacity ? 2 * capacity : 256;
            list->entries = (char **)realloc(list->entries, sizeof(char *) * (size_t)capacity);
            list->cities = (char **)realloc(list->cities, sizeof(char *) * (size_t)capacity);
            list->line_of = (int *)realloc(list->line_of, sizeof(int) * (size_t)capacity);
            if (!list->entries || !list->cities || !list->line_of) die("out of memory reading '%s'", path);
        }
        list->line_of[list->n] = line_number;
        list->cities[list->n] = NULL;
        if (is_company) {
            /* "Company; City, ST": the company, then its city */
            char *semicolon = strchr(text, ';');
            if (!semicolon || strchr(semicolon + 1, ';'))
                die("%s:%d: a company line must be 'Company; City, ST' with one ';', got '%s'", path,
                    line_number, text);
            *semicolon = 0;
            list->entries[list->n] = normalize_words(text);
            list->cities[list->n] = normalize_words(semicolon + 1);
            if (list->entries[list->n][0] == 0 || list->cities[list->n][0] == 0)
                die("%s:%d: a company line must be 'Company; City, ST', but the company or the city is empty",
                    path, line_number);
        } else {
            list->entries[list->n] = normalize_words(text);
        }
        list->n++;
    }
    free(raw);
    if (ferror(f)) die("read error in '%s'", path);
    fclose(f);
    if (list->n == 0) die("'%s' has no entries", path);

    /* every entry must be unique (the names especially: a repeated first
     * name would make two people with the same full name possible) */
    StringSet seen;
    string_set_init(&seen, list->n);
    for (int i = 0; i < list->n; i++)
        if (!string_set_insert(&seen, list->entries[i])) {
            int first = 0;
            while (strcmp(list->entries[first], list->entries[i]) != 0) first++;
            die("%s:%d: duplicate entry '%s' (also on line %d)", path, list->line_of[i],
                list->entries[i], list->line_of[first]);
        }
    string_set_free(&seen);
}

static void free_list(List *list) {
    for (int i = 0; i < list->n; i++) {
        free(list->entries[i]);
        free(list->cities[i]);
    }
    free(list->entries);
    free(list->cities);
    free(list->line_of);
    memset(list, 0, sizeof *list);
}

/* The lists, in the order of the files. */
enum { FIRST_NAME, MIDDLE_NAME, LAST_NAME, CITY, UNIVERSITY, FIELD, COMPANY, N_LISTS };
static const char *const LIST_FILES[N_LISTS] = {"first_name.txt", "middle_name.txt", "last_name.txt",
                                                "city.txt", "university.txt", "field.txt", "company.txt"};

/* Birth dates: a month, a day 1..28 (every month has one), a year 1900..2099. */
static const char *const MONTHS[12] = {"January", "February", "March", "April", "May", "June", "July",
                                       "August", "September", "October", "November", "December"};
#define FIRST_YEAR 1900
#define N_YEARS 200
#define DAYS_PER_MONTH 28
#define N_DATES (12 * DAYS_PER_MONTH * N_YEARS)

typedef struct {
    char *name;        /* "First Middle Last" */
    char *birth_date;  /* "October 2 , 1996" */
    int birth_city, university, field, company;  /* indices into the lists */
} Person;

/* The six sentences of a biography, one per attribute, each with several
 * wordings. A word in braces is replaced by the person's attribute, and the
 * words that replace it are labelled with the name in the braces. Every
 * sentence names the person in full, so the sentences can be shuffled. */
#define N_SENTENCES 6
#define N_TEMPLATES 4
static const char *const TEMPLATES[N_SENTENCES][N_TEMPLATES] = {
    {"{name} was born on {birth_date} .",
     "{name} came into the world on {birth_date} .",
     "The birthday of {name} is {birth_date} .",
     "{name} has {birth_date} as a date of birth ."},
    {"{name} was born in {birth_city} .",
     "{name} grew up in {birth_city} .",
     "The hometown of {name} is {birth_city} .",
     "{name} spent a childhood in {birth_city} ."},
    {"{name} studied at {university} .",
     "{name} graduated from {university} .",
     "{name} earned a degree at {university} .",
     "{name} was a student of {university} ."},
    {"{name} majored in {field} .",
     "{name} chose {field} as a major .",
     "The academic focus of {name} was {field} .",
     "{name} completed coursework in {field} ."},
    {"{name} works for {company} .",
     "{name} is employed by {company} .",
     "{name} holds a job at {company} .",
     "The employer of {name} is {company} ."},
    {"{name} works in {work_city} .",
     "{name} commutes to an office in {work_city} .",
     "The workplace of {name} is located in {work_city} .",
     "{name} has a job based in {work_city} ."},
};

/* The text of one attribute of a person ("work_city": the employer's city). */
static const char *attribute_text(const Person *p, const List *lists, const char *attribute) {
    if (strcmp(attribute, "name") == 0) return p->name;
    if (strcmp(attribute, "birth_date") == 0) return p->birth_date;
    if (strcmp(attribute, "birth_city") == 0) return lists[CITY].entries[p->birth_city];
    if (strcmp(attribute, "university") == 0) return lists[UNIVERSITY].entries[p->university];
    if (strcmp(attribute, "field") == 0) return lists[FIELD].entries[p->field];
    if (strcmp(attribute, "company") == 0) return lists[COMPANY].entries[p->company];
    if (strcmp(attribute, "work_city") == 0) return lists[COMPANY].cities[p->company];
    die("internal error: unknown attribute '%s' in a template", attribute);
    return NULL;
}

/* Append a template to the line, word by word, filling in the braces. */
static void fill_template(Line *line, const char *template_text, const Person *p, const List *lists) {
    char word[64];
    const char *w = template_text;
    while (*w) {
        size_t n = strcspn(w, " ");
        if (n >= sizeof word) die("internal error: template word too long");
        memcpy(word, w, n);
        word[n] = 0;
        if (word[0] == '{') {
            word[n - 1] = 0;  /* drop the closing brace */
            line_entity(line, word + 1, attribute_text(p, lists, word + 1));
        } else {
            line_words(line, word);
        }
        w += n;
        while (*w == ' ') w++;
    }
}

/* N people with uniform random attributes; full names and birth dates are
 * unique (drawn again while equal to an earlier one). Per person:
 *
 *   biography (train statement): six sentences, wordings drawn per sentence
 *   forward question   "What is the birth date of NAME ?"  ->  DATE
 *   backward question  "Who was born on DATE ?"            ->  NAME
 *
 * The questions of a fraction of the people are in train, the others' in test. */
static void generate_bios(const Options *o, Rng *rng, ExampleList *list) {
    int n = (int)o->n_people;
    List lists[N_LISTS];
    for (int l = 0; l < N_LISTS; l++) read_list(&lists[l], o->fields_dir, LIST_FILES[l], l == COMPANY);

    long long possible_names = (long long)lists[FIRST_NAME].n * lists[MIDDLE_NAME].n * lists[LAST_NAME].n;
    if (possible_names < n)
        die("the name lists allow only %lld full names (%s: %d x %s: %d x %s: %d), fewer than --people %d",
            possible_names, lists[FIRST_NAME].path, lists[FIRST_NAME].n, lists[MIDDLE_NAME].path,
            lists[MIDDLE_NAME].n, lists[LAST_NAME].path, lists[LAST_NAME].n, n);
    if (n > N_DATES)
        die("--people %d is more than the %d distinct birth dates (12 months x %d days x %d years)", n,
            N_DATES, DAYS_PER_MONTH, N_YEARS);

    Person *people = (Person *)xcalloc((size_t)n, sizeof(Person));
    char text[8 * LIST_ENTRY_MAX + 64];  /* a full name: three entries of at most 2 * LIST_ENTRY_MAX after normalizing */

    /* unique full names: draw, and draw again while the name is taken. (Two
     * different choices can only give the same text if list entries have
     * several words, e.g. "Mary Ann" + "Lee" and "Mary" + "Ann Lee"; the
     * attempt limit turns that impossible case into an error.) */
    StringSet names;
    string_set_init(&names, n);
    long long attempts = 0, max_attempts = 100LL * n + 1000;
    for (int i = 0; i < n; i++) {
        do {
            if (++attempts > max_attempts)
                die("could not draw %d distinct full names from the lists in '%s' after %lld tries",
                    n, o->fields_dir, max_attempts);
            snprintf(text, sizeof text, "%s %s %s",
                     lists[FIRST_NAME].entries[rng_below(rng, (uint32_t)lists[FIRST_NAME].n)],
                     lists[MIDDLE_NAME].entries[rng_below(rng, (uint32_t)lists[MIDDLE_NAME].n)],
                     lists[LAST_NAME].entries[rng_below(rng, (uint32_t)lists[LAST_NAME].n)]);
        } while (string_set_contains(&names, text));
        people[i].name = xstrdup(text);
        string_set_insert(&names, people[i].name);
    }

    /* unique birth dates, the same way (n <= N_DATES was checked above) */
    StringSet dates;
    string_set_init(&dates, n);
    for (int i = 0; i < n; i++) {
        do {
            snprintf(text, sizeof text, "%s %d , %d", MONTHS[rng_below(rng, 12)],
                     1 + (int)rng_below(rng, DAYS_PER_MONTH), FIRST_YEAR + (int)rng_below(rng, N_YEARS));
        } while (string_set_contains(&dates, text));
        people[i].birth_date = xstrdup(text);
        string_set_insert(&dates, people[i].birth_date);
    }

    /* the other attributes: uniform, independent, not unique */
    for (int i = 0; i < n; i++) {
        people[i].birth_city = (int)rng_below(rng, (uint32_t)lists[CITY].n);
        people[i].university = (int)rng_below(rng, (uint32_t)lists[UNIVERSITY].n);
        people[i].field = (int)rng_below(rng, (uint32_t)lists[FIELD].n);
        people[i].company = (int)rng_below(rng, (uint32_t)lists[COMPANY].n);
    }

    char *questions_in_train = (char *)xcalloc((size_t)n, 1);
    int n_train = choose_train_questions(rng, n, o->query_fraction, questions_in_train);

    Line line;
    long total_bio_words = 0;
    for (int i = 0; i < n; i++) {
        const Person *p = &people[i];
        int question_split = questions_in_train[i] ? SPLIT_TRAIN : SPLIT_TEST;

        /* the biographies: sentence s in position order[s], wording drawn per sentence */
        for (long k = 0; k < o->bios_per_person; k++) {
            int order[N_SENTENCES];
            for (int s = 0; s < N_SENTENCES; s++) order[s] = s;
            if (o->shuffle_sentences) rng_shuffle(rng, order, N_SENTENCES);
            line_clear(&line);
            for (int s = 0; s < N_SENTENCES; s++)
                fill_template(&line, TEMPLATES[order[s]][rng_below(rng, N_TEMPLATES)], p, lists);
            total_bio_words += line.n_words;
            add_line(list, SPLIT_TRAIN, KIND_STATEMENT, DIR_NONE, i, &line, NULL);
        }

        line_clear(&line);  /* forward: name -> birth date */
        line_words(&line, "What is the birth date of");
        line_entity(&line, "name", p->name);
        line_words(&line, "?");
        line_start_answer(&line);
        line_entity(&line, "birth_date", p->birth_date);
        add_line(list, question_split, KIND_QUERY, DIR_FORWARD, i, &line, NULL);

        line_clear(&line);  /* backward: birth date -> name */
        line_words(&line, "Who was born on");
        line_entity(&line, "birth_date", p->birth_date);
        line_words(&line, "?");
        line_start_answer(&line);
        line_entity(&line, "name", p->name);
        add_line(list, question_split, KIND_QUERY, DIR_BACKWARD, i, &line, NULL);
    }

    printf("bios: lists from %s: %d first, %d middle, %d last names, %d cities, %d universities, "
           "%d fields, %d companies\n", o->fields_dir, lists[FIRST_NAME].n, lists[MIDDLE_NAME].n,
           lists[LAST_NAME].n, lists[CITY].n, lists[UNIVERSITY].n, lists[FIELD].n, lists[COMPANY].n);
    printf("bios: %d people, unique among %lld possible full names and %d possible birth dates\n", n,
           possible_names, N_DATES);
    printf("bios: %ld biograph%s a person, of %d sentences (%d wordings each, %s order), %.1f words on average\n",
           o->bios_per_person, o->bios_per_person == 1 ? "y" : "ies", N_SENTENCES, N_TEMPLATES,
           o->shuffle_sentences ? "shuffled" : "fixed", (double)total_bio_words / ((double)n * o->bios_per_person));
    printf("bios: questions of %d people in train, of %d people in test\n", n_train, n - n_train);

    for (int i = 0; i < n; i++) {
        free(people[i].name);
        free(people[i].birth_date);
    }
    free(people);
    free(questions_in_train);
    string_set_free(&names);
    string_set_free(&dates);
    for (int l = 0; l < N_LISTS; l++) free_list(&lists[l]);
}

/* ------------------------------------------------------------------------ */
/* star graph task                                                           */
/* ------------------------------------------------------------------------ */

/* One star graph: a start node s and d arms of l-1 further nodes each, so
 * 1 + d*(l-1) nodes with distinct random labels in [0, n) and d*(l-1)
 * directed edges pointing away from s. The goal g is the last node of one
 * arm. As in the paper (and Bachmann & Nagarajan 2024), "2,6|6,7|5,1|4,3|
 * 4,2|3,5/4,7=4,2,6,7" is written as words:
 *
 *   prompt  "2 , 6 | 6 , 7 | 5 , 1 | 4 , 3 | 4 , 2 | 3 , 5 / 4 , 7 ="
 *   answer  "4 , 2 , 6 , 7"
 *
 * The edges are in a random order. The answer starts with s, which the
 * prompt gives; the hard token is the second, the first step on the right
 * arm: a teacher-forced left-to-right model can get every later node from
 * the previous one by following the only edge out of it ("Clever Hans"). */

/* "u,v" pairs compared for sorting: the canonical form of a graph is its
 * sorted edge list, so the same graph with its edges listed in another order
 * is recognized as the same problem. */
static int compare_edges(const void *a, const void *b) {
    const int *x = (const int *)a, *y = (const int *)b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    if (x[1] != y[1]) return x[1] < y[1] ? -1 : 1;
    return 0;
}

static void generate_star(const Options *o, Rng *rng, ExampleList *list) {
    int d = (int)o->degree, l = (int)o->path_length, n = (int)o->n_nodes;
    int n_graph_nodes = 1 + d * (l - 1), n_edges = d * (l - 1);
    long long n_problems = o->train_graphs + o->test_graphs;
    if (n_graph_nodes > n)
        die("a star graph with --degree %d and --path-length %d has %d nodes, more than --nodes %d", d,
            l, n_graph_nodes, n);
    if (n_problems == 0) die("--train-graphs and --test-graphs are both 0: nothing to generate");

    /* How many distinct problems exist: ordered choices of the node labels
     * (start, then arm after arm), divided by d! because the arms are
     * unordered, times d choices of the goal. count_sequences stops once the
     * count passes what we need, so this cannot overflow. */
    long long d_factorial = 1;
    for (int i = 2; i <= d; i++) d_factorial *= i;
    long long labelings = count_sequences(n, n_graph_nodes, n_problems * d_factorial);
    long long possible = labelings / d_factorial * d;
    if (possible < n_problems)
        die("--nodes %d allows only %lld distinct star graph problems with --degree %d and --path-length %d, "
            "but --train-graphs + --test-graphs ask for %lld", n, possible, d, l, n_problems);

    int *labels = (int *)xmalloc(sizeof(int) * (size_t)n);  /* a permutation of 0..n-1 */
    for (int i = 0; i < n; i++) labels[i] = i;
    int *edges = (int *)xmalloc(sizeof(int) * 2 * (size_t)n_edges);  /* (from, to) pairs */
    int *sorted = (int *)xmalloc(sizeof(int) * 2 * (size_t)n_edges);
    int *edge_order = (int *)xmalloc(sizeof(int) * (size_t)n_edges);
    int *path = (int *)xmalloc(sizeof(int) * (size_t)l);
    char **keys = (char **)xmalloc(sizeof(char *) * (size_t)n_problems);
    StringSet seen;
    string_set_init(&seen, n_problems);
    Line line;
    char word[64];

    for (long long problem = 0; problem < n_problems; problem++) {
        int start, goal_arm;
        /* draw a graph and a goal, again while the problem is one we already have */
        for (;;) {
            /* the first n_graph_nodes labels of a partial Fisher-Yates shuffle:
             * labels[0] is the start, labels[1 + a*(l-1) + j] node j of arm a */
            for (int i = 0; i < n_graph_nodes; i++) {
                int j = i + (int)rng_below(rng, (uint32_t)(n - i));
                int t = labels[i]; labels[i] = labels[j]; labels[j] = t;
            }
            start = labels[0];
            for (int a = 0; a < d; a++)
                for (int j = 0; j < l - 1; j++) {
                    int e = a * (l - 1) + j;
                    edges[2 * e] = j == 0 ? start : labels[1 + a * (l - 1) + j - 1];
                    edges[2 * e + 1] = labels[1 + a * (l - 1) + j];
                }
            goal_arm = (int)rng_below(rng, (uint32_t)d);

            /* the canonical form: sorted edges, then start and goal */
            memcpy(sorted, edges, sizeof(int) * 2 * (size_t)n_edges);
            qsort(sorted, (size_t)n_edges, 2 * sizeof(int), compare_edges);
            size_t key_size = (size_t)n_edges * 24 + 48, used = 0;
            char *key = (char *)xmalloc(key_size);
            for (int e = 0; e < n_edges; e++)
                used += (size_t)snprintf(key + used, key_size - used, "%d,%d|", sorted[2 * e], sorted[2 * e + 1]);
            snprintf(key + used, key_size - used, "/%d,%d", start, labels[(goal_arm + 1) * (l - 1)]);
            if (string_set_insert(&seen, key)) {
                keys[problem] = key;
                break;
            }
            free(key);
        }

        /* the path from the start along the goal arm */
        path[0] = start;
        for (int j = 1; j < l; j++) path[j] = labels[1 + goal_arm * (l - 1) + j - 1];

        /* prompt: the edges in a random order, then "/ s , g =" */
        for (int e = 0; e < n_edges; e++) edge_order[e] = e;
        rng_shuffle(rng, edge_order, n_edges);
        line_clear(&line);
        for (int e = 0; e < n_edges; e++) {
            snprintf(word, sizeof word, "%s%d , %d", e ? "| " : "", edges[2 * edge_order[e]],
                     edges[2 * edge_order[e] + 1]);
            line_words(&line, word);
        }
        line_words(&line, "/");
        snprintf(word, sizeof word, "%d", start);
        line_entity(&line, "start", word);
        line_words(&line, ",");
        snprintf(word, sizeof word, "%d", path[l - 1]);
        line_entity(&line, "goal", word);
        line_words(&line, "=");

        /* answer: the path "s , x2 , ... , g" */
        char answer[LINE_BUF];
        size_t used = 0;
        for (int j = 0; j < l; j++)
            used += (size_t)snprintf(answer + used, sizeof answer - used, "%s%d", j ? " , " : "", path[j]);
        line_start_answer(&line);
        line_entity(&line, "path", answer);
        int split = problem < o->train_graphs ? SPLIT_TRAIN : SPLIT_TEST;
        add_line(list, split, KIND_PROBLEM, DIR_FORWARD, (int)problem, &line, NULL);
    }
    printf("star: degree %d, path length %d, labels in [0, %d): %d nodes and %d edges per graph\n", d, l,
           n, n_graph_nodes, n_edges);
    /* for the statistics only: the number of possible problems, as a float */
    double possible_float = (double)d;
    for (int i = 0; i < n_graph_nodes; i++) possible_float *= (double)(n - i) / (i < d ? i + 1 : 1);
    printf("star: %ld train and %ld test problems, all distinct (of %.3g possible)\n", o->train_graphs,
           o->test_graphs, possible_float);
    printf("star: prompt %d words, answer %d words\n", 4 * n_edges - 1 + 5, 2 * l - 1);

    for (long long i = 0; i < n_problems; i++) free(keys[i]);
    free(keys);
    string_set_free(&seen);
    free(labels);
    free(edges);
    free(sorted);
    free(edge_order);
    free(path);
}

/* ------------------------------------------------------------------------ */
/* --reverse: reversed copies of the train statements and queries            */
/* ------------------------------------------------------------------------ */

/* The "AR w/ reverse" baselines train a left-to-right model on each train
 * sequence and on a reversed copy of it (paper section 3, Tables 1, 2, 7):
 *
 *   token           "k3 k9 : v1 v7"  ->  "v7 v1 : k9 k3"
 *   entity          "k3 k9 : v1 v7"  ->  "[ent] v1 v7 [/ent] : [ent] k3 k9 [/ent]"
 *   entity-nodelim  "k3 k9 : v1 v7"  ->  "v1 v7 : k3 k9"
 *
 * An entity is a span of the line; the other words count as one-word chunks.
 * The copy of a query is a statement (its prompt and answer are both text to
 * learn, as a train query's are), with the same pair and the spans moved
 * along with their words; it keeps the query's direction (a statement's is
 * otherwise none), so that a trainer that holds a query out for validation
 * holds out its copy too. Test lines are not copied. */
static void add_reversed_lines(const Options *o, ExampleList *list) {
    int n_original = list->n, n_added = 0;
    Line line;
    char all[2 * LINE_BUF + 2], entity[LINE_BUF];
    for (int i = 0; i < n_original; i++) {
        /* copy the fields: add_line() below may move list->items */
        Example e = list->items[i];
        if (e.split != SPLIT_TRAIN || (e.kind != KIND_STATEMENT && e.kind != KIND_QUERY)) continue;

        /* the words of "prompt answer" */
        snprintf(all, sizeof all, "%s%s%s", e.prompt, e.answer[0] ? " " : "", e.answer);
        char *words[LINE_BUF / 2];
        int n_words = 0;
        for (char *w = strtok(all, " "); w; w = strtok(NULL, " ")) {
            if (n_words == LINE_BUF / 2) die("internal error: a line of more than %d words", LINE_BUF / 2);
            words[n_words++] = w;
        }

        /* the spans: span_at[w] = the span that word w belongs to, or -1 */
        char labels[MAX_SPANS][MAX_SPAN_LABEL];
        int span_start[MAX_SPANS], span_end[MAX_SPANS], n_spans = 0;
        int span_at[LINE_BUF / 2];
        for (int w = 0; w < n_words; w++) span_at[w] = -1;
        const char *s = e.spans;
        while (*s) {
            int label_length = (int)strcspn(s, ":");
            if (n_spans == MAX_SPANS || label_length >= MAX_SPAN_LABEL ||
                sscanf(s + label_length, ":%d-%d", &span_start[n_spans], &span_end[n_spans]) != 2)
                die("internal error: bad spans '%s'", e.spans);
            memcpy(labels[n_spans], s, (size_t)label_length);
            labels[n_spans][label_length] = 0;
            for (int w = span_start[n_spans]; w < span_end[n_spans]; w++) {
                if (w < 0 || w >= n_words || span_at[w] >= 0)
                    die("internal error: spans '%s' overlap or leave the line", e.spans);
                span_at[w] = n_spans;
            }
            n_spans++;
            s += strcspn(s, ",");
            if (*s == ',') s++;
        }

        /* walk the line from its last word to its first */
        line_clear(&line);
        for (int w = n_words - 1; w >= 0;) {
            int sp = span_at[w];
            if (sp < 0) {  /* a word outside every entity */
                line_words(&line, words[w]);
                w--;
                continue;
            }
            /* an entity: w is its last word. Token reversal reverses its
             * words too; entity reversal keeps them in order. */
            size_t used = 0;
            for (int j = 0; j < span_end[sp] - span_start[sp]; j++) {
                int from = o->reverse == REVERSE_TOKEN ? span_end[sp] - 1 - j : span_start[sp] + j;
                used += (size_t)snprintf(entity + used, sizeof entity - used, "%s%s", j ? " " : "", words[from]);
            }
            if (o->reverse == REVERSE_ENTITY) line_words(&line, "[ent]");
            line_entity(&line, labels[sp], entity);
            if (o->reverse == REVERSE_ENTITY) line_words(&line, "[/ent]");
            w = span_start[sp] - 1;
        }
        add_line(list, SPLIT_TRAIN, KIND_STATEMENT, e.kind == KIND_QUERY ? e.direction : DIR_NONE, e.pair,
                 &line, NULL);
        n_added++;
    }
    if (n_added == 0)
        die("--reverse %s: the %s task has no train statements or queries to reverse",
            REVERSE_NAMES[o->reverse], o->task);
    printf("reverse: added %d %s-reversed copies of train lines\n", n_added, REVERSE_NAMES[o->reverse]);
}

/* ------------------------------------------------------------------------ */
/* the task table                                                            */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    void (*generate)(const Options *o, Rng *rng, ExampleList *list);
    const char *flags;  /* the task-specific flags it takes (see TASK_FLAGS) */
} Task;

static const Task TASKS[] = {
    {"retrieval", generate_retrieval, "--pairs --entity-tokens --pool --query-fraction"},
    {"two-token", generate_two_token, "--pairs --pool --query-fraction"},
    {"relationship", generate_relationship, "--triples --entity-tokens --pool --query-fraction --question-mark"},
    {"bios", generate_bios, "--people --fields --shuffle-sentences --bios-per-person --query-fraction"},
    {"star", generate_star, "--degree --path-length --nodes --train-graphs --test-graphs"},
    {"wikireversal", generate_wikireversal, "--genwiki --min-relation-count --split-mode --qa-train-fraction"},
};
#define N_TASKS ((int)(sizeof TASKS / sizeof TASKS[0]))

/* Is `flag` one of the space-separated words of `flags`? */
static int flag_in(const char *flag, const char *flags) {
    size_t n = strlen(flag);
    for (const char *p = strstr(flags, flag); p; p = strstr(p + 1, flag))
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) return 1;
    return 0;
}

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
    else if (strcmp(o->task, "two-token") == 0)
        fprintf(f, " --pairs %ld --pool %ld --query-fraction %g", o->n_pairs, o->pool ? o->pool : o->n_pairs,
                o->query_fraction);
    else if (strcmp(o->task, "relationship") == 0)
        fprintf(f, " --triples %ld --entity-tokens %ld --pool %ld --query-fraction %g%s", o->n_triples,
                o->entity_tokens, o->pool ? o->pool : 3 * o->n_triples * o->entity_tokens, o->query_fraction,
                o->question_mark ? " --question-mark" : "");
    else if (strcmp(o->task, "bios") == 0) {
        fprintf(f, " --people %ld --fields %s%s --query-fraction %g", o->n_people, o->fields_dir,
                o->shuffle_sentences ? " --shuffle-sentences" : "", o->query_fraction);
        if (o->bios_per_person != 1) fprintf(f, " --bios-per-person %ld", o->bios_per_person);
    } else if (strcmp(o->task, "star") == 0)
        fprintf(f, " --degree %ld --path-length %ld --nodes %ld --train-graphs %ld --test-graphs %ld",
                o->degree, o->path_length, o->n_nodes, o->train_graphs, o->test_graphs);
    else if (strcmp(o->task, "wikireversal") == 0) {
        for (int i = 0; i < o->n_genwiki_paths; i++) fprintf(f, " --genwiki %s", o->genwiki_paths[i]);
        fprintf(f, " --min-relation-count %ld --split-mode %s --qa-train-fraction %g", o->min_relation_count,
                o->split_mode, o->qa_train_fraction);
    }
    if (o->reverse != REVERSE_NONE) fprintf(f, " --reverse %s", REVERSE_NAMES[o->reverse]);
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
    for (int i = 0; i < o.n_given_flags; i++)
        if (!flag_in(o.given_flags[i], task->flags))
            die("%s is not an option of --task %s (its options: %s)", o.given_flags[i], task->name, task->flags);

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
    if (o.reverse != REVERSE_NONE) add_reversed_lines(&o, &list);

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
    int n_problems = count[0][KIND_PROBLEM][DIR_FORWARD] + count[1][KIND_PROBLEM][DIR_FORWARD];
    if (n_problems < list.n) {  /* the star task has only problems */
        printf("statements:     %d train, %d test\n",  /* (reversed query copies included) */
               count[0][KIND_STATEMENT][DIR_NONE] + count[0][KIND_STATEMENT][DIR_FORWARD] +
                   count[0][KIND_STATEMENT][DIR_BACKWARD],
               count[1][KIND_STATEMENT][DIR_NONE]);
        printf("train queries:  %d forward, %d backward\n", count[0][KIND_QUERY][DIR_FORWARD],
               count[0][KIND_QUERY][DIR_BACKWARD]);
        printf("test queries:   %d forward, %d backward\n", count[1][KIND_QUERY][DIR_FORWARD],
               count[1][KIND_QUERY][DIR_BACKWARD]);
    }
    if (n_problems)
        printf("problems:       %d train, %d test\n", count[0][KIND_PROBLEM][DIR_FORWARD],
               count[1][KIND_PROBLEM][DIR_FORWARD]);
    printf("wrote %d examples (%d train, %d test) to %s\n", list.n, n_train, list.n - n_train, path);

    free(train_order);
    free_examples(&list);
    return 0;
}
