/*
 * 01_data_bios.h -- the bios task of 01_data.c (paper section 3.1, Table 2;
 * the BioS data of Zhu & Li 2023).
 *
 * This is not a header of declarations but a part of 01_data.c kept in a
 * file of its own: 01_data.c includes it in its "bios task" section, and the
 * code below uses what 01_data.c defines above that point (Options,
 * ExampleList, add_example, the Line builder, StringSet,
 * choose_train_questions). It gives 01_data.c generate_bios().
 *
 * N people, each with a full name, a birth date, a birth city, a university,
 * a field of study and an employer with its city, drawn from the attribute
 * lists of --fields DIR. Without --fields the lists are the repository's
 * lists/bios, found from where the program is (bios_default_fields_dir()),
 * so the program gives the same data from any working directory.
 */

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

/* Is path a directory? */
static int is_directory(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The directory of the default lists, written into dir[PATH_MAX]: the
 * repository's lists/bios, found from the program's own path
 * (/proc/self/exe: REPO/build/01_data gives REPO/build/../lists/bios), so
 * that the program finds it whatever the working directory; where that is
 * not a directory, lists/bios of the working directory. (The header line of
 * examples.txt says "--fields lists/bios" either way: the data does not
 * depend on where the program ran.) */
static void bios_default_fields_dir(char *dir) {
    char exe[PATH_MAX], beside[PATH_MAX + 32] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;  /* exe is now the program's directory */
            snprintf(beside, sizeof beside, "%s/../lists/bios", exe);
            if (is_directory(beside) && realpath(beside, dir)) return;
        }
    }
    if (is_directory("lists/bios")) {
        strcpy(dir, "lists/bios");
        return;
    }
    die("the default --fields lists/bios is not beside the program (%s) nor in the working directory;\n"
        "  pass --fields DIR (the lists are in lists/bios of the repository)",
        beside[0] ? beside : "/proc/self/exe cannot be read");
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
    char default_dir[PATH_MAX];
    const char *fields_dir = o->fields_dir;
    if (o->fields_default) {
        bios_default_fields_dir(default_dir);
        fields_dir = default_dir;
    }
    List lists[N_LISTS];
    for (int l = 0; l < N_LISTS; l++) read_list(&lists[l], fields_dir, LIST_FILES[l], l == COMPANY);

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
                    n, fields_dir, max_attempts);
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
           "%d fields, %d companies\n", fields_dir, lists[FIRST_NAME].n, lists[MIDDLE_NAME].n,
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

