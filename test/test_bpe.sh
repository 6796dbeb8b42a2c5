#!/usr/bin/env bash
# Tests of the byte-level BPE of 02_tokenize (--bpe, --decode, --bpe-roundtrip) and of
# 06_eval's answers on BPE data. Run from the repository root after `make`; prints
# "PASS: name" or "FAIL: name (why)" for each check. Called by test/run_tests.sh.
# (build/test_bpe checks the BPE functions themselves.)
set -u
cd "$(dirname "$0")/.."
DATA=build/01_data
TOK=build/02_tokenize
for b in "$DATA" "$TOK" build/test_bpe build/04_train_ar build/06_eval; do
    if [ ! -x "$b" ]; then echo "FAIL: $b is not built (run make)"; exit 1; fi
done

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=2

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
# data: a hand-made English file (punctuation as words, UTF-8, a backslash,
# spans, alt answers, a test word never seen in training; 8 fields a line, as
# 01_data writes them, because --decode always writes the alt field) and a
# retrieval task
# ---------------------------------------------------------------------------
mkdir -p "$T/en"
{
    echo "# a hand-made English file"
    printf 'train\tstatement\tnone\t0\tAda Lovelace was born in London , England .\t\tname:0-2,city:5-6\t\n'
    printf 'train\tstatement\tnone\t1\tAlan Turing was born in Maida Vale , London .\t\tname:0-2,city:5-7\t\n'
    printf 'train\tstatement\tnone\t2\tGrace Hopper was born in New York City .\t\tname:0-2,city:5-8\t\n'
    printf 'train\tquery\tforward\t0\tWhere was Ada Lovelace born ?\tLondon , England .\tname:2-4,city:6-7\tNew York City\n'
    printf 'train\tquery\tbackward\t2\tWho was born in New York City ?\tGrace Hopper .\tcity:4-7,name:8-10\tAda Lovelace\n'
    printf 'test\tquery\tforward\t1\tWhere was Alan Turing born ?\tMaida Vale , London .\tname:2-4,city:6-8\tLondon\n'
    printf 'test\tquery\tbackward\t0\tWho was born in London , England ?\tAda Lovelace .\tcity:4-5,name:8-10\tGrace Hopper\n'
    printf 'test\tquery\tforward\t1\tWhere did Turing work ?\tBletchley Park .\tname:2-3,place:5-7\t\n'
    printf 'train\tstatement\tnone\t3\tZ\303\274rich , na\303\257ve and \342\202\254 are UTF-8 ; C:\\dir has a backslash .\t\tname:0-1\t\n'
} >"$T/en/examples.txt"
"$TOK" --in "$T/en/examples.txt" --bpe 1000 >"$T/en/out.txt" 2>&1 || fail "02_tokenize --bpe on English text" "$(head -c 300 "$T/en/out.txt")"
"$DATA" --task retrieval --pairs 300 --seed 5 --out "$T/ret" >/dev/null
"$TOK" --in "$T/ret/examples.txt" --bpe 300 >"$T/ret/out.txt" 2>&1 || fail "02_tokenize --bpe on retrieval" "$(head -c 300 "$T/ret/out.txt")"

# 1. the vocabulary ----------------------------------------------------------
got=$(head -1 "$T/ret/vocab.txt")
check "--bpe 300: vocab.txt says 300 tokens, 40 merges" "first line '$got'" test "$got" = "#bpe tokens=300 merges=40"
check "--bpe 300: vocab.txt has a line per token" "$(wc -l <"$T/ret/vocab.txt") lines" \
    test "$(wc -l <"$T/ret/vocab.txt")" = 301
got=$(od -An -t u4 -j 8 -N 4 "$T/ret/train.bin" | tr -d ' ')
check "--bpe 300: train.bin's header has vocabulary size 300" "got $got" test "$got" = 300
want=$'0\t<pad>\tspecial\n4\t\\x00\tbyte\n36\t\\x20\tbyte\n96\t\\\\\tbyte\n101\ta\tbyte\n259\t\\xff\tbyte'
got=$(sed -n '2p;6p;38p;98p;103p;261p' "$T/ret/vocab.txt")
check "vocab.txt lists specials, then the 256 bytes (escaped) in order" "got: $got" test "$got" = "$want"
r=$(awk -F'\t' 'NR > 261 { split($3, m, " "); if (m[1] != "merge" || m[2] >= $1 || m[3] >= $1) bad = bad " " $0 }
                END { print (bad == "" ? "ok" : substr(bad, 1, 200)) }' "$T/ret/vocab.txt")
check "every token after the bytes is a merge of two earlier tokens" "$r" test "$r" = ok
check "a small text stops early when no pair occurs twice" "$(head -c 300 "$T/en/out.txt")" \
    eval 'grep -q "stopped early" "$T/en/out.txt" && [ "$(head -1 "$T/en/vocab.txt" | sed "s/.*tokens=\([0-9]*\).*/\1/")" -lt 1000 ]'
check "statistics printed (merges, time, tokens per word, bytes per token)" "$(head -c 400 "$T/ret/out.txt")" \
    eval 'grep -q "merges learned in" "$T/ret/out.txt" && grep -q "tokens per word" "$T/ret/out.txt" && grep -q "bytes per token" "$T/ret/out.txt"'

# 2. --decode gives back examples.txt, spans and answers on word boundaries --
for d in en ret; do
    for split in train test; do
        lines_of $split "$T/$d/examples.txt" >"$T/want.txt"
        "$TOK" --decode "$T/$d/$split.bin" >"$T/got.txt" 2>"$T/err.txt"
        check "decode $d/$split.bin reproduces the $split lines of examples.txt" \
            "$(diff "$T/want.txt" "$T/got.txt" | head -3 | tr '\n\t' '  ')$(head -c 200 "$T/err.txt")" \
            eval '[ -s "$T/want.txt" ] && cmp -s "$T/want.txt" "$T/got.txt"'
        # independently of --decode: the text of the prompt tokens, the answer
        # tokens (from answer_start) and each span's tokens must be the words
        # examples.txt says
        lines_of $split "$T/$d/examples.txt" | awk -F'\t' '{
            n = split($5 ($6 == "" ? "" : " " $6), w, " ")
            ns = split($7, s, ","); spans = ""
            for (j = 1; j <= ns; j++) {
                k = split(s[j], parts, ":"); split(parts[k], range, "-"); words = ""
                for (i = range[1] + 1; i <= range[2]; i++) words = words (words == "" ? "" : " ") w[i]
                spans = spans (j > 1 ? " | " : "") words
            }
            print $5 "\t" $6 "\t" spans "\t" $8 }' >"$T/want.txt"
        build/test_bpe spans "$T/$d/$split.bin" "$T/$d/vocab.txt" >"$T/got.txt" 2>"$T/err.txt"
        check "$d/$split.bin: prompt, answer (a token boundary), span and alt tokens are the example's words" \
            "$(diff "$T/want.txt" "$T/got.txt" | head -3 | tr '\n\t' '  ')$(head -c 200 "$T/err.txt")" \
            eval '[ -s "$T/want.txt" ] && cmp -s "$T/want.txt" "$T/got.txt"'
    done
done
r=$(awk '/^train .*bytes per token/ { print ($5 > 1.5 ? "ok" : $0) }' "$T/ret/out.txt")
check "retrieval train.bin: more than 1.5 bytes per token" "${r:-no statistics line}" test "$r" = ok

# 3. determinism --------------------------------------------------------------
"$TOK" --in "$T/ret/examples.txt" --out-dir "$T/ret2" --bpe 300 >/dev/null
check "same input and --bpe give identical vocab.txt, train.bin, test.bin" "files differ" \
    eval 'cmp -s "$T/ret/vocab.txt" "$T/ret2/vocab.txt" && cmp -s "$T/ret/train.bin" "$T/ret2/train.bin" && cmp -s "$T/ret/test.bin" "$T/ret2/test.bin"'
"$TOK" --in "$T/ret/examples.txt" --out-dir "$T/ret3" --bpe 280 >/dev/null
check "a different --bpe gives a different vocabulary" "identical" eval '! cmp -s "$T/ret/vocab.txt" "$T/ret3/vocab.txt"'

# 4. round trip of arbitrary bytes (--bpe-roundtrip) -------------------------
for i in $(seq 0 255); do printf "\\$(printf %03o "$i")"; done >"$T/all256.bin"
head -c 200000 /dev/urandom >"$T/random.bin"
cat "$T/ret/examples.txt" "$T/random.bin" "$T/en/examples.txt" "$T/all256.bin" >"$T/mixed.bin"
for f in all256.bin random.bin mixed.bin; do
    "$TOK" --bpe-roundtrip "$T/$f" --vocab "$T/ret/vocab.txt" >"$T/out.txt" 2>&1
    check "round trip of $f ($(wc -c <"$T/$f") bytes) gives the same bytes" "$(head -c 200 "$T/out.txt")" \
        grep -q "round trip ok" "$T/out.txt"
done
check "all256.bin really holds 256 different bytes" "$(od -An -tx1 "$T/all256.bin" | wc -w)" \
    test "$(od -An -tx1 -v "$T/all256.bin" | tr ' ' '\n' | grep -c .)" = 256
for d in en ret; do
    # every training line, with its tabs and newline, through the vocabulary trained on it
    lines_of train "$T/$d/examples.txt" >"$T/train_lines.txt"
    "$TOK" --bpe-roundtrip "$T/train_lines.txt" --vocab "$T/$d/vocab.txt" >"$T/out.txt" 2>&1
    check "round trip of every training line of $d" "$(head -c 200 "$T/out.txt")" grep -q "round trip ok" "$T/out.txt"
done

# 5. bad input: clear errors, no output left behind -------------------------
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
mkdir -p "$B/flags" "$B/short" "$B/bytes" "$B/header"
cp "$T/ret/examples.txt" "$B/flags/"
expect_error "--bpe abc" "$B/flags" "--bpe" "expects an integer" "$TOK" --in "$B/flags/examples.txt" --bpe abc
expect_error "--bpe 100 (below 4 specials + 256 bytes)" "$B/flags" "--bpe" "must be in [260" \
    "$TOK" --in "$B/flags/examples.txt" --bpe 100
expect_error "--bpe with --decode" "$B/flags" "--decode" "cannot be combined" \
    "$TOK" --decode "$T/ret/train.bin" --bpe 300
"$DATA" --pairs 20 --seed 2 --out "$T/word" >/dev/null && "$TOK" --in "$T/word/examples.txt" >/dev/null
expect_error "--bpe-roundtrip with a word-level vocabulary" "$B/flags" "word-level" "needs a BPE" \
    "$TOK" --bpe-roundtrip "$T/all256.bin" --vocab "$T/word/vocab.txt"

# a vocab.txt with its last token removed (and the header fixed): well formed, but
# not the vocabulary the token file was made with
cp "$T/ret/train.bin" "$B/short/"
sed '$d' "$T/ret/vocab.txt" | sed '1s/.*/#bpe tokens=299 merges=39/' >"$B/short/vocab.txt"
expect_error "decode with a tampered vocab.txt (a token removed): mismatch" "$B/short" "$B/short/vocab.txt" \
    "was not made with the vocabulary" "$TOK" --decode "$B/short/train.bin"
# a merged token whose bytes are not its parts'
cp "$T/ret/train.bin" "$B/bytes/"
awk -F'\t' -v OFS='\t' 'NR == 280 { $2 = $2 "Q" } 1' "$T/ret/vocab.txt" >"$B/bytes/vocab.txt"
expect_error "decode with a tampered vocab.txt (token bytes changed): names the line" "$B/bytes" \
    "$B/bytes/vocab.txt:280:" "are not those of token" "$TOK" --decode "$B/bytes/train.bin"
cp "$T/ret/train.bin" "$B/header/"
sed '1s/merges=40/merges=41/' "$T/ret/vocab.txt" >"$B/header/vocab.txt"
expect_error "decode with a wrong '#bpe' header line" "$B/header" "$B/header/vocab.txt:1:" "expected '#bpe tokens=N" \
    "$TOK" --decode "$B/header/train.bin"

# 6. a tiny model trained on BPE data; 06_eval prints its answers as words --
build/04_train_ar --data "$T/en" --out "$T/run" --layers 1 --heads 2 --embd 32 --steps 3 --batch 4 --warmup 1 \
    --eval-every 3 --quiet >"$T/train.txt" 2>&1
check "04_train_ar trains 3 steps on BPE data" "$(tail -c 300 "$T/train.txt")" test -s "$T/run/model.ckpt"
build/06_eval --model "$T/run/model.ckpt" --data "$T/en" >"$T/eval.txt" 2>&1
A="$T/run/eval.answers.txt"
check "06_eval on BPE data writes eval.answers.txt" "$(tail -c 300 "$T/eval.txt")" test -s "$A"
# prompt and gold columns are the prompt and answer words of the test queries, then <eos>
lines_of test "$T/en/examples.txt" | awk -F'\t' '$2 != "statement" { print $3 "\t" $5 "\t" $6 " <eos>" }' | sort >"$T/want.txt"
grep -v '^#' "$A" 2>/dev/null | cut -f1-3 | sort >"$T/got.txt"
check "eval.answers.txt shows prompts and gold answers as the original words" \
    "$(diff "$T/want.txt" "$T/got.txt" | head -4 | tr '\n\t' '  ')" cmp -s "$T/want.txt" "$T/got.txt"
r=$(grep -v '^#' "$A" 2>/dev/null | awk -F'\t' 'NF != 5 || ($5 != "right" && $5 != "wrong") { bad++ } END { print bad + 0 }')
check "every eval.answers.txt line has 5 fields (model output cannot break the line)" "$r bad lines" test "$r" = 0
# its vocab.txt with the last token removed (and the header fixed): hash mismatch
cp -r "$T/en" "$T/en_bad"
n=$(($(wc -l <"$T/en/vocab.txt") - 2))
sed '$d' "$T/en/vocab.txt" | sed "1s/.*/#bpe tokens=$n merges=$((n - 260))/" >"$T/en_bad/vocab.txt"
mkdir -p "$T/evalbad"
expect_error "06_eval with a tampered vocab.txt" "$T/evalbad" "$T/en_bad/vocab.txt" "was not made with the vocabulary" \
    build/06_eval --model "$T/run/model.ckpt" --data "$T/en_bad" --out "$T/evalbad/eval"
exit 0
