#!/usr/bin/env bash
# Tests of the data stages: 01_data (task generator) and 02_tokenize (tokenizer).
# Run from the repository root after `make`; prints "PASS: name" or "FAIL: name (why)"
# for each check. Called by test/run_tests.sh.
set -u
cd "$(dirname "$0")/.."
DATA=build/01_data
TOK=build/02_tokenize
for b in "$DATA" "$TOK"; do
    if [ ! -x "$b" ]; then echo "FAIL: $b is not built (run make)"; exit 1; fi
done

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 ($2)"; }
# check NAME WHY-IF-FAILED COMMAND...: pass if the command succeeds
check() {
    local name=$1 why=$2; shift 2
    if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}
# the example lines of a split, without the comment lines
lines_of() { grep -v '^#' "$2" | awk -F'\t' -v s="$1" '$1 == s'; }

# ---------------------------------------------------------------------------
# data used by most checks: 200 pairs; one with shared tokens; one with 3
# tokens per entity and F * N = 47.5 (which must round to 48 pairs)
# ---------------------------------------------------------------------------
"$DATA" --pairs 200 --seed 1 --out "$T/a" >/dev/null || fail "01_data runs" "exit $?"
"$DATA" --pairs 200 --seed 1 --out "$T/b" >/dev/null
"$DATA" --pairs 200 --seed 2 --out "$T/c" >/dev/null
"$DATA" --pairs 200 --seed 3 --pool 30 --out "$T/shared" >/dev/null
"$DATA" --pairs 190 --seed 4 --query-fraction 0.25 --entity-tokens 3 --out "$T/frac" >/dev/null

# 1. determinism ------------------------------------------------------------
check "same seed gives identical examples.txt" "files differ" cmp -s "$T/a/examples.txt" "$T/b/examples.txt"
# (the comment lines record the seed, so compare only the examples)
check "different seed gives different examples" "examples are identical" \
    eval '! cmp -s <(grep -v "^#" "$T/a/examples.txt") <(grep -v "^#" "$T/c/examples.txt")'

# 2. uniqueness -------------------------------------------------------------
# Prints "ok" if every key and every value is unique; with shared=0 also
# requires that no key token (or value token) belongs to two entities; with
# pool=P requires at most P distinct key tokens (and value tokens).
# Keys and values are read from the statements "KEY : VALUE".
uniqueness() {  # file shared pool
    lines_of train "$1" | awk -F'\t' -v shared="$2" -v pool="$3" '
        $2 == "statement" {
            statements++
            # "KEY : VALUE": the words before ":" are the key, those after it the value
            n = split($5, w, " "); side = "key"; text["key"] = ""; text["value"] = ""
            for (i = 1; i <= n; i++) {
                if (w[i] == ":") { side = "value"; continue }
                text[side] = text[side] " " w[i]
                if ((side, w[i]) in used) { if (!shared) bad = bad " " w[i] " is in two " side "s" }
                else { used[side, w[i]] = 1; distinct[side]++ }
            }
            if (("key", text["key"]) in seen) bad = bad " key" text["key"] " twice"
            if (("value", text["value"]) in seen) bad = bad " value" text["value"] " twice"
            seen["key", text["key"]] = 1; seen["value", text["value"]] = 1
        }
        END {
            if (pool && (distinct["key"] > pool || distinct["value"] > pool))
                bad = bad " " distinct["key"] " key and " distinct["value"] " value tokens, pool is " pool
            if (statements == 0) bad = " no statements"
            print (bad == "" ? "ok" : substr(bad, 1, 200))
        }'
}
r=$(uniqueness "$T/a/examples.txt" 0 0)
check "keys and values unique, no token shared (default pool)" "$r" test "$r" = ok
r=$(uniqueness "$T/frac/examples.txt" 0 0)
check "keys and values unique, no token shared (3 tokens per entity)" "$r" test "$r" = ok
r=$(uniqueness "$T/shared/examples.txt" 1 30)
check "keys and values unique with --pool 30" "$r" test "$r" = ok
r=$(uniqueness "$T/shared/examples.txt" 0 0)
check "--pool 30 does make entities share tokens" "no token is shared" test "$r" != ok

# 3. splits -----------------------------------------------------------------
# No test query (prompt + answer) is in train, a pair's queries are all in one
# split, every pair has exactly one statement, in train; query counts match F.
splits() {  # file n_pairs fraction
    grep -v '^#' "$1" | awk -F'\t' -v n_pairs="$2" -v f="$3" '
        $1 == "train" { seen[$5 "|" $6] = 1; seen_prompt[$5] = 1
                        if ($2 == "query") { train_q++; qsplit_train[$4] = 1 } else statements[$4]++ }
        $1 == "test"  { if ($2 == "statement") bad = bad " test-statement"
                        else { test_q++; qsplit_test[$4] = 1; tests[++nt] = $5 "|" $6; test_prompt[nt] = $5 } }
        END {
            for (i = 1; i <= nt; i++) if ((tests[i] in seen) || (test_prompt[i] in seen_prompt)) bad = bad " leak:" tests[i]
            for (p in qsplit_test) if (p in qsplit_train) bad = bad " pair-in-both:" p
            for (p = 0; p < n_pairs; p++) if (statements[p] != 1) bad = bad " pair " p " has " statements[p] + 0 " statements"
            want = int(f * n_pairs + 0.5)
            if (train_q != 2 * want || test_q != 2 * (n_pairs - want))
                bad = bad " queries " train_q "/" test_q ", want " 2 * want "/" 2 * (n_pairs - want)
            print (bad == "" ? "ok" : substr(bad, 1, 200))
        }'
}
r=$(splits "$T/a/examples.txt" 200 0.5)
check "no test query in train, one statement per pair, counts match F=0.5" "$r" test "$r" = ok
r=$(splits "$T/frac/examples.txt" 190 0.25)
check "no test query in train, one statement per pair, counts match F=0.25" "$r" test "$r" = ok

# 4. tokenizer round trip ---------------------------------------------------
"$TOK" --in "$T/a/examples.txt" >"$T/tok.log" 2>&1 || fail "02_tokenize runs" "$(tail -1 "$T/tok.log")"
"$TOK" --in "$T/shared/examples.txt" >/dev/null 2>&1
for split in train test; do
    for d in a shared; do
        lines_of $split "$T/$d/examples.txt" >"$T/want.txt"
        "$TOK" --decode "$T/$d/$split.bin" >"$T/got.txt" 2>"$T/err.txt"
        check "round trip: decode($d/$split.bin) == $split lines" \
            "$(diff "$T/want.txt" "$T/got.txt" | head -3 | tr '\n\t' '  ')$(head -c 200 "$T/err.txt")" \
            eval '[ -s "$T/want.txt" ] && cmp -s "$T/want.txt" "$T/got.txt"'
    done
done
# the vocabulary: special tokens, then train words by first appearance; a
# word only a test line uses is not in it and decodes as <unk>
mkdir -p "$T/small"
printf '%s\n' "# a hand-made file" \
    "$(printf 'test\tquery\tforward\t1\t[value_of] zz :\ty\tkey:1-2,value:3-4')" \
    "$(printf 'train\tstatement\tnone\t0\tb a : y\t\tkey:0-2,value:3-4')" \
    "$(printf 'train\tquery\tbackward\t0\t[key_of] y :\tb a\tvalue:1-2,key:3-5')" >"$T/small/examples.txt"
"$TOK" --in "$T/small/examples.txt" >/dev/null 2>&1
check "vocabulary is special tokens + train words in order of first appearance" \
    "got: $(tr '\n' ' ' <"$T/small/vocab.txt" 2>&1)" \
    test "$(tr '\n' ' ' <"$T/small/vocab.txt" 2>&1)" = "<pad> <bos> <eos> <unk> b a : y [key_of] "
got=$("$TOK" --decode "$T/small/test.bin" 2>/dev/null | cut -f5)
check "a test word not in the train vocabulary decodes as <unk>" "got '$got'" test "$got" = "<unk> <unk> :"

# header fields: vocab_size = lines of vocab.txt, n_examples = lines of the
# split, max_len = most words in a line of the split + 2 (<bos> and <eos>)
for split in train test; do
    # header words from byte 8: vocab_size, vocab_hash, n_examples, n_tokens, max_len
    got=$(od -An -t u4 -j 8 -N 20 "$T/a/$split.bin" | tr '\n' ' ' | awk '{ print $1, $3, $5 }')
    want="$(wc -l <"$T/a/vocab.txt") $(lines_of $split "$T/a/examples.txt" | wc -l) \
$(lines_of $split "$T/a/examples.txt" | awk -F'\t' '{ n = split($5 " " $6, w, " ") + 2; if (n > m) m = n } END { print m }')"
    check "$split.bin header (vocab size, examples, max length)" "got '$got', want '$want'" test "$got" = "$want"
done
# decoding with another task's vocabulary is refused, naming both files
"$TOK" --decode "$T/a/train.bin" --vocab "$T/shared/vocab.txt" >/dev/null 2>"$T/err.txt"
check "decode with a different vocabulary is refused" "$(head -c 200 "$T/err.txt")" \
    eval 'grep -qF "$T/a/train.bin" "$T/err.txt" && grep -qF "$T/shared/vocab.txt" "$T/err.txt"'

# 5. spans ------------------------------------------------------------------
# The key and value of each pair come from its statement "KEY : VALUE"; every
# example's "key" span must cover exactly that key and its "value" span that
# value; a query's answer must be the value (forward) or the key (backward).
spans() {
    grep -v '^#' "$1" | awk -F'\t' '
        { line[NR] = $0 }
        $2 == "statement" {
            n = split($5, w, " "); side = "key"; key[$4] = ""; value[$4] = ""
            for (i = 1; i <= n; i++) {
                if (w[i] == ":") { side = "value"; continue }
                if (side == "key") key[$4] = key[$4] (key[$4] == "" ? "" : " ") w[i]
                else value[$4] = value[$4] (value[$4] == "" ? "" : " ") w[i]
            }
        }
        END {
            for (l = 1; l <= NR; l++) {
                split(line[l], f, "\t")
                text = f[5] (f[6] == "" ? "" : " " f[6])
                n = split(text, w, " ")
                ns = split(f[7], s, ","); got_key = 0; got_value = 0
                for (j = 1; j <= ns; j++) {
                    split(s[j], parts, "[:-]")  # label, start, end
                    words = ""
                    for (i = parts[2] + 1; i <= parts[3] && i <= n; i++) words = words (words == "" ? "" : " ") w[i]
                    if (parts[1] == "key") { got_key++; if (words != key[f[4]]) bad = bad " line " l ": key span is \"" words "\"" }
                    else if (parts[1] == "value") { got_value++; if (words != value[f[4]]) bad = bad " line " l ": value span is \"" words "\"" }
                    else bad = bad " line " l ": label " parts[1]
                }
                if (got_key != 1 || got_value != 1) bad = bad " line " l ": " got_key " key and " got_value " value spans"
                if (f[3] == "forward" && f[6] != value[f[4]]) bad = bad " line " l ": forward answer is not the value"
                if (f[3] == "backward" && f[6] != key[f[4]]) bad = bad " line " l ": backward answer is not the key"
            }
            if (NR == 0) bad = " no lines"
            print (bad == "" ? "ok" : substr(bad, 1, 200))
        }'
}
r=$(spans "$T/a/examples.txt")
check "spans cover the pair's key and value (2 tokens)" "$r" test "$r" = ok
r=$(spans "$T/frac/examples.txt")
check "spans cover the pair's key and value (3 tokens)" "$r" test "$r" = ok
r=$(spans "$T/shared/examples.txt")
check "spans cover the pair's key and value (--pool 30)" "$r" test "$r" = ok

# 6. bad input --------------------------------------------------------------
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
mkdir -p "$B/missing" "$B/six" "$B/dir" "$B/trunc" "$B/magic" "$B/token" "$B/flags"

expect_error "tokenize: missing input file" "$B/missing" "$B/missing/nothing.txt" "cannot open" \
    "$TOK" --in "$B/missing/nothing.txt"

# line 5 = the third example line (after the two comment lines)
awk -F'\t' -v OFS='\t' 'NR == 5 { NF = 6 } 1' "$T/a/examples.txt" >"$B/six/examples.txt"
expect_error "tokenize: a line with 6 fields" "$B/six" "$B/six/examples.txt:5:" "found 6" \
    "$TOK" --in "$B/six/examples.txt"

awk -F'\t' -v OFS='\t' 'NR == 5 { $3 = "sideways" } 1' "$T/a/examples.txt" >"$B/dir/examples.txt"
expect_error "tokenize: a bad direction word" "$B/dir" "$B/dir/examples.txt:5:" "sideways" \
    "$TOK" --in "$B/dir/examples.txt"

head -c 1000 "$T/a/train.bin" >"$B/trunc/train.bin"
cp "$T/a/vocab.txt" "$B/trunc/"
expect_error "decode: a truncated train.bin" "$B/trunc" "$B/trunc/train.bin" "truncated" \
    "$TOK" --decode "$B/trunc/train.bin"

cp "$T/a/train.bin" "$T/a/vocab.txt" "$B/magic/"
printf 'JUNK' | dd of="$B/magic/train.bin" bs=1 seek=0 count=4 conv=notrunc 2>/dev/null
expect_error "decode: a wrong magic number" "$B/magic" "$B/magic/train.bin" "not a token file" \
    "$TOK" --decode "$B/magic/train.bin"

# tokens start after the 64-byte header and n_examples records of 420 bytes
# (ExampleRecord: 7 int32 + 2 x 16 int32 + 16 x 16 chars + 2 int32); overwrite the second
# token (the first after <bos>) with 2^31 - 1.
cp "$T/a/train.bin" "$T/a/vocab.txt" "$B/token/"
n=$(od -An -t u4 -j 16 -N 4 "$B/token/train.bin" | tr -d ' ')
printf '\377\377\377\177' | dd of="$B/token/train.bin" bs=1 seek=$((64 + n * 420 + 4)) count=4 conv=notrunc 2>/dev/null
expect_error "decode: a token id >= vocabulary size" "$B/token" "$B/token/train.bin" "outside the vocabulary" \
    "$TOK" --decode "$B/token/train.bin"

expect_error "01_data --pairs abc" "$B/flags" "--pairs" "expects an integer" \
    "$DATA" --pairs abc --out "$B/flags/out"
expect_error "01_data --pairs -3" "$B/flags" "--pairs" "must be in" \
    "$DATA" --pairs -3 --out "$B/flags/out"
expect_error "01_data --bogus" "$B/flags" "--bogus" "unknown flag" \
    "$DATA" --bogus --out "$B/flags/out"
expect_error "01_data --pairs 100 --pool 5 (too few keys possible)" "$B/flags" "--pool" "allows only 20" \
    "$DATA" --pairs 100 --pool 5 --out "$B/flags/out"
exit 0
