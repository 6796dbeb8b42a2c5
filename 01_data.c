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
 * Tasks (chosen with --task; each has one generator function, in a section of
 * this file in the order below; the code of the two larger tasks, bios and
 * wikireversal, is in 01_data_bios.h and 01_data_wiki.h, which their sections
 * include):
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
    int fields_default;     /* 1: no --fields: the repository's lists/bios (01_data_bios.h) */
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
        "                         \"Company; City, ST\" (default lists/bios: the\n"
        "                         repository's, found from where the program is, else\n"
        "                         the working directory's)\n"
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
    o->fields_default = 1;
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
        else if (strcmp(a, "--fields") == 0) { o->fields_dir = flag_value(argc, argv, &i); o->fields_default = 0; }
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
/* bios task (its code is in 01_data_bios.h)                                 */
/* ------------------------------------------------------------------------ */

/* N people with unique full names and birth dates, each with a six-sentence
 * biography; the questions ask the birth date of a name, and the name of a
 * birth date. 01_data_bios.h holds the attribute lists (lists/bios), the
 * sentence templates and generate_bios(). It is included here, so that it
 * is part of this program as if written in this place: it uses Options,
 * the Line builder and the StringSet above. */
#include "01_data_bios.h"

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
/* wikireversal task (its code is in 01_data_wiki.h)                         */
/* ------------------------------------------------------------------------ */

/* Real Wikipedia passages of GenWiki with their DBpedia triples become QAs
 * both ways (paper section 3.2, Appendix E). 01_data_wiki.h reads GenWiki's
 * JSON with libjansson, filters the triples and holds
 * generate_wikireversal(); included here like 01_data_bios.h. */
#include "01_data_wiki.h"

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
            int start = span_start[n_spans], end = span_end[n_spans], taken = 0;
            if (start < 0 || end > n_words || start >= end)
                die("internal error: spans '%s' leave the line", e.spans);
            /* WikiReversal's triples share entities ("tail:26-27,head:26-27"):
             * words already in a span stay with the first span over them */
            for (int w = start; w < end; w++) taken |= span_at[w] >= 0;
            if (!taken) {
                for (int w = start; w < end; w++) span_at[w] = n_spans;
                n_spans++;
            }
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
