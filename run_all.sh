#!/usr/bin/env bash
# run_all.sh -- reproduce every table and figure of the paper from nothing:
# build, generate each task, tokenize, build the models, train every objective,
# evaluate, and write results/RESULTS.md with each measured cell beside the
# paper's number, plus the plots. For example: ./run_all.sh (the quick preset,
# every table on a 2-core CPU); ./run_all.sh --preset long --table t1 (Table 1,
# retrieval trained longer); ./run_all.sh --preset paper --dry-run (every run of
# the paper preset, its configuration and an estimated GPU time).
#
# usage: ./run_all.sh [options]
#   --preset NAME      quick (default): every table's contrast at sizes for a
#                      2-core CPU, about an hour;
#                      full: every run of every table, longer budgets (each
#                      table up to about two hours on 2 cores);
#                      long: every run, retrieval with 3000 pairs trained longer;
#                      paper: the paper's sizes where it gives them, for a GPU;
#                      smoke: a few steps of everything (the tests use it)
#   --table LIST       only the runs of these tables/figures, comma-separated:
#                      t1 t2 t3 t5 t6 t7 t8 fig4a fig4bc fig5 fig7 fig8 fig9
#   --tasks LIST       only these tasks: retrieval relationship bios wiki-same
#                      wiki-different star two-token
#   --objectives LIST  only these objectives: ar ar-rev-token ar-rev-entity
#                      ar-rev-entity-nodelim mlm15 mlm40 mlm85 mlmu plm
#   --seeds LIST       seeds, comma-separated (default 1); cells show the mean
#   -j N               runs at once (default: one per core, one thread each; on
#                      a machine with a GPU and the CUDA build: 1, on the GPU)
#   --dry-run          list every selected run, its configuration and an
#                      estimated GPU time; run nothing
#   --slurm FILE       write a SLURM job-array script for the selected runs
#                      instead of running them
#   --run ID           run only TASK/OBJECTIVE (what the SLURM script calls)
#   --report           only rewrite results/RESULTS.md and the plots
#   --out DIR          put data/, runs/ and results/ under DIR (default: here)
#   --gpu-flags FLAGS  the arithmetic of the GPU build, passed to every run's
#                      trainer (and its resumption) and 06_eval: --matmul fp32|tf32|bf16,
#                      --attention plain|fused, e.g. "--matmul tf32" (default:
#                      none: plain fp32, as the CPU; on the CPU they change nothing)
# Threads per run: OMP_NUM_THREADS (default: cores / N).
# Writes: data/PRESET/, runs/PRESET/, results/RESULTS.md (or RESULTS-PRESET.md
# for a preset other than quick), results/*.png (needs gnuplot).
#
# How it is organised (read top to bottom):
#   1. options (--help prints the usage above)
#   2. the catalogue: every run of every table (presets/catalogue.txt)
#   3. the presets: data, model and training settings per task (presets/PRESET.sh)
#   4. preparing data, running one run, running many in parallel
#   5. --dry-run and --slurm
#   6. the report (report/render.sh): RESULTS.md rendered from report/tables.md (the tables, the
#      paper's numbers, the checks), report/why-PRESET.md and report/figures.tsv
#
# A run lives in runs/PRESET/seedS/TASK/OBJECTIVE/. It is done when its eval.csv
# exists; a rerun skips done runs and resumes a killed one from its last
# checkpoint (bit-identical to an uninterrupted run), so a killed sweep resumes.
set -euo pipefail
cd "$(dirname "$0")"

# ============================================================================
# 1. options
# ============================================================================
preset=quick seeds=1 jobs="" out=. gpu_flags=   # the defaults; the selection and the mode:
tables="" tasks="" objectives="" dry_run=0 slurm_file="" only_run="" report_only=0
usage() { sed -n '/^# usage:/,/^#$/{ /^#$/d; s/^# \{0,1\}//; p; }' "$(basename "$0")"; }   # the usage at the top of this file
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
case "$preset" in quick|full|long|paper|smoke) ;; *) die "unknown preset '$preset' (quick, full, long, paper, smoke)" ;; esac
[[ "$seeds" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--seeds wants numbers separated by commas, not '$seeds'"
[ -z "$jobs" ] || [[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "-j wants a positive number, not '$jobs'"
seed_list=${seeds//,/ }
# each a flag with its value: checked here, not at the first run's start
[[ " $gpu_flags " =~ ^(\ +--matmul\ +(fp32|tf32|bf16)|\ +--attention\ +(plain|fused))*\ +$ ]] ||
    die "--gpu-flags takes --matmul fp32|tf32|bf16 and --attention plain|fused, not '$gpu_flags'"

# ============================================================================
# 2. the catalogue: every run, the data set it trains on, and where it appears
# ============================================================================
# presets/catalogue.txt, one run a line: TASK/OBJECTIVE, DATASET, tables and figures.
# An objective's trainer and flags are in objective_cmd below; "AR w/ reverse"
# is AR trained on a data set with reversed copies (01_data --reverse).
[ -f presets/catalogue.txt ] || die "presets/catalogue.txt: no such file (the catalogue of runs)"
catalogue_lines=$(grep -Ev '^[[:space:]]*(#|$)' presets/catalogue.txt)
catalogue() { echo "$catalogue_lines"; }

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
        in_list "$id" "$preset_runs" || continue
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
# 3. the presets: presets/PRESET.sh
# ============================================================================
# A preset fills these arrays, each indexed by a data set's settings key: its
# task, "wiki" for both WikiReversal splits (settings_key below).
#   data_flags   the 01_data flags, after --task      tok_flags  the 02_tokenize flags
#   model        the 03_model flags: every objective of a task gets the same model
#   train_ar     the trainer flags of the AR runs; AR w/ reverse gets twice the
#                steps (train_flags). Where AR has fewer steps than the masked
#                runs, it had reached its forward accuracy; backward it stays at 0.
#   train_mlm    the flags of MLM-r, MLM-U and PLM: one setting, so that they
#                differ only in their ranks
#   mlmu_extra   flags MLM-U alone adds to train_mlm
#   avg_len, vocab_est   mean tokens a sequence and vocabulary size, measured from
#                the generated data (only for --dry-run's time estimate)
#   preset_runs  the runs of the catalogue this preset makes, separated by
#                spaces (empty: all of them); a table's other cells read "-"
declare -A data_flags tok_flags model train_ar train_mlm mlmu_extra avg_len vocab_est
preset_runs=""
task_of() { case "$1" in wiki-*) echo wikireversal ;; *-rev-*) echo "${1%%-rev-*}" ;; *) echo "$1" ;; esac; }
reverse_of() { case "$1" in *-rev-*) echo "--reverse ${1#*-rev-}" ;; esac; }
settings_key() { case "$1" in wiki-*) echo wiki ;; *-rev-*) echo "${1%%-rev-*}" ;; *) echo "$1" ;; esac; }
[ -f "presets/$preset.sh" ] || die "presets/$preset.sh: no such file (the settings of the '$preset' preset)"
# shellcheck source=presets/quick.sh
source "presets/$preset.sh"
preset_runs=$(echo $preset_runs | tr ' ' ',')   # (unquoted: any spaces and line breaks between the runs)
for id in ${preset_runs//,/ }; do
    catalogue | awk -v id="$id" '$1 == id { f = 1 } END { exit !f }' || die "presets/$preset.sh: preset_runs names '$id', which is not in presets/catalogue.txt"
done
for key in $(catalogue | while read -r _ ds _; do settings_key "$ds"; done | sort -u); do
    for setting in data_flags model train_ar train_mlm avg_len vocab_est; do
        declare -n values=$setting
        [ -n "${values[$key]:-}" ] || die "presets/$preset.sh: no ${setting}[$key] (every task needs one)"
    done
done
unset -n values

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
    B=build/cuda   # the GPU build, on a machine with a GPU (docs/gpu.md)
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
# TFLOP/s): an assumed target, not a measurement.
gpu_tflops=20
estimate_gpu_seconds() { # ID DATASET: reads --steps, --batch, --layers and --embd from the run's flags
    local key; key=$(settings_key "$2")
    awk -v V="${vocab_est[$key]}" -v T="${avg_len[$key]}" -v r="$gpu_tflops" '{ for (i = 1; i < NF; i++) f[$i] = $(i + 1) }
        END { s = f["--steps"]; b = f["--batch"]; L = f["--layers"]; C = f["--embd"]
              printf "%.0f", s * b * T * 6 * (2 * L * 12 * C * C + V * C) / (r * 1e12) }' <<<"${model[$key]} $(train_flags "$1" "$2")"
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
    # each task's log goes to OUT/runs/ by its absolute path: sbatch reads a
    # relative one from the directory it is run in, and SLURM does not start a
    # task whose log it cannot open
    mkdir -p "$out/runs"
    log_dir=$(cd "$out/runs" && pwd)
    {
        echo "#!/usr/bin/env bash"
        echo "# SLURM job array: $n runs of the '$preset' preset (seeds $seeds), one GPU each."
        echo "# Written by: ./run_all.sh $(printf '%q ' --preset "$preset" ${tables:+--table "$tables"} ${tasks:+--tasks "$tasks"} ${objectives:+--objectives "$objectives"} --seeds "$seeds" ${gpu_flags:+--gpu-flags "$gpu_flags"})--slurm $slurm_file"
        echo "#   sbatch $slurm_file        then, when every task has ended:"
        echo "#   ./run_all.sh --preset $preset --out $(printf '%q' "$out") --seeds $seeds --report"
        echo "# Every task is one run; the first task that needs a data set makes it (a lock keeps"
        echo "# two from making the same one); a killed and resubmitted task resumes from its checkpoint."
        echo "#SBATCH --job-name=factorization-curse-$preset"
        echo "#SBATCH --array=0-$(( n * $(wc -w <<<"$seed_list") - 1 ))"
        echo "#SBATCH --gres=gpu:1"
        echo "#SBATCH --cpus-per-task=8"
        echo "#SBATCH --time=$minutes"
        echo "#SBATCH --output=$log_dir/slurm-%A_%a.out"
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
    # kernels this CPU should use instead (03_model_cpu.h, "which kernels").
    if [ -z "${OPENBLAS_CORETYPE:-}" ] && coretype=$(./build/03_model --blas-coretype) && [ -n "$coretype" ]; then
        export OPENBLAS_CORETYPE=$coretype
        log "OpenBLAS does not recognise this CPU: OPENBLAS_CORETYPE=$coretype (its $coretype kernels, not the generic ones)"
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
        for line in "${todo[@]}"; do
            if [[ $line == wiki-* ]]; then log "skip   ${line% *}: no GenWiki passages at $genwiki_source (README: Tasks, wikireversal)"; fi
        done
        mapfile -t todo < <(printf '%s\n' "${todo[@]}" | grep -v '^wiki-' || true)
        [ -n "${todo[0]:-}" ] || die "every selected run is a WikiReversal run, and the GenWiki passages are not at $genwiki_source"
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
# 6. the report: results/RESULTS.md and the plots (report/render.sh)
# ============================================================================
# Every cell "measured (paper)", the runs behind each table, the checks of the
# paper's pattern: report/render.sh renders report/tables.md (the tables, the
# paper's numbers, the checks), report/why-PRESET.md and report/figures.tsv.
# shellcheck source=report/render.sh
source report/render.sh
