#!/usr/bin/env bash
# run_all.sh -- reproduce every table and figure of the paper from nothing:
# build, generate each task, tokenize, build the models, train every objective,
# evaluate, and write results/RESULTS.md with each measured cell beside the
# paper's number, plus the plots.
#
#   ./run_all.sh                         the quick preset: every table, 2-core CPU
#   ./run_all.sh --table t1              only the runs of Table 1 (retrieval rows
#                                        and relationship rows)
#   ./run_all.sh --preset long --table t1   the retrieval task trained longer
#   ./run_all.sh --preset paper --dry-run   every run of the paper preset, its
#                                        configuration and an estimated GPU time
#   ./run_all.sh --help
#
# How it is organised (read top to bottom):
#   1. options
#   2. the catalogue: every run of every table, one line each
#   3. the presets: data, model and training settings per task
#   4. preparing data, running one run, running many in parallel
#   5. --dry-run and --slurm
#   6. the report: RESULTS.md, the tables beside the paper's numbers, the plots
#
# A run lives in runs/PRESET/seedS/TASK/OBJECTIVE/. It is done when its eval.csv
# exists; a rerun skips done runs and resumes a killed one from its last
# checkpoint (bit-identical to an uninterrupted run), so a killed sweep resumes.
set -euo pipefail
cd "$(dirname "$0")"

# ============================================================================
# 1. options
# ============================================================================
preset=quick
seeds=1
jobs=""
tables=""
tasks=""
objectives=""
dry_run=0
slurm_file=""
only_run=""
report_only=0
out=.
gpu_flags=
usage() {
    cat <<EOF
usage: ./run_all.sh [options]
  --preset NAME      quick (default): every table at sizes for a 2-core CPU;
                     long: the same, retrieval with 3000 pairs trained longer;
                     paper: the paper's sizes where it gives them, for a GPU;
                     smoke: a few steps of everything (the tests use it)
  --table LIST       only the runs of these tables/figures, comma-separated:
                     t1 t2 t3 t5 t6 t7 t8 fig4a fig4bc fig5 fig7 fig8 fig9
  --tasks LIST       only these tasks: retrieval relationship bios wiki-same
                     wiki-different star two-token
  --objectives LIST  only these objectives: ar ar-rev-token ar-rev-entity
                     ar-rev-entity-nodelim mlm15 mlm40 mlm85 mlmu plm
  --seeds LIST       seeds, comma-separated (default 1); cells show the mean
  -j N               runs at once (default: one per core, one thread each; on
                     a machine with a GPU and the CUDA build: 1, on the GPU)
  --dry-run          list every selected run, its configuration and an
                     estimated GPU time; run nothing
  --slurm FILE       write a SLURM job-array script for the selected runs
                     instead of running them
  --run ID           run only TASK/OBJECTIVE (what the SLURM script calls)
  --report           only rewrite results/RESULTS.md and the plots
  --out DIR          put data/, runs/ and results/ under DIR (default: here)
  --gpu-flags FLAGS  the arithmetic of the GPU build, passed to every run's
                     trainer (and its resumption) and 06_eval: --matmul fp32|tf32|bf16,
                     --attention plain|fused, e.g. "--matmul tf32" (default:
                     none: plain fp32, as the CPU; on the CPU they change nothing)
Threads per run: OMP_NUM_THREADS (default: cores / N).
Writes: data/PRESET/, runs/PRESET/, results/RESULTS.md (or RESULTS-PRESET.md
for a preset other than quick), results/*.png (needs gnuplot).
EOF
}
while [ $# -gt 0 ]; do
    case "$1" in
        --preset) preset=${2:?--preset needs a value}; shift 2 ;;
        --table|--tables) tables=${2:?--table needs a value}; shift 2 ;;
        --tasks) tasks=${2:?--tasks needs a value}; shift 2 ;;
        --objectives) objectives=${2:?--objectives needs a value}; shift 2 ;;
        --seeds|--seed) seeds=${2:?--seeds needs a value}; shift 2 ;;
        -j) jobs=${2:?-j needs a value}; shift 2 ;;
        -j[0-9]*) jobs=${1#-j}; shift ;;
        --dry-run) dry_run=1; shift ;;
        --slurm) slurm_file=${2:?--slurm needs a file}; shift 2 ;;
        --run) only_run=${2:?--run needs TASK/OBJECTIVE}; shift 2 ;;
        --report) report_only=1; shift ;;
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        --gpu-flags) gpu_flags=${2?--gpu-flags needs a value}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
die() { echo "run_all.sh: error: $*" >&2; exit 2; }
case "$preset" in quick|long|paper|smoke) ;; *) die "unknown preset '$preset' (quick, long, paper, smoke)" ;; esac
[[ "$seeds" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--seeds wants numbers separated by commas, not '$seeds'"
[ -z "$jobs" ] || [[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "-j wants a positive number, not '$jobs'"
seed_list=${seeds//,/ }
set -- $gpu_flags # each a flag with its value: checked here, not at the first run's start
while [ $# -gt 0 ]; do
    case "$1 ${2:-}" in
        "--matmul fp32" | "--matmul tf32" | "--matmul bf16" | "--attention plain" | "--attention fused") shift 2 ;;
        *) die "--gpu-flags takes --matmul fp32|tf32|bf16 and --attention plain|fused, not '$gpu_flags'" ;;
    esac
done

# ============================================================================
# 2. the catalogue: every run, the data set it trains on, and where it appears
# ============================================================================
# run id (TASK/OBJECTIVE)          data set                         tables and figures
# An objective's trainer and flags are in objective_cmd below; "AR w/ reverse"
# is AR trained on a data set with reversed copies (01_data --reverse).
catalogue() {
    cat <<'EOF'
retrieval/ar                       retrieval                        t1 t5 fig9
retrieval/ar-rev-token             retrieval-rev-token              t1 t5
retrieval/mlm15                    retrieval                        t1 t5
retrieval/mlm40                    retrieval                        t5
retrieval/mlm85                    retrieval                        t5
retrieval/mlmu                     retrieval                        t1 t5 fig9
retrieval/plm                      retrieval                        t5
relationship/ar                    relationship                     fig4bc
relationship/ar-rev-entity         relationship-rev-entity          t1 t7
relationship/ar-rev-entity-nodelim relationship-rev-entity-nodelim  t1 t7
relationship/mlm15                 relationship                     t1 t7
relationship/mlm40                 relationship                     t7
relationship/mlm85                 relationship                     t7
relationship/mlmu                  relationship                     t1 t7 fig4bc
relationship/plm                   relationship                     t7
bios/ar                            bios                             t2 t6 fig8
bios/ar-rev-token                  bios-rev-token                   t2 t6
bios/mlm15                         bios                             t2 t6 fig4a
bios/mlm40                         bios                             t6 fig4a
bios/mlm85                         bios                             t6 fig4a
bios/plm                           bios                             t6
bios/mlmu                          bios                             t2 t6 fig4a fig8
wiki-same/ar                       wiki-same                        t3 t8 fig8
wiki-same/mlm15                    wiki-same                        t3 t8
wiki-same/mlmu                     wiki-same                        t3 t8 fig8
wiki-different/ar                  wiki-different                   t8
wiki-different/mlm15               wiki-different                   t8
wiki-different/mlmu                wiki-different                   t8
star/ar                            star                             fig5
star/mlmu                          star                             fig5
two-token/ar                       two-token                        fig7
two-token/mlmu                     two-token                        fig7
EOF
}

# The trainer and the objective's flags. The rank sampler each one selects is
# in 04_train_ar.cu / 05_train_mlmu.cu (README: "an objective is a choice of ranks").
objective_cmd() {
    case "$1" in
        ar|ar-rev-*) echo "04_train_ar" ;;
        mlm15) echo "05_train_mlmu --objective mlm --rate 0.15" ;;
        mlm40) echo "05_train_mlmu --objective mlm --rate 0.40" ;;
        mlm85) echo "05_train_mlmu --objective mlm --rate 0.85" ;;
        mlmu)  echo "05_train_mlmu --objective mlm-u" ;;
        plm)   echo "05_train_mlmu --objective plm" ;;
        *) die "no objective '$1'" ;;
    esac
}
is_ar() { case "$1" in ar|ar-rev-*) return 0 ;; *) return 1 ;; esac; }

# The runs selected by --table, --tasks, --objectives (all by default): "ID DATASET".
in_list() { [ -z "$2" ] && return 0; case ",$2," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
selected_runs() {
    local id ds tags tag keep
    while read -r id ds tags; do
        in_list "${id%%/*}" "$tasks" || continue
        in_list "${id#*/}" "$objectives" || continue
        if [ -n "$tables" ]; then
            keep=0
            for tag in $tags; do in_list "$tag" "$tables" && keep=1; done
            [ "$keep" = 1 ] || continue
        fi
        echo "$id $ds"
    done < <(catalogue)
}
for t in ${tables//,/ }; do
    catalogue | awk -v t="$t" '{ for (i = 3; i <= NF; i++) if ($i == t) found = 1 } END { exit !found }' \
        || die "no table or figure '$t' (see --help)"
done
for t in ${tasks//,/ }; do catalogue | awk -v t="$t" '{ split($1, a, "/"); if (a[1] == t) f = 1 } END { exit !f }' \
        || die "no task '$t' (see --help)"; done
for o in ${objectives//,/ }; do objective_cmd "$o" >/dev/null; done

# ============================================================================
# 3. the presets
# ============================================================================
# For each data set: the 01_data flags (after --task) and the 02_tokenize flags.
# For each task: the model, and the training flags of the AR runs and of the
# masked/permutation runs (MLM-r, MLM-U and PLM share one setting, so they
# differ only in their ranks). AR w/ reverse gets twice AR's steps (its data
# set is twice as large; train_flags). Where the AR setting has fewer steps
# than the masked one (quick retrieval: 700 against 6000), AR had reached its
# forward accuracy; backward it stays at 0 as it trains on (README, "Choosing
# the presets": 1000 steps; "Two-token retrieval": 6000).
# The quick numbers were chosen by the measurements in README.md.
declare -A data_flags tok_flags model train_ar train_mlm mlmu_extra avg_len vocab_est
task_of() { case "$1" in wiki-*) echo wikireversal ;; *-rev-*) echo "${1%%-rev-*}" ;; *) echo "$1" ;; esac; }
reverse_of() { case "$1" in *-rev-*) echo "--reverse ${1#*-rev-}" ;; esac; }
settings_key() { case "$1" in wiki-*) echo wiki ;; *-rev-*) echo "${1%%-rev-*}" ;; *) echo "$1" ;; esac; }

case "$preset" in
quick|long)
    # Sized for 60 minutes on 2 cores (-j 2, one thread a run): see README,
    # "The quick preset". Retrieval, two-token and relationship runs hold out
    # 10% of the training questions (--valid-fraction) and 06_eval scores the
    # checkpoint that answers those best (best.ckpt), never chosen on test.
    # The retrieval MLM-family runs evaluate an average of their weights
    # (--ema 0.999): at lr 3e-3 the trained weights swing from one evaluation
    # to the next, their average does not (README, "Retrieval trained longer").
    # Retrieval trains on the questions of 80% of the pairs (the other 20% are
    # the test): with 50% MLM-U learned the backward question only in some runs
    # by step 6000, with 80% in every one we ran (README, "Retrieval, AR against
    # MLM-U, in under 10 minutes").
    # Two-token trains AR and MLM-U alike, with the retrieval MLM setting: 6000
    # steps (2-4 minutes a run) take MLM-U to 90-99% backward; at 1500 steps it
    # was still near 0-30% (README, "Two-token retrieval").
    # Relationship: one token an entity, 2000 triples, the questions of 80% in
    # training, and the question written "B => ?" (01_data --question-mark):
    # without the "?" the answer sits where B's statement has B, and MLM-U
    # answers an unseen question by copying that token (0% at 1000 and 3000
    # triples); with it MLM-U reaches 99.5 / 89.5 at step 4000 of 6000, where a
    # 4000-step schedule ended at 32 / 73, still learning (README, "Relationship").
    # The AR runs peak by step 1000-1250 and then memorize (the validation-chosen
    # checkpoint keeps the peak), so AR trains 1500 steps (AR w/ reverse 3000).
    # Star: paths of 3 nodes (the first step is the goal's parent, one lookup
    # back) and a 4-layer model: MLM-U 98-100% from step 1500, AR the Clever-Hans
    # 50%; with 4-node paths the same model needs 16000 steps (README, "Star graph").
    data_flags=(
        [retrieval]="--pairs 3000 --query-fraction 0.8"
        [two-token]="--pairs 1000"
        [relationship]="--triples 2000 --entity-tokens 1 --question-mark --query-fraction 0.8"
        [bios]="--people 500"
        [wiki]="--min-relation-count 30"
        [star]="--degree 2 --path-length 3 --nodes 30 --train-graphs 50000 --test-graphs 500"
    )
    tok_flags=([wiki]="--bpe 1024")
    small="--layers 2 --heads 4 --embd 128"
    model=([retrieval]="$small" [two-token]="$small" [relationship]="$small" [bios]="$small" [wiki]="$small"
           [star]="--layers 4 --heads 4 --embd 128")
    train_ar=(
        [retrieval]="--steps 700 --batch 256 --lr 3e-3 --warmup 50 --min-lr-frac 0.5 --eval-every 100 --valid-fraction 0.1"
        [two-token]="--steps 6000 --batch 128 --lr 3e-3 --warmup 200 --eval-every 500 --valid-fraction 0.1 --ema 0.999"
        [relationship]="--steps 1500 --batch 128 --lr 3e-3 --warmup 100 --eval-every 250 --valid-fraction 0.1"
        [bios]="--steps 100 --batch 64 --lr 3e-3 --warmup 10 --eval-every 25 --eval-limit 500"
        [wiki]="--steps 80 --batch 64 --lr 3e-3 --warmup 8 --eval-every 20"
        [star]="--steps 2000 --batch 64 --lr 1e-3 --warmup 100 --eval-every 250"
    )
    train_mlm=(
        [retrieval]="--steps 6000 --batch 128 --lr 3e-3 --warmup 200 --eval-every 500 --valid-fraction 0.1 --ema 0.999"
        [two-token]="--steps 6000 --batch 128 --lr 3e-3 --warmup 200 --eval-every 500 --valid-fraction 0.1 --ema 0.999"
        [relationship]="--steps 6000 --batch 128 --lr 3e-3 --warmup 200 --eval-every 500 --valid-fraction 0.1 --ema 0.999"
        [bios]="--steps 100 --batch 64 --lr 3e-3 --warmup 10 --eval-every 25 --eval-limit 500"
        [wiki]="--steps 80 --batch 64 --lr 3e-3 --warmup 8 --eval-every 20"
        [star]="--steps 2000 --batch 64 --lr 1e-3 --warmup 100 --eval-every 250"
    )
    # MLM-U alone, on retrieval: the loss weights of Eq. 5 (--elbo), which
    # learned the backward question in every quick retrieval run measured
    # (6 of 6), where the plain mean over masked tokens did in 6 of 7. On
    # two-token --elbo did worse (backward 57.8 against 98.6 on seed 2), so
    # there MLM-U keeps the plain mean (README, "The quick preset"). The long
    # preset's 18000-step retrieval run was measured without it and keeps that.
    if [ "$preset" = quick ]; then mlmu_extra=([retrieval]="--elbo"); fi
    if [ "$preset" = long ]; then
        # the retrieval task of issue 2's long setting: 3000 pairs, half of them
        # with training questions, MLM trained 18000 steps; the checkpoint
        # chosen on held-out training questions
        data_flags[retrieval]="--pairs 3000"
        train_ar[retrieval]="--steps 3000 --batch 256 --lr 3e-3 --warmup 50 --eval-every 250 --valid-fraction 0.1"
        train_mlm[retrieval]="--steps 18000 --batch 128 --lr 3e-3 --warmup 200 --eval-every 1000 --valid-fraction 0.1 --ema 0.999"
    fi
    ;;
paper)
    # The paper's sizes where it gives them (Appendix E.3, G): the 12-layer,
    # 9-head, 576-wide encoder-decoder; BioS with 10k people; WikiReversal with
    # lr 5e-5 for MLM-U, 3e-4 for AR and MLM, 1% warmup, 1500 epochs. Where it
    # does not (retrieval, relationship, star sizes), our documented choices.
    data_flags=(
        [retrieval]="--pairs 10000"
        [two-token]="--pairs 10000"
        [relationship]="--triples 10000 --question-mark"
        [bios]="--people 10000"
        [wiki]="--min-relation-count 30"
        [star]="--degree 2 --path-length 5 --nodes 50 --train-graphs 200000 --test-graphs 1000"
    )
    tok_flags=([bios]="--bpe 4096" [wiki]="--bpe 8192")
    big="--layers 12 --heads 9 --embd 576"
    model=([retrieval]="$big" [two-token]="$big" [relationship]="$big" [bios]="$big" [wiki]="$big" [star]="$big")
    train_ar=(
        [retrieval]="--steps 20000 --batch 256 --lr 3e-4 --warmup 200 --wd 0.01 --eval-every 1000"
        [two-token]="--steps 20000 --batch 256 --lr 3e-4 --warmup 200 --wd 0.01 --eval-every 1000"
        [relationship]="--steps 20000 --batch 256 --lr 3e-4 --warmup 200 --wd 0.01 --eval-every 1000"
        [bios]="--steps 60000 --batch 256 --lr 3e-4 --warmup 600 --wd 0.01 --eval-every 2000 --eval-limit 2000"
        [wiki]="--steps 7000 --batch 256 --lr 3e-4 --warmup 70 --wd 0.01 --eval-every 500"
        [star]="--steps 40000 --batch 256 --lr 3e-4 --warmup 400 --wd 0.01 --eval-every 2000"
    )
    train_mlm=(
        [retrieval]="--steps 60000 --batch 256 --lr 1e-4 --warmup 600 --wd 0 --eval-every 2000"
        [two-token]="--steps 60000 --batch 256 --lr 1e-4 --warmup 600 --wd 0 --eval-every 2000"
        [relationship]="--steps 60000 --batch 256 --lr 1e-4 --warmup 600 --wd 0 --eval-every 2000"
        [bios]="--steps 120000 --batch 256 --lr 1e-4 --warmup 1200 --wd 0 --eval-every 4000 --eval-limit 2000"
        [wiki]="--steps 7000 --batch 256 --lr 5e-5 --warmup 70 --wd 0 --eval-every 500"
        [star]="--steps 80000 --batch 256 --lr 1e-4 --warmup 800 --wd 0 --eval-every 4000"
    )
    ;;
smoke)
    # a few steps of every run: checks the whole sweep and report end to end
    data_flags=(
        [retrieval]="--pairs 40" [two-token]="--pairs 40" [relationship]="--triples 40 --question-mark"
        [bios]="--people 40" [wiki]="--min-relation-count 30" [star]="--train-graphs 60 --test-graphs 20"
    )
    tok_flags=([wiki]="--bpe 300")
    tiny="--layers 1 --heads 2 --embd 16"
    model=([retrieval]="$tiny" [two-token]="$tiny" [relationship]="$tiny" [bios]="$tiny" [wiki]="$tiny" [star]="$tiny")
    steps="--steps 6 --batch 8 --lr 3e-3 --warmup 2 --eval-every 3 --eval-limit 20"
    train_ar=([retrieval]="$steps" [two-token]="$steps" [relationship]="$steps" [bios]="$steps" [wiki]="$steps" [star]="$steps")
    for k in "${!train_ar[@]}"; do train_mlm[$k]=${train_ar[$k]}; done
    ;;
esac
# Mean tokens per sequence and vocabulary size of each task at this preset
# (measured from the generated data; used only by --dry-run's time estimate).
avg_len=([retrieval]=8 [two-token]=6 [relationship]=5 [bios]=40 [wiki]=25 [star]=28)
vocab_est=([retrieval]=12007 [two-token]=2007 [relationship]=6006 [bios]=1300 [wiki]=1024 [star]=60)
[ "$preset" = long ] && vocab_est[retrieval]=12007
if [ "$preset" = paper ]; then
    avg_len[bios]=50; avg_len[wiki]=35; avg_len[star]=47
    vocab_est=([retrieval]=40007 [two-token]=20007 [relationship]=60006 [bios]=4096 [wiki]=8192 [star]=60)
fi

train_flags() { # ID DATASET -> the trainer's flags for that run
    local id=$1 ds=$2 key flags steps
    key=$(settings_key "$ds")
    if is_ar "${id#*/}"; then flags=${train_ar[$key]}; else flags=${train_mlm[$key]}; fi
    [ "${id#*/}" = mlmu ] && [ -n "${mlmu_extra[$key]:-}" ] && flags="$flags ${mlmu_extra[$key]}"
    # A reversed data set (AR w/ reverse) holds every training line twice, as
    # written and reversed: twice the steps, so each line is seen as often as
    # in the plain AR run (with the same steps it was still memorizing).
    case "$ds" in *-rev-*)
        steps=$(sed -n 's/.*--steps \([0-9]*\).*/\1/p' <<<"$flags")
        flags=${flags/--steps $steps/--steps $(( 2 * steps ))} ;;
    esac
    echo "$flags${gpu_flags:+ $gpu_flags}"
}

# ============================================================================
# 4. preparing data, running one run, running many
# ============================================================================
B=build
if [ -x build/cuda/04_train_ar ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    B=build/cuda   # the GPU build, on a machine with a GPU (README: "The GPU build")
fi
# RUN_ALL_BUILD=build/emu: the trainers and 06_eval of the CUDA emulator's build,
# that is the GPU code run on the CPU (very slow; for checking the GPU path
# through the whole sweep on the smoke preset)
B=${RUN_ALL_BUILD:-$B}
cores=$(nproc --all)   # (plain nproc would count OMP_NUM_THREADS)
data_root=$out/data/$preset
runs_root=$out/runs/$preset
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
# 01_data's default GenWiki input; GENWIKI=FILE points the WikiReversal runs elsewhere
genwiki_source=${GENWIKI:-../shared/data/genwiki-hard/test.source}

# data/PRESET/seedS/DATASET/{examples.txt,vocab.txt,train.bin,test.bin}; made
# once (flags.txt records how, so changed flags remake it). A lock keeps two
# runs (or two SLURM array tasks) from making the same data set at once.
data_flags_of() { # DATASET SEED -> the 01_data flags that make it
    local ds=$1 seed=$2 key task flags
    key=$(settings_key "$ds")
    task=$(task_of "$ds")
    flags="--task $task ${data_flags[$key]}"
    case "$ds" in wiki-same) flags="$flags --split-mode same" ;; wiki-different) flags="$flags --split-mode different" ;; esac
    flags="$flags $(reverse_of "$ds") --seed $seed"
    [ -n "${GENWIKI:-}" ] && [ "$task" = wikireversal ] && flags="$flags --genwiki $GENWIKI"
    echo "$flags"
}
# data_version: raise it when 01_data or 02_tokenize make other data from the
# same flags, so that data sets (and the runs on them) made before are remade.
# 2: the reversed copy of a query keeps its direction (2026-12-02).
data_version=2
data_config() { # DATASET SEED -> one line naming how the data set is made
    echo "data v$data_version: 01_data $(data_flags_of "$1" "$2") | 02_tokenize ${tok_flags[$(settings_key "$1")]:-}"
}
prepare_data() {
    local ds=$1 seed=$2 dir=$data_root/seed$seed/$1 key flags want
    key=$(settings_key "$ds")
    flags=$(data_flags_of "$ds" "$seed")
    want=$(data_config "$ds" "$seed")
    mkdir -p "$dir"
    (
        flock 9
        if [ -f "$dir/test.bin" ] && [ "$(cat "$dir/flags.txt" 2>/dev/null)" = "$want" ]; then exit 0; fi
        rm -f "$dir/flags.txt"
        log "data  $ds (seed $seed): 01_data $flags"
        ./build/01_data $flags --out "$dir" >"$dir/01_data.log" 2>&1 \
            || { cat "$dir/01_data.log" >&2; die "01_data failed for $ds (log: $dir/01_data.log)"; }
        ./build/02_tokenize --in "$dir/examples.txt" ${tok_flags[$key]:-} >"$dir/02_tokenize.log" 2>&1 \
            || { cat "$dir/02_tokenize.log" >&2; die "02_tokenize failed for $ds"; }
        echo "$want" >"$dir/flags.txt"
    ) 9>"$dir.lock"
}

# One run: 03_model -> 04/05 -> 06_eval, in runs/PRESET/seedS/ID/. config.txt
# records the commands, the data set's flags included: a changed configuration
# starts the run again, an unfinished one resumes from its last checkpoint.
# run.txt records the wall time. The evaluated checkpoint is best.ckpt where the run holds out
# validation questions (chosen on those, never on test), else model.ckpt.
run_config() { # ID DATASET SEED -> one line naming everything the run depends on
    echo "03_model ${model[$(settings_key "$2")]} --seed $3 | $(objective_cmd "${1#*/}") $(train_flags "$1" "$2") --seed $3 | data $2: $(data_config "$2" "$3")"
}
run_is_done() { # ID SEED DATASET
    local dir=$runs_root/seed$2/$1
    [ -f "$dir/eval.csv" ] && [ -f "$dir/run.txt" ] && [ "$(cat "$dir/config.txt" 2>/dev/null)" = "$(run_config "$1" "$3" "$2")" ]
}
run_one() {
    local id=$1 ds=$2 seed=$3 obj=${1#*/}
    local dir=$runs_root/seed$seed/$id data=$data_root/seed$seed/$ds key cmd trainer flags config resumed=no
    key=$(settings_key "$ds")
    cmd=$(objective_cmd "$obj")
    trainer=${cmd%% *}
    flags=""; [ "$trainer" != "$cmd" ] && flags=${cmd#* }   # the objective's flags, if any
    config=$(run_config "$id" "$ds" "$seed")   # (the scheduler skips done runs before calling this)
    [ "$(cat "$dir/config.txt" 2>/dev/null)" = "$config" ] || rm -rf "$dir"
    mkdir -p "$dir"
    echo "$config" >"$dir/config.txt"
    rm -f "$dir/FAILED" "$dir/eval.csv"
    local t0 t1 ckpt pca=""
    t0=$(date +%s)
    if [ -f "$dir/model.ckpt" ]; then
        resumed=yes
        "$B/$trainer" --resume "$dir/model.ckpt" --data "$data" --out "$dir" $gpu_flags >>"$dir/train.log" 2>&1
    else
        ./build/03_model --data "$data" --out "$dir/init.ckpt" ${model[$key]} --seed "$seed" >"$dir/train.log" 2>&1 &&
        "$B/$trainer" $flags --init "$dir/init.ckpt" --data "$data" --out "$dir" $(train_flags "$id" "$ds") \
            --seed "$seed" >>"$dir/train.log" 2>&1
    fi || { echo "training failed; log: $dir/train.log" >"$dir/FAILED"; return 1; }
    t1=$(date +%s)
    ckpt=$dir/model.ckpt
    [ -f "$dir/best.ckpt" ] && ckpt=$dir/best.ckpt
    [ "$(task_of "$ds")" = relationship ] && pca="--pca $dir/pca.csv"
    "$B/06_eval" --model "$ckpt" --data "$data" --label "$obj" $pca $gpu_flags >"$dir/eval.log" 2>&1 \
        || { echo "evaluation failed; log: $dir/eval.log" >"$dir/FAILED"; return 1; }
    {
        echo "train_seconds $(( t1 - t0 ))"
        echo "resumed $resumed"
        echo "evaluated $ckpt"
        echo "threads ${OMP_NUM_THREADS:-all}"
        echo "machine $(uname -n), $cores cores, $B"
        echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    } >"$dir/run.txt.tmp"
    mv "$dir/run.txt.tmp" "$dir/run.txt"
}

# ============================================================================
# 5. --dry-run and --slurm
# ============================================================================
# Estimated GPU time of a run: model FLOPs over an assumed sustained rate.
# FLOPs per trained token ~ 6 x (the two streams' matrices, 2 x L x 12 C^2, and
# the tied output layer V x C); tokens = steps x batch x mean sequence length.
# The rate, 20 TFLOP/s, is 30% of an H100's fp32-with-TF32 dense peak (~67
# TFLOP/s): issue 3's target, not a measurement (no GPU run is recorded yet).
gpu_tflops=20
estimate_gpu_seconds() { # ID DATASET
    local key flags steps batch L C
    key=$(settings_key "$2")
    flags="${model[$key]} $(train_flags "$1" "$2")"
    steps=$(sed -n 's/.*--steps \([0-9]*\).*/\1/p' <<<"$flags")
    batch=$(sed -n 's/.*--batch \([0-9]*\).*/\1/p' <<<"$flags")
    L=$(sed -n 's/.*--layers \([0-9]*\).*/\1/p' <<<"$flags")
    C=$(sed -n 's/.*--embd \([0-9]*\).*/\1/p' <<<"$flags")
    awk -v s="$steps" -v b="$batch" -v L="$L" -v C="$C" -v V="${vocab_est[$key]}" -v T="${avg_len[$key]}" -v r="$gpu_tflops" \
        'BEGIN { printf "%.0f", s * b * T * 6 * (2 * L * 12 * C * C + V * C) / (r * 1e12) }'
}
fmt_time() { awk -v s="$1" 'BEGIN { if (s < 120) printf "%ds", s; else if (s < 7200) printf "%.0fm", s / 60; else printf "%.1fh", s / 3600 }'; }

if [ "$dry_run" = 1 ]; then
    total=0; n=0
    echo "preset $preset, seeds $seeds: the selected runs"
    printf '%-36s %-32s %-8s %s\n' "run" "data (01_data flags)" "est. GPU" "model | trainer flags"
    for seed in $seed_list; do
        while read -r id ds; do
            key=$(settings_key "$ds")
            est=$(estimate_gpu_seconds "$id" "$ds")
            total=$((total + est)); n=$((n + 1))
            printf '%-36s %-32s %-8s %s | %s %s\n' "seed$seed/$id" "$ds: ${data_flags[$key]} $(reverse_of "$ds")" \
                "$(fmt_time "$est")" "${model[$key]}" "$(objective_cmd "${id#*/}")" "$(train_flags "$id" "$ds")"
        done < <(selected_runs)
    done
    echo "$n runs; estimated GPU time in all: $(fmt_time "$total") at an assumed sustained $gpu_tflops TFLOP/s"
    echo "(an estimate from the model's FLOP count, section 5 of run_all.sh; no GPU run has measured it yet)"
    exit 0
fi

if [ -n "$slurm_file" ]; then
    mapfile -t ids < <(selected_runs | awk '{ print $1 }')
    [ "${#ids[@]}" -gt 0 ] || die "no run selected"
    longest=0
    while read -r id ds; do e=$(estimate_gpu_seconds "$id" "$ds"); [ "$e" -gt "$longest" ] && longest=$e; done < <(selected_runs)
    minutes=$(( longest * 2 / 60 + 30 ))  # twice the estimate, plus half an hour
    n=${#ids[@]}
    tmp="$slurm_file.tmp"
    {
        echo "#!/usr/bin/env bash"
        echo "# SLURM job array: $n runs of the '$preset' preset (seeds $seeds), one GPU each."
        echo "# Written by: ./run_all.sh $(printf '%q ' --preset "$preset" ${tables:+--table "$tables"} ${tasks:+--tasks "$tasks"} ${objectives:+--objectives "$objectives"} --seeds "$seeds" ${gpu_flags:+--gpu-flags "$gpu_flags"})--slurm $slurm_file"
        echo "#   sbatch $slurm_file        then, when every task has ended:"
        echo "#   ./run_all.sh --preset $preset --out $(printf '%q' "$out") --seeds $seeds --report"
        echo "# Every task is one run; data sets are made by the first task that needs them"
        echo "# (a lock file keeps two from making the same one); a task that is killed and"
        echo "# resubmitted resumes from its last checkpoint."
        echo "#SBATCH --job-name=factorization-curse-$preset"
        echo "#SBATCH --array=0-$(( n * $(wc -w <<<"$seed_list") - 1 ))"
        echo "#SBATCH --gres=gpu:1"
        echo "#SBATCH --cpus-per-task=8"
        echo "#SBATCH --time=$minutes"
        echo "#SBATCH --output=runs/slurm-%A_%a.out"
        echo "set -euo pipefail"
        echo "cd $(printf '%q' "$PWD")"
        echo "runs=(${ids[*]})"
        echo "seeds=($seed_list)"
        echo 'i=$SLURM_ARRAY_TASK_ID'
        echo 'run=${runs[$(( i % ${#runs[@]} ))]}'
        echo 'seed=${seeds[$(( i / ${#runs[@]} ))]}'
        echo "exec ./run_all.sh --preset $preset --out $(printf '%q' "$out") --seeds \"\$seed\" --run \"\$run\"${gpu_flags:+ --gpu-flags $(printf '%q' "$gpu_flags")}"
    } >"$tmp"
    chmod +x "$tmp"
    mv "$tmp" "$slurm_file"
    echo "wrote $slurm_file: $n runs x $(wc -w <<<"$seed_list") seed(s), --time=$minutes min each (twice the longest estimate + 30 min)"
    exit 0
fi

# ---- run the sweep ----
if [ "$report_only" = 0 ]; then
    start=$(date +%s)
    log "build"
    make -s -j"$cores" all >/dev/null
    # OpenBLAS runs its slow generic kernels on a CPU it does not recognise
    # (3x slower training on the development machine); 03_model says which
    # kernels this CPU should use instead (03_model.cu, "which kernels").
    if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
        coretype=$(./build/03_model --blas-coretype)
        if [ -n "$coretype" ]; then
            export OPENBLAS_CORETYPE=$coretype
            log "OpenBLAS does not recognise this CPU: OPENBLAS_CORETYPE=$coretype (its $coretype kernels, not the generic ones)"
        fi
    fi
    if [ -n "$only_run" ]; then
        line=$(catalogue | awk -v id="$only_run" '$1 == id { print $1, $2 }')
        [ -n "$line" ] || die "no run '$only_run' in the catalogue"
        mapfile -t todo <<<"$line"
    else
        mapfile -t todo < <(selected_runs)
    fi
    [ "${#todo[@]}" -gt 0 ] && [ -n "${todo[0]}" ] || die "no run selected"
    # WikiReversal is made from the GenWiki passages in ../shared/data (never
    # copied into the repository). Where they are missing, its runs are left
    # out (the report shows their cells as not measured) and the rest go on.
    if [ ! -f "$genwiki_source" ]; then
        kept=()
        for line in "${todo[@]}"; do
            case "$line" in wiki-*) log "skip   ${line% *}: no GenWiki passages at $genwiki_source (README: Tasks, wikireversal)" ;;
                            *) kept+=("$line") ;; esac
        done
        [ "${#kept[@]}" -gt 0 ] || die "every selected run is a WikiReversal run, and the GenWiki passages are not at $genwiki_source"
        todo=("${kept[@]}")
    fi
    [ -n "$jobs" ] || { jobs=$cores; [ "$B" = build/cuda ] && jobs=1; }
    [ -n "${OMP_NUM_THREADS:-}" ] || export OMP_NUM_THREADS=$(( cores / jobs > 0 ? cores / jobs : 1 ))
    for seed in $seed_list; do
        for line in "${todo[@]}"; do prepare_data "${line#* }" "$seed"; done
    done
    total=$(( ${#todo[@]} * $(wc -w <<<"$seed_list") )); done_n=0; failed=0; running=0
    log "$total runs, $jobs at a time, $OMP_NUM_THREADS thread(s) each ($B); each run's progress (step, loss, rate, ETA): $runs_root/seedS/TASK/OBJECTIVE/train.log"
    declare -A started_at run_name
    reap() { # wait for one run to end and report it
        local pid name
        wait -n -p pid || true
        running=$((running - 1)); done_n=$((done_n + 1))
        name=${run_name[$pid]}
        if [ -f "$runs_root/$name/FAILED" ]; then
            failed=$((failed + 1)); log "FAILED $name: $(cat "$runs_root/$name/FAILED")"
        else
            log "done   $name in $(( $(date +%s) - ${started_at[$pid]} )) s  [$done_n/$total, $(eta)]"
        fi
    }
    eta() { # remaining runs x mean time per finished run, / runs at once
        local el=$(( $(date +%s) - start ))
        [ "$done_n" -gt 0 ] && echo "about $(fmt_time $(( el * (total - done_n) / done_n ))) left" || echo "?"
    }
    for seed in $seed_list; do
        for line in "${todo[@]}"; do
            id=${line% *}; ds=${line#* }
            while [ "$running" -ge "$jobs" ]; do reap; done
            if run_is_done "$id" "$seed" "$ds"; then
                done_n=$((done_n + 1)); log "skip   seed$seed/$id (done before)  [$done_n/$total]"; continue
            fi
            run_one "$id" "$ds" "$seed" &
            run_name[$!]=seed$seed/$id; started_at[$!]=$(date +%s); running=$((running + 1))
            log "start  seed$seed/$id: $(objective_cmd "${id#*/}") $(train_flags "$id" "$ds")"
        done
    done
    while [ "$running" -gt 0 ]; do reap; done
    log "sweep: $total runs, $failed failed, $(( $(date +%s) - start )) s"
    [ -n "$only_run" ] && exit $(( failed > 0 ))
fi

# ============================================================================
# 6. the report: results/RESULTS.md and the plots
# ============================================================================
# Every cell is "measured (paper)": the mean over the seeds that finished of
# the run's eval.csv (exact match %, token accuracy % or incorrect-inference %,
# by direction), and the paper's number. A missing run shows "-". Under each
# table: the runs behind it (seeds, steps, batch, lr, evaluated step, wall
# time) and the checks of the paper's pattern, shown or NOT shown.
results=$out/results
report=$results/RESULTS.md
[ "$preset" = quick ] || report=$results/RESULTS-$preset.md
mkdir -p "$results"

# A run counts only if it is done with the settings of this preset as they are
# now: a run made with other settings (say, before a data flag changed) is
# left out of the tables and the plots, and its provenance row says so.
dataset_of() { catalogue | awk -v id="$1" '$1 == id { print $2 }'; }
run_current() { run_is_done "$1" "$2" "$(dataset_of "$1")"; }   # ID SEED
# (one_seed=S limits a measurement to that seed; the checks use it to test each seed)
eval_files() { local s; for s in ${one_seed:-$seed_list}; do run_current "$1" "$s" && echo "$runs_root/seed$s/$1/eval.csv"; done; return 0; }
# measure ID DIRECTION COLUMN: mean over seeds; DIRECTION "both" averages forward and backward
measure() {
    local files
    files=$(eval_files "$1")
    [ -n "$files" ] || { echo "-"; return; }
    # shellcheck disable=SC2086
    awk -F, -v d="$2" -v c="$3" 'FNR > 1 && ($4 == d || (d == "both" && ($4 == "forward" || $4 == "backward")) || (d == "forward" && $4 == "none")) { s += $c; n++ }
        END { if (n) printf "%.1f", s / n; else printf "-" }' $files
}
cell() { echo "$(measure "$1" "$2" "$3") ($4)"; }
# row LABEL DIRECTION COLUMN ID:PAPER ...  -> one markdown table row
row() {
    local label=$1 dir=$2 col=$3 spec out
    shift 3
    out="| $label |"
    for spec in "$@"; do out="$out $(cell "${spec%%:*}" "$dir" "$col" "${spec#*:}") |"; done
    echo "$out"
}
header() { local h="| |" s="|---|" c; for c in "$@"; do h="$h $c |"; s="$s---|"; done; echo "$h"; echo "$s"; }

# provenance ID ...: the runs behind a table
provenance() {
    local id s dir steps batch lr step secs
    echo
    echo "<details><summary>runs behind this table</summary>"
    echo
    echo "| run | seed | trainer flags | evaluated step | training wall time |"
    echo "|---|---|---|---|---|"
    for id in "$@"; do
        for s in $seed_list; do
            dir=$runs_root/seed$s/$id
            if [ -f "$dir/eval.csv" ] && ! run_current "$id" "$s"; then
                echo "| $id | $s | made with other settings (see its config.txt): not counted | | |"
            elif [ -f "$dir/eval.csv" ]; then
                step=$(awk -F, 'NR == 2 { print $8 }' "$dir/eval.csv")
                secs=$(awk '$1 == "train_seconds" { print $2 " s" }' "$dir/run.txt" 2>/dev/null)
                echo "| $id | $s | \`$(cut -d'|' -f2 "$dir/config.txt" | sed 's/ --seed [0-9]*//; s/^ *//; s/ *$//')\` | $step | ${secs:--} |"
            elif [ -f "$dir/FAILED" ]; then echo "| $id | $s | FAILED: $(cat "$dir/FAILED") | | |"
            else echo "| $id | $s | not run | | |"; fi
        done
    done
    echo
    echo "</details>"
}

# check TEXT ID DIRECTION COLUMN OP VALUE-or-ID [given TEXT2 ID2 DIRECTION2 COLUMN2 OP2 VALUE2]:
# one line of the pattern checks. A check holds on a seed when "ID OP VALUE"
# does, and where it has a "given" (a "fails" check: AR fails backward only
# means something if AR answers forward) only when the given holds too: a model
# that learned nothing fails everything. It is shown only if it holds on every
# seed; the line gives the mean over seeds and, with several seeds, each one's verdict.
# A comparison ("MLM-U beats MLM 15%") has a given too: 0.4 > 0.0 is no contrast.
holds() { # ID DIRECTION COLUMN OP VALUE-or-ID -> prints "a b", exits 0 if a OP b; 2 if unmeasured
    local a b
    a=$(measure "$1" "$2" "$3")
    case "$5" in */*) b=$(measure "$5" "$2" "$3") ;; *) b=$5 ;; esac
    echo "$a $b"
    [ "$a" = "-" ] || [ "$b" = "-" ] && return 2
    awk -v a="$a" -v b="$b" -v op="$4" 'BEGIN { exit !((op == ">=" && a >= b) || (op == "<=" && a <= b) || (op == ">" && a > b)) }'
}
check() {
    local text=$1 id=$2 dir=$3 col=$4 op=$5 val=$6 gtext="" g=() ab gab="" s rc grc verdict good=0 vacuous=0 extra=""
    [ "${7:-}" = given ] && { gtext=$8; g=("${@:9:5}"); }
    ab=$(holds "$id" "$dir" "$col" "$op" "$val") && rc=0 || rc=$?
    if [ "$rc" = 2 ]; then echo "- not measured: $text"; return; fi
    if [ -n "$gtext" ]; then gab=$(holds "${g[@]}") || true; extra="; given $gtext: ${gab% *} ${g[3]} ${gab#* }"; fi
    local nseeds; nseeds=$(wc -w <<<"$seed_list")
    [ "$nseeds" -gt 1 ] && extra="$extra;"
    for s in $seed_list; do
        one_seed=$s holds "$id" "$dir" "$col" "$op" "$val" >/dev/null && rc=0 || rc=$?
        grc=0; [ -z "$gtext" ] || { one_seed=$s holds "${g[@]}" >/dev/null || grc=1; }
        if [ "$rc" = 0 ] && [ "$grc" = 0 ]; then good=$((good + 1)); verdict=yes
        elif [ "$rc" = 0 ]; then vacuous=$((vacuous + 1)); verdict=vacuous
        elif [ "$rc" = 2 ]; then verdict="not run"
        else verdict=no; fi
        [ "$nseeds" -gt 1 ] && extra="$extra seed $s $verdict,"
    done
    extra=${extra%,}
    if [ "$good" = "$nseeds" ]; then echo "- shown: $text (${ab% *} $op ${ab#* }$extra)"; return; fi
    if [ "$good" -gt 0 ]; then echo "- **NOT shown** (holds on some seeds only): $text (${ab% *} $op ${ab#* }$extra)"
    elif [ "$vacuous" -gt 0 ]; then echo "- **NOT shown** (vacuous: $gtext is not so): $text (${ab% *} $op ${ab#* }$extra)"
    else echo "- **NOT shown**: $text (${ab% *}, wanted $op ${ab#* }$extra)"; fi
    not_shown=$((not_shown + 1))
}
# why TABLE: after a table's checks, if one was NOT shown, what the measurements
# say about why, at this preset (README, "Results", has the runs behind these)
not_shown=0
why() {
    local note=""
    if [ "$not_shown" -gt 0 ] && [ "$preset" = quick ]; then
        case "$1" in
        retrieval) note="Measured 2026-12-02 with the questions of 80% of the pairs in training: MLM-U with the loss weights of Eq. 5 (--elbo, as here) passed the quick target (>= 80 / >= 50) in all 6 of its 6000-step runs (seeds 1-5, seed 1 on one and on two threads: backward 73-98), and with the plain mean over masked tokens in 6 of 7; the seventh stalled from step 2500 at about 50 / 37 (README, 'The quick preset'). At this budget whether MLM-U learns to read an unseen pair's statement can depend on the run. Fixed-rate MLM does far better on this task at this scale than in the paper (MLM 40% 100 / 96.8 on seed 1, against the paper's 17 / 16), so a check that MLM-U beats a fixed rate can fail here; we have not found what makes the paper's MLM runs so much weaker. PLM and MLM 85% peak early (PLM 100 / 90.7 at step 2000) and fall as the learning rate decays; the validation-chosen checkpoint keeps the peak." ;;
        relationship) note="MLM-U answers both ways at this budget (99.5 / 89.5 at step 4000 of a 6000-step run, docs/cpu-scale-tries, 'Relationship'). AR w/ reverse (entity) and MLM 15% get the same data and model; where entity reversal falls short of the paper's 100 backward, its curve (curves-relationship.png) shows whether it learned and then memorized, as it did at 1000 triples (62% backward at step 1000, under 1% from step 3000). Without the question's '?' token (01_data --question-mark) MLM-U copies the statement's token at the answer's position and answers 0%." ;;
        bios) note="100 steps (about 6 epochs of 500 biographies) are far too few to learn the biographies; the paper trains for many times the epochs that forward retrieval needs, and its backward accuracy keeps rising long after. MLM-U trained 3000 steps (32 minutes of a core) answers 0.0 / 3.2 while memorizing the training questions (docs/cpu-scale-tries)." ;;
        wiki) note="80 steps (4 epochs) of 384 passages and their 796 training questions, from scratch, with a 2-layer model: nothing is learned yet. The paper trains a 109M model for 1500 epochs. Trained 2000 steps (about 28 minutes of a core each, docs/cpu-scale-tries), AR memorizes the training questions and answers 0.0 / 1.0 of the 99 test questions a direction, MLM-U 0.0 / 0.0." ;;
        star) note="The star graph here has 3-node paths (the paper: 5) and a 4-layer model: MLM-U 98-100% from step 1500 and AR at the Clever-Hans 50% in the runs behind this preset (docs/cpu-scale-tries, 'Star graph with 3-node paths'). With 4-node paths the same model needs about 16000 steps (AR 53.6, MLM-U 99.4); with 2 layers neither path length gets past 50%." ;;
        two-token) note="Measured 2026-12-02 with these flags (6000 steps), MLM-U answered 90.8, 98.6 and 99.4% of the backward questions on seeds 1-3, passing 50% between steps 2000 and 2500, and AR 0.0 (README, 'Two-token retrieval (Figure 7): 6000 steps'). A run that falls short of that is one these measurements did not see: its curves (Figure 7) show where it stopped." ;;
        esac
    fi
    [ -n "$note" ] && { echo; echo "*Why, at the quick scale:* $note"; }
    not_shown=0
    return 0
}

EM=6; TOK=7; INC=9   # eval.csv columns: exact match, token accuracy, incorrect inference

# ---- the plots (gnuplot; where it is missing the tables still come out) ----
# curves OUT TITLE XCOL XLABEL RUN:LABEL ...: test exact match (log.csv columns
# 7 forward, 8 backward) of the first seed's run, against column XCOL
# (1 = optimizer step, 6 = elapsed wall-clock seconds)
first_seed=${seed_list%% *}
fig=""; [ "$preset" = quick ] || fig="$preset-"   # plot file prefix: results/[PRESET-]figN.png
curves() {
    local out=$1 title=$2 xcol=$3 xlabel=$4 spec plot="" f
    shift 4
    for spec in "$@"; do
        f=$runs_root/seed$first_seed/${spec%%:*}/log.csv
        [ -f "$f" ] && run_current "${spec%%:*}" "$first_seed" || continue
        plot="$plot${plot:+, }'$f' using $xcol:(strcol(7) eq \"\" ? NaN : \$7) with linespoints title '${spec#*:} forward'"
        [ "${spec%%/*}" = star ] || plot="$plot, '$f' using $xcol:(strcol(8) eq \"\" ? NaN : \$8) with linespoints dt 2 title '${spec#*:} backward'"
    done
    [ -n "$plot" ] || return 0
    gnuplot <<GP
set terminal pngcairo size 900,500 noenhanced
set output "$results/$out.tmp"
set datafile separator ","
set title "$title"
set xlabel "$xlabel"; set ylabel "test exact match (%)"; set yrange [0:100]; set key outside right
plot $plot
GP
    mv "$results/$out.tmp" "$results/$out"
}
# pca OUT TITLE RUN: the entity PCA of 06_eval --pca, colored by entity and split
pca_plot() {
    local f=$runs_root/seed$first_seed/$3/pca.csv var
    [ -f "$f" ] && run_current "$3" "$first_seed" || return 0
    var=$(sed -n 's/.*(together \([0-9.]*%\)).*/\1/p' "$f")
    gnuplot <<GP
set terminal pngcairo size 700,600 noenhanced
set output "$results/$1.tmp"
set datafile separator ","
set title "$2 (explained variance $var)"
set xlabel "PC 1"; set ylabel "PC 2"; set key outside bottom center horizontal
plot for [q in "train test"] for [e in "A B C"] "$f" using (strcol(2) eq q && strcol(3) eq e ? \$4 : NaN):5 \
     with points pt (q eq "train" ? 7 : 6) ps 0.5 title sprintf("%s - entity %s", q, e)
GP
    mv "$results/$1.tmp" "$results/$1"
}
if command -v gnuplot >/dev/null 2>&1; then
    curves ${fig}fig7-two-token.png "Figure 7: two-token retrieval" 1 "optimizer step" two-token/ar:AR two-token/mlmu:MLM-U
    curves ${fig}fig8-bios.png "Figure 8: BioS" 1 "optimizer step" bios/ar:AR bios/mlmu:MLM-U
    curves ${fig}fig8-wiki.png "Figure 8: WikiReversal (same split)" 1 "optimizer step" wiki-same/ar:AR wiki-same/mlmu:MLM-U
    curves ${fig}fig9-wallclock.png "Figure 9: retrieval, accuracy against training time" 6 "training wall-clock (s)" \
        retrieval/ar:AR retrieval/mlmu:MLM-U
    curves ${fig}fig5-star.png "Figure 5: star graph, full-path exact match" 1 "optimizer step" star/ar:AR star/mlmu:MLM-U
    curves ${fig}curves-relationship.png "Relationship (Table 1 bottom): test exact match during training" 1 "optimizer step" \
        relationship/ar-rev-entity:"AR w/ reverse (entity)" relationship/mlmu:MLM-U relationship/mlm15:"MLM 15%"
    curves ${fig}curves-retrieval.png "Retrieval (Table 1 top): test exact match during training" 1 "optimizer step" \
        retrieval/ar:AR retrieval/mlmu:MLM-U retrieval/mlm15:"MLM 15%"
    pca_plot ${fig}fig4b-pca-ar.png "Figure 4b: AR, relationship entities" relationship/ar
    pca_plot ${fig}fig4c-pca-mlmu.png "Figure 4c: MLM-U, relationship entities" relationship/mlmu
    bars=""
    for o in mlm15:"MLM 15%" mlm40:"MLM 40%" mlm85:"MLM 85%" mlmu:"MLM-U"; do
        v=$(measure "bios/${o%%:*}" backward $EM)
        [ "$v" = "-" ] || bars="$bars\"${o#*:}\" $v\n"
    done
    if [ -n "$bars" ]; then
        printf "%b" "$bars" >"$results/fig4a.dat"
        gnuplot <<GP
set terminal pngcairo size 600,400 noenhanced
set output "$results/${fig}fig4a-bios-masking-rate.png.tmp"
set title "Figure 4a: BioS backward exact match"
set ylabel "exact match (%)"; set yrange [0:100]; set style fill solid 0.6; set boxwidth 0.6
plot "$results/fig4a.dat" using 0:2:xtic(1) with boxes notitle, "" using 0:(\$2 + 3):(sprintf("%.1f", \$2)) with labels notitle
GP
        mv "$results/${fig}fig4a-bios-masking-rate.png.tmp" "$results/${fig}fig4a-bios-masking-rate.png"
        rm -f "$results/fig4a.dat"
    fi
    plots=made
else
    plots="skipped: gnuplot not found (apt-get install gnuplot-nox); the tables are complete without them"
fi

# ---- RESULTS.md ----
{
echo "# Results: the paper's tables, measured (\`$preset\` preset)"
echo
echo "Written by \`./run_all.sh --preset $preset --seeds $seeds\` on $(date -u +%Y-%m-%d), $(uname -n),"
echo "$cores cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown CPU)), binaries: \`$B\`."
echo "Every cell: **measured (paper)**, in %, the mean over seeds $seeds; \"-\" = not run."
echo "Measured: greedy left-to-right decoding of the test questions (\`06_eval\`), exact match"
echo "unless the table says otherwise. The runs, their flags and wall times are under each table;"
echo "each run's files are in \`$runs_root/seedS/TASK/OBJECTIVE/\`."
echo

echo "## Table 1 (top): retrieval task, exact match"
echo
header "AR" "AR w/ reverse (token)" "MLM 15%" "MLM-U"
q=retrieval
row forward forward $EM $q/ar:100 $q/ar-rev-token:100 $q/mlm15:21 $q/mlmu:100
row backward backward $EM $q/ar:0 $q/ar-rev-token:0 $q/mlm15:22 $q/mlmu:100
provenance retrieval/ar retrieval/ar-rev-token retrieval/mlm15 retrieval/mlmu
echo
check "AR answers forward" retrieval/ar forward $EM ">=" 90
check "AR fails backward (the reversal curse)" retrieval/ar backward $EM "<=" 10 given "AR answers forward" retrieval/ar forward $EM ">=" 90
check "AR w/ reverse (token) still fails backward (Table 1; but see the note below)" retrieval/ar-rev-token backward $EM "<=" 10 given "it answers forward" retrieval/ar-rev-token forward $EM ">=" 80
check "MLM-U answers forward" retrieval/mlmu forward $EM ">=" 80
check "MLM-U answers backward" retrieval/mlmu backward $EM ">=" 50
check "MLM-U beats fixed-rate MLM (15%) backward" retrieval/mlmu backward $EM ">" retrieval/mlm15 given "MLM-U answers backward" retrieval/mlmu backward $EM ">=" 50
why retrieval
echo
echo "*The paper on AR w/ reverse (token) here:* Table 1 gives it 0 backward, but the paper's own"
echo "summary (Table 4, Appendix C) marks it as answering the retrieval task in both directions, and"
echo "says that reversing tokens \"can aid backwards retrieval for single token lookups\". Every token"
echo "of this task belongs to one entity, so a reversed statement \"v2 v1 : k2 k1\" already teaches"
echo "which key tokens go with which value tokens; the training questions teach the order. With half"
echo "the pairs' questions in training it answered 62.5% backward here (README, \"Before: the"
echo "retrieval rows\"); with 80% of them, and twice AR's steps, 6.8% and 21.3% in two quick sweeps"
echo "on two machines (same seed and flags): how much it answers backward is not a stable number here."
echo

echo "## Table 1 (bottom) and Table 7: relationship task"
echo
echo "Exact match; incorrect inference = answers that are the swapped entity (mean of both directions)."
echo
header "AR w/ reverse (entity)" "AR w/ reverse (entity)*" "MLM 15%" "MLM 40%" "MLM 85%" "MLM-U" "PLM"
r="relationship"
row forward forward $EM $r/ar-rev-entity:100 $r/ar-rev-entity-nodelim:54 $r/mlm15:24 $r/mlm40:77 $r/mlm85:2 $r/mlmu:100 $r/plm:100
row backward backward $EM $r/ar-rev-entity:100 $r/ar-rev-entity-nodelim:53 $r/mlm15:19 $r/mlm40:35 $r/mlm85:1 $r/mlmu:100 $r/plm:100
row "incorrect inference" both $INC $r/ar-rev-entity:0 $r/ar-rev-entity-nodelim:44 $r/mlm15:0 $r/mlm40:1 $r/mlm85:0 $r/mlmu:0 $r/plm:0
echo
echo "\\* without the delimiter tokens \`[ent] [/ent]\`. Plain AR (not in the paper's table, for Figure 4b):"
echo "forward $(measure $r/ar forward $EM), backward $(measure $r/ar backward $EM), incorrect inference $(measure $r/ar both $INC)."
provenance $r/ar-rev-entity $r/ar-rev-entity-nodelim $r/mlm15 $r/mlm40 $r/mlm85 $r/mlmu $r/plm $r/ar
echo
check "entity reversal with delimiters answers backward" $r/ar-rev-entity backward $EM ">=" 80
check "entity reversal without delimiters makes incorrect inferences" $r/ar-rev-entity-nodelim both $INC ">=" 20
check "MLM-U answers forward" $r/mlmu forward $EM ">=" 80
check "MLM-U answers backward" $r/mlmu backward $EM ">=" 50
check "MLM-U makes few incorrect inferences" $r/mlmu both $INC "<=" 5 given "MLM-U answers (both directions)" $r/mlmu both $EM ">=" 50
check "MLM-U beats MLM 15% backward" $r/mlmu backward $EM ">" $r/mlm15 given "MLM-U answers backward" $r/mlmu backward $EM ">=" 50
why relationship
echo

echo "## Table 5: retrieval task, every objective, per-token accuracy"
echo
echo "The paper's caption says per-token accuracy; its numbers are those of Table 1's exact match."
echo "Both are measured here: token accuracy first, exact match below."
echo
header "AR" "AR w/ reverse" "MLM 15%" "MLM 40%" "MLM 85%" "MLM-U" "PLM"
row "forward (token acc.)" forward $TOK $q/ar:100 $q/ar-rev-token:100 $q/mlm15:21 $q/mlm40:17 $q/mlm85:27 $q/mlmu:100 $q/plm:100
row "backward (token acc.)" backward $TOK $q/ar:0 $q/ar-rev-token:0 $q/mlm15:22 $q/mlm40:16 $q/mlm85:28 $q/mlmu:100 $q/plm:100
row "forward (exact match)" forward $EM $q/ar:100 $q/ar-rev-token:100 $q/mlm15:21 $q/mlm40:17 $q/mlm85:27 $q/mlmu:100 $q/plm:100
row "backward (exact match)" backward $EM $q/ar:0 $q/ar-rev-token:0 $q/mlm15:22 $q/mlm40:16 $q/mlm85:28 $q/mlmu:100 $q/plm:100
provenance $q/mlm40 $q/mlm85 $q/plm
echo
check "PLM answers backward" $q/plm backward $EM ">=" 50
check "MLM-U beats MLM 40% backward" $q/mlmu backward $EM ">" $q/mlm40 given "MLM-U answers backward" $q/mlmu backward $EM ">=" 50
check "MLM-U beats MLM 85% backward" $q/mlmu backward $EM ">" $q/mlm85 given "MLM-U answers backward" $q/mlmu backward $EM ">=" 50
why retrieval
echo

echo "## Table 2 and Table 6: BioS, birth date <-> full name, exact match"
echo
echo "Forward: full name -> birth date; backward: birth date -> full name."
echo "Table 6 gives fractions; shown here as %."
echo
header "AR" "AR w/ reverse" "MLM 15%" "MLM 40%" "MLM 85%" "PLM" "MLM-U"
b=bios
row forward forward $EM $b/ar:100 $b/ar-rev-token:100 $b/mlm15:0 $b/mlm40:8 $b/mlm85:4 $b/plm:100 $b/mlmu:100
row backward backward $EM $b/ar:0 $b/ar-rev-token:0 $b/mlm15:0 $b/mlm40:8 $b/mlm85:8 $b/plm:72 $b/mlmu:68
echo
echo "(Table 2 gives MLM 8 forward, 0 backward, and MLM-U 100 / 68.)"
provenance $b/ar $b/ar-rev-token $b/mlm15 $b/mlm40 $b/mlm85 $b/plm $b/mlmu
echo
check "AR answers forward" $b/ar forward $EM ">=" 90
check "AR fails backward" $b/ar backward $EM "<=" 10 given "AR answers forward" $b/ar forward $EM ">=" 90
check "AR w/ reverse (token) fails backward" $b/ar-rev-token backward $EM "<=" 10 given "it answers forward" $b/ar-rev-token forward $EM ">=" 80
check "MLM-U answers backward better than AR" $b/mlmu backward $EM ">" $b/ar given "MLM-U answers some backward" $b/mlmu backward $EM ">=" 10
check "MLM-U answers a fair share backward" $b/mlmu backward $EM ">=" 30
why bios
echo

echo "## Figure 4a: BioS backward exact match against the masking rate"
echo
header "MLM 15%" "MLM 40%" "MLM 85%" "MLM-U"
row backward backward $EM $b/mlm15:0 $b/mlm40:8 $b/mlm85:8 $b/mlmu:68
echo
echo "(paper: Table 6's numbers; the figure's bars are not legible in the paper's text.)"
[ -f "$results/${fig}fig4a-bios-masking-rate.png" ] && echo && echo "![Figure 4a](${fig}fig4a-bios-masking-rate.png)"
echo
check "MLM-U beats every fixed rate backward (15%)" $b/mlmu backward $EM ">" $b/mlm15 given "MLM-U answers some backward" $b/mlmu backward $EM ">=" 10
check "MLM-U beats every fixed rate backward (40%)" $b/mlmu backward $EM ">" $b/mlm40 given "MLM-U answers some backward" $b/mlmu backward $EM ">=" 10
check "MLM-U beats every fixed rate backward (85%)" $b/mlmu backward $EM ">" $b/mlm85 given "MLM-U answers some backward" $b/mlmu backward $EM ">=" 10
why bios
echo

echo "## Table 3 and Table 8: WikiReversal, exact match"
echo
echo "Same split: a fact's forward and backward question in the same split (Table 3 = Table 8 left);"
echo "different: each direction split on its own (Table 8 right). Mistral 7B (finetuned) is not"
echo "reproduced: paper same 21 / 5.2, different 20 / 9.0."
[ -f "$genwiki_source" ] || echo "**Not run on this machine: the GenWiki passages are not at \`$genwiki_source\`** (README, Tasks)."
echo
header "MLM 15% (same)" "MLM-U (same)" "AR (same)" "MLM 15% (diff.)" "MLM-U (diff.)" "AR (diff.)"
ws=wiki-same; wd=wiki-different
row forward forward $EM $ws/mlm15:3.4 $ws/mlmu:11 $ws/ar:14 $wd/mlm15:29 $wd/mlmu:66 $wd/ar:28
row backward backward $EM $ws/mlm15:2.7 $ws/mlmu:7.9 $ws/ar:4.3 $wd/mlm15:10 $wd/mlmu:46 $wd/ar:6.2
provenance $ws/mlm15 $ws/mlmu $ws/ar $wd/mlm15 $wd/mlmu $wd/ar
echo
check "same split: MLM-U beats AR backward" $ws/mlmu backward $EM ">" $ws/ar given "MLM-U answers some backward" $ws/mlmu backward $EM ">=" 5
check "different split: MLM-U beats AR backward" $wd/mlmu backward $EM ">" $wd/ar given "MLM-U answers some backward" $wd/mlmu backward $EM ">=" 5
check "different split: MLM-U backward above same split" $wd/mlmu backward $EM ">" $ws/mlmu given "MLM-U answers some backward" $wd/mlmu backward $EM ">=" 5
why wiki
echo

echo "## Figure 5: star graph, full-path exact match"
echo
header "AR" "MLM-U"
row "accuracy" forward $EM star/ar:50 star/mlmu:100
echo
echo "(paper: AR w/ reverse 49; not run here: 01_data has no reversal for problems.)"
[ -f "$results/${fig}fig5-star.png" ] && echo && echo "![Figure 5](${fig}fig5-star.png)"
provenance star/ar star/mlmu
echo
check "AR follows the edges (Clever Hans: at least near 50%)" star/ar forward $EM ">=" 35
check "AR does not plan (at most near 50%)" star/ar forward $EM "<=" 65 given "AR follows the edges" star/ar forward $EM ">=" 35
check "MLM-U plans the path" star/mlmu forward $EM ">=" 90
why star
echo

echo "## Figure 7: two-token retrieval, AR against MLM-U"
echo
header "AR" "MLM-U"
row forward forward $EM two-token/ar:100 two-token/mlmu:100
row backward backward $EM two-token/ar:"low" two-token/mlmu:100
echo
echo "(paper: a plot; MLM-U reaches 100% both ways, AR fails backward.)"
[ -f "$results/${fig}fig7-two-token.png" ] && echo && echo "![Figure 7](${fig}fig7-two-token.png)"
provenance two-token/ar two-token/mlmu
echo
check "AR fails backward" two-token/ar backward $EM "<=" 10 given "AR answers forward" two-token/ar forward $EM ">=" 80
check "MLM-U answers backward" two-token/mlmu backward $EM ">=" 80
why two-token
echo

echo "## Figures 8, 9 and 4b/c"
echo
for f in curves-retrieval.png curves-relationship.png fig8-bios.png fig8-wiki.png fig9-wallclock.png fig4b-pca-ar.png fig4c-pca-mlmu.png; do
    [ -f "$results/$fig$f" ] && echo "![${f%.png}]($fig$f)" && echo
done
echo "Figure 8: test exact match during training (BioS, WikiReversal same split). Figure 9: retrieval"
echo "exact match against training wall-clock time. Figure 4b/c: the relationship task's entity"
echo "representations on their two principal components (\`06_eval --pca\`), AR and MLM-U."
} >"$report.tmp"
mv "$report.tmp" "$report"
echo
sed -n '/^## Table 1 (top)/,/^<details>/p' "$report" | grep -v '^<details>'
echo "report: $report (every table, the runs behind each, the pattern checks); plots: $plots"
echo "pattern checks: $(grep -c '^- shown' "$report") shown, $(grep -c '^- \*\*NOT shown' "$report") NOT shown ($(grep -c '^- \*\*NOT shown\*\* (vacuous' "$report") of them vacuous), $(grep -c '^- not measured' "$report") not measured"
[ "$report_only" = 1 ] || echo "total time: $(( $(date +%s) - start )) s"
