#!/usr/bin/env bash
# Tests of the tasks 01_data generates besides retrieval: two-token, relationship,
# bios, star, and the --reverse augmentation. For each task:
#   determinism by seed; uniqueness (keys, entities, names, dates, graphs); no test
#   question in train; every span inside its line and decoding to the right entity;
#   star answers are valid paths; bad options and bad list files fail cleanly;
#   02_tokenize accepts the output and a tiny AR and MLM-U model trains on it.
# Run from the repository root after `make`; prints "PASS: name" or "FAIL: name (why)"
# for each check (SKIP when the shared BioS lists are not there). Called by
# test/run_tests.sh.
set -u
cd "$(dirname "$0")/.."
DATA=build/01_data
TOK=build/02_tokenize
for b in "$DATA" "$TOK" build/04_train_ar build/05_train_mlmu; do
    if [ ! -x "$b" ]; then echo "FAIL: $b is not built (run make)"; exit 1; fi
done
export OMP_NUM_THREADS=2

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 ($2)"; }
# check NAME WHY-IF-FAILED COMMAND...: pass if the command succeeds
check() {
    local name=$1 why=$2; shift 2
    if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}
# check_ok NAME RESULT: pass if an awk check printed "ok", else fail with what it printed
check_ok() { if [ "$2" = ok ]; then pass "$1"; else fail "$1" "$2"; fi; }
# the example lines, without the comment lines
examples() { grep -v '^#' "$1"; }

# ---------------------------------------------------------------------------
# data used by most checks: each task twice with seed 1 and once with seed 2
# ---------------------------------------------------------------------------
declare -A OPTS=(
    [two-token]="--pairs 200"
    [relationship]="--triples 200"
    [bios]="--people 500"
    [star]="--train-graphs 300 --test-graphs 100"
)
TASK_NAMES="two-token relationship bios star"
for task in $TASK_NAMES; do
    # shellcheck disable=SC2086
    "$DATA" --task $task ${OPTS[$task]} --seed 1 --out "$T/$task-a" >/dev/null 2>"$T/err.txt" ||
        fail "01_data --task $task runs" "$(head -c 200 "$T/err.txt")"
    "$DATA" --task $task ${OPTS[$task]} --seed 1 --out "$T/$task-b" >/dev/null 2>&1
    "$DATA" --task $task ${OPTS[$task]} --seed 2 --out "$T/$task-c" >/dev/null 2>&1
done
"$DATA" --task bios --people 300 --shuffle-sentences --out "$T/bios-shuffled" >/dev/null
"$DATA" --task relationship --triples 300 --pool 40 --entity-tokens 3 --query-fraction 0.3 \
    --out "$T/relationship-shared" >/dev/null
# a star graph with only 9 labels for 9 nodes: many graphs are close, duplicates likely
"$DATA" --task star --nodes 9 --train-graphs 3000 --test-graphs 1000 --out "$T/star-tight" >/dev/null

# 1. determinism ------------------------------------------------------------
for task in $TASK_NAMES; do
    check "$task: same seed gives identical examples.txt" "files differ" \
        cmp -s "$T/$task-a/examples.txt" "$T/$task-b/examples.txt"
    check "$task: different seed gives different examples" "examples are identical" \
        eval '! cmp -s <(examples "$T/$task-a/examples.txt") <(examples "$T/$task-c/examples.txt")'
done

# 2. generic checks, every task ----------------------------------------------
# Every line has 8 fields with valid split/kind/direction; at most 16 spans,
# labels of at most 15 characters, each span inside "prompt answer" (0 <= start <
# end <= words); a query or problem has an answer; spans do not overlap.
generic() {
    examples "$1" | awk -F'\t' '
        {
            if (NF != 8) { bad = bad " line " NR ": " NF " fields"; next }
            if ($1 != "train" && $1 != "test") bad = bad " line " NR ": split " $1
            if ($2 != "statement" && $2 != "query" && $2 != "problem") bad = bad " line " NR ": kind " $2
            if ($3 != "none" && $3 != "forward" && $3 != "backward") bad = bad " line " NR ": direction " $3
            if ($2 != "statement" && $6 == "") bad = bad " line " NR ": no answer"
            n = split($5 ($6 == "" ? "" : " " $6), w, " ")
            ns = split($7, s, ",")
            if (ns > 16) bad = bad " line " NR ": " ns " spans"
            delete used
            for (j = 1; j <= ns; j++) {
                if (s[j] !~ /^[^:,]+:[0-9]+-[0-9]+$/) { bad = bad " line " NR ": span " s[j]; continue }
                split(s[j], parts, "[:-]")
                if (length(parts[1]) > 15) bad = bad " line " NR ": label " parts[1] " too long"
                if (!(parts[2] + 0 < parts[3] + 0 && parts[3] + 0 <= n)) bad = bad " line " NR ": span " s[j] " outside " n " words"
                for (i = parts[2]; i < parts[3]; i++) { if (i in used) bad = bad " line " NR ": overlapping spans"; used[i] = 1 }
            }
        }
        END { if (NR == 0) bad = " no lines"; print (bad == "" ? "ok" : substr(bad, 1, 300)) }'
}
for d in two-token-a relationship-a relationship-shared bios-a bios-shuffled star-a star-tight; do
    check_ok "$d: 8 fields, valid words, spans inside their line" "$(generic "$T/$d/examples.txt")"
done

# No test question in train: no test prompt is a train prompt, no test line
# ("prompt answer") is a train line, and a fact's questions are all in one split.
no_leak() {
    examples "$1" | awk -F'\t' '
        $1 == "train" { prompt[$5] = 1; text[$5 " " $6] = 1; if ($2 != "statement") train_pair[$4] = 1 }
        $1 == "test"  { n++; p[n] = $5; t[n] = $5 " " $6; test_pair[$4] = 1 }
        END {
            for (i = 1; i <= n; i++) if ((p[i] in prompt) || (t[i] in text)) bad = bad " leak: " t[i]
            for (q in test_pair) if (q in train_pair) bad = bad " pair " q " in both splits"
            if (n == 0) bad = " no test lines"
            print (bad == "" ? "ok" : substr(bad, 1, 300))
        }'
}
for d in two-token-a relationship-a relationship-shared bios-a star-a star-tight; do
    check_ok "$d: no test question in train" "$(no_leak "$T/$d/examples.txt")"
done

# the number of train and test questions follows --query-fraction (round(F*N))
counts() {  # file n fraction
    examples "$1" | awk -F'\t' -v n="$2" -v f="$3" '
        $2 == "query" { q[$1]++ }
        END { want = int(f * n + 0.5)
              print (q["train"] == 2 * want && q["test"] == 2 * (n - want) ? "ok" : "train " q["train"] ", test " q["test"] ", want " 2 * want ", " 2 * (n - want)) }'
}
check_ok "two-token: question counts follow --query-fraction 0.5" "$(counts "$T/two-token-a/examples.txt" 200 0.5)"
check_ok "relationship: question counts follow --query-fraction 0.3" "$(counts "$T/relationship-shared/examples.txt" 300 0.3)"
check_ok "bios: question counts follow --query-fraction 0.5" "$(counts "$T/bios-a/examples.txt" 500 0.5)"

# 3. two-token ----------------------------------------------------------------
# Statements are "KEY : VALUE" with one word each; keys unique, values unique;
# spans and answers decode to the pair's key and value.
two_token() {
    examples "$1" | awk -F'\t' '
        { line[NR] = $0 }
        $2 == "statement" {
            n = split($5, w, " ")
            if (n != 3 || w[2] != ":") bad = bad " statement \"" $5 "\""
            if (w[1] in seen_key) bad = bad " key " w[1] " twice"
            if (w[3] in seen_value) bad = bad " value " w[3] " twice"
            seen_key[w[1]] = 1; seen_value[w[3]] = 1; key[$4] = w[1]; value[$4] = w[3]
        }
        END {
            for (l = 1; l <= NR; l++) {
                split(line[l], f, "\t"); n = split(f[5] (f[6] == "" ? "" : " " f[6]), w, " ")
                ns = split(f[7], s, ",")
                for (j = 1; j <= ns; j++) {
                    split(s[j], parts, "[:-]")
                    if (parts[3] - parts[2] != 1) bad = bad " line " l ": a span of " parts[3] - parts[2] " words"
                    want = parts[1] == "key" ? key[f[4]] : value[f[4]]
                    if (w[parts[2] + 1] != want) bad = bad " line " l ": " parts[1] " span is " w[parts[2] + 1]
                }
                if (f[3] == "forward" && f[6] != value[f[4]]) bad = bad " line " l ": forward answer"
                if (f[3] == "backward" && f[6] != key[f[4]]) bad = bad " line " l ": backward answer"
            }
            print (bad == "" ? "ok" : substr(bad, 1, 300))
        }'
}
check_ok "two-token: one-token keys and values, unique, spans and answers decode to them" \
    "$(two_token "$T/two-token-a/examples.txt")"

# 4. relationship -------------------------------------------------------------
# The statement "A => B => C" gives the triple; all 3N entities are distinct;
# every A/B/C span decodes to the triple's entity; forward "B =>" answers C with
# alt A, backward "B <=" answers A with alt C. RELATIONSHIP FILE [Q]: Q is
# what ends a question's prompt after the arrow ("?" with --question-mark).
relationship() {
    examples "$1" | awk -F'\t' -v q="${2:+ $2}" '
        { line[NR] = $0 }
        $2 == "statement" {
            n = split($5, part, " => ")
            if (n != 3) { bad = bad " statement \"" $5 "\""; next }
            for (i = 1; i <= 3; i++) {
                if (part[i] in seen) bad = bad " entity \"" part[i] "\" twice"
                seen[part[i]] = 1
            }
            A[$4] = part[1]; B[$4] = part[2]; C[$4] = part[3]; triples++
        }
        END {
            for (l = 1; l <= NR; l++) {
                split(line[l], f, "\t"); n = split(f[5] (f[6] == "" ? "" : " " f[6]), w, " ")
                ns = split(f[7], s, ",")
                for (j = 1; j <= ns; j++) {
                    split(s[j], parts, "[:-]"); words = ""
                    for (i = parts[2] + 1; i <= parts[3]; i++) words = words (words == "" ? "" : " ") w[i]
                    want = parts[1] == "A" ? A[f[4]] : parts[1] == "B" ? B[f[4]] : parts[1] == "C" ? C[f[4]] : "?"
                    if (words != want) bad = bad " line " l ": " parts[1] " span is \"" words "\""
                }
                if (f[3] == "forward" && (f[5] != B[f[4]] " =>" q || f[6] != C[f[4]] || f[8] != A[f[4]]))
                    bad = bad " line " l ": forward question is not B =>" q " C (alt A)"
                if (f[3] == "backward" && (f[5] != B[f[4]] " <=" q || f[6] != A[f[4]] || f[8] != C[f[4]]))
                    bad = bad " line " l ": backward question is not B <=" q " A (alt C)"
            }
            print (bad == "" && triples > 0 ? "ok" : substr(bad " (" triples " triples)", 1, 300))
        }'
}
check_ok "relationship: entities unique, spans decode, answers and alt answers right" \
    "$(relationship "$T/relationship-a/examples.txt")"
check_ok "relationship: the same with --pool 40 --entity-tokens 3 (shared tokens)" \
    "$(relationship "$T/relationship-shared/examples.txt")"
"$DATA" --task relationship --triples 200 --entity-tokens 1 --question-mark --out "$T/relationship-q" >/dev/null
"$DATA" --task relationship --triples 200 --entity-tokens 1 --out "$T/relationship-noq" >/dev/null
check_ok "relationship --question-mark: questions \"B => ?\" -> C and \"B <= ?\" -> A, spans decode" \
    "$(relationship "$T/relationship-q/examples.txt" "?")"
check "relationship --question-mark: the same triples and splits as without it, only the '?' added" \
    "the data differ beyond the '?'" cmp -s <(examples "$T/relationship-noq/examples.txt" | cut -f1-5) \
    <(examples "$T/relationship-q/examples.txt" | cut -f1-5 | sed 's/ \([<=]=*>*\) ?$/ \1/')

# 5. bios ---------------------------------------------------------------------
# Per person (pair): the name is read from the forward question's prompt
# "What is the birth date of NAME ?", the date from the backward one's "Who was
# born on DATE ?". Names unique, dates unique; every "name" span of the person's
# lines decodes to the name and every "birth_date" span to the date; the answers
# are date (forward) and name (backward); a biography has six name spans and one
# span of each other attribute, and its university, field and company spans are
# entries of the lists.
bios() {  # file n_people fields_dir [biographies a person]
    examples "$1" | awk -F'\t' -v people="$2" -v dir="$3" -v per="${4:-1}" '
        BEGIN {
            # list entries with the tokenizer spacing (", " -> " , ")
            while ((getline x < (dir "/university.txt")) > 0) { sub(/\r$/, "", x); university[x] = 1 }
            while ((getline x < (dir "/field.txt")) > 0) { sub(/\r$/, "", x); field[x] = 1 }
            while ((getline x < (dir "/company.txt")) > 0) { sub(/\r$/, "", x); sub(/;.*/, "", x); company[x] = 1 }
        }
        { line[NR] = $0 }
        $3 == "forward" {
            if ($5 !~ /^What is the birth date of .* \?$/) bad = bad " forward prompt \"" $5 "\""
            name = $5; sub(/^What is the birth date of /, "", name); sub(/ \?$/, "", name)
            if (name in name_seen) bad = bad " name \"" name "\" twice"
            name_seen[name] = 1; NAME[$4] = name; n_people++
        }
        $3 == "backward" {
            date = $5; sub(/^Who was born on /, "", date); sub(/ \?$/, "", date)
            if (date !~ /^(January|February|March|April|May|June|July|August|September|October|November|December) ([1-9]|1[0-9]|2[0-8]) , (19|20)[0-9][0-9]$/)
                bad = bad " date \"" date "\""
            if (date in date_seen) bad = bad " date \"" date "\" twice"
            date_seen[date] = 1; DATE[$4] = date
        }
        END {
            for (l = 1; l <= NR; l++) {
                split(line[l], f, "\t"); n = split(f[5] (f[6] == "" ? "" : " " f[6]), w, " ")
                ns = split(f[7], s, ","); delete label_count
                for (j = 1; j <= ns; j++) {
                    split(s[j], parts, "[:-]"); words = ""; label_count[parts[1]]++
                    for (i = parts[2] + 1; i <= parts[3]; i++) words = words (words == "" ? "" : " ") w[i]
                    if (parts[1] == "name" && words != NAME[f[4]]) bad = bad " line " l ": name span \"" words "\""
                    if (parts[1] == "birth_date" && words != DATE[f[4]]) bad = bad " line " l ": date span \"" words "\""
                    if (dir != "" && parts[1] == "university" && !(words in university)) bad = bad " line " l ": university \"" words "\""
                    if (dir != "" && parts[1] == "field" && !(words in field)) bad = bad " line " l ": field \"" words "\""
                    if (dir != "" && parts[1] == "company" && !(words in company)) bad = bad " line " l ": company \"" words "\""
                }
                if (f[2] == "statement") {
                    bios_count++
                    if (label_count["name"] != 6) bad = bad " line " l ": " label_count["name"] " name spans"
                    split("birth_date birth_city university field company work_city", attrs, " ")
                    for (a = 1; a <= 6; a++) if (label_count[attrs[a]] != 1) bad = bad " line " l ": " label_count[attrs[a]] + 0 " " attrs[a] " spans"
                }
                if (f[3] == "forward" && f[6] != DATE[f[4]]) bad = bad " line " l ": forward answer is not the date"
                if (f[3] == "backward" && f[6] != NAME[f[4]]) bad = bad " line " l ": backward answer is not the name"
            }
            if (n_people != people || bios_count != per * people) bad = bad " " n_people " people and " bios_count " biographies, want " people " and " per * people
            print (bad == "" ? "ok" : substr(bad, 1, 300))
        }'
}
check_ok "bios: names and dates unique, spans decode to them, one biography per person" \
    "$(bios "$T/bios-a/examples.txt" 500 lists/bios)"
check_ok "bios: the same with --shuffle-sentences" "$(bios "$T/bios-shuffled/examples.txt" 300 lists/bios)"
"$DATA" --task bios --people 300 --shuffle-sentences --bios-per-person 3 --out "$T/bios-x3" >/dev/null
check_ok "bios --bios-per-person 3: three biographies a person, each with every attribute, spans decode" \
    "$(bios "$T/bios-x3/examples.txt" 300 lists/bios 3)"
check "bios --bios-per-person 3: the same people and questions as with one biography" "the questions differ" \
    cmp -s <(examples "$T/bios-shuffled/examples.txt" | grep -v $'\tstatement\t' | sort) \
    <(examples "$T/bios-x3/examples.txt" | grep -v $'\tstatement\t' | sort)
check "bios --bios-per-person 3: a person's three biographies are not all the same text" "some person's are identical" \
    test "$(examples "$T/bios-x3/examples.txt" | awk -F'\t' '$2 == "statement" { t[$4] = t[$4] "|" $5; n[$4]++; if (!(($4 SUBSEP $5) in s)) d[$4]++; s[$4, $5] = 1 } END { for (p in n) if (d[p] < 2) c++; print c + 0 }')" = 0
# the fixed order starts every biography with the birth date sentence; the shuffled one does not
first_attribute() { examples "$1" | awk -F'\t' '$2 == "statement" { split($7, s, ","); split(s[2], p, ":"); print p[1] }' | sort | uniq -c | wc -l; }
check "bios: sentence order is fixed by default and varies with --shuffle-sentences" \
    "distinct first attributes: $(first_attribute "$T/bios-a/examples.txt") and $(first_attribute "$T/bios-shuffled/examples.txt")" \
    test "$(first_attribute "$T/bios-a/examples.txt")" = 1 -a "$(first_attribute "$T/bios-shuffled/examples.txt")" = 6
# punctuation is written as separate words: no word ends in a comma but "," itself
check "bios: commas are words of their own (\"Ann Arbor , MI\")" "found a word ending in ','" \
    eval '! examples "$T/bios-a/examples.txt" | cut -f5,6 | tr "\t" " " | tr " " "\n" | grep -q ".,$"'
# the project's own lists: one entry a line, sizes large enough for 10000 names
sizes=""; sizes_ok=1
for f_min in first_name:100 middle_name:100 last_name:200 city:50 university:50 field:30 company:50; do
    f=${f_min%%:*}; min=${f_min##*:}; n=$(grep -c . "lists/bios/$f.txt")
    sizes="$sizes $f=$n"; [ "$n" -ge "$min" ] || sizes_ok=0
done
check "lists/bios: >= 100 first, 100 middle, 200 last, 50 cities, 50 universities, 30 fields, 50 companies" \
    "$sizes" test $sizes_ok = 1
# the original BioS lists (read from the shared data, never copied): full size
SHARED_FIELDS=../shared/data/bios-fields
if [ -d "$SHARED_FIELDS" ]; then
    "$DATA" --task bios --fields "$SHARED_FIELDS" --out "$T/bios-shared" >/dev/null 2>"$T/err.txt" ||
        fail "bios --fields $SHARED_FIELDS runs" "$(head -c 200 "$T/err.txt")"
    check_ok "bios --fields $SHARED_FIELDS: 10000 people, unique names and dates, spans decode" \
        "$(bios "$T/bios-shared/examples.txt" 10000 "")"
    check "bios --fields $SHARED_FIELDS: commas are words of their own" "found a word ending in ','" \
        eval '! examples "$T/bios-shared/examples.txt" | cut -f5,6 | tr "\t" " " | tr " " "\n" | grep -q ".,$"'
else
    echo "SKIP: bios --fields with the original lists ($SHARED_FIELDS not found)"
fi

# without --fields the lists are the repository's lists/bios, found from where the
# program is (build/../lists/bios): the same data from any working directory; a copy
# of the program elsewhere falls back to lists/bios of the working directory
REPO=$(pwd)
mkdir -p "$T/elsewhere" "$T/bin"
cp "$DATA" "$T/bin/01_data"
bios_flags="--task bios --people 300 --shuffle-sentences --bios-per-person 2"
"$DATA" $bios_flags --out "$T/bios-root" >/dev/null 2>"$T/err.txt" || fail "bios from the repository root runs" "$(head -c 200 "$T/err.txt")"
(cd "$T/elsewhere" && "$REPO/$DATA" $bios_flags --out "$T/bios-elsewhere" >/dev/null 2>"$T/err.txt")
check "bios without --fields, run from another directory: the same examples.txt as from the repository root" \
    "$(head -c 200 "$T/err.txt")" \
    eval '[ ! -e "$T/elsewhere/lists" ] && [ -s "$T/bios-root/examples.txt" ] && cmp -s "$T/bios-root/examples.txt" "$T/bios-elsewhere/examples.txt"'
"$T/bin/01_data" $bios_flags --out "$T/bios-copy" >/dev/null 2>"$T/err.txt"
check "bios without --fields, a copy of the program run from the repository root: lists/bios of the working directory" \
    "$(head -c 200 "$T/err.txt")" cmp -s "$T/bios-root/examples.txt" "$T/bios-copy/examples.txt"
(cd "$T/elsewhere" && "$T/bin/01_data" $bios_flags --out "$T/bios-nowhere" >/dev/null 2>"$T/err.txt"); rc=$?
check "bios without --fields and no lists/bios beside the program or here: an error that says --fields, no output" \
    "exit $rc: $(head -c 200 "$T/err.txt")" \
    eval '[ $rc -ne 0 ] && grep -q "pass --fields DIR" "$T/err.txt" && [ ! -e "$T/bios-nowhere" ]'
"$DATA" $bios_flags --fields lists/bios --out "$T/bios-given" >/dev/null 2>"$T/err.txt"
check "bios --fields lists/bios (given) from the repository root: the same examples.txt as the default" \
    "$(head -c 200 "$T/err.txt")" cmp -s "$T/bios-root/examples.txt" "$T/bios-given/examples.txt"

# 6. star ---------------------------------------------------------------------
# Parse "u , v | ... / s , g =" and the answer "x1 , ... , xl". The graph must be
# a star: d*(l-1) edges over 1+d*(l-1) distinct labels in [0, n), the start with d
# edges out, every other node with one edge in and at most one out. The answer
# must start at s, end at g, have l nodes and follow edges of the prompt. The
# start/goal/path spans decode to s, g and the answer. No problem appears twice
# (same edge set and query), so train and test are disjoint.
star() {  # file d l n
    examples "$1" | awk -F'\t' -v d="$2" -v l="$3" -v nodes="$4" '
        {
            np = split($5, w, " "); delete out; delete in_deg; delete label; n_edges = 0; ok = 1
            for (i = 1; i + 3 <= np && w[i] != "/"; i += 4) {
                u = w[i]; v = w[i + 2]
                if (w[i + 1] != "," || (w[i + 3] != "|" && w[i + 3] != "/")) { ok = 0; break }
                out[u] = out[u] " " v; out_deg[NR, u]++; in_deg[v]++; label[u] = 1; label[v] = 1
                edge[NR, u, v] = 1; edges[++n_edges] = u "," v
                if (w[i + 3] == "/") { i += 4; break }
            }
            s = w[i]; g = w[i + 2]
            if (!ok || w[i + 1] != "," || w[i + 3] != "=" || i + 3 != np) { bad = bad " line " NR ": prompt form"; next }
            n_labels = 0
            for (x in label) { n_labels++; if (x !~ /^[0-9]+$/ || x + 0 >= nodes) bad = bad " line " NR ": label " x }
            if (n_edges != d * (l - 1) || n_labels != 1 + d * (l - 1)) bad = bad " line " NR ": " n_edges " edges, " n_labels " labels"
            if (out_deg[NR, s] != d || (s in in_deg)) bad = bad " line " NR ": start " s " is not the center"
            for (x in in_deg) if (in_deg[x] != 1 || (x != s && out_deg[NR, x] > 1)) bad = bad " line " NR ": node " x " is not on an arm"
            na = split($6, a, " , ")
            if (na != l || a[1] != s || a[na] != g) bad = bad " line " NR ": answer " $6 " (s " s ", g " g ")"
            for (j = 1; j < na; j++) if (!((NR, a[j], a[j + 1]) in edge)) bad = bad " line " NR ": " a[j] "->" a[j + 1] " is not an edge"
            # spans: start and goal in the prompt, path = the answer
            ns = split($7, sp, ","); all = $5 " " $6; split(all, aw, " ")
            for (j = 1; j <= ns; j++) {
                split(sp[j], parts, "[:-]"); words = ""
                for (k = parts[2] + 1; k <= parts[3]; k++) words = words (words == "" ? "" : " ") aw[k]
                want = parts[1] == "start" ? s : parts[1] == "goal" ? g : parts[1] == "path" ? $6 : "?"
                if (words != want) bad = bad " line " NR ": " parts[1] " span is \"" words "\""
            }
            # the problem without the edge order: sorted edges and the query
            for (j = 2; j <= n_edges; j++)  # insertion sort of the edge strings
                for (k = j; k > 1 && edges[k - 1] > edges[k]; k--) { t = edges[k]; edges[k] = edges[k - 1]; edges[k - 1] = t }
            key = ""; for (j = 1; j <= n_edges; j++) key = key edges[j] "|"; delete edges
            key = key "/" s "," g
            if (key in seen) bad = bad " line " NR ": same problem as line " seen[key] " (" $1 " and " split_of[key] ")"
            seen[key] = NR; split_of[key] = $1
            if ($2 != "problem" || $3 != "forward") bad = bad " line " NR ": kind " $2 " direction " $3
        }
        END { if (NR == 0) bad = " no lines"; print (bad == "" ? "ok" : substr(bad, 1, 300)) }'
}
check_ok "star: graphs are stars, answers are paths from s to g along prompt edges, spans decode, no problem repeated" \
    "$(star "$T/star-a/examples.txt" 2 5 50)"
check_ok "star (--nodes 9): the same, train and test disjoint" "$(star "$T/star-tight/examples.txt" 2 5 9)"
"$DATA" --task star --degree 3 --path-length 4 --nodes 20 --train-graphs 200 --test-graphs 50 --out "$T/star-d3" >/dev/null
check_ok "star (--degree 3 --path-length 4 --nodes 20): the same" "$(star "$T/star-d3/examples.txt" 3 4 20)"
counts_star=$(examples "$T/star-a/examples.txt" | cut -f1 | sort | uniq -c | tr -s ' ' | tr '\n' ' ')
check "star: 300 train and 100 test problems" "got $counts_star" test "$counts_star" = " 100 test  300 train "
# the goal arm is chosen at random: the second path node (the "hard" token) is not always the same arm
check "star: goals on both arms" "$(examples "$T/star-a/examples.txt" | head -1)" \
    eval '[ $(examples "$T/star-a/examples.txt" | awk -F"\t" "{ split(\$6, a, \" , \"); split(\$5, w, \" \"); print (w[1] == a[1] && w[3] == a[2]) }" | sort -u | wc -l) = 2 ]'

# 7. --reverse ----------------------------------------------------------------
# Each mode adds one reversed statement per train line; test lines are unchanged.
# Undoing the reversal gives back a train line: token mode reverses the words,
# entity modes reverse the chunks (an entity span or a single word) after the
# [ent] [/ent] delimiters are dropped; the spans move with their entity.
unreverse_check() {  # plain-file reversed-file mode
    { examples "$1" | awk -F'\t' '$1 == "train" { print "ORIG\t" $5 ($6 == "" ? "" : " " $6) "\t" $3 }'
      examples "$2" | awk -F'\t' '$1 == "train" { print "ALL\t" $0 }'; } |
    awk -F'\t' -v mode="$3" '
        $1 == "ORIG" { orig[$2]++; orig_dir[$2] = $3; n_orig++; next }
        {
            # fields shift by one: $2 split, $3 kind, $4 direction, $5 pair, $6 prompt, $7 answer, $8 spans
            text = $6 ($7 == "" ? "" : " " $7)
            if (text in orig) { orig_seen[text]++; next }
            n_rev++
            if ($3 != "statement") bad = bad " reversed line " n_rev " is a " $3
            n = split(text, w, " "); delete span_end_at
            ns = split($8, s, ",")
            for (j = 1; j <= ns; j++) { split(s[j], p, "[:-]"); span_end_at[p[2]] = p[3] }
            # chunks in order: a span (its words) or one word; delimiters dropped
            nc = 0
            for (i = 1; i <= n;) {
                if (((i - 1) in span_end_at)) {
                    e = span_end_at[i - 1]; chunk = ""
                    if (mode == "entity" && (w[i - 1] != "[ent]" || w[e + 1] != "[/ent]")) bad = bad " reversed line " n_rev ": entity without delimiters"
                    for (k = i; k <= e; k++) chunk = chunk (chunk == "" ? "" : " ") w[k]
                    c[++nc] = chunk; is_entity[nc] = 1; i = e + 1
                } else { if (w[i] != "[ent]" && w[i] != "[/ent]") { c[++nc] = w[i]; is_entity[nc] = 0 } ; i++ }
            }
            back = ""
            if (mode == "token") { for (i = n; i >= 1; i--) back = back (back == "" ? "" : " ") w[i] }
            else { for (j = nc; j >= 1; j--) back = back (back == "" ? "" : " ") c[j] }
            if (!(back in orig)) bad = bad " reversed line " n_rev " does not undo to a train line: " back
            # the copy of a query keeps its direction (so validation can hold it out), a statement'"'"'s is none
            else if ($4 != orig_dir[back]) bad = bad " reversed line " n_rev " has direction " $4 ", its line " orig_dir[back]
        }
        END {
            if (n_rev != n_orig) bad = bad " " n_rev " reversed lines for " n_orig " train lines"
            print (bad == "" ? "ok" : substr(bad, 1, 300))
        }'
}
"$DATA" --task relationship --triples 100 --seed 5 --out "$T/rev-none" >/dev/null
"$DATA" --task bios --people 60 --seed 5 --out "$T/rev-bios-none" >/dev/null
for mode in token entity entity-nodelim; do
    "$DATA" --task relationship --triples 100 --seed 5 --reverse $mode --out "$T/rev-$mode" >/dev/null
    "$DATA" --task bios --people 60 --seed 5 --reverse $mode --out "$T/rev-bios-$mode" >/dev/null
    check_ok "--reverse $mode (relationship): one reversed copy per train line, undoing it gives the line" \
        "$(unreverse_check "$T/rev-none/examples.txt" "$T/rev-$mode/examples.txt" $mode)"
    check_ok "--reverse $mode (bios): the same" \
        "$(unreverse_check "$T/rev-bios-none/examples.txt" "$T/rev-bios-$mode/examples.txt" $mode)"
    check "--reverse $mode: test lines unchanged" "test lines differ" \
        cmp -s <(grep $'^test\t' "$T/rev-none/examples.txt") <(grep $'^test\t' "$T/rev-$mode/examples.txt")
    check_ok "--reverse $mode: spans inside their line" "$(generic "$T/rev-bios-$mode/examples.txt")"
    check_ok "--reverse $mode: no test question in train" "$(no_leak "$T/rev-$mode/examples.txt")"
done
"$DATA" --task relationship --triples 100 --seed 5 --question-mark --out "$T/rev-q-none" >/dev/null
"$DATA" --task relationship --triples 100 --seed 5 --question-mark --reverse entity --out "$T/rev-q-entity" >/dev/null
check_ok "--reverse entity with --question-mark (relationship): undoing each reversed copy gives its line" \
    "$(unreverse_check "$T/rev-q-none/examples.txt" "$T/rev-q-entity/examples.txt" entity)"

# 8. the rest of the pipeline accepts every task -----------------------------
TINY="--layers 1 --heads 2 --embd 32 --steps 5 --batch 8 --warmup 1 --eval-every 5 --eval-limit 16 --quiet"
for d in two-token-a relationship-a bios-a star-a rev-entity; do
    if ! "$TOK" --in "$T/$d/examples.txt" >"$T/tok.log" 2>&1; then
        fail "$d: 02_tokenize accepts it" "$(tail -1 "$T/tok.log")"; continue
    fi
    unk=$(grep -o 'vocabulary (now <unk>): [0-9]*' "$T/tok.log" | grep -o '[0-9]*$')
    check "$d: 02_tokenize accepts it, every test word is in the train vocabulary" "$unk <unk> words" test "$unk" = 0
    for trainer in 04_train_ar 05_train_mlmu; do
        # shellcheck disable=SC2086
        build/$trainer --data "$T/$d" --out "$T/$d/run-$trainer" $TINY >"$T/train.log" 2>&1
        check "$d: $trainer trains a tiny model for 5 steps" "$(tail -c 200 "$T/train.log")" \
            test -s "$T/$d/run-$trainer/model.ckpt"
    done
done

# 9. bad input ----------------------------------------------------------------
# expect_error NAME DIR FILE_TEXT PROBLEM_TEXT COMMAND...: the command must exit
# non-zero, its stderr must contain FILE_TEXT and PROBLEM_TEXT, and DIR must
# not change (no new file, no *.tmp left behind).
expect_error() {
    local name=$1 dir=$2 file_text=$3 problem_text=$4; shift 4
    local before after rc
    before=$(ls -A "$dir" 2>&1)
    "$@" >/dev/null 2>"$T/err.txt"; rc=$?
    after=$(ls -A "$dir" 2>&1)
    local err; err=$(head -c 200 "$T/err.txt" | tr '\n' ' ')
    if [ "$rc" -eq 0 ]; then fail "$name" "exit status 0"
    elif ! grep -qF -e "$file_text" "$T/err.txt"; then fail "$name" "stderr does not name '$file_text': $err"
    elif ! grep -qF -e "$problem_text" "$T/err.txt"; then fail "$name" "stderr does not say '$problem_text': $err"
    elif [ "$before" != "$after" ]; then fail "$name" "'$dir' changed: [$before] -> [$after]"
    else pass "$name"
    fi
}
B="$T/bad"
mkdir -p "$B/out"
# list directories: copies of lists/bios with one thing broken
broken_lists() {  # name: a fresh copy in $B/name
    rm -rf "${B:?}/$1"; cp -r lists/bios "$B/$1"
}
broken_lists missing; rm "$B/missing/company.txt"
expect_error "bios: a missing list file" "$B/out" "$B/missing/company.txt" "cannot open" \
    "$DATA" --task bios --fields "$B/missing" --out "$B/out/x"
broken_lists empty; : >"$B/empty/field.txt"
expect_error "bios: an empty list file" "$B/out" "$B/empty/field.txt" "no entries" \
    "$DATA" --task bios --fields "$B/empty" --out "$B/out/x"
broken_lists company; sed -i '7s/;/ -/' "$B/company/company.txt"
expect_error "bios: a company line without ';'" "$B/out" "$B/company/company.txt:7:" "Company; City, ST" \
    "$DATA" --task bios --fields "$B/company" --out "$B/out/x"
broken_lists dup; sed -i '12s/.*/Adele/' "$B/dup/first_name.txt"
expect_error "bios: a duplicate first name" "$B/out" "$B/dup/first_name.txt:12:" "duplicate entry 'Adele' (also on line 1)" \
    "$DATA" --task bios --fields "$B/dup" --out "$B/out/x"
broken_lists tab; sed -i '3s/$/\tx/' "$B/tab/city.txt"
expect_error "bios: a tab in a list entry" "$B/out" "$B/tab/city.txt:3:" "tab" \
    "$DATA" --task bios --fields "$B/tab" --out "$B/out/x"
broken_lists few; for f in first_name middle_name last_name; do head -5 lists/bios/$f.txt >"$B/few/$f.txt"; done
expect_error "bios: name lists too short for --people" "$B/out" "$B/few/last_name.txt" "only 125 full names" \
    "$DATA" --task bios --fields "$B/few" --people 126 --out "$B/out/x"
check "bios: name lists just long enough (125 people from 5 x 5 x 5)" "$(head -c 200 "$T/err.txt")" \
    eval '"$DATA" --task bios --fields "$B/few" --people 125 --out "$T/few-ok" >/dev/null 2>"$T/err.txt" &&
          [ "$(bios "$T/few-ok/examples.txt" 125 "")" = ok ]'
expect_error "bios: more people than birth dates" "$B/out" "--people" "67200 distinct birth dates" \
    "$DATA" --task bios --people 67201 --out "$B/out/x"
expect_error "star: more nodes in a graph than labels" "$B/out" "--nodes" "9 nodes" \
    "$DATA" --task star --nodes 8 --out "$B/out/x"
expect_error "star: more problems than exist" "$B/out" "--nodes" "only 120 distinct" \
    "$DATA" --task star --nodes 5 --path-length 3 --train-graphs 100 --test-graphs 21 --out "$B/out/x"
expect_error "relationship: --pool too small" "$B/out" "--pool" "allows only 20" \
    "$DATA" --task relationship --triples 10 --pool 5 --out "$B/out/x"
expect_error "a flag of another task" "$B/out" "--people" "not an option of --task star" \
    "$DATA" --task star --people 10 --out "$B/out/x"
expect_error "--entity-tokens for two-token" "$B/out" "--entity-tokens" "not an option of --task two-token" \
    "$DATA" --task two-token --entity-tokens 2 --out "$B/out/x"
expect_error "an unknown task" "$B/out" "--task 'stars'" "not a task" \
    "$DATA" --task stars --out "$B/out/x"
expect_error "an unknown --reverse mode" "$B/out" "--reverse 'backwards'" "not a mode" \
    "$DATA" --task relationship --reverse backwards --out "$B/out/x"
expect_error "--reverse for star (only problems)" "$B/out" "--reverse token" "no train statements or queries" \
    "$DATA" --task star --reverse token --train-graphs 10 --test-graphs 2 --out "$B/out/x"
expect_error "star: nonsense --degree" "$B/out" "--degree" "expects an integer" \
    "$DATA" --task star --degree two --out "$B/out/x"
exit 0
