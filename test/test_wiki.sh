#!/usr/bin/env bash
# Tests of `01_data --task wikireversal` (paper section 3.2, Appendix E).
#
#   * a hand-made 10-record fixture (test/fixtures/wiki/, see its README.md) in both
#     GenWiki forms: known survivors of the forward filter, the uniqueness filter and
#     the relation-count threshold; both forms give the same examples
#   * determinism, no test question in train, both split modes, spans that decode
#     back to the entity strings, 02_tokenize accepts it, a 3-step training run
#   * malformed inputs: each must exit non-zero naming the file and line, and leave
#     no examples.txt behind
#   * the GenWiki-Hard sample in ../shared/data, when present (SKIP otherwise)
# Run from the repository root after `make`; prints PASS:/FAIL:/SKIP: lines.
set -u
cd "$(dirname "$0")/.."
DATA=build/01_data
TOK=build/02_tokenize
TRAIN=build/04_train_ar
for b in "$DATA" "$TOK" "$TRAIN"; do
    if [ ! -x "$b" ]; then echo "FAIL: $b is not built (run make)"; exit 1; fi
done
FIX=test/fixtures/wiki
HARD=../shared/data/genwiki-hard/test.source
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
examples() { grep -v '^#' "$1"; }  # the example lines, without the comment lines
wiki() { "$DATA" --task wikireversal "$@"; }

# ---------------------------------------------------------------------------
# 1. the fixture: what survives which filter
# ---------------------------------------------------------------------------
wiki --genwiki $FIX/ten.source --min-relation-count 2 --out "$T/src" >"$T/src.log" 2>&1 ||
    fail "wikireversal runs on ten.source" "$(tail -1 "$T/src.log")"
wiki --genwiki $FIX/ten.json --min-relation-count 2 --out "$T/json" >"$T/json.log" 2>&1 ||
    fail "wikireversal runs on ten.json" "$(tail -1 "$T/json.log")"

for form in src json; do
    log="$T/$form.log"
    check "$form: 10 passages, 17 triples read, 1 row of 4 elements skipped" "$(head -1 "$log")" \
        grep -q "10 passages, 17 triples read (skipped: 1 rows of 4 or 5" "$log"
    check "$form: 13 forward triples (Ede Fox, Gmund, Salz, singer are not)" "$(sed -n 2p "$log")" \
        grep -q "^wikireversal: 13 triples have the head before the tail" "$log"
    check "$form: 9 pass the uniqueness filter (country Austria x2, Ida Gray spouse x2 go)" "$(sed -n 3p "$log")" \
        grep -q "^wikireversal: 9 of them have a unique" "$log"
    check "$form: threshold 2 keeps 3 of 5 relations, 7 triples, 7 passages" "$(sed -n 4p "$log")" \
        grep -q "^wikireversal: 3 of 5 relations have at least 2 such triples (--min-relation-count): 7 triples kept, from 7 passages" "$log"
done
check "the native JSON form gives the same examples as .source/.target" "they differ" \
    cmp -s <(examples "$T/src/examples.txt") <(examples "$T/json/examples.txt")

# every QA, whatever its split: exactly these 14 (prompt TAB answer), no others
cat >"$T/want_qas.txt" <<'EOF'
What is Albeck part of ?	Carinthia
What is part of Carinthia ?	Albeck
What is Birkfeld part of ?	Styria
What is part of Styria ?	Birkfeld
Where was Anna Berg born ?	Graz
Who was born in Graz ?	Anna Berg
Where was Carl Dorn born ?	Linz
Who was born in Linz ?	Carl Dorn
Where is Hall located ?	Tyrol
What is located in Tyrol ?	Hall
Where is Wörthersee located ?	Carinthia
What is located in Carinthia ?	Wörthersee
Where was Mia Nox born ?	Salzburg
Who was born in Salzburg ?	Mia Nox
EOF
examples "$T/src/examples.txt" | awk -F'\t' '$2 == "query" { print $5 "\t" $6 }' | sort >"$T/got_qas.txt"
check "exactly the 14 expected QAs (7 triples x 2 directions)" \
    "$(diff <(sort "$T/want_qas.txt") "$T/got_qas.txt" | head -4 | tr '\n\t' '  ')" \
    cmp -s <(sort "$T/want_qas.txt") "$T/got_qas.txt"
# the 7 passages that have a kept triple, and only those (all train statements)
got=$(examples "$T/src/examples.txt" | awk -F'\t' '$2 == "statement" { print $1 "|" $5 }' | sort | tr '\n' '#')
want=$(printf '%s\n' "Albeck is a village in Carinthia , Austria ." "Birkfeld is a town in Styria , Austria ." \
    "Anna Berg ( born 1950 in Graz ) is a painter ." "Carl Dorn was born in Linz and died in Wels ." \
    "Hall is a town in Tyrol ." "Wörthersee is a lake in Carinthia ." "Mia Nox , born in Salzburg , sings ." |
    sed 's/^/train|/' | sort | tr '\n' '#')
check "the 7 passages with a kept triple are train statements (spaces normalised)" "got $got" test "$got" = "$want"
check "a specific line: the statement of Carl Dorn with its spans" "not found" \
    grep -qxF "$(printf 'train\tstatement\tnone\t3\tCarl Dorn was born in Linz and died in Wels .\t\thead:0-2,tail:5-6\t')" \
    "$T/src/examples.txt"
check "a specific line: the backward QA of Albeck (seed 1: in test)" "not found" \
    grep -qxF "$(printf 'test\tquery\tbackward\t0\tWhat is part of Carinthia ?\tAlbeck\ttail:4-5,head:6-7\t')" \
    "$T/src/examples.txt"

wiki --genwiki $FIX/ten.source --min-relation-count 3 --out "$T/min3" >"$T/min3.log" 2>&1
got=$(examples "$T/min3/examples.txt" | awk -F'\t' '$2 == "query" { print $6 }' | sort -u | tr '\n' ',')
check "--min-relation-count 3 keeps only birthPlace (3 triples, 6 QAs)" "answers $got" \
    test "$got" = "Anna Berg,Carl Dorn,Graz,Linz,Mia Nox,Salzburg,"
wiki --genwiki $FIX/ten.source --min-relation-count 4 --out "$T/min4" >"$T/min4.log" 2>&1
check "--min-relation-count 4 keeps nothing: an error, no output" "$(tail -1 "$T/min4.log")" \
    eval '! [ -e "$T/min4/examples.txt" ] && grep -q "no triple survives" "$T/min4.log"'

# ---------------------------------------------------------------------------
# 2. determinism, splits, spans
# ---------------------------------------------------------------------------
wiki --genwiki $FIX/ten.source --min-relation-count 2 --out "$T/again" >/dev/null 2>&1
check "same seed gives an identical examples.txt" "files differ" cmp -s "$T/src/examples.txt" "$T/again/examples.txt"
wiki --genwiki $FIX/ten.source --min-relation-count 2 --seed 2 --out "$T/seed2" >/dev/null 2>&1
check "another seed gives other examples (order, split)" "identical" \
    eval '! cmp -s <(examples "$T/src/examples.txt") <(examples "$T/seed2/examples.txt")'

# split_report FILE: "ok" if no test question (prompt) appears in train and every
# test line is a query; then "same" if each triple's two QAs are always in one
# split, else "different"; then the train/test query counts by direction.
split_report() {
    examples "$1" | awk -F'\t' '
        $1 == "train" { train_prompt[$5] = 1 }
        $2 == "query" { split_of[$4, $3] = $1; pairs[$4] = 1; count[$1 " " $3]++ }
        $1 == "test"  { if ($2 != "query") bad = bad " test-" $2; test_prompt[++nt] = $5 }
        END {
            for (i = 1; i <= nt; i++) if (test_prompt[i] in train_prompt) bad = bad " leak:" test_prompt[i]
            mode = "same"
            for (p in pairs) if (split_of[p, "forward"] != split_of[p, "backward"]) mode = "different"
            printf "%s %s train %d/%d test %d/%d\n", (bad == "" ? "ok" : substr(bad, 1, 150)), mode,
                count["train forward"], count["train backward"], count["test forward"], count["test backward"]
        }'
}
for seed in 1 2 3; do
    wiki --genwiki $FIX/ten.source --min-relation-count 2 --qa-train-fraction 0.5 --seed $seed --out "$T/same$seed" >/dev/null 2>&1
    r=$(split_report "$T/same$seed/examples.txt")
    check "same mode, seed $seed: no test question in train, both directions of a triple together, 4/3 per direction" \
        "$r" test "$r" = "ok same train 4/4 test 3/3"
done
n_different=0
for seed in 1 2 3 4 5; do
    wiki --genwiki $FIX/ten.source --min-relation-count 2 --qa-train-fraction 0.5 --split-mode different \
        --seed $seed --out "$T/diff$seed" >/dev/null 2>&1
    r=$(split_report "$T/diff$seed/examples.txt")
    case "$r" in
        "ok same train 4/4 test 3/3") ;;
        "ok different train 4/4 test 3/3") n_different=$((n_different + 1)) ;;
        *) fail "different mode, seed $seed: no leak, 4/3 per direction" "$r" ;;
    esac
done
check "different mode: the two directions of some triple are split apart ($n_different of 5 seeds)" \
    "never, in 5 seeds" test "$n_different" -gt 0
check "different mode keeps the forward split of same mode (same seed), draws backward anew" "forward lines differ" \
    cmp -s <(examples "$T/same1/examples.txt" | awk -F'\t' '$3 == "forward"' | sort) \
    <(examples "$T/diff1/examples.txt" | awk -F'\t' '$3 == "forward"' | sort)

# span_report FILE: "ok" if, for every pair, each span labelled head/tail decodes to
# the pair's head/tail entity in its QAs (head = the backward answer, tail = the
# forward answer), the statement of the pair has both, and every statement span
# decodes to some head or tail entity.
span_report() {
    examples "$1" | awk -F'\t' '
        { line[NR] = $0 }
        $3 == "forward" { tail[$4] = $6 }
        $3 == "backward" { head[$4] = $6 }
        END {
            for (p in head) { is_head[head[p]] = 1; is_tail[tail[p]] = 1 }
            for (l = 1; l <= NR; l++) {
                split(line[l], f, "\t")
                n = split(f[5] (f[6] == "" ? "" : " " f[6]), w, " ")
                ns = split(f[7], s, ","); found_head = 0; found_tail = 0
                for (j = 1; j <= ns; j++) {
                    split(s[j], part, "[:-]")
                    text = ""
                    for (i = part[2] + 1; i <= part[3] && i <= n; i++) text = text (text == "" ? "" : " ") w[i]
                    if (f[2] == "query") {
                        want = (part[1] == "head") ? head[f[4]] : tail[f[4]]
                        if (text != want) bad = bad " line " l ": " part[1] " span \"" text "\" != \"" want "\""
                    } else {
                        if (part[1] == "head" && !(text in is_head)) bad = bad " line " l ": head span \"" text "\""
                        if (part[1] == "tail" && !(text in is_tail)) bad = bad " line " l ": tail span \"" text "\""
                    }
                    if (part[1] == "head" && text == head[f[4]]) found_head = 1
                    if (part[1] == "tail" && text == tail[f[4]]) found_tail = 1
                }
                if (!found_head || !found_tail) bad = bad " line " l ": no head or tail span of pair " f[4]
            }
            if (NR == 0) bad = " no lines"
            print (bad == "" ? "ok" : substr(bad, 1, 200))
        }'
}
r=$(span_report "$T/src/examples.txt")
check "spans decode back to the head and tail entities (fixture, UTF-8 entity too)" "$r" test "$r" = ok

# 02_tokenize accepts it and decodes it back; a 3-step training run works on it
tokenize_and_train() {  # NAME DIR
    local name=$1 dir=$2
    if ! "$TOK" --in "$dir/examples.txt" >"$T/tok.log" 2>&1; then
        fail "$name: 02_tokenize accepts the output" "$(tail -1 "$T/tok.log")"; return
    fi
    pass "$name: 02_tokenize accepts the output"
    for split in train test; do
        examples "$dir/examples.txt" | awk -F'\t' -v s=$split '$1 == s' >"$T/want.txt"
        "$TOK" --decode "$dir/$split.bin" >"$T/got.txt" 2>"$T/err.txt"
        check "$name: decode($split.bin) gives back the $split lines, spans included" \
            "$(diff "$T/want.txt" "$T/got.txt" | head -3 | tr '\n\t' '  ')$(head -c 200 "$T/err.txt")" \
            cmp -s "$T/want.txt" "$T/got.txt"
    done
    "$TRAIN" --data "$dir" --out "$dir/run" --layers 1 --heads 2 --embd 32 --batch 8 --steps 3 --warmup 1 \
        --eval-every 3 --quiet >"$T/train.log" 2>&1
    check "$name: 04_train_ar trains 3 steps on it" "$(tail -2 "$T/train.log" | tr '\n' ' ')" \
        test -s "$dir/run/model.ckpt"
}
tokenize_and_train fixture "$T/src"

# ---------------------------------------------------------------------------
# 3. malformed input: non-zero exit, FILE:LINE in the message, no examples.txt
# ---------------------------------------------------------------------------
# expect_error NAME CASE_DIR FILE_TEXT PROBLEM_TEXT -- ARGS...: runs wikireversal with
# ARGS --out CASE_DIR/out; it must fail, say FILE_TEXT and PROBLEM_TEXT on stderr
# (PROBLEM_TEXT outside the paths, which name the case), and create nothing (no
# CASE_DIR/out, no .tmp).
expect_error() {
    local name=$1 dir=$2 file_text=$3 problem_text=$4; shift 5
    local before after rc err
    before=$(ls -A "$dir")
    wiki "$@" --out "$dir/out" >/dev/null 2>"$T/err.txt"; rc=$?
    after=$(ls -A "$dir")
    err=$(head -c 240 "$T/err.txt" | tr '\n' ' ')
    if [ "$rc" -eq 0 ]; then fail "$name" "exit status 0"
    elif ! grep -qF -e "$file_text" "$T/err.txt"; then fail "$name" "stderr does not name '$file_text': $err"
    elif ! awk -v dir="$dir" '{ while ((i = index($0, dir)) > 0) $0 = substr($0, 1, i - 1) substr($0, i + length(dir)); print }' \
            "$T/err.txt" | grep -qF -e "$problem_text"; then fail "$name" "stderr does not say '$problem_text': $err"
    elif [ "$before" != "$after" ]; then fail "$name" "'$dir' changed: [$before] -> [$after]"
    else pass "$name: $err"
    fi
}
# bad_pair NAME: a fresh copy of the fixture pair in $T/bad/NAME/ (prints the directory)
bad_pair() { mkdir -p "$T/bad/$1"; cp $FIX/ten.source $FIX/ten.target $FIX/ten.json "$T/bad/$1/"; echo "$T/bad/$1"; }

d=$(bad_pair truncated); sed -i '3s/.*/[["Anna Berg", "birth Place", "Gr/' "$d/ten.source"
expect_error "truncated JSON in a .source line" "$d" "$d/ten.source:3:" "truncated" -- --genwiki "$d/ten.source"

d=$(bad_pair number); sed -i '4s/"birthPlace"/5/' "$d/ten.source"
expect_error "a number where a string is expected (.source)" "$d" "$d/ten.source:4:" "found a number" -- --genwiki "$d/ten.source"

d=$(bad_pair object); sed -i '6s/.*/{"head": "Gmund"}/' "$d/ten.source"
expect_error "an object where the array of triples is expected" "$d" "$d/ten.source:6:" "found an object" -- --genwiki "$d/ten.source"

d=$(bad_pair six); sed -i '5s/.*/[["a", "b"]]/' "$d/ten.source"
expect_error "a triple of 2 elements" "$d" "$d/ten.source:5:" "3 elements" -- --genwiki "$d/ten.source"

d=$(bad_pair utf8); sed -i '5s/city/ci\xffty/' "$d/ten.target"
expect_error "an invalid UTF-8 byte in the .target" "$d" "$d/ten.target:5:" "invalid UTF-8" -- --genwiki "$d/ten.source"

d=$(bad_pair overlong); sed -i '9s/\xc3\xb6/\xc0\xb6/' "$d/ten.target"
expect_error "an overlong UTF-8 encoding in the .target" "$d" "$d/ten.target:9:" "invalid UTF-8" -- --genwiki "$d/ten.source"

d=$(bad_pair longline)
{ sed -n 1p $FIX/ten.source; printf '[["%s", "isPartOf", "x"]]\n' "$(head -c 1100000 /dev/zero | tr '\0' a)"; sed -n '3,$p' $FIX/ten.source; } >"$d/ten.source"
expect_error "a line over 1 MiB in the .source" "$d" "$d/ten.source:2:" "limit" -- --genwiki "$d/ten.source"

d=$(bad_pair notarget); rm "$d/ten.target"
expect_error "a missing .target file" "$d" "$d/ten.target" "cannot open" -- --genwiki "$d/ten.source"

d=$(bad_pair shorter); head -n 9 $FIX/ten.target >"$d/ten.target"
expect_error "a .target with 9 lines for 10 .source lines" "$d" "$d/ten.source:10:" "line-aligned" -- --genwiki "$d/ten.source"

d=$(bad_pair trailing); sed -i '2s/$/ x/' "$d/ten.source"
expect_error "text after the JSON value" "$d" "$d/ten.source:2:" "end of file expected near 'x'" -- --genwiki "$d/ten.source"

d=$(bad_pair jsontrunc); head -c -60 $FIX/ten.json >"$d/ten.json"
last_line=$(( $(wc -l <"$d/ten.json") + 1 ))  # the cut leaves the last line without '\n'
expect_error "a truncated native .json file" "$d" "$d/ten.json:$last_line:" "truncated" -- --genwiki "$d/ten.json"

d=$(bad_pair jsontype); line=$(grep -n '"text": "<ENT_0> ( born' $FIX/ten.json | cut -d: -f1)
sed -i "${line}s/\"text\": \"[^\"]*\"/\"text\": 5/" "$d/ten.json"
expect_error "a number where the text should be (.json)" "$d" "$d/ten.json:$line:" "\"text\" must be a string, found a number" -- --genwiki "$d/ten.json"

d=$(bad_pair surrogate); line=$(grep -n '"entities": \["W' $FIX/ten.json | cut -d: -f1)
sed -i "${line}s/\\\\u00f6/\\\\uD800x/" "$d/ten.json"
expect_error "a lone \\uD800 surrogate (.json)" "$d" "$d/ten.json:$line:" "invalid Unicode '\\uD800'" -- --genwiki "$d/ten.json"

d=$(bad_pair entindex); line=$(grep -n '"text": "<ENT_0> married' $FIX/ten.json | cut -d: -f1)
sed -i "${line}s/<ENT_2>/<ENT_7>/" "$d/ten.json"
expect_error "a placeholder <ENT_7> beyond the entities (.json)" "$d" "$d/ten.json:$line:" "<ENT_7>" -- --genwiki "$d/ten.json"

d=$(bad_pair nograph); line=$(grep -n '"graph": \[\["Gmund"' $FIX/ten.json | cut -d: -f1)
sed -i "${line}s/\"graph\"/\"grph\"/" "$d/ten.json"
expect_error "a record without \"graph\" (.json)" "$d" "$d/ten.json:" "no \"graph\"" -- --genwiki "$d/ten.json"

d=$(bad_pair jsonutf8); sed -i '3s/Albeck/Alb\xe9ck/' "$d/ten.json"
expect_error "an invalid UTF-8 byte in the .json" "$d" "$d/ten.json:3:" "invalid UTF-8" -- --genwiki "$d/ten.json"

d=$(bad_pair srcutf8); sed -i '7s/Hall/H\xe4ll/' "$d/ten.source"
expect_error "an invalid UTF-8 byte in a .source string" "$d" "$d/ten.source:7:" "invalid UTF-8" -- --genwiki "$d/ten.source"

d=$(bad_pair nul); sed -i '4s/born/bo\x00rn/' "$d/ten.target"
expect_error "a NUL byte in the .target" "$d" "$d/ten.target:4:" "NUL byte" -- --genwiki "$d/ten.source"

d=$(bad_pair duplicate); line=$(grep -n '"text": "<ENT_0> lies on a lake' $FIX/ten.json | cut -d: -f1)
sed -i "${line}s/{\"text\": \"[^\"]*\",/&\"text\": \"again\",/" "$d/ten.json"
expect_error "a member twice in one record (.json)" "$d" "$d/ten.json:$line:" "duplicate object key" -- --genwiki "$d/ten.json"

d=$(bad_pair notarray); printf '\n{"text": "x", "entities": [], "graph": []}\n' >"$d/ten.json"
expect_error "a native file that is an object, not an array of records" "$d" "$d/ten.json:2:" "found an object" -- --genwiki "$d/ten.json"

d=$(bad_pair bigstring)
{ printf '[{"text": "%s",\n' "$(head -c 1100000 /dev/zero | tr '\0' a)"; printf '"entities": [], "graph": []}]\n'; } >"$d/ten.json"
expect_error "a string over 1 MiB (.json)" "$d" "$d/ten.json:1:" "limit" -- --genwiki "$d/ten.json"

# (Jansson's limit: 2048 arrays and objects open at once)
d=$(bad_pair deep); { printf '%.0s[' $(seq 3000); printf '%.0s]' $(seq 3000); } >"$d/ten.json"
expect_error "arrays nested 3000 deep (.json)" "$d" "$d/ten.json:1:" "maximum parsing depth reached" -- --genwiki "$d/ten.json"

d=$(bad_pair extension); cp $FIX/ten.source "$d/ten.txt"
expect_error "an input that is neither .source nor .json" "$d" "$d/ten.txt" "expected X.source" -- --genwiki "$d/ten.txt"

d=$(bad_pair mode)
expect_error "--split-mode sideways" "$d" "--split-mode" "same' or 'different" -- --genwiki "$d/ten.source" --split-mode sideways

# without --genwiki and without ../shared/data: say so, and how to get GenWiki
mkdir -p "$T/nowhere/deeper"
(cd "$T/nowhere/deeper" && "$OLDPWD/$DATA" --task wikireversal --out out >/dev/null 2>"$T/err.txt"); rc=$?
check "no GenWiki found: non-zero exit, names the default path and how to get GenWiki" "$(head -c 300 "$T/err.txt")" \
    eval '[ $rc -ne 0 ] && grep -q "genwiki-hard/test.source" "$T/err.txt" && grep -q "10.17617/3.YGO7EW" "$T/err.txt" && [ ! -e "$T/nowhere/deeper/out" ]'

# ---------------------------------------------------------------------------
# 4. the GenWiki-Hard sample (1,000 passages), when present
# ---------------------------------------------------------------------------
if [ ! -f "$HARD" ]; then
    echo "SKIP: GenWiki-Hard checks ($HARD not found)"
    exit 0
fi
wiki --out "$T/hard" >"$T/hard.log" 2>&1 || fail "wikireversal runs on GenWiki-Hard" "$(tail -1 "$T/hard.log")"
number_in() { grep "$1" "$T/hard.log" | head -1 | sed "s/.*$2.*/\1/"; }
read_triples=$(number_in "triples read" 'passages, \([0-9]*\) triples read')
forward=$(number_in "head before the tail" 'wikireversal: \([0-9]*\) triples have')
unique=$(number_in "have a unique" 'wikireversal: \([0-9]*\) of them')
kept=$(number_in "triples kept" ' \([0-9]*\) triples kept')
relations=$(number_in "triples kept" 'wikireversal: \([0-9]*\) of [0-9]* relations')
in_range() { [ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
check "GenWiki-Hard: about 4,227 triples read ($read_triples)" "$read_triples" in_range "$read_triples" 4200 4227
check "GenWiki-Hard: about 2,871 forward triples ($forward; whole-word match)" "$forward" in_range "$forward" 2700 2871
check "GenWiki-Hard: about 1,491 after the uniqueness filter ($unique)" "$unique" in_range "$unique" 1300 1550
check "GenWiki-Hard: a few relations survive the default threshold ($relations relations, $kept triples)" \
    "$relations relations, $kept triples" eval 'in_range "$relations" 3 40 && in_range "$kept" 100 1491'
r=$(split_report "$T/hard/examples.txt")
check "GenWiki-Hard, same mode: no test question in train, both directions together" "$r" \
    eval 'case "$r" in "ok same "*) true ;; *) false ;; esac'
wiki --out "$T/hard-diff" --split-mode different >/dev/null 2>&1
r=$(split_report "$T/hard-diff/examples.txt")
check "GenWiki-Hard, different mode: no leak, directions split apart" "$r" \
    eval 'case "$r" in "ok different "*) true ;; *) false ;; esac'
r=$(span_report "$T/hard/examples.txt")
check "GenWiki-Hard: spans decode back to the head and tail entities" "$r" test "$r" = ok
# a passage's triples share entities (one's tail is another's head): one entity in the reversed copy
wiki --out "$T/hard-rev" --reverse entity >"$T/hard-rev.log" 2>&1; rc=$?
check "GenWiki-Hard, --reverse entity: runs and adds the reversed copies" "$(tail -1 "$T/hard-rev.log")" \
    eval '[ $rc -eq 0 ] && grep -q "entity-reversed copies" "$T/hard-rev.log" && grep -q "\[ent\]" "$T/hard-rev/examples.txt"'
tokenize_and_train GenWiki-Hard "$T/hard"
exit 0
