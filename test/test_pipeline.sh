#!/usr/bin/env bash
# test_pipeline.sh -- the stages together: 01 -> 02 -> 03 -> 04/05 -> 06 on a tiny task.
#
#   * resume: k steps, stop, resume to n  ==  n steps straight (bit for bit), AR and MLM-U
#   * 03_model's init checkpoint trains like the trainer's own initialization
#   * 06_eval writes its CSV, markdown and answers
#   * bad input: vocabulary mismatch, missing / truncated / mislabelled checkpoint, a
#     checkpoint whose parameters are NaN (the run must stop and keep the last good
#     checkpoint), nonsense flags. Each must exit non-zero, name the file or flag, and
#     leave no output behind.
# Prints one PASS:/FAIL: line per check. Run from the repository root after `make`.
set -u
B=build
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=2

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

# ---- a tiny task and a tiny model ----
$B/01_data --pairs 60 --out "$tmp/d" --seed 3 >/dev/null || fail "01_data"
$B/02_tokenize --in "$tmp/d/examples.txt" >/dev/null || fail "02_tokenize"
$B/01_data --pairs 70 --out "$tmp/other" --seed 4 >/dev/null
$B/02_tokenize --in "$tmp/other/examples.txt" >/dev/null
MODEL="--layers 2 --embd 32 --heads 2 --batch 16 --lr 3e-3 --warmup 5 --eval-every 10 --quiet"

# ---- resume == straight, for AR and MLM-U ----
for trainer in 04_train_ar 05_train_mlmu; do
    $B/$trainer --data "$tmp/d" --out "$tmp/straight-$trainer" $MODEL --steps 30 >/dev/null
    $B/$trainer --data "$tmp/d" --out "$tmp/split-$trainer" $MODEL --steps 30 --stop-at 10 >/dev/null
    $B/$trainer --resume "$tmp/split-$trainer/model.ckpt" --data "$tmp/d" --out "$tmp/split-$trainer" --quiet >/dev/null
    check "$trainer: 10 steps + resume to 30 is bit-identical to 30 steps straight" \
        cmp -s "$tmp/straight-$trainer/model.ckpt" "$tmp/split-$trainer/model.ckpt"
    rows=$(grep -c '^[0-9]' "$tmp/split-$trainer/log.csv")
    check "$trainer: resumed log has one row per 10 steps ($rows rows)" [ "$rows" -eq 3 ]
done

# ---- --group-by-length: a resumed run repeats the grouped order; grouping changes the batches ----
$B/05_train_mlmu --data "$tmp/d" --out "$tmp/group" $MODEL --steps 30 --group-by-length >/dev/null
$B/05_train_mlmu --data "$tmp/d" --out "$tmp/group-split" $MODEL --steps 30 --group-by-length --stop-at 7 >/dev/null
$B/05_train_mlmu --resume "$tmp/group-split/model.ckpt" --data "$tmp/d" --out "$tmp/group-split" --quiet >/dev/null
check "--group-by-length: 7 steps (mid-epoch) + resume to 30 is bit-identical to 30 straight" \
    cmp -s "$tmp/group/model.ckpt" "$tmp/group-split/model.ckpt"
check "--group-by-length: trains on other batches than the plain order" \
    eval '! cmp -s "$tmp/group/model.ckpt" "$tmp/straight-05_train_mlmu/model.ckpt"'

# ---- validation hold-out and best.ckpt; PLM resumes too ----
$B/05_train_mlmu --data "$tmp/d" --out "$tmp/valid" $MODEL --steps 30 --valid-fraction 0.3 >/dev/null
check "--valid-fraction: best.ckpt written and the log has validation columns" \
    [ -f "$tmp/valid/best.ckpt" -a -n "$(awk -F, 'NR > 1 && $13 != "" && $14 != ""' "$tmp/valid/log.csv")" ]
best_row=$(awk -F, 'BEGIN { best = -1 } NR > 1 && $13 != "" { m = ($13 + $14) / 2; if (m > best) { best = m; step = $1 } } END { print step }' "$tmp/valid/log.csv")
best_step=$($B/06_eval --model "$tmp/valid/best.ckpt" --data "$tmp/d" --out "$tmp/valid/best-eval" 2>/dev/null | sed -n 's/.*, step \([0-9]*\)).*/\1/p')
check "best.ckpt holds the step with the best logged mean validation exact match (log: $best_row, best.ckpt: $best_step)" \
    eval '[ -n "$best_row" ] && [ "$best_row" = "$best_step" ]'
$B/05_train_mlmu --data "$tmp/d" --out "$tmp/valid-split" $MODEL --steps 30 --valid-fraction 0.3 --stop-at 10 >/dev/null
$B/05_train_mlmu --resume "$tmp/valid-split/model.ckpt" --data "$tmp/d" --out "$tmp/valid-split" --quiet >/dev/null
check "--valid-fraction: resume is bit-identical, best.ckpt too" \
    eval 'cmp -s "$tmp/valid/model.ckpt" "$tmp/valid-split/model.ckpt" && cmp -s "$tmp/valid/best.ckpt" "$tmp/valid-split/best.ckpt"'
# with reversed copies (01_data --reverse token), a held-out query's copy is not trained on
# either: every trained line has its copy, so twice the sequences, and the same validation set
$B/01_data --pairs 60 --out "$tmp/d-rev" --seed 3 --reverse token >/dev/null || fail "01_data --reverse"
$B/02_tokenize --in "$tmp/d-rev/examples.txt" >/dev/null || fail "02_tokenize (reversed)"
counts() { $B/04_train_ar --data "$1" --out "$2" ${MODEL/--quiet/} --steps 1 --valid-fraction 0.3 |
           sed -n 's/.* \([0-9]*\) train sequences, \([0-9]*\) validation queries.*/\1 \2/p'; }
read -r n_plain v_plain <<<"$(counts "$tmp/d" "$tmp/count-plain")"
read -r n_rev v_rev <<<"$(counts "$tmp/d-rev" "$tmp/count-rev")"
check "--valid-fraction with reversed copies: $n_rev train sequences = 2 x $n_plain, validation $v_rev = $v_plain (> 0)" \
    eval '[ -n "$n_plain" ] && [ "$n_rev" -eq $(( 2 * n_plain )) ] && [ "$v_rev" -eq "$v_plain" ] && [ "$v_plain" -gt 0 ]'
$B/05_train_mlmu --data "$tmp/d" --out "$tmp/plm" $MODEL --steps 20 --objective plm >/dev/null
$B/05_train_mlmu --data "$tmp/d" --out "$tmp/plm-split" $MODEL --steps 20 --objective plm --stop-at 10 >/dev/null
$B/05_train_mlmu --resume "$tmp/plm-split/model.ckpt" --data "$tmp/d" --out "$tmp/plm-split" --quiet >/dev/null
check "PLM: 10 steps + resume to 20 is bit-identical to 20 steps straight" \
    cmp -s "$tmp/plm/model.ckpt" "$tmp/plm-split/model.ckpt"

# ---- the weight average (--ema): training unchanged, resume bit-identical ----
$B/05_train_mlmu --data "$tmp/d" --out "$tmp/ema" $MODEL --steps 30 --valid-fraction 0.3 --ema 0.9 >/dev/null
$B/05_train_mlmu --data "$tmp/d" --out "$tmp/ema-split" $MODEL --steps 30 --valid-fraction 0.3 --ema 0.9 --stop-at 10 >/dev/null
$B/05_train_mlmu --resume "$tmp/ema-split/model.ckpt" --data "$tmp/d" --out "$tmp/ema-split" --quiet >/dev/null
check "--ema: resume is bit-identical, best.ckpt too" \
    eval 'cmp -s "$tmp/ema/model.ckpt" "$tmp/ema-split/model.ckpt" && cmp -s "$tmp/ema/best.ckpt" "$tmp/ema-split/best.ckpt"'
plain_size=$(stat -c %s "$tmp/valid/model.ckpt"); ema_size=$(stat -c %s "$tmp/ema/model.ckpt")
check "--ema: the trained weights and optimizer state equal those of the same run without it; the average follows" \
    eval 'cmp -s -i 256 -n $((plain_size - 256)) "$tmp/valid/model.ckpt" "$tmp/ema/model.ckpt" &&
          [ "$ema_size" -eq $((plain_size + (plain_size - 256) / 3)) ]'
$B/06_eval --model "$tmp/ema/model.ckpt" --data "$tmp/d" --out "$tmp/ema/raw" --raw-weights >"$tmp/ema/raw.log" 2>&1
$B/06_eval --model "$tmp/valid/model.ckpt" --data "$tmp/d" --out "$tmp/valid/final" >/dev/null 2>&1
$B/06_eval --model "$tmp/ema/model.ckpt" --data "$tmp/d" --out "$tmp/ema/avg" >"$tmp/ema/avg.log" 2>&1
check "06_eval --raw-weights on an --ema run answers exactly as the run without --ema" \
    cmp -s "$tmp/ema/raw.answers.txt" "$tmp/valid/final.answers.txt"
# (Its answers are not compared with the trained weights': after 30 steps both
# answer every query with the same junk, so they do not differ.)
check "06_eval on an --ema run evaluates the average by default, the trained weights with --raw-weights" \
    eval '[ -f "$tmp/ema/avg.answers.txt" ] && grep -q ", weight average)" "$tmp/ema/avg.log" &&
          grep -q ", trained weights)" "$tmp/ema/raw.log"'

# ---- 06_eval on the other kinds of questions: alt answers, problems ----
$B/01_data --task relationship --triples 40 --out "$tmp/rel" >/dev/null
$B/02_tokenize --in "$tmp/rel/examples.txt" >/dev/null
$B/04_train_ar --data "$tmp/rel" --out "$tmp/rel-ar" $MODEL --steps 10 >/dev/null
$B/06_eval --model "$tmp/rel-ar/model.ckpt" --data "$tmp/rel" >/dev/null 2>&1
check "06_eval reports an incorrect-inference rate for questions with an alt answer" \
    [ "$(awk -F, 'NR > 1 && $9 ~ /^[0-9.]+$/' "$tmp/rel-ar/eval.csv" | wc -l)" = 2 ]
$B/06_eval --model "$tmp/rel-ar/model.ckpt" --data "$tmp/rel" --out "$tmp/rel-ar/pca-eval" --pca "$tmp/rel-ar/pca.csv" >/dev/null 2>&1
n_statements=$(grep -c $'^train\tstatement' "$tmp/rel/examples.txt")
pca_ok() {  # one row per entity of every statement; pc1 explains at least as much as pc2
    [ "$(grep -c -E '^[0-9]+,(train|test),[ABC],' "$1")" = $((3 * n_statements)) ] &&
        awk 'NR == 1 { v1 = $8 + 0; v2 = $10 + 0; exit !(v1 >= v2 && v1 > 0) }' "$1"
}
check "06_eval --pca: 3 x $n_statements entity rows, pc1 explains at least as much variance as pc2" pca_ok "$tmp/rel-ar/pca.csv"
$B/01_data --task star --train-graphs 50 --test-graphs 20 --out "$tmp/star" >/dev/null
$B/02_tokenize --in "$tmp/star/examples.txt" >/dev/null
$B/05_train_mlmu --data "$tmp/star" --out "$tmp/star-mlmu" $MODEL --steps 10 >/dev/null
$B/06_eval --model "$tmp/star-mlmu/model.ckpt" --data "$tmp/star" >/dev/null 2>&1
check "06_eval decodes every star-graph problem (20 paths)" \
    [ "$(awk -F, 'NR > 1 && $4 == "forward" { print $5 }' "$tmp/star-mlmu/eval.csv")" = 20 ]

# ---- 06_eval --order confidence (fills the surest answer position first) ----
# It must never read the gold answer (only its length): give every test problem
# another problem's path as its gold answer and the model's answers must stay
# the same, for MLM-U and for PLM ranks. (Checked by breaking the decoder on
# purpose, showing one gold token to the others: the PLM model's answers change,
# so this check fails; the MLM-U model's answers, which lean on the prompt
# alone after 200 steps, do not. The MLM-U check covers the other rank path.)
awk -F'\t' 'BEGIN { OFS = "\t" } $1 == "test" { n++; line[n] = $0; ans[n] = $6; next } { print }
    END { for (i = 1; i <= n; i++) { split(line[i], f, "\t"); f[6] = ans[i % n + 1]
          out = f[1]; for (k = 2; k <= 8; k++) out = out "\t" f[k]; print out } }' \
    "$tmp/star/examples.txt" >"$tmp/star-other.txt"
mkdir -p "$tmp/star2" && mv "$tmp/star-other.txt" "$tmp/star2/examples.txt"
$B/02_tokenize --in "$tmp/star2/examples.txt" >/dev/null
$B/05_train_mlmu --objective plm --data "$tmp/star" --out "$tmp/star-plm" $MODEL --steps 200 >/dev/null
$B/05_train_mlmu --data "$tmp/star" --out "$tmp/star-mlmu200" $MODEL --steps 200 >/dev/null
model_answers() { cut -f 4 "$1" | tail -n +2; }
same_nonempty() { [ -s "$1" ] && cmp -s "$1" "$2"; }
same_answers_other_gold() {  # 20 answers, the same in both files, while the gold answers differ
    [ "$(model_answers "$1" | grep -c .)" = 20 ] && [ "$(model_answers "$1")" = "$(model_answers "$2")" ] &&
        ! cmp -s <(cut -f 3 "$1") <(cut -f 3 "$2")
}
for run in star-mlmu200 star-plm; do
    $B/06_eval --model "$tmp/$run/model.ckpt" --data "$tmp/star" --order confidence --out "$tmp/$run/conf" >/dev/null 2>&1
    $B/06_eval --model "$tmp/$run/model.ckpt" --data "$tmp/star2" --order confidence --out "$tmp/$run/conf2" >/dev/null 2>&1
    check "06_eval --order confidence ($run): given other gold answers of the same length, the same 20 answers" \
        same_answers_other_gold "$tmp/$run/conf.answers.txt" "$tmp/$run/conf2.answers.txt"
done
# Without --out, another order gets its own files: the run's eval.csv (what
# run_all.sh reports) is not overwritten by a try of surest-first decoding.
$B/06_eval --model "$tmp/star-plm/model.ckpt" --data "$tmp/star" >/dev/null 2>&1
cp "$tmp/star-plm/eval.csv" "$tmp/star-plm-eval-before.csv"
$B/06_eval --model "$tmp/star-plm/model.ckpt" --data "$tmp/star" --order confidence >/dev/null 2>&1
check "06_eval --order confidence writes eval-confidence.*, leaving eval.csv as it was" \
    eval 'cmp -s "$tmp/star-plm/eval.csv" "$tmp/star-plm-eval-before.csv" && [ -s "$tmp/star-plm/eval-confidence.csv" ] &&
          cmp -s <(cut -f 4 "$tmp/star-plm/eval-confidence.answers.txt") <(cut -f 4 "$tmp/star-plm/conf.answers.txt")'

# ---- 03_model's checkpoint is the same model the trainer builds ----
$B/03_model --data "$tmp/d" --out "$tmp/init.ckpt" --layers 2 --embd 32 --heads 2 --seed 1 >/dev/null
$B/04_train_ar --init "$tmp/init.ckpt" --data "$tmp/d" --out "$tmp/from-init" $MODEL --steps 30 >/dev/null
check "training from 03_model's init.ckpt equals training from flags (same seed)" \
    cmp -s "$tmp/straight-04_train_ar/model.ckpt" "$tmp/from-init/model.ckpt"

# ---- 03_model --blas-coretype: the OpenBLAS kernels this CPU should use ----
# Nothing where OpenBLAS recognises the CPU; where it does not (it runs its
# generic Prescott kernels), a core type whose kernels, once set, it runs.
coretype=$(env -u OPENBLAS_CORETYPE $B/03_model --blas-coretype)
case "$coretype" in
    "") echo "SKIP: 03_model --blas-coretype: OpenBLAS recognises this CPU, nothing to override" ;;
    SkylakeX|Haswell)
        check "03_model --blas-coretype: with OPENBLAS_CORETYPE=$coretype set, nothing more to suggest" \
            [ -z "$(OPENBLAS_CORETYPE=$coretype $B/03_model --blas-coretype)" ]
        OPENBLAS_CORETYPE=$coretype $B/04_train_ar --data "$tmp/d" --out "$tmp/kernels" \
            --layers 2 --embd 32 --heads 2 --batch 16 --steps 1 --eval-every 10 >"$tmp/kernels.out" 2>&1
        check "with OPENBLAS_CORETYPE=$coretype the trainer runs OpenBLAS's $coretype kernels" \
            grep -q "BLAS kernels $coretype" "$tmp/kernels.out"
        env -u OPENBLAS_CORETYPE $B/04_train_ar --data "$tmp/d" --out "$tmp/kernels2" \
            --layers 2 --embd 32 --heads 2 --batch 16 --steps 1 --eval-every 10 >/dev/null 2>"$tmp/kernels2.err"
        check "without it the trainer warns, naming OPENBLAS_CORETYPE=$coretype" \
            grep -q "OPENBLAS_CORETYPE=$coretype" "$tmp/kernels2.err" ;;
    *) fail "03_model --blas-coretype printed '$coretype'" ;;
esac

# ---- 06_eval outputs ----
$B/06_eval --model "$tmp/straight-05_train_mlmu/model.ckpt" --data "$tmp/d" >"$tmp/eval.out" 2>&1
check "06_eval writes eval.csv with a forward and a backward row" \
    [ "$(grep -c -E ',(forward|backward),' "$tmp/straight-05_train_mlmu/eval.csv" 2>/dev/null)" = 2 ]
n_test_queries=$(grep -c $'^test\tquery' "$tmp/d/examples.txt")
check "06_eval answers every test query ($n_test_queries)" \
    [ "$(grep -c -E $'\t(right|wrong)$' "$tmp/straight-05_train_mlmu/eval.answers.txt" 2>/dev/null)" = "$n_test_queries" ]

# Batched decoding must answer exactly as one query at a time, also when a batch
# mixes a long prompt with a short answer and a short prompt with a long answer
# (the WikiReversal shape: a finished row must not stretch the batch past max_len).
mkdir -p "$tmp/mix"
long=$(echo w{0..19}); answer=$(echo a{0..14})
{
    for p in 0 1 2 3 4 5; do printf 'train\tstatement\tnone\t%d\t%s x%d %s\t\t\t\n' $p "$long" $p "$answer"; done
    for p in 0 1 2 3 4 5; do
        printf 'test\tquery\tforward\t%d\t%s x%d ?\tw%d\t\t\n' $p "$long" $p $p
        printf 'test\tquery\tbackward\t%d\tx%d ?\t%s\t\t\n' $p $p "$answer"
    done
} >"$tmp/mix/examples.txt"
$B/02_tokenize --in "$tmp/mix/examples.txt" >/dev/null
$B/04_train_ar --data "$tmp/mix" --out "$tmp/mix/run" --layers 1 --heads 2 --embd 16 --steps 3 --quiet >/dev/null
$B/06_eval --model "$tmp/mix/run/model.ckpt" --data "$tmp/mix" --out "$tmp/mix/all" >/dev/null 2>&1
$B/06_eval --model "$tmp/mix/run/model.ckpt" --data "$tmp/mix" --out "$tmp/mix/one" --batch 1 >/dev/null 2>&1
check "06_eval: decoding 12 mixed-length queries at once answers as one at a time" \
    cmp -s "$tmp/mix/all.answers.txt" "$tmp/mix/one.answers.txt"
$B/05_train_mlmu --data "$tmp/mix" --out "$tmp/mix/mlmu" --layers 1 --heads 2 --embd 16 --steps 3 --quiet >/dev/null
$B/06_eval --model "$tmp/mix/mlmu/model.ckpt" --data "$tmp/mix" --out "$tmp/mix/conf-all" --order confidence >/dev/null 2>&1
$B/06_eval --model "$tmp/mix/mlmu/model.ckpt" --data "$tmp/mix" --out "$tmp/mix/conf-one" --order confidence --batch 1 >/dev/null 2>&1
check "06_eval --order confidence: 12 mixed-length queries at once answer as one at a time" \
    same_nonempty "$tmp/mix/conf-all.answers.txt" "$tmp/mix/conf-one.answers.txt"

# ---- bad input ----
# expect_error NAME PATTERN OUTPUT_THAT_MUST_NOT_EXIST -- command...
expect_error() {
    local name=$1 pattern=$2 must_not_exist=$3; shift 4
    "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    if [ $rc -eq 0 ]; then fail "$name (exit status 0)"; return; fi
    if ! grep -q -- "$pattern" "$tmp/err"; then fail "$name (message lacks '$pattern': $(head -c 200 "$tmp/err"))"; return; fi
    if [ -n "$must_not_exist" ] && ls "$must_not_exist"* >/dev/null 2>&1; then fail "$name (left $must_not_exist behind)"; return; fi
    pass "$name: $(head -c 150 "$tmp/err" | tr '\n' ' ')"
}
ck="$tmp/straight-04_train_ar/model.ckpt"
expect_error "eval: checkpoint vocabulary does not match the data" "vocabulary" "$tmp/e1" -- \
    $B/06_eval --model "$ck" --data "$tmp/other" --out "$tmp/e1"
expect_error "train: resume with data of another vocabulary" "vocabulary" "$tmp/r1/model.ckpt" -- \
    $B/04_train_ar --resume "$ck" --data "$tmp/other" --out "$tmp/r1" --quiet
expect_error "eval: missing checkpoint" "$tmp/nope.ckpt" "$tmp/e2" -- \
    $B/06_eval --model "$tmp/nope.ckpt" --data "$tmp/d" --out "$tmp/e2"
head -c 1000 "$ck" >"$tmp/trunc.ckpt"
expect_error "eval: truncated checkpoint" "truncated" "$tmp/e3" -- \
    $B/06_eval --model "$tmp/trunc.ckpt" --data "$tmp/d" --out "$tmp/e3"
cp "$ck" "$tmp/magic.ckpt"; printf 'XXXX' | dd of="$tmp/magic.ckpt" conv=notrunc status=none
expect_error "eval: wrong checkpoint magic" "not a checkpoint" "$tmp/e4" -- \
    $B/06_eval --model "$tmp/magic.ckpt" --data "$tmp/d" --out "$tmp/e4"
expect_error "eval: a token file given as checkpoint" "not a checkpoint" "$tmp/e5" -- \
    $B/06_eval --model "$tmp/d/train.bin" --data "$tmp/d" --out "$tmp/e5"
expect_error "train: missing data" "$tmp/none/train.bin" "$tmp/r2/model.ckpt" -- \
    $B/05_train_mlmu --data "$tmp/none" --out "$tmp/r2" --quiet
expect_error "train: resume an AR checkpoint with the MLM trainer" "objective" "" -- \
    $B/05_train_mlmu --resume "$ck" --data "$tmp/d" --out "$tmp/r3" --quiet
expect_error "train: --steps with --resume (the checkpoint's settings rule)" "--resume" "" -- \
    $B/04_train_ar --resume "$ck" --data "$tmp/d" --out "$tmp/r8" --steps 99
expect_error "train: nonsense --steps" "--steps" "$tmp/r4" -- $B/04_train_ar --data "$tmp/d" --out "$tmp/r4" --steps abc
expect_error "train: negative --batch" "--batch" "$tmp/r5" -- $B/05_train_mlmu --data "$tmp/d" --out "$tmp/r5" --batch -4
expect_error "train: unknown flag" "--bogus" "$tmp/r6" -- $B/05_train_mlmu --data "$tmp/d" --out "$tmp/r6" --bogus
expect_error "train: --rate out of range" "--rate" "$tmp/r7" -- $B/05_train_mlmu --objective mlm --rate 2 --data "$tmp/d" --out "$tmp/r7"
expect_error "model: width not a multiple of heads" "configuration" "$tmp/m1.ckpt" -- \
    $B/03_model --data "$tmp/d" --out "$tmp/m1.ckpt" --embd 30 --heads 4
expect_error "eval: unknown split" "--split" "$tmp/e6" -- $B/06_eval --model "$ck" --data "$tmp/d" --split dev --out "$tmp/e6"
expect_error "eval: --order confidence on an AR model (trained on one order)" "left-to-right order only" "$tmp/e7" -- \
    $B/06_eval --model "$ck" --data "$tmp/d" --order confidence --out "$tmp/e7"
expect_error "eval: unknown --order" "--order" "$tmp/e8" -- $B/06_eval --model "$ck" --data "$tmp/d" --order random --out "$tmp/e8"

# A checkpoint whose parameters are NaN: the run stops at the first step with a
# message, and the checkpoint it resumed from is left untouched.
mkdir -p "$tmp/nan"
$B/04_train_ar --data "$tmp/d" --out "$tmp/nan" $MODEL --steps 30 --stop-at 10 >/dev/null
# the parameters start after the 256-byte header; overwrite the first 4096 floats with NaN
head -c 16384 /dev/zero | tr '\0' '\377' | dd of="$tmp/nan/model.ckpt" bs=1 seek=256 conv=notrunc status=none
cp "$tmp/nan/model.ckpt" "$tmp/nan/before.ckpt"
$B/04_train_ar --resume "$tmp/nan/model.ckpt" --data "$tmp/d" --out "$tmp/nan" --quiet >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -ne 0 ] && grep -q "non-finite loss" "$tmp/err" && cmp -s "$tmp/nan/model.ckpt" "$tmp/nan/before.ckpt" \
    && ! ls "$tmp/nan/"*.tmp >/dev/null 2>&1; then
    pass "train: non-finite loss stops the run and keeps the last good checkpoint"
else
    fail "train: non-finite loss (rc $rc: $(head -c 200 "$tmp/err"))"
fi
